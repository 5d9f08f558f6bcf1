"""Test fixtures: every database test runs on SQLite and on PostgreSQL, for real.

SQLite: the migrated schema is built once, then copied for each test.
PostgreSQL: a `fair_test` database is built once by the migrations, then emptied per test.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import admission_gate, clock, db, migrations, passwords, rate_limits, settings
from fair.app import create_app
from fair.search import cache as search_cache

PG_ADMIN = os.environ.get(
    "FAIR_TEST_PG_ADMIN", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
PG_NAME = f"fair_test_{os.getpid()}"
BACKENDS = [b for b in os.environ.get("FAIR_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

# Fixtures that several test modules share live beside their helpers, in these plugins (no test
# module imports another: tests/test_test_helpers.py).
pytest_plugins = (
    "tests.live_server",
    "tests.server_processes",
    "tests.fault_processes",
    "tests.media_setup",
)
# The helper modules' failed asserts show their values, as the tests' own do.
pytest.register_assert_rewrite(
    "tests.catalogue", "tests.factories", "tests.pages", "tests.refusals", "tests.sockets"
)


# Test modules run alone, after the others (.ci/test runs the rest in two processes at once):
# those that start servers or media processes and wait for them with deadlines, carry WebRTC
# media, or measure time (a burst of logins, the largest contentful paint). Two of them at once
# on a two-core machine miss their deadlines for want of CPU, not for a defect.
SERIAL = {
    "test_fault_postgresql.py",
    "test_fault_web.py",
    "test_fault_worker.py",
    "test_admission_live.py",
    "test_bench_smoke.py",
    "test_interview_race.py",
    "test_live_accounts.py",
    "test_live_redis.py",
    "test_live_register.py",
    "test_media_consent.py",
    "test_media_fanout.py",
    "test_media_process.py",
    "test_media_recorder.py",
    "test_media_relay.py",
    "test_network_live.py",
    "test_ops_media.py",
    "test_ops_processes.py",
    "test_passwords.py",
    "test_recordings.py",
    "test_room_relay.py",
    "test_room_rtc.py",
    "test_stage.py",
    "browser/test_booth_call.py",
    "browser/test_budgets.py",
    "browser/test_interview_journey.py",
    "browser/test_room.py",
    "browser/test_room_relay.py",
    "browser/test_stage.py",
    "browser/test_video_layout.py",
}
TESTS = Path(__file__).resolve().parent


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using `backend` runs once per backend of FAIR_TEST_BACKENDS; one marked
    `@pytest.mark.postgresql_only` gets the PostgreSQL case only, `@pytest.mark.sqlite_only` the
    SQLite case only (no case generated to be skipped, or to return early and pass unchecked)."""
    if "backend" not in metafunc.fixturenames:
        return
    backends = BACKENDS
    for marker, name in (("postgresql_only", "postgresql"), ("sqlite_only", "sqlite")):
        if metafunc.definition.get_closest_marker(marker):
            backends = [b for b in BACKENDS if b == name]
    metafunc.parametrize("backend", backends, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = sorted(name for name in SERIAL if not (TESTS / name).is_file())
    if missing:  # a renamed module would run in parallel again, unnoticed
        raise pytest.UsageError(f"tests/conftest.py SERIAL names no such module: {missing}")
    for item in items:
        if item.path.relative_to(TESTS).as_posix() in SERIAL:
            item.add_marker(pytest.mark.serial)


# Modules hashing with the production argon2 parameters; the others use the cheapest ones
# (fair.passwords.cheap_for_tests: ~0.2 s of CPU saved per hash and per log-in).
REAL_HASHES = {"test_passwords.py"}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    passwords.cheap_for_tests(item.path.name not in REAL_HASHES)


async def _create_pg_database() -> str:
    engine = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}"'))
        await conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    await engine.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME


async def _drop_pg_database() -> None:
    engine = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session")
def templates_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated databases, one per backend, built once per run."""
    built: dict[str, str] = {}
    if "sqlite" in BACKENDS:
        path = tmp_path_factory.mktemp("db") / "template.db"
        migrations.upgrade(f"sqlite+aiosqlite:///{path}")
        built["sqlite"] = str(path)
    if "postgresql" in BACKENDS:
        url = asyncio.run(_create_pg_database())
        migrations.upgrade(url)
        built["postgresql"] = url
    yield built
    if "postgresql" in built:
        asyncio.run(_drop_pg_database())


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def conf(
    backend: str, templates_dir: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[settings.Settings]:
    if backend == "sqlite":
        path = tmp_path / "fair.db"
        shutil.copy(templates_dir["sqlite"], path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = templates_dir["postgresql"]
        await _truncate(url)
    # No background tasks (mail sender, statistics): their writes would race the tests' own
    # transactions on SQLite;
    # tests deliver the outbox explicitly (tests/test_mail.py).
    base = settings.load(
        {"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path), "FAIR_BACKGROUND_TASKS": "off"}
    )
    conf = replace(base, database_url=url)
    # `@pytest.mark.pool_timeout(30)`: a test of many writers at once (who gets the last seat)
    # lets them wait for a connection, where the default ceiling (2 s) would answer some with a
    # 503 on a loaded machine; the ceiling has its own tests (test_db_faults).
    patient = request.node.get_closest_marker("pool_timeout")
    if patient is not None:
        conf = replace(conf, db_pool_timeout=float(patient.args[0]))
    settings.override(conf)
    yield conf
    settings.override(None)
    clock.set_now(None)
    rate_limits.forget_all()
    # The gated editions a process read (kept 5 s of a clock the tests freeze) and the
    # embedded default's waiting line are the process's: not the next test's.
    admission_gate.forget()
    admission_gate.LOCAL.editions.clear()
    search_cache.forget()  # answers kept under versions the next test's editions repeat


# Empties every table but alembic_version and restarts every sequence, as TRUNCATE ... RESTART
# IDENTITY CASCADE did, in one round trip: DELETE with foreign-key triggers off
# (session_replication_role, a superuser's setting) takes ~0.15 s where TRUNCATE of all tables
# took ~1.2 s per test (it rewrites every table's files).
_EMPTY_ALL = """DO $$DECLARE r record; BEGIN
  FOR r IN SELECT tablename FROM pg_tables
           WHERE schemaname = 'public' AND tablename <> 'alembic_version' LOOP
    EXECUTE format('DELETE FROM %I', r.tablename);
  END LOOP;
  FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP
    EXECUTE format('ALTER SEQUENCE %I RESTART', r.sequencename);
  END LOOP;
END$$"""


async def _truncate(url: str) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.exec_driver_sql(_EMPTY_ALL)
    except DBAPIError:  # not a superuser: the slower TRUNCATE
        async with engine.begin() as conn:
            names = (
                (
                    await conn.execute(
                        text(
                            "SELECT tablename FROM pg_tables WHERE schemaname='public' "
                            "AND tablename <> 'alembic_version'"
                        )
                    )
                )
                .scalars()
                .all()
            )
            await conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest_asyncio.fixture
async def app(conf: settings.Settings) -> AsyncIterator[object]:
    application = create_app(conf)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def session(app) -> AsyncIterator[AsyncSession]:  # type: ignore[no-untyped-def]
    """A session for setting up; commit with `await db.commit(session)` before any request.

    It takes no lock until it writes (so requests are never blocked by it), but on SQLite a
    transaction it keeps open sees a snapshot: read what requests wrote with `fetch`.
    """
    async with app.state.read_sessions() as s:
        yield s


class Fetch:
    """Reads in a fresh session each time: what the database holds now."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def scalar(self, statement):  # type: ignore[no-untyped-def]
        async with self.app.state.read_sessions() as s:
            return await s.scalar(statement)

    async def scalars(self, statement) -> list:  # type: ignore[no-untyped-def,type-arg]
        async with self.app.state.read_sessions() as s:
            return list(await s.scalars(statement))

    async def get(self, model, ident):  # type: ignore[no-untyped-def]
        async with self.app.state.read_sessions() as s:
            return await s.get(model, ident)


@pytest.fixture
def fetch(app) -> Fetch:  # type: ignore[no-untyped-def]
    return Fetch(app)


@pytest_asyncio.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest_asyncio.fixture
async def make_client(app):  # type: ignore[no-untyped-def]
    """Extra clients, for tests with several people at once."""
    opened: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        opened.append(c)
        return c

    yield make
    for c in opened:
        await c.aclose()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


async def csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    tokens = set(CSRF_RE.findall(page.text))
    # Every form of the page must carry the session's token (an empty one would be refused).
    assert len(tokens) == 1 and "" not in tokens, f"CSRF tokens on {path}: {tokens}"
    return tokens.pop()


async def login(client: httpx.AsyncClient, email: str, password: str) -> None:
    token = await csrf(client)
    response = await client.post(
        "/login", data={"csrf_token": token, "email": email, "password": password}
    )
    assert response.status_code == 303, response.text


SIGNUP_LINK_RE = re.compile(r"/signup/confirm/[\w-]+(?:\?next=\S+)?")


async def confirm_signup(client: httpx.AsyncClient, fetch: Fetch, email: str) -> httpx.Response:
    """Open the link mailed at sign-up and confirm with its button (which logs in)."""
    from sqlalchemy import select

    from fair.models import OutboxMail

    mails = await fetch.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == email).order_by(OutboxMail.id)
    )
    link = SIGNUP_LINK_RE.search(mails[-1].body).group(0)  # type: ignore[union-attr]
    token = await csrf(client, link)
    return await client.post(link, data={"csrf_token": token})
