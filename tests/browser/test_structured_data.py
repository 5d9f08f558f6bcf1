"""JSON-LD under the real Content-Security-Policy in Chromium: the pages that carry it (an
offer, a booth, an edition, a webconference) report no CSP violation, and an offer whose text
tries to close the script element stays data (parsed whole, nothing run)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fair import clock, webconferences
from fair.enums import Role
from tests import factories as f
from tests.browser.conftest import LiveServer

ATTACK = "Soudeur </script><script>window.injected = 1</script> & co"
# Installed before any page script: every CSP violation the page meets is kept.
LISTEN = """document.addEventListener('securitypolicyviolation', e =>
    (window.cspViolations = window.cspViolations || [])
        .push(e.violatedDirective + ' ' + e.blockedURI));"""
INLINE = """() => { const s = document.createElement('script');
    s.textContent = 'window.injected = 2'; document.head.append(s); }"""
READ = """() => ({
    violations: window.cspViolations || [],
    injected: window.injected === undefined ? null : window.injected,
    data: [...document.querySelectorAll('script[type="application/ld+json"]')]
        .map(s => JSON.parse(s.textContent)),
})"""


def test_json_ld_blocks_pass_the_csp_and_stay_data(
    live_server: LiveServer, new_context: Any
) -> None:
    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
        edition = await f.edition(session, by=organiser)
        booth, _ = await f.booth(session, edition_=edition)
        offer = await f.offer(session, booth_=booth, title="Soudeur (H/F)", description=ATTACK)
        tomorrow = (clock.now().astimezone(f.PARIS) + timedelta(days=1)).date()
        when = {"starts_at": f.day_at(tomorrow, 10), "ends_at": f.day_at(tomorrow, 11)}
        talk = await webconferences.schedule(
            session, by=organiser, edition=edition, data=f.talk([organiser], **when)
        )
        return {
            "offer": f"/offers/{offer.id}",
            "booth": f"/e/{edition.slug}/booths/{booth.id}",
            "edition": f"/e/{edition.slug}",
            "webconference": f"/webconferences/{talk.id}",
        }

    paths = live_server.seed(make)
    context = new_context(lang="fr")
    context.add_init_script(LISTEN)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    seen = {}
    for name, path in paths.items():
        page.goto(path)
        page.wait_for_load_state("load")
        found = page.evaluate(READ)
        seen[name] = (found["violations"], found["injected"], [d["@type"] for d in found["data"]])
        if name == "offer":
            assert found["data"][0]["description"] == ATTACK
    assert seen == {
        "offer": ([], None, ["JobPosting"]),
        "booth": ([], None, ["Organization"]),
        "edition": ([], None, ["Event"]),
        "webconference": ([], None, ["Event"]),
    }
    assert [m for m in console if "Content Security Policy" in m] == []

    # The listener does hear a violation: an inline script added now is refused.
    page.evaluate(INLINE)
    page.wait_for_function("() => (window.cspViolations || []).length > 0")
    assert page.evaluate(READ)["violations"] == ["script-src-elem inline"]
    assert page.evaluate(READ)["injected"] is None
