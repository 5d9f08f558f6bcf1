"""What the stage's browser tests share (test_stage.py, test_video_layout.py): a seeded talk, a
page logged in, a fake shared screen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fair import clock, webconferences
from fair.enums import Role, WebconferenceAccess
from tests import factories as f
from tests.browser.conftest import LiveServer, log_in

PARIS = ZoneInfo("Europe/Paris")


def seed_talk(
    live_server: LiveServer, access: WebconferenceAccess = WebconferenceAccess.REGISTERED
) -> dict[str, Any]:
    async def make(session):  # type: ignore[no-untyped-def]
        presenter = await f.user(session, Role.ORGANISER, name="Nadia Présente")
        edition = await f.edition(session, by=presenter)
        now = clock.now()
        # Scheduled at noon tomorrow (Paris): an hour from the same time tomorrow crossed
        # midnight past 23:00, out of the live day's hours (the tests failed from 22:00 UTC).
        noon = (now.astimezone(PARIS) + timedelta(days=1)).replace(hour=12, minute=0)
        tomorrow = noon.replace(second=0, microsecond=0)
        data = webconferences.WebconferenceInput(
            title="Les métiers de la logistique",
            description="",
            starts_at=tomorrow,
            ends_at=tomorrow + timedelta(hours=1),
            capacity=10,
            access=access,
            presenter_ids=[presenter.id],
        )
        webconference = await webconferences.schedule(
            session, by=presenter, edition=edition, data=data
        )
        # Moved to five minutes from now, whatever the hour: the green room is open.
        webconference.starts_at = now + timedelta(minutes=5)
        webconference.ends_at = now + timedelta(minutes=65)
        names = ("Awa Diallo", "Bruno Petit", "Chloé Martin", "Dylan Moreau")
        viewers = [await f.user(session, Role.CANDIDATE, name=name) for name in names]
        for viewer in viewers:
            await webconferences.register(session, candidate=viewer, webconference=webconference)
        return {
            "id": webconference.id,
            "presenter": presenter.email,
            "viewers": [v.email for v in viewers],
        }

    return live_server.seed(make)


def open_page(new_context: Any, email: str, path: str, **options: Any) -> Any:
    context = new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    log_in(page, email, f.PASSWORD)
    page.goto(path)
    page.wait_for_selector("[data-stage][data-joined=yes]")
    return page


FAKE_SCREEN = """
(() => {
  navigator.mediaDevices.getDisplayMedia = () => {
    const canvas = document.createElement("canvas");
    canvas.width = 640;
    canvas.height = 360;
    const context = canvas.getContext("2d");
    let n = 0;
    setInterval(() => {
      context.fillStyle = n % 2 ? "#0b4f9c" : "#ffbf47";
      context.fillRect(0, 0, 640, 360);
      n += 1;
    }, 100);
    return Promise.resolve(canvas.captureStream(10));
  };
})();
"""
