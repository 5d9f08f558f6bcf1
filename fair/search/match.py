"""The SQL of an offer search's words: the query's own stems, and what widens it (fair.search.terms:
synonyms, the same job's ROME codes, corrected spelling), ranked below the query's own matches.

A group is a list of stems that must all be found, each as a word's start (as `fair.search` has
always matched), or as a whole word when it ends with `WHOLE`. Without a widening, the plain
match is the query's stems in one group.

With one, an offer matches when any group matches, or when it carries one of the codes and has
the `rest` stems (the query's words that do not name the job: "chauffeur Lunel" keeps Lunel).
Rank (lower is better): 0 for an offer the query's own stems find, 1 for one only a widening
finds, then the full-text score within each tier. On SQLite one more FTS5 match inside the same
statement tells the tiers apart; on PostgreSQL a second `@@` on the rows already found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    Select,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)

GROUPS_MAX = 12  # alternative groups of one query at most (the synonyms' and the spelling's)
# Ends a group's stem that matches a whole word only, not a word's start: a synonym's short
# stem ("vie" is "vi", which starts "ville", "visite"…: fair.search.terms).
WHOLE = "="
TIER = 1000.0  # SQLite's bm25 of a match stays far below this


@dataclass(frozen=True)
class Wider:
    """What a query also matches, below its own words (built by fair.search.terms)."""

    groups: tuple[tuple[str, ...], ...] = ()
    codes: tuple[str, ...] = ()
    rest: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.groups or self.codes)


def fts5(groups: list[tuple[str, ...]]) -> str:
    """An FTS5 query: each group's stems all required, as prefixes (whole when `WHOLE` ends
    them); groups OR'ed."""
    return " OR ".join("(" + " AND ".join(map(_fts5_term, g)) + ")" for g in groups if g)


def tsquery(groups: list[tuple[str, ...]]) -> str:
    """The same as a PostgreSQL tsquery's text."""
    return " | ".join("(" + " & ".join(map(_ts_term, g)) + ")" for g in groups if g)


def _fts5_term(stem: str) -> str:
    return f'"{stem.removesuffix(WHOLE)}"' if stem.endswith(WHOLE) else f'"{stem}"*'


def _ts_term(stem: str) -> str:
    return stem.removesuffix(WHOLE) if stem.endswith(WHOLE) else f"{stem}:*"


def _groups(terms: list[str], wider: Wider) -> list[tuple[str, ...]]:
    found = [tuple(terms)]
    for group in wider.groups:
        if group and group not in found:
            found.append(group)
    return found[: GROUPS_MAX + 1]


def _implies(group: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """Whether every offer matching `group` matches `other`: each stem of `other` starts one
    of `group`'s (a stem matches as a word's start; a whole one, `WHOLE`, only itself)."""
    return all(any(mine.startswith(theirs) for mine in group) for theirs in other)


def matching(groups: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """`groups` without those that find nothing more than another ("commis cuisine
    montpellier" beside "cuisine montpellier"): the same offers match, with fewer phrases for
    the index to read (a score still needs them all)."""
    kept: list[tuple[str, ...]] = []
    for n, group in enumerate(groups):
        others = groups[:n] + groups[n + 1 :]
        if not any(_implies(group, o) and (not _implies(o, group) or o in kept) for o in others):
            kept.append(group)
    return kept


def sqlite(
    base: Select[Any],
    model: Any,
    fts: str,
    terms: list[str],
    wider: Wider,
    *,
    looked_up: bool = False,
) -> tuple[Select[Any], Select[Any], Any]:
    """The matches of `terms` or of `wider` among `base` (ids of `model`, indexed by the FTS5
    table `fts`), the same joined to their scores, and the rank. `looked_up`: `base`'s own
    index drives (a job domain's) and each of its offers is looked up among the matches, where
    SQLite would otherwise read the offer row of every match."""
    own_id = model.id + 0 if looked_up else model.id  # "+ 0": no rowid search from the matches
    every = fts5(_groups(terms, wider))
    found_only = fts5(matching(_groups(terms, wider)))  # the same offers, fewer phrases
    scored: Any = (
        text(
            f"SELECT rowid AS id, bm25({fts}, 4.0, 1.0) AS score FROM {fts}"
            f" WHERE {fts} MATCH :every"
        )
        .bindparams(every=every)
        .columns(literal_column("id"), literal_column("score", Float))
    )
    # Materialised: the match runs once, though both the filter (an IN, which keeps SQLite's
    # planner driving from the matches) and the ranking's join read it.
    scored = scored.cte(f"{fts}_scored").prefix_with("MATERIALIZED")
    parts: list[Any] = [select(scored.c.id, scored.c.score)]
    # The ids alone (no score: bm25 reads every match's positions) for the filter that counts
    # and facets use.
    found: list[Any] = [
        select(literal_column("rowid"))
        .select_from(table(fts))
        .where(text(f"{fts} MATCH :every_id").bindparams(every_id=found_only))
    ]
    if wider.codes:
        coded = select(model.id.label("id"), literal(0.0, Float).label("score")).where(
            model.rome_code.in_(wider.codes)
        )
        if wider.rest:
            rest = text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :rest").bindparams(
                rest=fts5([wider.rest])
            )
            coded = coded.where(model.id.in_(rest.columns(literal_column("rowid"))))
        parts.append(coded)
        found.append(coded.with_only_columns(model.id))
    best = scored  # one row per offer; grouped only with the codes (bm25 in an aggregate's
    if len(parts) > 1:  # flattened subquery has no FTS5 context; a compound one is not flattened)
        union = parts[0].union_all(*parts[1:]).subquery("found")
        best = (
            select(union.c.id.label("id"), func.min(union.c.score).label("score"))
            .group_by(union.c.id)
            .subquery("best")
        )
    ranked = base.where(own_id.in_(select(best.c.id))).join(best, best.c.id == model.id)
    ids: Any = found[0] if len(found) == 1 else union_all(*found)
    matched = base.where(own_id.in_(ids))
    own = text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :own")
    own = own.bindparams(own=fts5([tuple(terms)]))
    tier = case((model.id.in_(own.columns(literal_column("rowid"))), 0.0), else_=TIER)
    return matched, ranked, tier + best.c.score


def sqlite_matched(
    eligible: Select[Any], model: Any, fts: str, terms: list[str], wider: Wider
) -> Select[Any]:
    """The ids among `eligible` (ids of `model`, filters only) matching `terms` or the groups
    of `wider` (not its codes), read from the index `fts` first: limited, it stops there
    (the capped count of fair.search)."""
    index = table(fts, literal_column("rowid"))
    return (
        eligible.with_only_columns(model.id)
        .select_from(index)
        .join(model, model.id == literal_column(f"{fts}.rowid"))
        .where(
            text(f"{fts} MATCH :matched_every").bindparams(
                matched_every=fts5(matching(_groups(terms, wider)))
            )
        )
    )


def sqlite_best(fts: str, model: Any, terms: list[str], wider: Wider, k: int) -> Any:
    """The `k` best matches of `terms` (or of `wider`) in the FTS5 index `fts`, of any edition
    and whatever the filters, as (id, key) in rank order, lower key first, ties by id
    descending: the rank `sqlite` gives (its tier, then bm25; bm25 alone without a
    widening). Read from the index alone, so that a page can be taken from them without
    reading each match's offer row (fair.search)."""
    every = fts5(_groups(terms, wider))
    params: dict[str, Any] = {"best_every": every, "best_k": k}
    if wider:
        params["best_own"] = fts5([tuple(terms)])

    def tier(column: str) -> str:
        if not wider:
            return "0.0"
        own = f"SELECT rowid FROM {fts} WHERE {fts} MATCH :best_own"
        return f"CASE WHEN {column} IN ({own}) THEN 0.0 ELSE {TIER} END"

    scored = (
        f"SELECT rowid AS id, {tier('rowid')} + bm25({fts}, 4.0, 1.0) AS key FROM {fts}"
        f" WHERE {fts} MATCH :best_every"
    )
    if wider.codes:
        # The offers of the codes score 0 within their tier; an offer the words match too
        # keeps its better score (as `sqlite`'s grouped minimum).
        codes = ", ".join(f":best_code_{n}" for n in range(len(wider.codes)))
        params.update({f"best_code_{n}": code for n, code in enumerate(wider.codes)})
        coded = (
            f"SELECT id, {tier('id')} + 0.0 AS key FROM {model.__tablename__}"
            f" WHERE rome_code IN ({codes})"
        )
        if wider.rest:
            coded += f" AND id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :best_rest)"
            params["best_rest"] = fts5([wider.rest])
        scored = f"SELECT id, min(key) AS key FROM ({scored} UNION ALL {coded}) GROUP BY id"
    statement = text(f"{scored} ORDER BY key, id DESC LIMIT :best_k").bindparams(**params)
    return statement.columns(literal_column("id"), literal_column("key", Float))


def postgresql(
    base: Select[Any], model: Any, vector: Any, terms: list[str], wider: Wider
) -> tuple[Select[Any], Any]:
    """The matches of `terms` or of `wider` among `base`, and the rank."""
    groups = _groups(terms, wider)
    every = func.to_tsquery("fair_french", tsquery(groups))
    own = func.to_tsquery("fair_french", tsquery([tuple(terms)]))
    # The same offers as `every` finds, with fewer phrases to read in the index.
    condition: Any = vector.op("@@")(func.to_tsquery("fair_french", tsquery(matching(groups))))
    if wider.codes:
        coded: Any = model.rome_code.in_(wider.codes)
        if wider.rest:
            rest = func.to_tsquery("fair_french", tsquery([wider.rest]))
            coded = coded & vector.op("@@")(rest)
        condition = or_(condition, coded)
    tier = case((vector.op("@@")(own), 0.0), else_=2.0)
    # Normalisation 32 keeps ts_rank below 1, so the tiers never mix.
    return base.where(condition), tier - func.ts_rank(vector, every, 32)


@dataclass(frozen=True)
class Reason:
    """Why a widened search found an offer: `kind` is "synonym" (`typed` → `means`), "job"
    (`means` is the ROME job's name) or "spelling" (`typed` → `means`)."""

    kind: str
    typed: str
    means: str
