"""bench/search.py's arguments: which PostgreSQL database a run creates and drops."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import search  # noqa: E402


def test_relevance_never_drops_the_generated_offers_database() -> None:
    # --relevance recreates its database with the demo fair: by default not `fair_bench`, the
    # generated offers that --keep left for --reuse and --approximation runs.
    assert {
        " ".join(argv): search.pg_database(search.arguments(argv))
        for argv in (
            [],
            ["--reuse"],
            ["--approximation", "--reuse"],
            ["--relevance"],
            ["--relevance", "--show"],
            ["--relevance", "--pg-database", "fair_bench_rel_x"],
            ["--pg-database", "fair_bench_x"],
        )
    } == {
        "": "fair_bench",
        "--reuse": "fair_bench",
        "--approximation --reuse": "fair_bench",
        "--relevance": "fair_bench_relevance",
        "--relevance --show": "fair_bench_relevance",
        "--relevance --pg-database fair_bench_rel_x": "fair_bench_rel_x",
        "--pg-database fair_bench_x": "fair_bench_x",
    }


def test_the_warm_up_asks_each_query_once_at_least() -> None:
    """A search's statement is built once per shape and process: the first query of a shape
    pays it, in the warm-up, not among the measured requests."""
    assert search.warmed(5, search.queries("fulltext")) == len(search.queries("fulltext")) == 10
    assert search.warmed(20, search.queries("fulltext")) == 20
    assert search.warmed(0, search.queries("widened")) == 6
