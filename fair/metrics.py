"""Prometheus metrics (issue 17 item 5), through the client library prometheus_client.

What is counted where:

- every web process: HTTP requests by method, route template (`/booths/{booth_id:int}`, never
  the raw path: a bounded number of series) and status, and their latencies (a histogram);
  its open `/live` sockets, and the event frames coalesced or dropped for slow sockets (with
  the resyncs they were told to do instead);
- every process holding media rooms (a web process in the embedded default, `fair media`
  processes scaled out): the viewers of its stages;
- the worker (or the web process running the background loops): mails sent and failed,
  webhook deliveries by outcome;
- read from the database when /metrics is scraped, so counted once whatever the number of
  processes: the outboxes' backlog (mails and webhook deliveries waiting) and the live queue
  lengths (entries waiting and called, over all booths).

Several processes. `fair serve --workers N` runs N uvicorn workers on one shared listening
socket, so a scrape reaches whichever worker accepts it: a per-process endpoint would show a
different worker's numbers on each scrape, with the others' (and the worker's, which serves no
HTTP) never seen. So fair uses the library's multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set
(an empty directory, made anew at each start, shared by the web, worker and media processes of
one host), every process writes its samples to files there and /metrics in any web process adds
them up (counters and histograms summed; the gauges of live things summed over the processes
alive: `livesum`; a stopping process calls `process_stopped`). Without it (the embedded default,
one process) the process's own registry is served, and the figures are the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair.enums import QueueStatus
from fair.models import OutboxMail, QueueEntry, WebhookDelivery

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "fair_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "fair_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SOCKETS = Gauge(
    "fair_live_sockets",
    "Open /live WebSocket connections.",
    multiprocess_mode="livesum",
)
LIVE_COALESCED = Counter(
    "fair_live_frames_coalesced",
    "State event frames (counts, positions, staffing) replaced in a socket's outgoing queue by "
    "a newer one of the same key before being sent (fair.live.outbox).",
)
LIVE_DROPPED = Counter(
    "fair_live_frames_dropped",
    "Event frames dropped for a slow consumer: from a socket's full outgoing queue (the socket "
    "is told to resync), or from a full broadcast subscription queue (where).",
    ["where"],
)
LIVE_RESYNCS = Counter(
    "fair_live_resyncs",
    "Times a slow socket's full outgoing queue was emptied and the socket told to resync.",
)
MEDIA_VIEWERS = Gauge(
    "fair_media_viewers",
    "Viewers watching a webconference stage held by this process.",
    multiprocess_mode="livesum",
)
MAILS = Counter("fair_mails", "Mails the outbox sender handed over, by outcome.", ["outcome"])
WEBHOOKS = Counter("fair_webhook_deliveries", "Webhook POSTs attempted, by outcome.", ["outcome"])

# Admission control (fair.admission): arrivals let in, told to wait, and refused (the line full,
# or out of reach); the line's figures per edition are read at scrape time (`admission_figures`).
ADMISSION_ADMITTED = Counter("fair_admission_admitted", "Candidates let in by the admission gate.")
ADMISSION_HELD = Counter(
    "fair_admission_held", "Arrivals (and waiting-page refreshes) told to wait in line."
)
ADMISSION_REJECTED = Counter(
    "fair_admission_rejected",
    "Arrivals refused with a 503: the waiting line full, or unreachable.",
    ["reason"],
)
# Public browsing pages asked for by anonymous visitors while their edition's gate is on
# (fair.web.browsing): served from the short cache, or rendered.
PAGE_CACHE = Counter(
    "fair_page_cache", "Anonymous public pages of gated editions, by outcome.", ["outcome"]
)

UNMATCHED = "<unmatched>"  # the route label of a request no route matched (a 404)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


class Figures(Collector):
    """Gauges read from the database for one scrape (name -> help, labels and samples)."""

    def __init__(self, families: Iterable[tuple[str, str, str, dict[str, float]]]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        for name, text, label, samples in self.families:
            family = GaugeMetricFamily(name, text, labels=[label])
            for value, figure in sorted(samples.items()):
                family.add_metric([value], figure)
            yield family


def exposition(figures: Figures) -> bytes:
    """The text every process's metrics add up to, with this scrape's database figures."""
    registry = CollectorRegistry()
    if multiprocess():
        from prometheus_client import multiprocess as mp  # only with the directory set

        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:  # this process's default registry (its process and Python figures too)
        registry.register(REGISTRY)
    registry.register(figures)
    return generate_latest(registry)


def process_stopped() -> None:
    """In multiprocess mode, leave the live gauges of this process out from now on."""
    if multiprocess():
        from prometheus_client import multiprocess as mp  # only with the directory set

        mp.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


# Read from the database at scrape time ---------------------------------------------------------


async def database_figures(session: AsyncSession) -> Figures:
    """The outboxes' backlog and the live queues' lengths, now (three indexed counts)."""
    mail_state = case((OutboxMail.failed_at.is_(None), "waiting"), else_="failed")
    mails = await _counts(
        session,
        select(mail_state, func.count()).where(OutboxMail.sent_at.is_(None)).group_by(mail_state),
    )
    hook_state = case((WebhookDelivery.failed_at.is_(None), "waiting"), else_="failed")
    hooks = await _counts(
        session,
        select(hook_state, func.count())
        .where(WebhookDelivery.delivered_at.is_(None))
        .group_by(hook_state),
    )
    active = [s.value for s in QueueStatus if s.active]
    queues = await _counts(
        session,
        select(QueueEntry.status, func.count())
        .where(QueueEntry.status.in_(active))
        .group_by(QueueEntry.status),
    )
    unsent = {"waiting": 0.0, "failed": 0.0}
    return Figures(
        [
            (
                "fair_outbox_mails",
                "Mails not sent: waiting (due or retrying later) and given up.",
                "state",
                {**unsent, **mails},
            ),
            (
                "fair_outbox_webhooks",
                "Webhook deliveries not delivered: waiting (due or retrying) and given up.",
                "state",
                {**unsent, **hooks},
            ),
            (
                "fair_queue_entries",
                "Places in the booths' drop-in queues now, by status (all booths).",
                "status",
                {**dict.fromkeys(active, 0.0), **queues},
            ),
        ]
    )


async def _counts(session: AsyncSession, statement: Select[str, int]) -> dict[str, float]:
    return {str(key): float(count) for key, count in (await session.execute(statement)).all()}


@dataclass(frozen=True)
class AdmissionLine:
    """What an operator sees of one gated edition's line (fair.admission) at a scrape."""

    edition_id: int
    active: int  # let in and active
    waiting: int
    rate: float  # admissions a second over the rate's window
    last_wait: float  # the estimated wait of the last one in line (fair.admission.line_wait)
    engaged: bool  # the gate holds people now (fair.admission.pressed)
    tokens: float | None  # the per-minute cap's bucket: admissions it allows at once now
    active_cap: int  # 0: no cap
    per_minute_cap: int  # 0: no cap


def admission_families(
    lines: Iterable[AdmissionLine],
) -> list[tuple[str, str, str, dict[str, float]]]:
    """The gauges of the admission lines, per gated edition (NaN: not known, or no such cap)."""
    nan = float("nan")
    gauges: dict[str, dict[str, float]] = {name: {} for name, _text in ADMISSION_GAUGES}
    for line in lines:
        key = str(line.edition_id)
        values = {
            "fair_admission_active": float(line.active),
            "fair_admission_waiting": float(line.waiting),
            "fair_admission_rate": line.rate,
            "fair_admission_wait_seconds": line.last_wait,
            "fair_admission_engaged": float(line.engaged),
            "fair_admission_tokens": nan if line.tokens is None else line.tokens,
            "fair_admission_active_cap": float(line.active_cap) if line.active_cap else nan,
            "fair_admission_per_minute_cap": (
                float(line.per_minute_cap) if line.per_minute_cap else nan
            ),
        }
        for name, value in values.items():
            gauges[name][key] = value
    return [(name, text, "edition", gauges[name]) for name, text in ADMISSION_GAUGES]


ADMISSION_GAUGES = (
    ("fair_admission_active", "Candidates let in and active, per gated edition."),
    ("fair_admission_waiting", "Candidates waiting in line, per gated edition."),
    (
        "fair_admission_rate",
        "Admissions a second, measured over the last 5 minutes, per gated edition.",
    ),
    (
        "fair_admission_wait_seconds",
        "The estimated wait of the last one in line, as their waiting page shows it (0: nobody"
        " waiting; before opening, until opening).",
    ),
    (
        "fair_admission_engaged",
        "1 while the gate holds candidates (someone waiting, or a cap nearly used), else 0.",
    ),
    (
        "fair_admission_tokens",
        "Admissions the per-minute cap lets in at once now (its bucket; NaN: no such cap).",
    ),
    ("fair_admission_active_cap", "The cap of active candidates (NaN: none)."),
    ("fair_admission_per_minute_cap", "The cap of admissions a minute (NaN: none)."),
)
