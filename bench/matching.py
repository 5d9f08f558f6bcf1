"""ROME suggestion quality (issue 15): fair's suggester beside a plain BM25 baseline, on the
held-out set of real offer titles with the code France Travail gave them.

Reads `rome_titles.csv` (queries: title, rome_code) and `rome_codes.csv` (code -> parent code)
from the held-out directory (FAIR_ROME_DIR, else ../shared/eval/rome beside the repository, else
/work/shared/eval/rome; never copied into the repository), imports `rome_appellations.csv` into a
fresh SQLite database through fair.rome_referential (as `fair rome import` does), builds the
suggestion index from that database (fair.rome_suggest.index), then asks each title.

Prints success@1 and success@3 at the code level and at the parent-code level (the 532
historical codes that France Travail's offers mostly carry) for:
- `bm25`: plain BM25 over the appellations' words (lower case, accents dropped, nothing else:
  no stems, no gender forms, no noise words), a code ranked by its best appellation;
- `fair`: fair.rome_suggest as the offer form calls it (the appellation's own code);
- `fair (echo)`: the easy side check, on `rome_titles_appellation_echo.csv` (real titles equal to
  an official name once H/F, case, accents and punctuation are ignored), when it is there;
- `fair→parent`: the same suggestions read at the parent level (each code replaced by its
  parent, duplicates dropped), which is how offers are coded at France Travail.
Then latency p50/p95 per query (indicative: this measures quality, not a quiet machine).

    .venv/bin/python bench/matching.py               # the 932 queries
    .venv/bin/python bench/matching.py --queries 40  # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
import os
import re
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import _harness

from fair import db, migrations, rome_referential, rome_suggest

ROOT = Path(__file__).resolve().parent.parent
GOAL_PARENT, GOAL_CODE = 0.80, 0.70


def rome_dir() -> Path:
    for candidate in (
        os.environ.get("FAIR_ROME_DIR", ""),
        str(ROOT.parent / "shared" / "eval" / "rome"),
        "/work/shared/eval/rome",
    ):
        if candidate and (Path(candidate) / "rome_titles.csv").is_file():
            return Path(candidate)
    raise SystemExit("rome_titles.csv not found: set FAIR_ROME_DIR")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class PlainBM25:
    """The baseline: BM25 (k1 1.2, b 0.75) over lower-cased, accent-free words."""

    def __init__(self, appellations: list[tuple[str, str]]) -> None:
        self.codes = [code for code, _ in appellations]
        self.docs = [self.words(label) for _, label in appellations]
        self.average = sum(len(d) for d in self.docs) / len(self.docs)
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for number, doc in enumerate(self.docs):
            for word, count in Counter(doc).items():
                self.postings[word].append((number, count))
        n = len(self.docs)
        self.idf = {
            w: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for w, p in self.postings.items()
        }

    @staticmethod
    def words(text: str) -> list[str]:
        folded = unicodedata.normalize("NFKD", text.lower())
        return re.findall(r"\w+", "".join(c for c in folded if not unicodedata.combining(c)))

    def codes_for(self, text: str, limit: int = 3) -> list[str]:
        scores: dict[int, float] = defaultdict(float)
        for word in set(self.words(text)):
            for number, count in self.postings.get(word, ()):
                length = len(self.docs[number])
                norm = count * 2.2 / (count + 1.2 * (0.25 + 0.75 * length / self.average))
                scores[number] += self.idf[word] * norm
        best: dict[str, float] = {}
        for number, score in scores.items():
            code = self.codes[number]
            best[code] = max(best.get(code, 0.0), score)
        return [c for c, _ in sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def score(
    name: str,
    queries: list[dict[str, str]],
    parents: dict[str, str],
    ask: Callable[[str], list[str]],
) -> list[float]:
    """Print one line of success rates; returns the per-query latencies (seconds)."""
    hits = Counter[str]()
    latencies = []
    for row in queries:
        started = time.perf_counter()
        codes = ask(row["title"])[:3]
        latencies.append(time.perf_counter() - started)
        gold, gold_parent = row["rome_code"], parents[row["rome_code"]]
        tops = [parents.get(c, c) for c in codes]
        hits["code@1"] += bool(codes) and codes[0] == gold
        hits["code@3"] += gold in codes
        hits["parent@1"] += bool(tops) and tops[0] == gold_parent
        hits["parent@3"] += gold_parent in tops
    n = len(queries)
    print(
        f"{name:<12} code@1 {hits['code@1'] / n:.3f}  code@3 {hits['code@3'] / n:.3f}  "
        f"parent@1 {hits['parent@1'] / n:.3f}  parent@3 {hits['parent@3'] / n:.3f}  "
        f"p50 {_harness.pct(latencies, 50) * 1000:6.2f} ms  "
        f"p95 {_harness.pct(latencies, 95) * 1000:6.2f} ms  n={n}"
    )
    return [hits["code@1"] / n, hits["parent@1"] / n]


async def build_index(directory: Path, database: Path) -> tuple[rome_suggest.Index, float]:
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(migrations.upgrade, url)
    engine = db.create_engine(url)
    try:
        started = time.perf_counter()
        async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
            files = {
                "appellations": directory / "rome_appellations.csv",
                "codes": directory / "rome_codes.csv",
            }
            counts = await rome_referential.store(session, rome_referential.read(files))
        imported = time.perf_counter() - started
        print(
            f"imported {counts.appellations} appellations of {counts.codes} codes "
            f"in {imported:.1f} s"
        )
        rome_suggest.invalidate()
        started = time.perf_counter()
        async with db.sessionmaker(engine, write=False)() as session:
            index = await rome_suggest.index(session)
        return index, time.perf_counter() - started
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=0, help="the first N queries (0: all)")
    args = parser.parse_args()
    directory = rome_dir()
    queries = read_csv(directory / "rome_titles.csv")
    if args.queries:
        queries = queries[: args.queries]
    parents = {
        r["code_rome"]: r["code_rome_parent"] for r in read_csv(directory / "rome_codes.csv")
    }
    appellations = [
        (r["code_rome"], r["appellation"]) for r in read_csv(directory / "rome_appellations.csv")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        index, built = asyncio.run(build_index(directory, Path(tmp) / "matching.db"))
    print(f"index built from the database in {built:.2f} s; {len(queries)} queries\n")

    baseline = PlainBM25(appellations)
    score("bm25", queries, parents, baseline.codes_for)

    def fair(text: str) -> list[str]:
        return [s.code_rome for s in index.search(text, limit=5)]

    def fair_parent(text: str) -> list[str]:
        return list(dict.fromkeys(parents.get(c, c) for c in fair(text)))

    echo = directory / "rome_titles_appellation_echo.csv"
    if echo.is_file() and not args.queries:  # the easy side check: titles equal to a name
        score("fair (echo)", read_csv(echo), parents, fair)
    code_at_1, _ = score("fair", queries, parents, fair)
    parent_code_at_1, parent_at_1 = score("fair→parent", queries, parents, fair_parent)
    best_code = max(code_at_1, parent_code_at_1)
    print(
        f"\ngoal success@1 parent >= {GOAL_PARENT:.2f}: "
        f"{'ok' if parent_at_1 >= GOAL_PARENT else 'MISSED'} ({parent_at_1:.3f}); "
        f"code >= {GOAL_CODE:.2f}: {'ok' if best_code >= GOAL_CODE else 'MISSED'} "
        f"({best_code:.3f})"
    )


if __name__ == "__main__":
    main()
