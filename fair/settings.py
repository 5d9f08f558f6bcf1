"""Every setting of fair, read once from the environment, with defaults that work out of the box.

The embedded default is one process with a SQLite file and the in-process broadcaster; pointing
DATABASE_URL at PostgreSQL and BROADCAST_URL at Redis is the whole production change.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "insecure-development-secret-change-me"


# The default admission caps, derived from measured capacity (docs/OPERATIONS.md "Where the
# default caps come from"). Measured alone on 2 cores at 59f5ae5: bench/surge.py --candidates
# 10000 --window 60 --modes off (two web processes on PostgreSQL and Redis): 0 errors, page p99
# 111 ms, the web processes' CPU 6.0 ms per arriving candidate (the edition page and the hall,
# kept, the waiting status, the /live socket); bench/pagecost.py: a search page, the dearest of
# the pages measured, 13.4 ms of CPU (the app's and its client's).
SURGE_CPU_SECONDS_PER_ARRIVAL = 0.006
ACTIVE_PAGE_CPU_SECONDS = 0.0134  # what an active candidate's page costs, at most
WEB_CORES = 2  # what the figures were measured on: a deployment with more cores sets its own
UTILISATION = 0.5  # of the CPU, at most: page p99 stays well under a second with room for spikes
ARRIVALS_SHARE = 0.5  # of that, for candidates arriving; the rest for those already in
ACTIVE_PAGE_SECONDS = 30  # assumed: an active candidate asks a page every 30 s
_ARRIVALS_CORES = WEB_CORES * UTILISATION * ARRIVALS_SHARE
RECOMMENDED_ARRIVALS_PER_MINUTE = int(_ARRIVALS_CORES * 60 / SURGE_CPU_SECONDS_PER_ARRIVAL)  # 5000
# Active candidates costing the other share: each a page of ACTIVE_PAGE_CPU_SECONDS every
# ACTIVE_PAGE_SECONDS.
RECOMMENDED_ACTIVE_CAP = int(
    WEB_CORES * UTILISATION * (1 - ARRIVALS_SHARE) * ACTIVE_PAGE_SECONDS / ACTIVE_PAGE_CPU_SECONDS
)  # 1119
# The defaults: an edition's gate is armed by them during its live hours but engages only under
# pressure (fair.admission.pressed: 85 % of a cap used, or someone waiting), so they cost nothing
# while the fair is not full (docs/OPERATIONS.md "Admission control"). 0 turns a cap off.
ADMISSION_ACTIVE_CAP = RECOMMENDED_ACTIVE_CAP
ADMISSION_ARRIVALS_PER_MINUTE = RECOMMENDED_ARRIVALS_PER_MINUTE


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message says which and how to fix it."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = "sqlite+aiosqlite:///var/fair.db"
    broadcast_url: str = "memory://"
    secret_key: str = DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "fair <no-reply@fair.localhost>"
    # Seconds a claimed mail is held by the sender that claimed it (fair.mail): longer than a
    # send can take (SMTP's 20 s per exchange), the time after which a mail whose sender died
    # mid-send is sent again.
    mail_send_lease: float = 60.0
    # Run the mail sender and the statistics refresh inside the server process.
    background_tasks: bool = True
    default_locale: str = "fr"
    default_timezone: str = "Europe/Paris"
    max_cv_bytes: int = 5 * 1024 * 1024
    max_logo_bytes: int = 1024 * 1024
    max_request_bytes: int = 12 * 1024 * 1024
    # Database connections per process (pool and overflow: the hard ceiling), how long a request
    # waits for one before answering 503 "briefly unavailable" with Retry-After (a surge waits
    # briefly, it does not pile up behind the pool), and how long opening a PostgreSQL
    # connection may take (PostgreSQL stopped or not answering: the same 503), and a statement
    # on an open one (PostgreSQL hung with the connection open: the same 503, fair.db; on
    # SQLite, the wait for another connection's write lock, then the busy 503).
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: float = 2.0
    db_connect_timeout: float = 5.0
    db_command_timeout: float = 30.0
    # Operations (fair.web.ops, fair.logs): seconds each /readyz check may take; the bearer
    # token /metrics asks for (empty: only requests made on this host may read it); logs as
    # "text" lines or "json" lines, from this level on.
    readyz_timeout: float = 2.0
    metrics_token: str = ""
    log_format: str = "text"
    log_level: str = "INFO"
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, e.g.
    # "127.0.0.1 10.0.0.0/8"); empty: the client address is always the peer's.
    trusted_proxies: tuple[str, ...] = ()
    # Seconds between two heartbeats on every /live socket (they also keep booth presence fresh).
    live_heartbeat_seconds: float = 25.0
    # /live limits: open sockets per user (an extra one closes the oldest), and each socket's
    # commands (a token bucket: `live_command_rate` a second, bursts of `live_command_burst`).
    live_max_sockets: int = 10
    live_command_rate: float = 20.0
    live_command_burst: int = 40
    # Redis channels of the broadcaster are named `<namespace>:<channel>`; empty: derived from
    # the database (see `broadcast_channel_namespace`), so that deployments sharing a Redis
    # never hear each other.
    broadcast_namespace: str = ""
    # Interview rooms (WebRTC): STUN and TURN server URLs, and the secret TURN shares with us
    # (coturn's `use-auth-secret`: credentials are derived per user, valid `turn_ttl` seconds).
    # Viewers one webconference stage serves at most (a media process's room); over it,
    # `stage.full` with a clear message.
    stage_max_viewers: int = 300
    # The URL of the broker that routes media rooms to `fair media` processes; empty: every
    # room lives in the web process (the embedded default).
    media_url: str = ""
    # Keys of that broker start with this (several fairs, or test runs, can share one Redis).
    media_namespace: str = "fair:media"
    # The addresses a media process offers as ICE host candidates (space-separated); empty:
    # every interface's (aioice's default). E.g. the public address of a host with several.
    media_host_addresses: tuple[str, ...] = ()
    # Viewers of one talk a `fair media` process serves before the talk spreads to another
    # process, which takes it from the first as one viewer (fair.media.broker, "Legs"); 0: a
    # talk stays on its one process. 250: what one process (one core) kept at 30 fps with
    # under 1 % loss on a loaded machine (bench/relay.py, docs/OPERATIONS.md).
    media_viewers_per_process: int = 250
    # Interview calls go through the media relay instead of browser to browser.
    interview_relay: bool = False
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""
    turn_ttl: int = 3600
    templates_dir: Path = field(default=ROOT / "templates")
    static_dir: Path = field(default=ROOT / "static")
    data_dir: Path = field(default=ROOT / "var")
    # Webconference recordings (WebM files, one per recorded talk), written by the process that
    # holds the stage (with `fair media` processes: a directory they share with the web).
    recordings_dir: Path = field(default=ROOT / "var" / "recordings")
    # The design system's example page (/styleguide, docs/DESIGN.md): on by default in
    # development only (FAIR_STYLEGUIDE).
    styleguide: bool = False
    # Webhooks (fair.webhooks): seconds a receiver has to answer one POST.
    webhook_timeout: float = 10.0
    # Whether webhooks may be delivered to addresses that are not public (loopback, private,
    # link-local…): off, a receiver's name is resolved at delivery and refused when it points
    # into the platform's own network; on for tests and local receivers only.
    webhook_private_targets: bool = False
    # The network of territories (fair.network): whether searches include the partners' offers
    # (an edition shows them once it registers a partner), and the seconds between two pulls of
    # the partners' feeds.
    network_offers: bool = True
    network_sync_seconds: float = 120.0
    # Personal data (fair.retention): candidates' CVs and messages are removed this many months
    # after the end of the last edition they took part in.
    retention_months: int = 12
    # The e-mail address the privacy page gives for questions about personal data (optional).
    privacy_contact: str = ""
    # Admission control (fair.admission, docs/OPERATIONS.md "Admission control"): the defaults
    # of an edition's cap of active candidates and of admissions a minute, for editions whose
    # organiser set none (0: no cap), derived from the capacity bench/surge.py measured
    # (`ADMISSION_*` below).
    admission_active_cap: int = ADMISSION_ACTIVE_CAP
    admission_arrivals_per_minute: int = ADMISSION_ARRIVALS_PER_MINUTE
    # Minutes without a request after which an admitted candidate's place is freed, and the
    # most people one edition's waiting line holds (past it: 503 with Retry-After).
    admission_idle_minutes: int = 10
    admission_max_waiting: int = 100_000
    # Seconds a public browsing page is served from a process's cache to anonymous visitors
    # while its edition's gate is on (fair.web.browsing); 0: never cached.
    page_cache_seconds: float = 5.0

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def broadcast_channel_namespace(self) -> str:
        """FAIR_BROADCAST_NAMESPACE, else `fair:` and a hash of DATABASE_URL (its password left
        out) and BROADCAST_URL's database number: processes of one deployment share it, another
        deployment on the same Redis (whose pub/sub ignores database numbers) gets another."""
        if self.broadcast_namespace:
            return self.broadcast_namespace
        database = re.sub(r"//([^:/@]*):[^@/]*@", r"//\1@", self.database_url)
        number = urlsplit(self.broadcast_url).path.strip("/") or "0"
        digest = hashlib.sha256(f"{database} {number}".encode()).hexdigest()
        return f"fair:{digest[:16]}"


def load(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from `environ` (os.environ by default) and check them."""
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(env.get("FAIR_DATA_DIR") or ROOT / "var")
    settings = Settings(
        env=env.get("FAIR_ENV", "development"),
        database_url=env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'fair.db'}",
        broadcast_url=env.get("BROADCAST_URL") or "memory://",
        secret_key=env.get("SECRET_KEY") or DEFAULT_SECRET,
        base_url=(env.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        smtp_host=env.get("SMTP_HOST", ""),
        smtp_port=_int(env, "SMTP_PORT", 25),
        smtp_user=env.get("SMTP_USER", ""),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_starttls=_bool(env.get("SMTP_STARTTLS"), False),
        mail_from=env.get("MAIL_FROM") or "fair <no-reply@fair.localhost>",
        mail_send_lease=_float(env, "FAIR_MAIL_SEND_LEASE", 60.0),
        background_tasks=_bool(env.get("FAIR_BACKGROUND_TASKS"), True),
        default_locale=env.get("FAIR_LOCALE") or "fr",
        default_timezone=env.get("FAIR_TIMEZONE") or "Europe/Paris",
        max_cv_bytes=_int(env, "FAIR_MAX_CV_BYTES", 5 * 1024 * 1024),
        max_logo_bytes=_int(env, "FAIR_MAX_LOGO_BYTES", 1024 * 1024),
        max_request_bytes=_int(env, "FAIR_MAX_REQUEST_BYTES", 12 * 1024 * 1024),
        db_pool_size=_int(env, "FAIR_DB_POOL_SIZE", 10),
        db_max_overflow=_int(env, "FAIR_DB_MAX_OVERFLOW", 20),
        db_pool_timeout=_float(env, "FAIR_DB_POOL_TIMEOUT", 2.0),
        db_connect_timeout=_float(env, "FAIR_DB_CONNECT_TIMEOUT", 5.0),
        db_command_timeout=_float(env, "FAIR_DB_COMMAND_TIMEOUT", 30.0),
        readyz_timeout=_float(env, "FAIR_READYZ_TIMEOUT", 2.0),
        metrics_token=env.get("FAIR_METRICS_TOKEN", "").strip(),
        log_format=(env.get("FAIR_LOG_FORMAT") or "text").strip().lower(),
        log_level=(env.get("FAIR_LOG_LEVEL") or "INFO").strip().upper(),
        trusted_proxies=tuple(env.get("FAIR_TRUSTED_PROXIES", "").replace(",", " ").split()),
        live_heartbeat_seconds=_float(env, "FAIR_LIVE_HEARTBEAT_SECONDS", 25.0),
        live_max_sockets=_int(env, "FAIR_LIVE_MAX_SOCKETS", 10),
        live_command_rate=_float(env, "FAIR_LIVE_COMMAND_RATE", 20.0),
        live_command_burst=_int(env, "FAIR_LIVE_COMMAND_BURST", 40),
        broadcast_namespace=env.get("FAIR_BROADCAST_NAMESPACE", ""),
        stage_max_viewers=_int(env, "FAIR_STAGE_MAX_VIEWERS", 300),
        media_url=env.get("FAIR_MEDIA_URL", ""),
        media_namespace=env.get("FAIR_MEDIA_NAMESPACE") or "fair:media",
        media_host_addresses=tuple(env.get("FAIR_MEDIA_HOST_ADDRESSES", "").split()),
        media_viewers_per_process=_int(env, "FAIR_MEDIA_VIEWERS_PER_PROCESS", 250),
        interview_relay=_bool(env.get("FAIR_INTERVIEW_RELAY"), False),
        stun_urls=tuple(env.get("FAIR_STUN_URLS", "").split()),
        turn_urls=tuple(env.get("FAIR_TURN_URLS", "").split()),
        turn_secret=env.get("FAIR_TURN_SECRET", ""),
        turn_ttl=_int(env, "FAIR_TURN_TTL", 3600),
        data_dir=data_dir,
        recordings_dir=Path(env.get("FAIR_RECORDINGS_DIR") or data_dir / "recordings"),
        styleguide=_bool(
            env.get("FAIR_STYLEGUIDE"), env.get("FAIR_ENV", "development") == "development"
        ),
        webhook_timeout=_float(env, "FAIR_WEBHOOK_TIMEOUT", 10.0),
        webhook_private_targets=_bool(env.get("FAIR_WEBHOOK_PRIVATE_TARGETS"), False),
        network_offers=_bool(env.get("FAIR_NETWORK_OFFERS"), True),
        network_sync_seconds=_float(env, "FAIR_NETWORK_SYNC_SECONDS", 120.0),
        retention_months=_int(env, "FAIR_RETENTION_MONTHS", 12),
        privacy_contact=env.get("FAIR_PRIVACY_CONTACT", "").strip(),
        admission_active_cap=_int(env, "FAIR_ADMISSION_ACTIVE_CAP", ADMISSION_ACTIVE_CAP),
        admission_arrivals_per_minute=_int(
            env, "FAIR_ADMISSION_ARRIVALS_PER_MINUTE", ADMISSION_ARRIVALS_PER_MINUTE
        ),
        admission_idle_minutes=_int(env, "FAIR_ADMISSION_IDLE_MINUTES", 10),
        admission_max_waiting=_int(env, "FAIR_ADMISSION_MAX_WAITING", 100_000),
        page_cache_seconds=_float(env, "FAIR_PAGE_CACHE_SECONDS", 5.0),
    )
    check(settings)
    return settings


def check(settings: Settings) -> None:
    """Refuse settings that would be unsafe or cannot work."""
    if not 1 <= settings.retention_months <= 120:
        raise SettingsError("FAIR_RETENTION_MONTHS must be a number of months from 1 to 120")
    if settings.env not in {"development", "production", "test"}:
        raise SettingsError("FAIR_ENV must be development, production or test")
    if settings.production and (
        settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < 32
    ):
        raise SettingsError(
            "SECRET_KEY must be set to a random string of at least 32 characters in production "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if settings.production and settings.styleguide:
        raise SettingsError("FAIR_STYLEGUIDE is for development only: turn it off in production")
    if settings.default_locale not in {"fr", "en"}:
        raise SettingsError("FAIR_LOCALE must be fr or en")
    if not settings.broadcast_url.startswith(("memory://", "redis://", "rediss://")):
        raise SettingsError("BROADCAST_URL must start with memory:// or redis://")
    if not settings.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError(
            "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    if not 0 < settings.live_heartbeat_seconds < math.inf:  # also refuses nan
        raise SettingsError("FAIR_LIVE_HEARTBEAT_SECONDS must be a positive number of seconds")
    _check_live_limits(settings)
    _check_admission(settings)
    _check_ice(settings)
    _check_media(settings)
    try:
        _networks(settings.trusted_proxies)
    except ValueError as exc:
        raise SettingsError(
            "FAIR_TRUSTED_PROXIES must be space-separated IP addresses or networks "
            f"(like 127.0.0.1 10.0.0.0/8): {exc}"
        ) from None


@functools.lru_cache(maxsize=8)
def _networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def trusted_proxy(address: str) -> bool:
    """Whether `address` is one of FAIR_TRUSTED_PROXIES (its X-Forwarded-For counts)."""
    networks = _networks(get().trusted_proxies)
    if not networks or not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _check_live_limits(settings: Settings) -> None:
    if settings.live_max_sockets < 1:
        raise SettingsError("FAIR_LIVE_MAX_SOCKETS must be a positive whole number")
    if not 0 < settings.live_command_rate < math.inf:
        raise SettingsError("FAIR_LIVE_COMMAND_RATE must be a positive number of commands a second")
    if settings.live_command_burst < 1:
        raise SettingsError("FAIR_LIVE_COMMAND_BURST must be a positive whole number")
    if not re.fullmatch(r"[A-Za-z0-9:_.-]{0,64}", settings.broadcast_namespace):
        raise SettingsError(
            "FAIR_BROADCAST_NAMESPACE must be at most 64 letters, digits, ':', '_', '.' or '-'"
        )


def _check_admission(settings: Settings) -> None:
    if not 0 <= settings.admission_active_cap <= 10_000_000:
        raise SettingsError("FAIR_ADMISSION_ACTIVE_CAP must be a whole number from 0 (no cap)")
    if not 0 <= settings.admission_arrivals_per_minute <= 10_000_000:
        raise SettingsError(
            "FAIR_ADMISSION_ARRIVALS_PER_MINUTE must be a whole number from 0 (no cap)"
        )
    if not 1 <= settings.admission_idle_minutes <= 24 * 60:
        raise SettingsError("FAIR_ADMISSION_IDLE_MINUTES must be a number of minutes from 1")
    if not 1 <= settings.admission_max_waiting <= 10_000_000:
        raise SettingsError("FAIR_ADMISSION_MAX_WAITING must be a positive whole number")
    if not 0 <= settings.page_cache_seconds <= 60:
        raise SettingsError("FAIR_PAGE_CACHE_SECONDS must be a number of seconds from 0 to 60")


def _check_ice(settings: Settings) -> None:
    if any(not url.startswith(("stun:", "stuns:")) for url in settings.stun_urls):
        raise SettingsError("FAIR_STUN_URLS must be space-separated stun: or stuns: URLs")
    if any(not url.startswith(("turn:", "turns:")) for url in settings.turn_urls):
        raise SettingsError("FAIR_TURN_URLS must be space-separated turn: or turns: URLs")
    if settings.turn_urls and not settings.turn_secret:
        raise SettingsError(
            "FAIR_TURN_SECRET must be set with FAIR_TURN_URLS (coturn's static-auth-secret)"
        )
    if settings.turn_ttl <= 0:
        raise SettingsError("FAIR_TURN_TTL must be a positive number of seconds")


def _check_media(settings: Settings) -> None:
    if settings.media_viewers_per_process < 0:
        raise SettingsError("FAIR_MEDIA_VIEWERS_PER_PROCESS must be 0 (no spreading) or more")
    if not settings.media_url:
        return
    if not settings.media_url.startswith(("redis://", "rediss://")):
        raise SettingsError("FAIR_MEDIA_URL must be empty or start with redis://")
    if settings.broadcast_url.startswith("memory://"):
        raise SettingsError(
            "BROADCAST_URL must point at Redis with media processes (FAIR_MEDIA_URL): they "
            "publish the viewer counts and hear when talks end through it"
        )


_current: Settings | None = None


def get() -> Settings:
    """The process-wide settings, read on first use."""
    global _current
    if _current is None:
        _current = load()
    return _current


def override(settings: Settings | None) -> None:
    """Replace the process-wide settings (used by the CLI and by tests)."""
    global _current
    _current = settings
