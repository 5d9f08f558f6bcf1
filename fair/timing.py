"""Where a request's milliseconds go: named spans, summed per request and sent back in the
standard Server-Timing header (fair.web.ops puts it on every answer, with the whole `app`
time), which browsers' developer tools and bench/search.py read.

    with timing.span("query"):
        rows = await session.execute(...)

A span costs two clock reads and a dict update; outside a request (tests, scripts, the
workers) it costs one context variable read and records nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

_spans: ContextVar[dict[str, float] | None] = ContextVar("timing_spans", default=None)
NAME_RE = re.compile(r"[a-z][a-z0-9_-]*")


def begin() -> Token[dict[str, float] | None]:
    """Start recording the spans of this request (fair.web.ops, once per request)."""
    return _spans.set({})


def end(token: Token[dict[str, float] | None]) -> None:
    _spans.reset(token)


@contextmanager
def span(name: str) -> Iterator[None]:
    """Add the time of the block to the request's span `name` (a token: letters, digits, _ -)."""
    spans = _spans.get()
    if spans is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        spans[name] = spans.get(name, 0.0) + (time.perf_counter() - started) * 1000


def header(app_ms: float) -> bytes:
    """The Server-Timing value: each span's milliseconds, then the whole app's."""
    spans = _spans.get() or {}
    parts = [f"{name};dur={ms:.2f}" for name, ms in spans.items()]
    parts.append(f"app;dur={app_ms:.2f}")
    return ", ".join(parts).encode()


def parse(value: str) -> dict[str, float]:
    """A Server-Timing header's durations by name (bench/search.py reads them)."""
    found: dict[str, float] = {}
    for part in value.split(","):
        name, _, rest = part.strip().partition(";")
        duration = re.search(r"dur=([0-9.]+)", rest)
        if NAME_RE.fullmatch(name) and duration:
            found[name] = found.get(name, 0.0) + float(duration.group(1))
    return found
