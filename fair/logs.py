"""Logs through the standard library's logging, as text or JSON lines, each record carrying the
id of the request it belongs to (issue 17 item 3).

The request id is the client's X-Request-ID when it is sane (1 to 64 letters, digits, `.`,
`_`, `:` or `-`: a proxy's or a load balancer's id, so that one request is followed through
every hop), else a new one; fair.web.ops sets it for the request and echoes it in the
response's X-Request-ID. Records logged outside any request carry "-".

`configure` sets up the root logger of a process (`fair serve` hands the same setup to each
uvicorn worker through `dict_config`): FAIR_LOG_FORMAT=json writes one JSON object a line
(time, level, logger, message, request_id, and the traceback when there is one), the default
text a line each. The id a request's transaction gave the mail and webhook deliveries it queued
is kept with them, and the worker's lines about sending them carry it again (`following`).
Uvicorn's access log leaves out /healthz, /readyz and /metrics (probes and
scrapes every few seconds would drown the rest).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

NONE = "-"
request_id: ContextVar[str] = ContextVar("request_id", default=NONE)
SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def sane(value: str | None) -> str | None:
    """`value` when it can serve as a request id as it is, else None."""
    if value is not None and SANE.fullmatch(value):
        return value
    return None


def new_id() -> str:
    return uuid.uuid4().hex


def current() -> str | None:
    """The current request's id, None outside any request: what a queued mail or webhook
    delivery keeps (fair.mail, fair.webhooks) for its sender to log."""
    found = request_id.get()
    return None if found == NONE else found


@contextmanager
def following(rid: str | None) -> Iterator[None]:
    """Log as part of the request `rid` (the worker sending what that request queued)."""
    token = request_id.set(rid or NONE)
    try:
        yield
    finally:
        request_id.reset(token)


class RequestId(logging.Filter):
    """Puts the current request's id on every record (a handler's filter: all loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class QuietOperations(logging.Filter):
    """Drops uvicorn's access-log lines of the health and metrics endpoints."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            return args[2].split("?", 1)[0] not in QUIET_PATHS
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def dict_config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """The logging setup of a process, as logging.config.dictConfig (and uvicorn) take it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestId},
            "quiet_operations": {"()": QuietOperations},
        },
        "formatters": {
            "json": {"()": JsonLines},
            "text": {"format": TEXT},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json" if log_format == "json" else "text",
                "filters": ["request_id"],
            },
        },
        "loggers": {
            # Uvicorn's own loggers go to the root handler, the access log without the probes.
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {
                "level": level,
                "handlers": [],
                "propagate": True,
                "filters": ["quiet_operations"],
            },
        },
        "root": {"handlers": ["stderr"], "level": level},
    }


def configure(log_format: str = "text", level: str = "INFO") -> None:
    logging.config.dictConfig(dict_config(log_format, level))
