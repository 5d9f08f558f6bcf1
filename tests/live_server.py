"""The app served by uvicorn in a thread of the test process (a pytest plugin: tests/conftest.py).

`run_server` starts one on a free port (memory broadcaster and a new SQLite database unless
told otherwise); the tests talk to it over TCP with httpx and the `websockets` client, from
pytest-asyncio's loop. Fixtures for the modules that test through such a server:

- `server`: one server per test module (a module needing another kind defines its own);
- `logged_in`: `await logged_in(user)` is an httpx client to it with `user` logged in, closed
  after the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from fair import clock, migrations, settings
from fair.app import create_app
from fair.models import User
from tests import factories as f
from tests.conftest import login
from tests.statements import listening


@dataclass
class Server:
    url: str
    ws: str
    conf: settings.Settings
    app: Starlette
    loop: asyncio.AbstractEventLoop  # the server thread's: publish there, thread-safely


@contextlib.contextmanager
def run_server(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *,
    database_url: str = "",
    broadcast_url: str = "memory://",
    **tuning: object,
) -> Iterator[Server]:
    """The app on memory:// and a new SQLite database (or `database_url`, migrated already,
    and `broadcast_url`), served by uvicorn in a thread on a free port; `tuning` sets other
    settings (e.g. `db_pool_size=1`)."""
    import uvicorn

    data_dir = tmp_path_factory.mktemp(name)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'fair.db'}"
    if not database_url:
        migrations.upgrade(url)
    base = settings.load(
        {"FAIR_ENV": "test", "FAIR_DATA_DIR": str(data_dir), "FAIR_BACKGROUND_TASKS": "off"}
    )
    conf = replace(base, database_url=url, broadcast_url=broadcast_url, **tuning)  # type: ignore[arg-type]
    app = create_app(conf)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    _wait_healthy(base_url)
    loop = uv.servers[0].get_loop()
    try:
        yield Server(base_url, f"ws://127.0.0.1:{port}/live", conf, app, loop)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_healthy(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the live server did not answer /health within {timeout}s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with run_server(tmp_path_factory, "live") as running:
        yield running


@pytest.fixture
def server_settings(server: Server) -> Iterator[None]:
    """The server's settings as the process-wide ones for a test (other tests reset them; the
    server reads its own), and the real clock: `pytest.mark.usefixtures("server_settings")`."""
    settings.override(server.conf)
    clock.set_now(None)
    yield


LoggedIn = Callable[[User], Awaitable[httpx.AsyncClient]]


@pytest_asyncio.fixture
async def logged_in(server: Server) -> AsyncIterator[LoggedIn]:
    opened: list[httpx.AsyncClient] = []

    async def make(user: User) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=server.url)
        opened.append(client)
        await login(client, user.email, f.PASSWORD)
        return client

    yield make
    for client in opened:
        await client.aclose()


@contextlib.contextmanager
def statements(server: Server) -> Iterator[list[str]]:
    """The SQL statements the server runs meanwhile, in order."""
    seen: list[str] = []
    engine = server.app.state.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with listening(engine, "before_cursor_execute", record):
        yield seen
