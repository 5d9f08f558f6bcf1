"""Interview rooms: time from admission to the first decoded video frame, on each side.

Usage: .venv/bin/python bench/interview.py [--calls 20] [--goal-ms 2000]

One server (the real app, uvicorn in a thread, SQLite in a temporary directory) and headless
Chromium with the browser tests' flags (fake camera and microphone). A recruiter and a candidate,
each in their own browser context, hold `--calls` interviews in a row, one room each, through
the page as a person would: open the room, check the devices, enter; the candidate waits; the
recruiter clicks "Let … in". Each page records, from its own RTCPeerConnections' getStats()
(polled every 10 ms by an init script), when framesDecoded first goes above zero; the bench
subtracts the moment of the admission click. Both clocks are the same machine's (performance
.timeOrigin + performance.now()). Then both hang up and the next call starts.

Printed: one line per call, then p50 and p95 (nearest rank) per side and over both sides,
and the verdict against the goal (p95 <= 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fair import clock, db, migrations, settings  # noqa: E402
from fair.app import create_app  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, tr  # noqa: E402

# Before the page's scripts, on every load: watch the page's peer connections and note when the
# first video frame is decoded (framesDecoded > 0 on an inbound video stream).
FIRST_FRAME_SCRIPT = """
(() => {
  const Native = window.RTCPeerConnection;
  const made = [];
  window.__firstFrameAt = null;
  function Watched(...args) { const pc = new Native(...args); made.push(pc); return pc; }
  Watched.prototype = Native.prototype;
  window.RTCPeerConnection = Watched;
  const poll = async () => {
    for (const pc of made) {
      if (pc.connectionState === "closed") continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (window.__firstFrameAt === null && s.type === "inbound-rtp" && s.kind === "video"
            && s.framesDecoded > 0) {
          window.__firstFrameAt = performance.timeOrigin + performance.now();
        }
      });
    }
    if (window.__firstFrameAt === null) setTimeout(poll, 10);
  };
  setTimeout(poll, 10);
})();
"""
ADMIT = """() => {
  const at = performance.timeOrigin + performance.now();
  document.querySelector('[data-action="admit"]').click();
  return at;
}"""
TIMEOUT_MS = 15_000


def serve(data_dir: Path) -> tuple[str, settings.Settings, Any, threading.Thread]:
    import uvicorn

    url = f"sqlite+aiosqlite:///{data_dir / 'fair.db'}"
    migrations.upgrade(url)
    conf = replace(settings.load({"FAIR_DATA_DIR": str(data_dir)}), database_url=url)
    app = create_app(conf)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return base, conf, server, thread
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def seed(conf: settings.Settings, calls: int) -> tuple[str, str, list[int]]:
    """One recruiter, one candidate, `calls` booked interviews whose rooms are open now."""

    async def run() -> tuple[str, str, list[int]]:
        engine = db.create_engine(conf.database_url)
        try:
            async with db.sessionmaker(engine, write=True)() as session:
                edition = await f.edition(session)
                booth, recruiter = await f.booth(session, edition_=edition)
                candidate = await f.candidate(session, name="Awa Diallo")
                start = clock.now() + timedelta(minutes=2)
                ids = []
                for n in range(calls):
                    interview = await f.interview(
                        session,
                        booth_=booth,
                        recruiter=recruiter,
                        candidate_=candidate,
                        starts_at=start + timedelta(seconds=n),
                    )
                    ids.append(interview.id)
                await session.commit()
                return recruiter.email, candidate.email, ids
        finally:
            await engine.dispose()

    return asyncio.run(run())


def log_in(context: Any, email: str) -> Any:
    page = context.new_page()
    page.goto("/login")
    page.get_by_label(tr("E-mail address")).fill(email)
    page.get_by_label(tr("Password")).fill(f.PASSWORD)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name=tr("Log in"), exact=True).click()
    return page


def enter(page: Any, path: str, button: str) -> None:
    page.goto(path)
    page.wait_for_selector("#room[data-joined=yes]")
    page.get_by_role("button", name=tr("Check my camera and microphone"), exact=True).click()
    page.get_by_role("button", name=tr(button), exact=True).click()


def one_call(recruiter: Any, candidate: Any, interview_id: int) -> tuple[float, float]:
    path = f"/interviews/{interview_id}/room"
    enter(candidate, path, "Enter the waiting room")
    enter(recruiter, path, "Enter the room")
    waiting = tr("%(name)s is in the waiting room.", name="Awa Diallo")
    recruiter.locator("[data-peer]").filter(has_text=waiting).wait_for()
    admitted_at = float(recruiter.evaluate(ADMIT))
    first: list[float] = []
    for page in (candidate, recruiter):
        page.wait_for_function("() => window.__firstFrameAt !== null", timeout=TIMEOUT_MS)
        first.append(float(page.evaluate("() => window.__firstFrameAt")))
    for page in (candidate, recruiter):
        page.get_by_role("button", name=tr("Hang up"), exact=True).click()
    return first[0] - admitted_at, first[1] - admitted_at


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--goal-ms", type=float, default=2000.0)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="fair-bench-interview-") as tmp:
        base, conf, server, thread = serve(Path(tmp))
        settings.override(conf)
        recruiter_email, candidate_email, ids = seed(conf, args.calls)
        candidate_ms: list[float] = []
        recruiter_ms: list[float] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = []
            for email in (recruiter_email, candidate_email):
                context = browser.new_context(base_url=base)
                context.set_default_timeout(TIMEOUT_MS)
                context.add_init_script(FIRST_FRAME_SCRIPT)
                pages.append(log_in(context, email))
            recruiter, candidate = pages
            for n, interview_id in enumerate(ids, start=1):
                for_candidate, for_recruiter = one_call(recruiter, candidate, interview_id)
                candidate_ms.append(for_candidate)
                recruiter_ms.append(for_recruiter)
                print(
                    f"call {n:2d}   candidate {for_candidate:7.0f} ms   "
                    f"recruiter {for_recruiter:7.0f} ms",
                    flush=True,
                )
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)

    print(f"\nadmission -> first decoded video frame, {len(ids)} calls (ms)")
    rows = [
        ("candidate", candidate_ms),
        ("recruiter", recruiter_ms),
        ("both", candidate_ms + recruiter_ms),
    ]
    for name, values in rows:
        p50, p95 = nearest_rank(values, 0.5), nearest_rank(values, 0.95)
        print(
            f"{name:10s} p50 {p50:7.0f}   p95 {p95:7.0f}   max {max(values):7.0f}   n={len(values)}"
        )
    p95 = max(nearest_rank(candidate_ms, 0.95), nearest_rank(recruiter_ms, 0.95))
    verdict = "ok" if p95 <= args.goal_ms else "SLOW"
    print(f"goal p95 <= {args.goal_ms:.0f} ms on each side: {verdict} (p95 {p95:.0f} ms)")


if __name__ == "__main__":
    main()
