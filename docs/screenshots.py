"""Screenshots of the demo fair, for the README and docs/screenshots/ (issue 13).

    .venv/bin/python docs/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Builds the demo fair as `fair demo` does (fair.demo.seed into a new SQLite database in a
temporary directory) with the clock stopped at 10:30 today in the demo's zone, so that the fair is
live whatever the hour; moves the demo candidate's interview with the demo recruiter to a video
call starting in a few minutes (through the domain functions, as the organiser, recruiter and
candidate could); serves it with uvicorn in a thread (as tests/live_server.py does); then logs in
as the demo's people in Chromium (its clock set to the same moment) and takes the landing page,
the booth hall, a booth page, the interview room in a call and the recruiter's live desk, at
1280x800 and 360x640 (the screen only, not the whole page), in French. Each PNG is reduced to a
palette of 256 colours with Pillow to stay small.

The two people of the call see each other through Chromium's fake camera fed with a still
picture drawn here (a silhouette, one colour each) instead of its test pattern.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fair import accounts, clock, db, demo, i18n, interviews, migrations, settings  # noqa: E402
from fair.app import create_app  # noqa: E402
from fair.enums import InterviewMode, InterviewStatus  # noqa: E402
from fair.interviews.limits import RulesInput, set_rules  # noqa: E402
from fair.interviews.reads import booth_row  # noqa: E402

SIZES = {"1280": {"width": 1280, "height": 800}, "360": {"width": 360, "height": 640}}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
TIMEOUT_MS = 30_000
# As entering does on a small screen (static/room.js, showStage): the stage and the bar at the
# bottom of the screen.
STAGE_UP = """() => {
  window.scrollTo(0, 0);
  const box = document.querySelector('[data-call-stage]').getBoundingClientRect();
  const bar = document.querySelector('[data-call-bar]').offsetHeight;
  window.scrollTo(0, Math.min(box.top, box.bottom + bar + 16 - window.innerHeight));
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--chromium", default=os.environ.get("FAIR_TEST_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    now = show_time()
    with (
        tempfile.TemporaryDirectory(prefix="fair-screenshots-") as tmp,
        demo_server(Path(tmp), now) as (base, plan),
    ):
        shoot(base, plan, args.out, args.chromium, Path(tmp), now)
    for path in sorted(args.out.glob("*.png")):
        print(f"{path}: {path.stat().st_size // 1024} KB")


# The demo fair -----------------------------------------------------------------------------------


def show_time() -> datetime:
    """Today at 10:30 in the demo's zone: the fair is live (08:00-20:00), whatever the hour the
    script runs at, so that the pages show what they show during the fair."""
    zone = ZoneInfo(demo.ZONE)
    today = datetime.now(zone).date()
    return datetime.combine(today, dtime(10, 30), zone).astimezone(UTC)


@contextmanager
def demo_server(data_dir: Path, now: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
    """The demo fair as `fair demo` makes it (migrated, fair.demo.seed), served by uvicorn in a
    thread of this process (as tests/live_server.py does) with the clock stopped at `now`."""
    import uvicorn

    url = f"sqlite+aiosqlite:///{data_dir / 'demo.db'}"
    migrations.upgrade(url)
    clock.set_now(now)
    conf = replace(
        settings.load({"FAIR_DATA_DIR": str(data_dir), "FAIR_BACKGROUND_TASKS": "off"}),
        database_url=url,
        broadcast_url="memory://",
    )
    settings.override(conf)
    plan = asyncio.run(seed(url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(conf), lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        wait_healthy(base, thread)
        yield base, plan
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_healthy(base: str, thread: threading.Thread, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive():
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the demo server did not answer at {base}/health")


async def seed(database_url: str) -> dict[str, Any]:
    """The demo fair, then a video interview of the demo candidate with the demo recruiter
    starting in a few minutes (its room is open)."""
    engine = db.create_engine(database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            await demo.seed(session)
            await session.commit()
        async with db.sessionmaker(engine, write=True)() as session:
            plan = await _move_interview(session)
            await session.commit()
            return plan
    finally:
        await engine.dispose()


async def _move_interview(session: Any) -> dict[str, Any]:
    """The organiser lets bookings move at short notice, the recruiter publishes a slot in a few
    minutes, the candidate moves their booked interview to it, by video."""
    edition = await demo.find(session)
    assert edition is not None, "no demo edition"
    organiser = await accounts.by_email(session, demo.ORGANISER)
    recruiter = await accounts.by_email(session, demo.RECRUITER)
    candidate = await accounts.by_email(session, demo.CANDIDATE)
    assert organiser and recruiter and candidate
    rules = await interviews.booking_rules(session, edition.id)
    await set_rules(
        session,
        by=organiser,
        edition=edition,
        data=RulesInput(
            max_per_booth=rules.max_per_booth,
            max_total=rules.max_total,
            release_at=rules.release_at,
            cancel_cutoff_minutes=0,
            offer_minutes=rules.offer_minutes,
            min_notice_minutes=0,
        ),
    )
    booked = [
        i
        for i in await interviews.of_candidate(session, candidate)
        if i.recruiter_id == recruiter.id and InterviewStatus(i.status) == InterviewStatus.BOOKED
    ]
    assert booked, "the demo candidate has no booked interview with the demo recruiter"
    interview = booked[0]
    booth = await booth_row(session, interview.booth_id)
    zone = ZoneInfo(edition.timezone)
    start = (clock.now() + timedelta(minutes=3)).astimezone(zone).replace(second=0, microsecond=0)
    slots = await interviews.publish_availability(
        session,
        by=recruiter,
        booth=booth,
        data=interviews.AvailabilityInput(
            day=start.date(),
            start=start.time(),
            end=(start + timedelta(minutes=20)).time(),
            length_minutes=20,
            buffer_minutes=0,
            modes=frozenset(InterviewMode),
            staff_id=recruiter.id,
        ),
    )
    moved = await interviews.reschedule(
        session,
        by=candidate,
        interview=interview,
        slot=slots[0],
        reason="Screenshots",
        mode=InterviewMode.VIDEO,
    )
    return {
        "edition": f"/e/{edition.slug}",
        "hall": f"/e/{edition.slug}/booths",
        "booth": f"/e/{edition.slug}/booths/{booth.id}",
        "room": f"/interviews/{moved.id}/room",
        "desk": f"/recruiter/booths/{booth.id}/desk",
        "other": candidate.name,
    }


# The camera's picture ----------------------------------------------------------------------------


def silhouette_video(path: Path, colour: tuple[int, int, int], back: tuple[int, int, int]) -> Path:
    """A Y4M file of one still frame (Chromium loops it): a person's silhouette on a plain
    background, for --use-file-for-fake-video-capture."""
    width, height = 640, 480
    image = Image.new("RGB", (width, height), back)
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 110, 390, 260), fill=colour)
    draw.rounded_rectangle((170, 280, 470, 560), radius=120, fill=colour)
    y, u, v = image.convert("YCbCr").split()
    u = u.resize((width // 2, height // 2))
    v = v.resize((width // 2, height // 2))
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + y.tobytes() + u.tobytes() + v.tobytes())
    return path


# The browser -------------------------------------------------------------------------------------


def shoot(
    base: str, plan: dict[str, Any], out: Path, chromium: str, tmp: Path, now: datetime
) -> None:
    from playwright.sync_api import sync_playwright

    candidate_cam = silhouette_video(tmp / "candidate.y4m", (196, 120, 84), (222, 231, 240))
    recruiter_cam = silhouette_video(tmp / "recruiter.y4m", (58, 82, 120), (236, 226, 214))
    with sync_playwright() as playwright:

        def launch(camera: Path) -> Any:
            extra = [f"--use-file-for-fake-video-capture={camera}"]
            return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS + extra)

        candidate_browser = launch(candidate_cam)
        recruiter_browser = launch(recruiter_cam)
        try:
            visitor = page_in(candidate_browser, base, None, now)
            candidate = page_in(candidate_browser, base, demo.CANDIDATE, now)
            recruiter = page_in(recruiter_browser, base, demo.RECRUITER, now)
            # The recruiter at their desk first: their booth shows as staffed on the other pages.
            recruiter.goto(plan["desk"])
            recruiter.wait_for_load_state("networkidle")
            time.sleep(2)
            for width in SIZES:
                take(visitor, plan["edition"], out / f"edition-{width}.png", width)
                take(candidate, plan["hall"], out / f"hall-{width}.png", width)
                take(candidate, plan["booth"], out / f"booth-{width}.png", width)
            for width in SIZES:
                take(recruiter, plan["desk"], out / f"desk-{width}.png", width)
            call(candidate, recruiter, plan)
            for width in SIZES:
                candidate.set_viewport_size(SIZES[width])
                candidate.evaluate(STAGE_UP if width == "360" else "() => window.scrollTo(0, 0)")
                time.sleep(0.5)
                save(candidate.screenshot(), out / f"room-{width}.png")
        finally:
            candidate_browser.close()
            recruiter_browser.close()


def tr(message: str, **params: Any) -> str:
    """The French text the pages show (the demo's language)."""
    return i18n.gettext(message, "fr", **params)


def page_in(browser: Any, base: str, email: str | None, now: datetime) -> Any:
    """A page logged in as `email` (or nobody), its clock at the server's moment."""
    context = browser.new_context(base_url=base, viewport=SIZES["1280"], locale="fr-FR")
    context.set_default_timeout(TIMEOUT_MS)
    context.clock.install(time=now)
    page = context.new_page()
    if email:
        page.goto("/login")
        page.get_by_label(tr("E-mail address")).fill(email)
        page.get_by_label(tr("Password")).fill(demo.PASSWORD)
        with page.expect_navigation():
            page.locator("main").get_by_role("button", name=tr("Log in"), exact=True).click()
    return page


def take(page: Any, path: str, out: Path, width: str) -> None:
    page.set_viewport_size(SIZES[width])
    page.goto(path)
    page.wait_for_load_state("networkidle")
    time.sleep(1.5)  # the live pages' socket connects and fills them
    save(page.screenshot(), out)


def call(candidate: Any, recruiter: Any, plan: dict[str, Any]) -> None:
    """Both enter the room, the recruiter lets the candidate in, the video flows."""
    for page, enter in ((recruiter, "Enter the room"), (candidate, "Enter the waiting room")):
        page.set_viewport_size(SIZES["1280"])
        page.goto(plan["room"])
        page.wait_for_selector("#room[data-joined=yes]")
        page.get_by_role("button", name=tr("Check my camera and microphone"), exact=True).click()
        page.get_by_role("button", name=tr(enter), exact=True).click()
    recruiter.get_by_role("button", name=tr("Let %(name)s in", name=plan["other"])).click()
    candidate.get_by_role("status").filter(has_text=tr("You are connected.")).wait_for()
    candidate.locator("[data-remote] video").wait_for()
    candidate.wait_for_function(
        "() => document.querySelector('[data-remote-video]').videoWidth > 0"
    )


def save(png: bytes, out: Path) -> None:
    """The screenshot in 256 colours (a fraction of its size; text stays sharp)."""
    image = Image.open(BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, optimize=True
    )


if __name__ == "__main__":
    main()
