"""bench/search.py measures the app as the Procfile's web processes run it: no background loop
(the outbox senders, fair/worker.py's rounds: `fair worker` runs them) in the measured process,
on a real database (this test's own)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import search  # noqa: E402


def procfile_web_env() -> dict[str, str]:
    """The environment the Procfile's `web` entry sets (its NAME=value words)."""
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line[:4] == "web:")
    words = [w.split("=", 1) for w in web.removeprefix("web:").split() if "=" in w]
    return {name: value for name, value in words if name.isupper()}


async def test_the_measured_app_runs_no_background_loop(conf: Any, tmp_path: Path) -> None:
    assert search.WEB_PROCESS.items() <= procfile_web_env().items()
    app, measured = search.web_app(conf.database_url, tmp_path)
    before = asyncio.all_tasks()
    async with app.router.lifespan_context(app):
        started = {t.get_coro().__qualname__ for t in asyncio.all_tasks() - before}  # type: ignore[union-attr]
    assert "run_activity" in started  # every web process's own page-view tally
    assert {"run_sender", "every", "run_statistics", "run_call_expiry"} & started == set()
    assert measured.background_tasks is False
