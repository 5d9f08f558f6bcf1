"""Browser tests: a live uvicorn server on a migrated SQLite file, driven by Debian's Chromium.

They run on SQLite only (the HTTP tests cover PostgreSQL). The server and the browser live for
this package only (see `browser`). Tests here are plain sync `def`s:
Playwright's sync API must never run inside a running asyncio loop, so the data they need is
seeded through the domain functions with `seed(...)`, which runs its coroutine in a fresh event
loop on a worker thread, against the server's database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, i18n, migrations, settings, unit_of_work
from fair.app import create_app
from fair.events import Event

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "vendor"
AXE_JS = VENDOR / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = "axe-core@4.10"
CHROMIUM = os.environ.get("FAIR_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
TIMEOUT_MS = 10_000
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}

T = TypeVar("T")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a browser test."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def tr(message: str, locale: str = "fr", **params: Any) -> str:
    """The text the pages show for `message`, from the same catalogues as the server."""
    return i18n.gettext(message, locale, **params)


# The live server -----------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    conf: settings.Settings
    app: Any = None
    loop: asyncio.AbstractEventLoop | None = None  # the server thread's, once it serves

    def publish(self, event: Event) -> None:
        """Publish `event` through the server's own broadcaster, on the server thread's loop."""
        assert self.loop is not None
        publishing = unit_of_work.publish(self.app.state.broadcast, [event])
        asyncio.run_coroutine_threadsafe(publishing, self.loop).result(timeout=10)

    def seed(self, make: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `make(session)` in its own event loop and thread, then commit."""
        return seed(self.conf.database_url, make)


def seed(database_url: str, make: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = db.create_engine(database_url)
        try:
            async with db.sessionmaker(engine, write=True)() as session:
                result = await make(session)
                await session.commit()
                session.info.pop("after_commit", None)
                return result
        finally:
            await engine.dispose()

    # A worker thread: asyncio.run must not touch the test thread's event loop (pytest-asyncio's).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def _wait_healthy(url: str, thread: threading.Thread, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the live server stopped while starting (see the log above)")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200 and json.load(response).get("status") == "ok":
                    return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"the live server did not answer /health within {timeout}s: {last!r}")


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    data_dir = tmp_path_factory.mktemp("browser")
    url = f"sqlite+aiosqlite:///{data_dir / 'fair.db'}"
    migrations.upgrade(url)
    base = settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(data_dir)})
    conf = replace(base, database_url=url)
    app = create_app(conf)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fair-live-server", daemon=True
    )
    thread.start()
    live = LiveServer(url=f"http://127.0.0.1:{port}", conf=conf, app=app)
    try:
        _wait_healthy(live.url, thread)
        live.loop = server.servers[0].get_loop()
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(autouse=True)
def _live_settings(live_server: LiveServer) -> Iterator[None]:
    """Other tests reset the process-wide settings and clock; the live server needs its own."""
    settings.override(live_server.conf)
    clock.set_now(None)
    yield


# The browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Chromium, for this package only: while Playwright's sync API is started, its event loop
    stays registered as the thread's running loop, so asyncio.run and the async tests of the
    rest of the suite would fail; it must stop once the last browser test is done."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (set FAIR_TEST_CHROMIUM)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Any]]:
    """Open browser contexts (one per person); `lang` sets the language cookie."""
    opened: list[Any] = []

    def make(*, lang: str | None = None, **options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        if lang:
            context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


def follow(page: Any, target: Any) -> None:
    """Click a link or a submit button and wait for the page it leads to."""
    with page.expect_navigation():
        target.click()


def log_in(page: Any, email: str, password: str, locale: str = "fr") -> None:
    """Log in through the form, by its labels."""
    page.goto("/login")
    page.get_by_label(tr("E-mail address", locale)).fill(email)
    page.get_by_label(tr("Password", locale)).fill(password)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name=tr("Log in", locale), exact=True).click()
    if "/login" in page.url:
        alerts = page.locator("main [role=alert]").all_inner_texts()
        raise AssertionError(f"log-in failed for {email}: still on {page.url}: {alerts}")


# axe-core ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, fetched from the npm registry once if it is not there yet."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"axe-core is missing at {AXE_JS} and npm is not installed")
        VENDOR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(VENDOR),
                AXE_PACKAGE,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if done.returncode != 0 or not AXE_JS.exists():
            pytest.fail(f"could not install {AXE_PACKAGE} with npm:\n{done.stdout}\n{done.stderr}")
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Any, source: str, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """Run axe on the page; the serious and critical violations (needs bypass_csp=True).
    Every rule of AXE_TAGS, or only the named `rules` (e.g. the colour rules, in dark mode)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
    result = page.evaluate(
        """async (only) => {
            const r = await axe.run(document, {runOnly: only, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html,
                                          summary: n.failureSummary}))}));
        }""",
        only,
    )
    return [v for v in result if v["impact"] in BLOCKING_IMPACTS]


def describe_violations(where: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{where}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"    - {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            if node.get("summary"):
                lines.append("      " + node["summary"].replace("\n", "\n      "))
    return "\n".join(lines)
