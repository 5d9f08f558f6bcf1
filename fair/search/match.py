"""The SQL of an offer search's words: the query's own stems, and what widens it (fair.search.terms:
synonyms, the same job's ROME codes, corrected spelling), ranked in tiers of evidence (below).

A group is a list of stems that must all be found, each as a word's start (as `fair.search` has
always matched), or as a whole word when it ends with `WHOLE`: a short stem that stands for a
longer word (`typed`: "vie" is "vi", which starts "ville", "visite"). Without a widening, the
plain match is the query's stems in one group.

With one, an offer matches when any group matches, or when it carries one of the codes and has
the `rest` stems (the query's words that do not name the job: "chauffeur Lunel" keeps Lunel).
Rank (lower is better), in tiers (`tiers`), then the full-text score within each: the offers
whose title holds the query's own stems and starts with the first (the trade: "Secrétaire");
those whose title holds the query's own stems elsewhere or a widening's phrase (a synonym's:
"Employé de rayon" for "mise en rayon"); those the query's own stems find elsewhere only (the
description, the skills: "actes de la vie quotidienne" for "auxiliaire de vie"); then those
only a widening finds. Words scattered in a text are weaker evidence of the job than a title,
and a title's first word names its job. A search without a widening has the same title tiers,
then its other matches. On SQLite more FTS5 matches inside the same statement tell the tiers
apart (restricted to the title's column, "^" for its first word); on PostgreSQL the title's
stems are read (`title_vector`, migration 0044: the stems of `title_stems`, the column SQLite
indexes, as a short tsvector, where a tsquery on the title's lexemes read each match's whole
vector again; the first word from `title_stems`) and a `@@` tells the text's.

Bounded (fair.search.Query.rank_bound, by default on both databases; 0: exact): only the
newest matches of each tier (highest ids) are scored, the others come after their tier's
scored ones, newest first. Scoring is what a broad word cost at scale (bm25 reads each match's
positions and sizes; ts_rank each one's vector); the tiers are what follows the score (a
title's match is the best evidence), and within one the offers of a job differ by their texts
alone. bench/search.py --approximation measures what the bound changes against the exact
ranking. Since a bounded page needs only each tier's newest, a broad word's is read from the
matches among the newest offers first (a window of ids: fair.search.pages), which settle it
when they hold what it needs (`postgresql_bounded`'s `full`, `_settled`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    and_,
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

from fair.search.shapes import bind, integer, listed
from fair.search.stemming import craft_stems, feminine_stems, gendered, words

GROUPS_MAX = 12  # alternative groups of one query at most (the synonyms' and the spelling's)
# Ends a group's stem that matches a whole word only, not a word's start: a short stem of a
# longer word ("vie" is "vi", which starts "ville", "visite"…): `typed`, fair.search.terms.
WHOLE = "="
WHOLE_STEM = 3  # a stem this short, of a longer word, matches whole words only
TIER = 1000.0  # SQLite's bm25 of a match stays far below this: a tier's step
PG_TIER = 2  # PostgreSQL's step: ts_rank (normalised, `postgresql`) stays below 1
TITLE_FTS5 = "title_stems"  # the title's column of the FTS5 indexes (offers', partners')
NOTHING = '""'  # an FTS5 query no row matches (an empty phrase), read at once


@dataclass(frozen=True)
class Wider:
    """What a query also matches, below its own words (built by fair.search.terms)."""

    groups: tuple[tuple[str, ...], ...] = ()
    codes: tuple[str, ...] = ()
    rest: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.groups or self.codes)


@dataclass(frozen=True)
class Words:
    """What of a search's words decides their SQL (fair.search.shapes): each of its `tiers`
    (its number and where: `tiers`), whether codes widen it, and with other words
    (`Wider.rest`). The stems themselves are parameters (`values`)."""

    tiers: tuple[tuple[int, str], ...]
    coded: bool = False
    rest: bool = False

    @classmethod
    def of(cls, terms: list[str], wider: Wider) -> Words:
        shaped = tuple(
            (n, where) for n, (groups, where) in enumerate(tiers(terms, wider)) if groups
        )
        return cls(shaped, bool(wider.codes), bool(wider.codes and wider.rest))


def values(dialect: str, terms: list[str], wider: Wider) -> dict[str, Any]:
    """The parameters of the words' SQL (`Words`) on `dialect`: `w_every` (every group, for
    the score), `w_found` (the same offers, fewer phrases: `matching`), `w_rest`, `w_codes`,
    each tier's (`w_tier_<n>`; on SQLite `w_cand_<n>`, without the better tiers', the last
    tier's too, `w_upto_<n>`, with them, and `w_better`; on PostgreSQL the head's LIKE
    patterns `w_h<n>_a`, `w_h<n>_b`). Kept by words and widening (`_values`), a copy given."""
    return dict(_values(dialect, tuple(terms), wider))


@lru_cache(maxsize=256)
def _values(dialect: str, terms: tuple[str, ...], wider: Wider) -> dict[str, Any]:
    """`values`, worked out once per words and widening: the same words are searched again,
    page after page and visitor after visitor, and writing their queries took 0.6 ms for
    "chauffeur" widened (which groups imply others, each stem's forms), a tenth of its page
    statement."""
    asked = list(terms)
    groups = _groups(asked, wider)
    found: dict[str, Any] = {"w_codes": list(wider.codes)}
    if dialect != "postgresql":
        found.update(w_every=fts5(groups), w_found=fts5(matching(groups), factored=True))
        found["w_rest"] = fts5([wider.rest])
        better: list[str] = []
        for n, match in _fts5_tiers(asked, wider):
            found[f"w_tier_{n}"] = match
            found[f"w_cand_{n}"] = _but(match, better)
            better.append(match)
            found[f"w_upto_{n}"] = " OR ".join(f"({m})" for m in better)
        found["w_better"] = " OR ".join(f"({m})" for m in better)
        found[f"w_cand_{LAST}"] = _but(found["w_found"], better)
        return found
    found.update(w_every=tsquery(groups), w_found=tsquery(matching(groups), factored=True))
    found["w_rest"] = tsquery([wider.rest])
    for n, (tiered, where) in enumerate(tiers(asked, wider)):
        found[f"w_tier_{n}"] = tsquery(tiered, factored=True)  # the text's, or the title's stems
        if where == "head" and tiered:
            first = tiered[0][0]
            whole = first.removesuffix(WHOLE)
            # The title is the word, or starts with it as a whole word; else starts with it,
            # or with its first other form (a feminine's: "vendeux" for "vendeur").
            other = (*forms(first), first)[1]
            head = (whole, f"{whole} %") if whole != first else (f"{first}%", f"{other}%")
            found[f"w_h{n}_a"], found[f"w_h{n}_b"] = head
    return found


def typed(word: str) -> str:
    """A typed (folded) word as a group's stem: its stem (its masculine's, for a job's
    feminine: fair.search.stemming.gendered, "vendeuse" is "vendeur"), matched as a word's
    start, or whole (`WHOLE`) when stemming shortened it to `WHOLE_STEM` letters or fewer.
    Such a word is complete ("vie", "aide", "caces", "pose"): its stem ("vi", "aid", "cac",
    "pos") starts other words ("ville", "aidant", "cacao", "poste"), which it does not mean. A
    short word the stemmer leaves as it is ("ele", "cuis", "btp") may be a word's start being
    typed, and stays one (as a longer stem: "elec" for "électricien"). A single letter is a
    word of its own ("permis B"), whole: as a start it found every word starting with it (a
    figure stays a start: "CACES 3" may be written "3e catégorie")."""
    found = gendered(word)
    short = len(found) <= WHOLE_STEM and len(found) < len(word)
    return found + WHOLE if short or (len(word) == 1 and word.isalpha()) else found


def forms(stem: str) -> tuple[str, ...]:
    """What a group's stem finds in the indexes, as their stems: itself, and for a masculine
    the stems of its feminines it does not start (fair.search.stemming.feminine_stems:
    "vendeur" also finds "vendeux", the offers titled "Vendeuse"; "conducteur" "conductric").
    The indexes hold each word's own stem; the SQL matches any of these."""
    if stem.endswith(WHOLE):
        return (stem,)
    return (stem, *feminine_stems(stem))


def text_forms(stem: str) -> tuple[str, ...]:
    """What a group's stem finds in an offer's text on SQLite: its `forms`, and for a trade in
    "-ier" its craft's stem (fair.search.stemming.craft_stems: "menuisi" also finds
    "menuiser", the offers of a "Menuiserie"), not in its title (the tiers of the title: a
    "Vendeur en jardinerie" is no "jardinier"). PostgreSQL's to_tsquery finds it already (it
    stems our stems again, "menuisi" to "menuis"): `tsquery` writes `forms`."""
    found = forms(stem)
    return found if stem.endswith(WHOLE) else (*found, *craft_stems(stem))


def typed_terms(text_: str, most: int) -> list[str]:
    """The group of stems of the words of `text_` (`typed`), the first `most` of them."""
    return [typed(w) for w in words(text_)][:most]


def fts5(groups: list[tuple[str, ...]], *, factored: bool = False) -> str:
    """An FTS5 query: each group's stems all required, as prefixes (whole when `WHOLE` ends
    them), each any of its `text_forms`; groups OR'ed. `factored`: the stems several groups
    share written once (`_factored`), for a match that is not scored (bm25 scores each phrase
    written, so a scored query keeps every group's own)."""
    terms = [[_fts5_term(s) for s in g] for g in groups if g]
    return _factored(terms, FTS5) if factored else _or(terms, FTS5)


def tsquery(groups: list[tuple[str, ...]], *, factored: bool = False) -> str:
    """The same as a PostgreSQL tsquery's text. `factored`: likewise for a match that is not
    scored (ts_rank's figure depends on the query's outer operator): the GIN index reads a
    stem (a prefix: every word it starts) once for each time it is written ("chauffeur"
    widened wrote "conducteur" in five groups, "conductric" in five: 36 of the index's 40 ms
    at 100,000 offers)."""
    terms = [[_ts_term(s) for s in g] for g in groups if g]
    return _factored(terms, TSQUERY) if factored else _or(terms, TSQUERY)


def fts5_title(groups: list[tuple[str, ...]], *, head: bool = False) -> str:
    """`fts5(groups)` restricted to the title's column: each stem in the title; `head`: the
    title's first word is the group's first stem's (FTS5's initial token, "^")."""

    def term(n: int, stem: str) -> str:
        start = "^ " if head and n == 0 else ""
        found = [f"{TITLE_FTS5} : {start}{_fts5_one(f)}" for f in forms(stem)]
        return found[0] if len(found) == 1 else "(" + " OR ".join(found) + ")"

    # Never scored (the tiers are matches alone): the stems groups share written once.
    return _factored([[term(n, t) for n, t in enumerate(g)] for g in groups if g])


# A boolean query's operators (AND, OR): FTS5's, PostgreSQL's tsquery's.
FTS5 = (" AND ", " OR ")
TSQUERY = (" & ", " | ")


def _or(groups: list[list[str]], syntax: tuple[str, str] = FTS5) -> str:
    """Groups of terms, each group's all required, OR'ed (in `syntax`: FTS5 or TSQUERY)."""
    and_, or_ = syntax
    return or_.join("(" + and_.join(g) + ")" for g in groups)


def _factored(groups: list[list[str]], syntax: tuple[str, str] = FTS5) -> str:
    """`_or(groups, syntax)` with the terms several groups share written once: (a AND b) OR
    (a AND c) as (a AND (b OR c)), the term in the most groups first, and again within. The
    same rows (the same boolean expression), but FTS5 and PostgreSQL's GIN index read a
    term's list once per time it is written: a widened job's synonyms repeat its trade
    ("conducteur" in six of chauffeur's groups), and a prefix's list merges every word it
    starts. A group of the shared term alone finds every row the others with it find: it
    stands for them all. Without a shared term, the same text as `_or`."""
    seen: dict[str, int] = {}
    for group in groups:
        for term in dict.fromkeys(group):
            seen[term] = seen.get(term, 0) + 1
    shared = max(seen, key=lambda t: seen[t], default=None)  # the first of the most shared
    if shared is None or seen[shared] < 2:
        return _or(groups, syntax)
    and_, or_ = syntax
    rest = [[t for t in g if t != shared] for g in groups if shared in g]
    inner = shared if any(not g for g in rest) else f"{shared}{and_}({_factored(rest, syntax)})"
    others = [g for g in groups if shared not in g]
    return or_.join([f"({inner})", *([_factored(others, syntax)] if others else [])])


def tiers(terms: list[str], wider: Wider) -> list[tuple[list[tuple[str, ...]], str]]:
    """The tiers of a search but the last, best first (the module's doc): each its groups of
    stems and where they must be: "head" (in the title, which starts with the group's first),
    "title" or "any". Without a widening, the title's two (the last: the text's matches)."""
    own = [tuple(terms)]
    if not wider:
        return [(own, "head"), (own, "title")]
    return [(own, "head"), (_groups(terms, wider), "title"), (own, "any")]


LAST = 3  # the last tier's number (len(tiers(…)) with a widening): the rest of the matches


def _fts5_tiers(terms: list[str], wider: Wider) -> list[tuple[int, str]]:
    """`tiers` as FTS5 queries, with their numbers (a tier of no group left out)."""
    return [
        (n, fts5(groups) if where == "any" else fts5_title(groups, head=where == "head"))
        for n, (groups, where) in enumerate(tiers(terms, wider))
        if groups
    ]


def _but(match: str, better: list[str]) -> str:
    """The FTS5 query `match` without the matches of any of `better`."""
    if not better:
        return match
    return f"({match}) NOT (" + " OR ".join(f"({m})" for m in better) + ")"


def _fts5_term(stem: str) -> str:
    """A group's stem as FTS5 terms: any of its `text_forms`."""
    found = [_fts5_one(f) for f in text_forms(stem)]
    return found[0] if len(found) == 1 else "(" + " OR ".join(found) + ")"


def _fts5_one(stem: str) -> str:
    return f'"{stem.removesuffix(WHOLE)}"' if stem.endswith(WHOLE) else f'"{stem}"*'


def _ts_term(stem: str) -> str:
    """A group's stem as tsquery terms: any of its `forms`."""
    found = [_ts_one(f) for f in forms(stem)]
    return found[0] if len(found) == 1 else "(" + " | ".join(found) + ")"


def _ts_one(stem: str) -> str:
    whole = stem.removesuffix(WHOLE)
    return whole if whole != stem else f"{stem}:*"


def _groups(terms: list[str], wider: Wider) -> list[tuple[str, ...]]:
    found = [tuple(terms)]
    for group in wider.groups:
        if group and group not in found:
            found.append(group)
    return found[: GROUPS_MAX + 1]


def _covers(mine: tuple[str, ...], theirs: tuple[str, ...]) -> bool:
    """Whether every word a stem matches (its `text_forms`: `mine`), another (`theirs`)
    matches: each of `mine` starts with one of `theirs` (a stem matches as a word's start; a
    whole one, `WHOLE`, only itself)."""
    return all(any(m.startswith(t) for t in theirs) for m in mine)


def matching(groups: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """`groups` without those that find nothing more than another ("commis cuisine
    montpellier" beside "cuisine montpellier"): the same offers match, with fewer phrases for
    the index to read (a score still needs them all). A group implies another when every
    offer matching it matches the other: each stem of the other finds what one of the group's
    finds (`_covers`). The stems each group covers are worked out once, as a set: asked pair
    by pair, a widened job's groups took 0.37 ms ("chauffeur"), now 0.11."""
    forms_of = {stem: text_forms(stem) for group in groups for stem in group}
    covered = {
        mine: {theirs for theirs, found in forms_of.items() if _covers(forms, found)}
        for mine, forms in forms_of.items()
    }
    reach = [set().union(*(covered[stem] for stem in group)) for group in groups]
    kept: list[tuple[str, ...]] = []
    for n, group in enumerate(groups):
        if not any(
            reach[n].issuperset(other) and (not reach[m].issuperset(group) or other in kept)
            for m, other in enumerate(groups)
            if m != n
        ):
            kept.append(group)
    return kept


def _match(fts: str, name: str) -> Any:
    """`fts MATCH` the FTS5 query of parameter `name`."""
    return text(f"{fts} MATCH :{name}").bindparams(bind(name))


def _ids(fts: str, name: str) -> Any:
    """The rowids of `fts` matching the FTS5 query of parameter `name`."""
    statement = text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :{name}")
    return statement.bindparams(bind(name)).columns(literal_column("rowid"))


def sqlite(
    base: Select[Any],
    model: Any,
    fts: str,
    words: Words,
    *,
    looked_up: bool = False,
    bound: bool = False,
) -> tuple[Select[Any], Select[Any], Any]:
    """The matches of the words (`values`) among `base` (ids of `model`, indexed by the FTS5
    table `fts`), the same joined to their scores, and the rank. `looked_up`: `base`'s own
    index drives (a job domain's) and each of its offers is looked up among the matches, where
    SQLite would otherwise read the offer row of every match. `bound`: only the newest `w_k`
    matches of each tier are scored (`sqlite_candidates`: a tier read only when the better
    tiers' hold fewer than the page, `p_depth`), the others ranked after their tier's scored
    ones, newest first (else every match scored)."""
    own_id = model.id + 0 if looked_up else model.id  # "+ 0": no rowid search from the matches
    # The ids alone (no score: bm25 reads every match's positions) for the filter that counts
    # and facets use: `w_found`, the same offers as `w_every` with fewer phrases.
    found: list[Any] = [
        select(literal_column("rowid")).select_from(table(fts)).where(_match(fts, "w_found"))
    ]
    coded = _coded(model, fts, words) if words.coded else None
    if coded is not None:
        found.append(coded.with_only_columns(model.id))
    ids: Any = found[0] if len(found) == 1 else union_all(*found)
    matched = base.where(own_id.in_(ids))
    tiered = [(model.id.in_(_ids(fts, f"w_tier_{n}")), TIER * n) for n, _ in words.tiers]
    tier: Any = case(*tiered, else_=TIER * LAST)
    if bound:
        ranked = sqlite_candidates(base, model, fts, words, reach=True)
        kept = ranked.cte(f"{fts}_ranked").prefix_with("MATERIALIZED")
        # The others after their tier's scored ones (a bm25 is never above 0, nor 999 below
        # it), newest first (the sort's ties: by id, descending).
        rest = tier + 1.0
        joined = matched.outerjoin(kept, kept.c.id == model.id)
        return matched, joined, func.coalesce(kept.c.key, rest)
    scored: Any = (
        text(
            f"SELECT rowid AS id, bm25({fts}, 4.0, 1.0) AS score FROM {fts}"
            f" WHERE {fts} MATCH :w_every"
        )
        .bindparams(bind("w_every"))
        .columns(literal_column("id"), literal_column("score", Float))
    )
    # Materialised: the match runs once, though both the filter (an IN, which keeps SQLite's
    # planner driving from the matches) and the ranking's join read it.
    scored = scored.cte(f"{fts}_scored").prefix_with("MATERIALIZED")
    parts: list[Any] = [select(scored.c.id, scored.c.score)]
    if coded is not None:
        parts.append(coded)
    best = scored  # one row per offer; grouped only with the codes (bm25 in an aggregate's
    if len(parts) > 1:  # flattened subquery has no FTS5 context; a compound one is not flattened)
        union = parts[0].union_all(*parts[1:]).subquery("found")
        best = (
            select(union.c.id.label("id"), func.min(union.c.score).label("score"))
            .group_by(union.c.id)
            .subquery("best")
        )
    ranked = base.where(own_id.in_(select(best.c.id))).join(best, best.c.id == model.id)
    return matched, ranked, tier + best.c.score


def _coded(model: Any, fts: str, words: Words) -> Select[Any]:
    """The offers of the codes, as (id, score 0)."""
    score = literal(0.0, Float).label("score")
    return select(model.id.label("id"), score).where(*_codes(model, fts, words))


def _codes(model: Any, fts: str, words: Words) -> list[Any]:
    """What an offer of the codes (`w_codes`) has: one of them, and the other words
    (`w_rest`), if any."""
    conditions = [model.rome_code.in_(listed("w_codes"))]
    if words.rest:
        conditions.append(model.id.in_(_ids(fts, "w_rest")))
    return conditions


def sqlite_candidates(
    eligible: Select[Any], model: Any, fts: str, words: Words, *, reach: bool = False
) -> Any:
    """The newest `w_k` matches (highest ids) of each tier among `eligible` (ids of `model`,
    its filters), as (id, key): the key `sqlite` ranks by (its tier, then bm25 under the
    same full-text query, so the same figure). `reach`: a tier is read only when the better
    tiers' hold fewer than `p_depth` (the page's offset and size: a page that they fill,
    fair.search.best), the worse ones neither read nor scored (uncorrelated, SQLite checks
    it once before the tier's match is run: a broad word's first tier alone fills the first
    pages).

    Each tier's newest are read from its own match (`w_cand_<n>`, the better tiers' left out
    by the index: FTS5's NOT), newest first, each checked against `eligible` by its id: it
    stops after `w_k` of each. Then they are scored in one pass of the scored query
    (`w_every`) over the ids from the oldest candidate's up (FTS5's rowid range), bm25 run
    for the candidates alone: scoring every match read each one's positions and sizes (7.5
    ms for "chauffeur" widened at 100,000 offers), and each pass of the scored query reads
    its phrases' lists and works out their document counts anew (2.5 and 3 ms there: paid
    once per tier when each tier had its own)."""
    rowid: Any = literal_column(f"{fts}.rowid")
    # "+": a filter on the rows the index gives, not a rowid lookup of each of these ids.
    unindexed: Any = literal_column(f"+{fts}.rowid")
    passes = eligible.where(model.id == rowid).correlate(None).exists()
    # Each tier's newest, materialised: read once, though counted by the worse tiers' checks.
    parts: list[Any] = []

    def reached() -> Any:
        """Whether the better tiers' newest hold fewer than the page (None: read anyway)."""
        if not (reach and parts):
            return None
        held = (select(func.count()).select_from(p).scalar_subquery() for p in parts)
        return sum(held, literal_column("0", Integer)) < integer("p_depth")

    def newest(n: int, match: str) -> Any:
        guard = reached()
        # Not reached, the index is given a query no row matches: a condition beside the
        # match would be checked on each of its rows, after the match had read its lists.
        query: Any = bind(match)
        if guard is not None:
            query = case((guard, query), else_=literal(NOTHING))
        return (
            select(rowid.label("id"), literal_column(repr(TIER * n), Float).label("tier"))
            .select_from(table(fts))
            .where(literal_column(fts).op("MATCH")(query), passes)
            .order_by(rowid.desc())
            .limit(integer("w_k"))
        )

    def hold(n: int, part: Any) -> None:
        parts.append(part.cte(f"{fts}_newest_{n}").prefix_with("MATERIALIZED"))

    for n, _ in words.tiers:
        hold(n, newest(n, f"w_cand_{n}"))
    last: Any = newest(LAST, f"w_cand_{LAST}")
    if words.coded:
        # The codes' offers the words do not find score 0 within the tier (as `sqlite`'s
        # grouped minimum). The tier's newest `k` are among the newest `k` of each part.
        before = [model.id.not_in(_ids(fts, "w_better"))] if words.tiers else []
        coded = (
            eligible.with_only_columns(
                model.id.label("id"), literal_column(repr(TIER * LAST), Float).label("tier")
            )
            .where(*_guarded(reached()), *_codes(model, fts, words), *before)
            .order_by(model.id.desc())
            .limit(integer("w_k"))
        )
        both = union_all(select(last.subquery()), select(coded.subquery())).subquery()
        last = (
            select(both.c.id, func.min(both.c.tier).label("tier"))
            .group_by(both.c.id)
            .order_by(both.c.id.desc())
            .limit(integer("w_k"))
        )
    hold(LAST, last)
    # Materialised: the candidates read once, and the scored pass never run once per
    # candidate (an FTS5 query per rowid, each reading its phrases' lists again).
    kept = union_all(*map(select, parts)).cte(f"{fts}_newest").prefix_with("MATERIALIZED")
    oldest = select(func.min(kept.c.id)).scalar_subquery()
    # Each candidate's tier read by its id (an automatic index on the candidates), where a
    # join of the scores to the candidates compared each with each (no index on either).
    tier = select(kept.c.tier).where(kept.c.id == rowid).scalar_subquery()
    key = tier + literal_column(f"bm25({fts}, 4.0, 1.0)", Float)
    found: Any = (
        select(rowid.label("id"), key.label("key"))
        .select_from(table(fts))
        .where(_match(fts, "w_every"), rowid >= oldest, unindexed.in_(select(kept.c.id)))
    )
    if words.coded:
        # The codes' offers the words do not find: 0 within their tier, not scored.
        scored = found.cte(f"{fts}_newest_scored").prefix_with("MATERIALIZED")
        unscored = select(kept.c.id, kept.c.tier.label("key"))
        unscored = unscored.where(kept.c.id.not_in(select(scored.c.id)))
        found = union_all(select(scored.c.id, scored.c.key), unscored)
    return found


def _guarded(guard: Any) -> list[Any]:
    return [] if guard is None else [guard]


def sqlite_matched(eligible: Select[Any], model: Any, fts: str, words: Words) -> Any:
    """The ids among `eligible` (ids of `model`, filters only) matching the words, read from
    the index `fts` first, then (with codes) the codes' offers it does not match: limited, it
    stops there (the capped counts of fair.search and its facets), the codes' offers read only
    when the words' matches are too few. The ids `sqlite` matches."""
    index = table(fts, literal_column("rowid"))
    found = (
        eligible.with_only_columns(model.id)
        .select_from(index)
        .join(model, model.id == literal_column(f"{fts}.rowid"))
        .where(_match(fts, "w_found"))
    )
    if not words.coded:
        return found
    coded = eligible.where(*_codes(model, fts, words), model.id.not_in(_ids(fts, "w_found")))
    return union_all(found, coded.with_only_columns(model.id))


def sqlite_best(fts: str, model: Any, words: Words, cut: int = LAST) -> Any:
    """The `best_k` best matches of the words in the FTS5 index `fts`, of any edition and
    whatever the filters, as (id, key) in rank order, lower key first, ties by id
    descending: the rank `sqlite` gives (its tier, then bm25; bm25 alone without a
    widening). Read from the index alone, so that a page can be taken from them without
    reading each match's offer row (fair.search).

    `cut`: the tier of the `best_k`-th best match when known (`tier_cut`), below LAST: the
    matches of the worse tiers, which rank after at least `best_k` others, are neither scored
    nor read (bm25 reads each match's positions and size: most of a broad word's cost, and a
    widened one's text matches and the codes' offers all rank in the last tier). Same rows,
    same keys, same order."""
    binds = [bind("w_every"), integer("best_k")]
    better = [n for n, _ in words.tiers if n < cut]
    binds += [bind(f"w_tier_{n}") for n in better]

    def tier(column: str) -> str:
        if not better:
            return repr(TIER * cut)
        whens = " ".join(
            f"WHEN {column} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :w_tier_{n})"
            f" THEN {TIER * n}"
            for n in better
        )
        return f"CASE {whens} ELSE {TIER * cut} END"

    scored = (
        f"SELECT rowid AS id, {tier('rowid')} + bm25({fts}, 4.0, 1.0) AS key FROM {fts}"
        f" WHERE {fts} MATCH :w_every"
    )
    if cut < LAST:
        # "+": each match checked against the tiers' matches (built once), not a seek of
        # the index per id.
        scored += f" AND +rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :w_upto_{cut})"
        binds.append(bind(f"w_upto_{cut}"))
    elif words.coded:
        # The offers of the codes score 0 within their tier; an offer the words match too
        # keeps its better score (as `sqlite`'s grouped minimum). One the words do not match
        # is in no tier but the last (each tier's matches are the words').
        binds.append(listed("w_codes"))
        coded = (
            f"SELECT id, {tier('id')} + 0.0 AS key FROM {model.__tablename__}"
            f" WHERE rome_code IN :w_codes"
        )
        if words.rest:
            coded += f" AND id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :w_rest)"
            binds.append(bind("w_rest"))
        scored = f"SELECT id, min(key) AS key FROM ({scored} UNION ALL {coded}) GROUP BY id"
    statement = text(f"{scored} ORDER BY key, id DESC LIMIT :best_k").bindparams(*binds)
    return statement.columns(literal_column("id"), literal_column("key", Float))


def tier_cut(fts: str, words: Words) -> Any:
    """The tier of the `best_k`-th best match in the FTS5 index `fts` (LAST when the better
    tiers hold fewer), for `sqlite_best`'s `cut`: each tier's matches (`w_cand_<n>`: without
    the better tiers') counted up to `best_k` (it stops there), a tier only when the better
    ones hold fewer (a CASE's branches run in turn: a broad word's own title tier spares the
    others' counts)."""

    def size(n: int) -> Any:
        ids: Any = select(literal_column("1")).select_from(table(fts))
        limited = ids.where(_match(fts, f"w_cand_{n}")).limit(integer("best_k")).subquery()
        return select(func.count().label("n")).select_from(limited).cte(f"{fts}_tier_{n}")

    numbers = [n for n, _ in words.tiers]
    # Each tier counted once, when a branch first reads it (a subquery written in each branch
    # was counted again in each: the first tier's matches as many times as there are tiers).
    sizes = {n: size(n) for n in numbers}

    def held(numbers: list[int]) -> Any:
        found = (select(sizes[m].c.n).scalar_subquery() for m in numbers)
        return sum(found, literal_column("0", Integer))

    whens = [
        (held(numbers[: i + 1]) >= integer("best_k"), literal_column(str(n), Integer))
        for i, n in enumerate(numbers)
    ]
    return case(*whens, else_=literal_column(str(LAST), Integer))


def _tsquery(name: str) -> Any:
    return func.to_tsquery("fair_french", bind(name))


def _ts_tiers(vector: Any, title: Any, words: Words) -> list[tuple[int, Any]]:
    """The tiers (`tiers`) as conditions on an offer's tsvector `vector` (the text's) and
    its title's stems, as SQLite's index holds them (`title`: their table, whose
    `title_stems` and `title_vector`, migration 0044, a tsvector of those stems under the
    `simple` configuration: the stems themselves), with their numbers. The title's tiers read
    the short `title_vector`, where a tsquery on the tsvector's title lexemes (weight A) read
    each match's whole vector again: each stem of a group as a word's start, or whole
    (`fts5_title`'s match)."""
    stems: Any = literal_column(f"{title}.title_stems", String)
    titled: Any = literal_column(f"{title}.title_vector")
    found = []
    for n, where in words.tiers:
        if where == "any":
            found.append((n, vector.op("@@")(_tsquery(f"w_tier_{n}"))))
            continue
        condition = titled.op("@@")(func.to_tsquery("simple", bind(f"w_tier_{n}")))
        if where == "head":
            # The first word's LIKE first: cheaper than the `@@`, and most titles fail it.
            starts = stems.like(bind(f"w_h{n}_a")) | stems.like(bind(f"w_h{n}_b"))
            condition = starts & condition
        found.append((n, condition))
    return found


def postgresql(base: Select[Any], model: Any, vector: Any, words: Words) -> tuple[Select[Any], Any]:
    """The matches of the words (`values`) among `base`, and the rank."""
    every = _tsquery("w_every")
    # The same offers as `every` finds, with fewer phrases to read in the index.
    condition: Any = vector.op("@@")(_tsquery("w_found"))
    if words.coded:
        coded: Any = model.rome_code.in_(listed("w_codes"))
        if words.rest:
            coded = coded & vector.op("@@")(_tsquery("w_rest"))
        condition = or_(condition, coded)
    tiered = _ts_tiers(vector, model.__tablename__, words)
    tier = case(*((c, float(PG_TIER * n)) for n, c in tiered), else_=float(PG_TIER * LAST))
    # Normalisation 32 keeps ts_rank below 1, so the tiers never mix.
    return base.where(condition), tier - func.ts_rank(vector, every, 32)


def postgresql_tier(vector: Any, title: str, words: Words) -> Any:
    """A match's tier as `postgresql` ranks it (its tsvector `vector`, the table of its
    title's stems `title`): `PG_TIER` times its number in `tiers`; but for the text's tier
    (`_text_tier`), whose matches and the last tier's have its number, told apart by
    `postgresql_bounded` only when they can be on the page."""
    text_ = _text_tier(words)
    # Written in the SQL (integers, `_key`): a parameter's type would be unknown in a CTE's
    # column.
    return case(
        *((c, _key(n)) for n, c in _ts_tiers(vector, title, words) if n != text_),
        else_=_key(LAST if text_ is None else text_),
    )


def _text_tier(words: Words) -> int | None:
    """The number of the words' tier found in an offer's whole text ("any": a widened
    search's own words outside the title), None without one. Telling it needs each match's
    tsvector, most of it read out of line (TOAST): 9,000 of the 16,000 pages "btp" widened
    read at 100,000 offers, for matches that the title's tiers kept off the page."""
    return next((n for n, where in words.tiers if where == "any"), None)


def postgresql_bounded(
    matches: Any, table_: Any, words: Words, full: Any = None, name: str = "told"
) -> tuple[Any, Any]:
    """The rows of `matches` (id, distance, key: their tier, `postgresql_tier`) that can be
    on the page (`p_depth`: its offset and size), as (id, distance, key) with their rank as
    key: the newest `w_k` of each tier (highest ids) ranked as `postgresql` ranks them, the
    others after their tier's, newest first (with the sort's ties, by id descending). Of each
    tier, only its newest `w_k` + `p_depth` are taken (a top-k sort of the ids: the others
    rank after `p_depth` of them), and only the first `w_k` of those scored, each read again
    by its id (`table_`, the table of `matches`' ids): the rank of every match was computed
    where a page needs at most four times `w_k` + `p_depth` of them. A tier after `p_depth`
    matches of the better ones is not read at all (`_reaches`): none of it can be on the page,
    whose rows keep their order (a broad word's first tier alone fills the first pages: its
    200 scored, not the 800 of four tiers). The text's tier and the last, one key in
    `matches` (`postgresql_tier`), are told apart (`_told`) only when the better tiers hold
    fewer than `p_depth`.

    With `full` (the select of every match's id, `matches` being those of a window of the
    newest ids: fair.search.pages), also whether these rows are those every match gives
    (`_settled`), else None. `name`: the CTE of the told matches (`_told`), one per call in a
    statement."""
    every = _tsquery("w_every")
    scored = table_.alias("scored")
    vector: Any = literal_column("scored.search_vector")
    text_ = _text_tier(words)
    told: Any = None if text_ is None else _told(matches, table_, text_, name)
    parts = []
    settled: list[Any] = []
    for n in range(LAST + 1):
        tier = _key(n)
        deferred = text_ is not None and n >= text_  # the tier's matches are in `told`
        source = told if deferred else matches
        # The better tiers' matches: in `matches` up to the text's tier, then in `told`.
        better = [(matches, tier)]
        if text_ is not None and n > text_:
            better = [(matches, _key(text_)), (told, tier)]
        reaches = _reaches(better, tier) if n else None
        # The tier's newest taken first (a top-k sort), then numbered: numbered first, every
        # match of the tier was sorted (a window's input), not only the few kept.
        kept = (
            select(source.c.id, source.c.distance, source.c.key)
            .where(source.c.key == tier, *([] if reaches is None else [reaches]))
            .order_by(source.c.id.desc())
            .limit(integer("w_k") + integer("p_depth"))
            .subquery()
        )
        numbered = func.row_number().over(order_by=kept.c.id.desc()).label("n")
        newest = select(kept.c.id, kept.c.distance, kept.c.key, numbered).subquery()
        score = (
            select(func.ts_rank(vector, every, 32))  # below 1: the tiers never mix
            .select_from(scored)
            .where(scored.c.id == newest.c.id)
            .scalar_subquery()
        )
        # ts_rank is not negative: a tier's scored ones stay within (tier - 1, tier].
        rest = newest.c.key + literal_column("0.5", Float)
        key = case((newest.c.n <= integer("w_k"), newest.c.key - score), else_=rest)
        parts.append(select(newest.c.id, newest.c.distance, key.label("key")))
        if full is not None:
            settled.append(_settled(n, source, reaches, full, words))
    ranked = union_all(*parts).subquery("ranked")
    return ranked, (and_(*(s for s in settled if s is not None)) if full is not None else None)


def _settled(n: int, source: Any, reaches: Any, full: Any, words: Words) -> Any:
    """Whether tier `n`'s rows on the page are the same from `source` (its matches in the
    window of the newest ids: `postgresql_bounded`) as from every match (`full`): it is not
    read (`reaches`, false), or the window holds its newest `w_k` + `p_depth`, or (a title's
    tier) every match of it (counted among all from the title's index, migration 0046: a tier
    of none, the titles starting with a broad word, often, is known without reading every
    match). None: a tier no match can be in (no groups of its own)."""
    tiered = dict(_ts_tiers(literal_column("search_offers.search_vector"), "search_offers", words))
    if n not in tiered and n != LAST and n != _text_tier(words):
        return None
    depth = integer("w_k") + integer("p_depth")
    held: Any = select(literal_column("1")).select_from(source).where(source.c.key == _key(n))
    window = _counted(held.limit(depth))
    found = [window >= depth]
    titles = [m for m, where in words.tiers if where != "any"]
    if n in titles:
        others = [~tiered[m] for m in titles if m < n]
        every = full.with_only_columns(literal_column("1")).where(tiered[n], *others)
        found.append(window == _counted(every.limit(depth)))
    return or_(*([] if reaches is None else [~reaches]), *found)


def _counted(rows: Any) -> Any:
    """The number of `rows` (a select), uncorrelated (worked out once)."""
    return select(func.count()).select_from(rows.subquery()).correlate(None).scalar_subquery()


def _key(n: int) -> Any:
    """Tier `n`'s key, written in the SQL."""
    return literal_column(str(PG_TIER * n), Integer)


def _told(matches: Any, table_: Any, text_: int, name: str = "told") -> Any:
    """The matches of `matches` keyed as the text's tier `text_` (with the last's), as
    (id, distance, key) with their own tier's key: each match's tsvector read (by its id in
    `table_`) and matched with the tier's words. Materialised, read by both tiers; none read
    when the better tiers hold `p_depth` matches (a one-time filter)."""
    tier = _key(text_)
    read = table_.alias("told_offer")
    vector: Any = literal_column("told_offer.search_vector")
    found = (
        select(vector.op("@@")(_tsquery(f"w_tier_{text_}")))
        .select_from(read)
        .where(read.c.id == matches.c.id)
        .scalar_subquery()
    )
    key = case((found, tier), else_=_key(LAST))
    return (
        select(matches.c.id, matches.c.distance, key.label("key"))
        .where(matches.c.key == tier, _reaches([(matches, tier)], tier))
        .cte(name)
        .prefix_with("MATERIALIZED")
    )


def _reaches(sources: list[tuple[Any, Any]], tier: Any) -> Any:
    """Whether the matches of the tiers better than `tier` are fewer than `p_depth` (counted
    up to it), so that one of `tier`'s may be on the page: those of each of `sources` (rows
    of (id, key), each with the key its better rows are below). Uncorrelated: PostgreSQL
    works it out once, before the tier's rows are read (a one-time filter), and reads none
    when not."""
    # Never correlated with the tier's own read of the matches (the same CTE).
    better: Any = union_all(
        *(select(m.c.id).where(m.c.key < below).correlate(None) for m, below in sources)
    )
    limited = better.limit(integer("p_depth")).subquery()
    counted = select(func.count()).select_from(limited).correlate(None).scalar_subquery()
    return counted < integer("p_depth")


@dataclass(frozen=True)
class Reason:
    """Why a widened search found an offer: `kind` is "synonym" (`typed` → `means`), "job"
    (`means` is the ROME job's name), "spelling" (`typed` → `means`) or "without" (`typed`:
    the words no offer has, left out of the search)."""

    kind: str
    typed: str
    means: str
