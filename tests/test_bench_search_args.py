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
