"""bench/surge.py's client processes: each answers by the deadlines it is given, whatever its
candidates' servers do, and counts what it could not finish; the answers that said to come
back shortly are counted by kind. Real sockets on loopback: a server that never answers, and
one that answers every request 503 with Retry-After."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import surge  # noqa: E402

from fair.web import admission as waiting_page  # noqa: E402

BUSY_PAGE = (
    b'<p class="alert error" role="alert" data-code="server.busy">Tr\xc3\xa8s sollicit\xc3\xa9e</p>'
)
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html; charset=utf-8\r\n"
    b"retry-after: 5\r\ncontent-length: %d\r\n\r\n%s" % (len(BUSY_PAGE), BUSY_PAGE)
)


def job(port: int, n: int, *, settle: float, tally: float) -> surge.Job:
    """`n` candidates arriving within 0.2 s on 127.0.0.1:`port`, settled and tallied within
    `settle` and `tally` seconds from now."""
    now = time.time()
    users = [(i, 100 + i, f"cookie{i}") for i in range(n)]
    base = f"http://127.0.0.1:{port}"
    return surge.Job(
        [base], "fair", now, 0.2, n, now + settle - 0.5, now + settle, now + tally, 5.0, 0, users
    )


async def test_a_client_answers_by_its_deadlines_when_its_server_never_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before: "settled" waited for every candidate and the tally for "settled", so a client
    # whose candidates hung on a request (an overloaded server) never gave its tally.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the requests, answers nothing, until the client goes
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    began = time.monotonic()
    async with server:
        # Never released: the client must not wait for it past its tally's time.
        tally = await asyncio.wait_for(
            surge.drive(job(port, 6, settle=1.5, tally=3.0), asyncio.Event()), 10
        )
    took = time.monotonic() - began
    assert capsys.readouterr().out == "settled\n"
    assert 1.5 < took < 4.0  # settled at 1.5 s, the tally by 3 s
    assert (tally.unfinished, tally.errors, tally.pages, tally.connected_at) == (6, [], [], [])


async def test_503_with_retry_after_counted_by_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while await reader.readuntil(b"\r\n\r\n"):  # a request's head: 503, busy
                writer.write(BUSY)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(busy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    began = time.monotonic()
    async with server:
        tally = await asyncio.wait_for(
            surge.drive(job(port, 4, settle=5.0, tally=8.0), asyncio.Event()), 15
        )
    # Every candidate refused on its first page: settled at once, not at the deadline.
    assert capsys.readouterr().out == "settled\n"
    assert time.monotonic() - began < 5.0
    assert tally.again == ["503 server.busy"] * 4
    assert [e.split(" '")[0] for e in tally.errors] == ["/e/fair: 503"] * 4
    assert (tally.unfinished, tally.error_kinds()) == (0, "errors 4 (503 server.busy 4, other 0)")


def test_come_back_reads_the_code_of_a_json_answer_or_an_error_page() -> None:
    json_busy = httpx.Response(
        503,
        headers={"retry-after": "5"},
        json={"error": {"code": "server.unavailable", "message": "…"}},
    )
    assert surge.come_back(json_busy) == "503 server.unavailable"
    page = httpx.Response(503, headers={"retry-after": "15"}, content=BUSY_PAGE)
    assert surge.come_back(page) == "503 server.busy"
    no_header = httpx.Response(503, json={"error": {"code": "server.busy", "message": "…"}})
    assert surge.come_back(no_header) is None
    assert surge.come_back(httpx.Response(500, headers={"retry-after": "5"})) is None


def test_the_on_mode_takes_the_product_s_caps_and_asks_as_the_waiting_page_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before: the status asked every 5 s (the page asks about every 15 s) and 'on' capped at
    # N / 3 a minute, whatever the product's defaults.
    monkeypatch.setattr(sys, "argv", ["surge.py", "--candidates", "3000"])
    args = surge.parse()
    assert (args.poll, args.jitter) == (waiting_page.POLL, waiting_page.JITTER) == (15, 3)
    assert (args.active, args.per_minute) == (None, None)  # fair.settings.ADMISSION_*


async def test_a_held_candidate_asks_at_the_poll_give_or_take_the_jitter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    asked: list[float] = []
    page = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nok"
    body = b'{"admitted": false, "position": 1, "waiting": 1, "wait_seconds": null}'
    held = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )

    async def line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                if b"/waiting/status" in head.split(b"\r\n")[0]:
                    asked.append(time.monotonic())
                    writer.write(held)
                else:
                    writer.write(page)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(line, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        given = job(port, 1, settle=3.0, tally=4.0)
        given.poll, given.jitter, given.deadline_at = 0.3, 0.1, time.time() + 2.5
        tally = await asyncio.wait_for(surge.drive(given, asyncio.Event()), 10)
    assert capsys.readouterr().out == "settled\n"
    gaps = [b - a for a, b in itertools.pairwise(asked)]
    # Never before poll - jitter; late by the loop's delays at most (a loaded machine in CI gave
    # one gap of 0.466 s on 91bcbb2), so the typical gap, not every gap, stays within poll + jitter.
    assert len(gaps) >= 5 and all(gap > 0.19 for gap in gaps), gaps
    assert statistics.median(gaps) < 0.42, gaps
    assert max(gaps) - min(gaps) > 0.02, gaps  # drawn, not the same each time
    assert (tally.held, tally.still_held, tally.errors) == (1, 1, [])


async def test_a_wait_shown_as_a_floor_is_left_out_of_the_eta_error_and_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A floor (the status's "floor": a lower bound) is not the wait measured: the first wait
    shown that is not one is; a candidate shown only floors is counted apart (issue 17: the
    10,000-candidate run's 60 % ETA error mixed them in)."""
    page = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nok"
    floor = {"admitted": False, "position": 1, "waiting": 2, "wait_seconds": 60, "floor": True}
    estimate = {**floor, "wait_seconds": 0.4, "floor": False}
    admitted = {"admitted": True, "next": "/"}
    answers = {  # by candidate (their cookie): the statuses in turn
        b"cookie0": [floor, floor, admitted],
        b"cookie1": [floor, estimate, admitted],
    }

    def reply(body: dict[str, object]) -> bytes:
        text = json.dumps(body).encode()
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        return head % len(text) + text

    async def line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                if b"/waiting/status" not in head.split(b"\r\n")[0]:
                    writer.write(page)
                else:
                    who = next(c for c in answers if b"fair_session=" + c in head)
                    writer.write(reply(answers[who].pop(0)))
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(line, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        given = job(port, 2, settle=3.0, tally=4.0)
        given.poll, given.jitter = 0.2, 0.0
        tally = await asyncio.wait_for(surge.drive(given, asyncio.Event()), 10)
    capsys.readouterr()
    assert (tally.held, tally.floors, tally.unknown_eta, tally.shown) == (2, 1, 0, [0.4])
    assert len(tally.actual) == 1 and 0.15 < tally.actual[0] < 1.0, tally.actual
    assert "1 floors left out" in surge.row("on", argparse.Namespace(candidates=2, window=1), tally)


async def test_the_wait_had_ends_when_the_line_let_the_candidate_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The status that finds a candidate let in says when the line let them in
    (`admitted_at`): the wait had ends then, not at that ask, up to a poll later (15 to 18 s
    at the page's pace, counted in the wait had before)."""
    page = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nok"
    estimate = {"admitted": False, "position": 1, "waiting": 1, "wait_seconds": 0.1}
    asked: list[float] = []

    def reply(body: dict[str, object]) -> bytes:
        text = json.dumps(body).encode()
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        return head % len(text) + text

    async def line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                if b"/waiting/status" not in head.split(b"\r\n")[0]:
                    writer.write(page)
                elif len(asked) < 3:
                    asked.append(time.time())
                    writer.write(reply({**estimate, "floor": False}))
                else:  # let in 0.1 s after the first wait was shown
                    writer.write(reply({"admitted": True, "admitted_at": asked[0] + 0.1}))
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(line, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        given = job(port, 1, settle=3.0, tally=4.0)
        given.poll, given.jitter = 0.2, 0.0
        tally = await asyncio.wait_for(surge.drive(given, asyncio.Event()), 10)
    capsys.readouterr()
    assert (tally.held, tally.shown) == (1, [0.1])
    assert len(tally.actual) == 1 and 0.09 < tally.actual[0] < 0.12, tally.actual  # was ~0.6 s
    assert len(tally.late) == 1 and 0.4 < tally.late[0] < 1.5, tally.late
