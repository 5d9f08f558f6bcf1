"""fair.parse: the one place that reads numbers, ids, dates, coordinates, text and JSON."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from fair import parse


def refused(call, *args, **kw) -> tuple[str, str, dict]:  # type: ignore[no-untyped-def,type-arg]
    with pytest.raises(parse.ParseError) as raised:
        call(*args, **kw)
    return raised.value.code, raised.value.message, raised.value.params


def test_single_line_text_loses_breaks_and_controls():
    assert parse.line("Titre\r\nBcc: x@example.fr") == "Titre Bcc: x@example.fr"
    assert parse.line(" a\t\tb \u2028 c\x85d\x00e\x1bf\x7fg\ud800h ") == "a b c defgh"
    assert parse.line("déjà  vu") == "déjà  vu"  # spaces typed on purpose are kept
    assert parse.line("\r\n\t") == ""


def test_multi_line_text_keeps_its_lines_only():
    assert parse.paragraphs("Ligne 1\r\nLigne 2\rLigne 3\u2028\tfin\x00\x07") == (
        "Ligne 1\nLigne 2\nLigne 3\n\tfin"
    )


def test_integers_are_ascii_and_bounded():
    assert parse.integer(" 42 ", lo=0, hi=100) == 42
    assert parse.integer("-5", lo=-10, hi=0) == -5
    for raw in ("²", "１", "4.2", "", "1e3", "9" * 5000, "0x10"):
        assert refused(parse.integer, raw)[0] == "input.integer", raw
    assert refused(parse.integer, "101", lo=0, hi=100) == (
        "input.integer_range",
        "Enter a whole number between %(lo)s and %(hi)s.",
        {"lo": 0, "hi": 100},
    )
    assert refused(parse.integer, "2147483648")[0] == "input.integer_range"
    # A socket payload's numbers are ints already; bools and floats are not whole numbers.
    assert parse.integer(7, lo=0, hi=10) == 7
    assert refused(parse.integer, 11, lo=0, hi=10)[0] == "input.integer_range"
    for raw in (True, 1.0, None, [1]):
        assert refused(parse.integer, raw)[0] == "input.integer", raw  # type: ignore[arg-type]


def test_identifiers_fit_an_integer_column():
    assert parse.identifier("2147483647") == parse.identifier(2147483647) == 2**31 - 1
    bad = (
        "0",
        "-1",
        "2147483648",
        "²",
        "１",
        "1.0",
        "",
        " ",
        "9" * 5000,
        0,
        2**31,
        True,
        1.0,
        None,
    )
    for raw in bad:
        assert refused(parse.identifier, raw)[0] == "input.identifier", raw


def test_decimals_refuse_nan_inf_and_out_of_range():
    assert parse.latitude("43,61") == 43.61
    assert parse.longitude(-3.5) == -3.5
    assert parse.latitude(10) == 10.0
    for raw in (
        "nan",
        "inf",
        "-inf",
        "NaN",
        float("nan"),
        float("inf"),
        10**400,
        "1e5",
        True,
        None,
    ):
        assert refused(parse.latitude, raw)[0] in ("input.decimal", "input.decimal_range"), raw
    assert refused(parse.latitude, "90.5")[0] == "input.decimal_range"
    assert refused(parse.longitude, 180.01)[0] == "input.decimal_range"


def test_dates_are_within_1900_and_2100():
    assert parse.day("2030-01-21") == date(2030, 1, 21)
    assert parse.clock_time("09:30") == time(9, 30)
    paris = ZoneInfo("Europe/Paris")
    assert parse.moment("2030-01-21T09:30", "Europe/Paris") == datetime(
        2030, 1, 21, 9, 30, tzinfo=paris
    )
    for raw in ("0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"):
        assert refused(parse.day, raw) == (
            "input.date_range",
            "Enter a date between %(first)s and %(last)s.",
            {"first": 1900, "last": 2100},
        )
    for raw in ("0001-01-01T00:00", "9999-12-31T23:59"):
        assert refused(parse.moment, raw, "Europe/Paris")[0] == "input.date_range"
    for raw in ("２０３０-01-01", "2030-02-30", "20300101", "2030-W01-1", ""):
        assert refused(parse.day, raw)[0] == "input.date", raw
    assert refused(parse.clock_time, "25:61")[0] == "input.time"
    assert refused(parse.moment, "2030-01-21T09:30", "Nowhere/City")[0] == "input.datetime"


def test_json_documents():
    assert parse.json_document(b'[{"a": 1.5}]') == [{"a": 1.5}]
    assert refused(parse.json_document, b"[" * 100_000 + b"]" * 100_000)[0] == "import.too_deep"
    for data in (b"[NaN]", b"[Infinity]", b"{", b"\xff"):
        assert refused(parse.json_document, data)[0] == "import.bad_json", data
