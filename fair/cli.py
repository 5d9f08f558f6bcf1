"""The `fair` command: serve, demo, worker, media, migrate, create-admin, seed-demo, rome import.

Configuration errors (settings, unreachable Redis, unreachable database) print one clear line
and exit with status 2; refused business actions (an e-mail already taken) exit with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accounts,
    db,
    demo,
    logs,
    metrics,
    migrations,
    parse,
    rome_referential,
    settings,
    worker,
)
from fair.broadcast import Broadcaster, BroadcastError
from fair.enums import Role
from fair.errors import FairError

T = TypeVar("T")
log = logging.getLogger("fair.cli")


class CommandError(Exception):
    """A failure to report in one line; `status` is the exit code."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except settings.SettingsError as exc:
        _fail(f"configuration error: {exc}", 2)
    except BroadcastError as exc:
        _fail(str(exc), 2)
    except CommandError as exc:
        _fail(str(exc), exc.status)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _fail(message: str, status: int) -> None:
    print(f"fair: {message}", file=sys.stderr)
    raise SystemExit(status)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fair", description="Virtual job fairs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web server")
    _server_options(serve)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--migrate", action="store_true", help="run the migrations first")
    serve.set_defaults(run=cmd_serve)

    demo_ = commands.add_parser("demo", help="seed a live demo fair in var/demo.db and serve it")
    _server_options(demo_)
    demo_.set_defaults(run=cmd_demo)

    worker = commands.add_parser(
        "worker", help="run the background work (mail, reminders, expiries) in its own process"
    )
    worker.set_defaults(run=cmd_worker)

    media = commands.add_parser(
        "media", help="serve webconference media rooms in their own process (FAIR_MEDIA_URL)"
    )
    media.set_defaults(run=cmd_media)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(run=cmd_migrate)

    admin = commands.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--password", help="asked for when left out")
    admin.set_defaults(run=cmd_create_admin)

    seed = commands.add_parser(
        "seed-demo", help="migrate, then seed the demo fair into DATABASE_URL"
    )
    seed.set_defaults(run=cmd_seed_demo)

    rome_ = commands.add_parser("rome", help="the ROME 4.0 referential")
    rome_commands = rome_.add_subparsers(dest="rome_command", required=True, metavar="ACTION")
    rome_import = rome_commands.add_parser(
        "import",
        help="import the official ROME 4.0 CSV files (appellations, codes, skills) from DIR",
    )
    rome_import.add_argument("directory", metavar="DIR", type=Path)
    rome_import.set_defaults(run=cmd_rome_import)
    return parser


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")


# Commands -------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> None:
    conf = settings.get()
    if args.migrate:
        _migrate(conf.database_url)
    _serve(conf, args.host, args.port, args.workers)


def cmd_worker(args: argparse.Namespace) -> None:
    """The background loops in a process of their own (web processes then set
    FAIR_BACKGROUND_TASKS=false)."""
    conf = settings.get()
    logs.configure(conf.log_format, conf.log_level)
    asyncio.run(worker.run(conf))


def cmd_media(args: argparse.Namespace) -> None:
    """Media rooms in a process of their own; web processes set FAIR_MEDIA_URL to reach it."""
    # late: only this command loads aiortc and the media process
    from fair.media import broker, server

    conf = settings.get()
    logs.configure(conf.log_format, conf.log_level)
    logging.getLogger("aioice").setLevel(logging.WARNING)  # a line per candidate pair
    try:
        asyncio.run(server.serve(conf))
    except broker.MediaError as exc:
        raise CommandError(str(exc)) from exc


def cmd_migrate(args: argparse.Namespace) -> None:
    url = settings.get().database_url
    _migrate(url)
    print(f"Database up to date: {_safe(url)}")


def cmd_create_admin(args: argparse.Namespace) -> None:
    conf = settings.get()
    password = args.password if args.password is not None else _ask_password()

    async def create(session: AsyncSession) -> str:
        user = await accounts.create_user(
            session,
            # One line each, as the web forms read them: a name may end up in a mail header.
            email=parse.line(args.email),
            name=parse.line(args.name),
            password=password,
            role=Role.ADMIN,
        )
        return user.email

    email = _run(conf, create)
    print(f"Administrator created: {email}")


def cmd_seed_demo(args: argparse.Namespace) -> None:
    conf = settings.get()
    _migrate(conf.database_url)

    async def seed(session: AsyncSession) -> dict[str, Any]:
        if await accounts.by_email(session, demo.ADMIN) is not None:
            raise CommandError("this database already holds the demo accounts", status=1)
        return await demo.seed(session)

    _print_accounts(_run(conf, seed), conf.base_url)


def cmd_demo(args: argparse.Namespace) -> None:
    conf = settings.get()
    own_file = not os.environ.get("DATABASE_URL")
    if own_file:
        conf = replace(conf, database_url=f"sqlite+aiosqlite:///{conf.data_dir / 'demo.db'}")
    if not os.environ.get("BASE_URL"):
        conf = replace(conf, base_url=f"http://{args.host}:{args.port}")
    # Worker processes and the app factory read the same settings as this process.
    settings.override(conf)
    os.environ.update(DATABASE_URL=conf.database_url, BASE_URL=conf.base_url)
    _check_broadcast(conf.broadcast_url)
    _migrate(conf.database_url)
    if not _run(conf, demo.is_live):
        if _run(conf, demo.find) is not None:
            if not own_file:
                raise CommandError(
                    "the demo edition in DATABASE_URL is no longer live: point DATABASE_URL at "
                    "an empty database, or unset it to use var/demo.db"
                )
            print("The demo edition is over: rebuilding the demo database.")
            _remove_sqlite(conf.database_url)
            _migrate(conf.database_url)
        print("Seeding the demo fair…")
        _print_accounts(_run(conf, demo.seed), conf.base_url)
    else:
        _print_accounts(_run(conf, demo.summary), conf.base_url)
    _serve(conf, args.host, args.port, 1, checked=True)


def cmd_rome_import(args: argparse.Namespace) -> None:
    """Replace the stored ROME referential by the files of France Travail's open data found in
    DIR (fair.rome_referential), in one transaction; running it again changes nothing."""
    conf = settings.get()

    async def load(session: AsyncSession) -> rome_referential.Counts:
        return await rome_referential.import_directory(session, args.directory)

    counts = _run(conf, load)
    print(
        f"ROME referential imported: {counts.codes} codes, {counts.appellations} appellations,"
        f" {counts.skills} skills, {counts.links} code-skill links"
    )


# Helpers --------------------------------------------------------------------------------------

# How uvicorn serves /live (fair/live/socket.py), measured with tracemalloc (issue 17: memory per
# idle socket): websockets' sans-I/O protocol keeps a parser and two timers per socket, where
# uvicorn's default (websockets' legacy protocol) runs three tasks of its own on each; without
# permessage-deflate, since its zlib streams held about 50 KiB per socket, more than all the
# rest, to compress frames of a few hundred bytes (and each socket compressed each broadcast
# again). A frame over the socket's limit (16 KiB, socket.MAX_MESSAGE_BYTES) closes it with
# 1009, as the endpoint itself does. Keepalive pings every 60 s, not uvicorn's 20: the app's own
# heartbeat (every 25 s) already keeps proxies from closing idle sockets, so pings are only
# there to find dead peers (within 80 s), and each costs CPU on every socket.
WEBSOCKETS: dict[str, Any] = {
    "ws": "websockets-sansio",
    "ws_max_size": 16 * 1024,
    "ws_per_message_deflate": False,
    "ws_ping_interval": 60.0,
    "ws_ping_timeout": 20.0,
}


# Connections a listening socket queues before the server accepts them (listen(2)'s backlog):
# at an opening thousands of browsers connect within a minute, and a connection that finds the
# queue full is dropped, its browser trying again 1, 3, 7, 15, 31 s later (ConnectTimeout for
# some: issue 17). uvicorn's default is 2048; the kernel caps it at net.core.somaxconn (4096
# since Linux 5.4, 128 before: `_check_backlog` says so at start). docs/OPERATIONS.md.
LISTEN_BACKLOG = 4096
SOMAXCONN = Path("/proc/sys/net/core/somaxconn")


def _check_backlog(path: Path = SOMAXCONN) -> int | None:
    """The kernel's cap on listen backlogs (None where it cannot be read), with a warning when
    it is under LISTEN_BACKLOG: connections past it are dropped at an opening."""
    try:
        cap = int(path.read_text())
    except (OSError, ValueError):
        return None
    if cap < LISTEN_BACKLOG:
        log.warning(
            "net.core.somaxconn is %d: connections queued past %d are dropped at an opening "
            "(sysctl -w net.core.somaxconn=%d; docs/OPERATIONS.md)",
            cap,
            cap,
            LISTEN_BACKLOG,
        )
    return cap


def _serve(
    conf: settings.Settings, host: str, port: int, workers: int, *, checked: bool = False
) -> None:
    import uvicorn

    if not checked:
        _check_broadcast(conf.broadcast_url)
    _check_backlog()
    if workers > 1 and not os.environ.get(metrics.MULTIPROCESS_DIR):
        # Several workers on one socket: their metrics added up in a directory of their own
        # (fair.metrics; set PROMETHEUS_MULTIPROC_DIR to share one with `fair worker`).
        os.environ[metrics.MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="fair-metrics-")
    # Each uvicorn worker process sets its logging up from this (fair.logs), and so does this one.
    uvicorn.run(
        "fair.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logs.dict_config(conf.log_format, conf.log_level),
        backlog=LISTEN_BACKLOG,
        **WEBSOCKETS,
    )


def _check_broadcast(url: str) -> None:
    """Fail before serving when Redis cannot be reached (raises BroadcastError)."""

    async def check() -> None:
        broadcaster = Broadcaster(url, namespace="fair:check")
        try:
            await asyncio.wait_for(broadcaster.connect(), timeout=10)
        except TimeoutError as exc:
            raise BroadcastError(f"Cannot reach Redis at {url} (BROADCAST_URL): timed out") from exc
        finally:
            await broadcaster.disconnect()

    asyncio.run(check())


def _migrate(url: str) -> None:
    try:
        migrations.upgrade(url)
    except (DBAPIError, OSError) as exc:
        message = f"cannot migrate the database at {_safe(url)}: {_first_line(exc)}"
        raise CommandError(message) from exc


def _run(conf: settings.Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed unit of work on the configured database."""

    async def go() -> T:
        engine = db.configured_engine(conf)
        try:
            async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except FairError as exc:
        raise CommandError(exc.message % exc.params if exc.params else exc.message, 1) from exc
    except (DBAPIError, OSError) as exc:
        reason = _first_line(exc)
        hint = "; run `fair migrate` first" if _missing_table(reason) else ""
        raise CommandError(
            f"cannot use the database at {_safe(conf.database_url)}: {reason}{hint}"
        ) from exc


def _ask_password() -> str:
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != password:
        raise CommandError("the two passwords differ", status=1)
    return password


def _remove_sqlite(url: str) -> None:
    database = make_url(url).database
    if database:
        for suffix in ("", "-wal", "-shm"):
            Path(database + suffix).unlink(missing_ok=True)


def _print_accounts(seeded: dict[str, Any], base_url: str) -> None:
    print(f"\nDemo fair: {base_url}/")
    print(f"Edition: {seeded['title']} — {base_url}/e/{seeded['edition']}")
    print(f"Accounts (password: {seeded['password']}):")
    for role, email in seeded["accounts"].items():
        print(f"  {role:<10} {email}")
    print()
    sys.stdout.flush()


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _missing_table(reason: str) -> bool:
    return "no such table" in reason or ("relation" in reason and "does not exist" in reason)
