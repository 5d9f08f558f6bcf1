"""An offer search's query, its checks, and what it answers: a page of hits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fair import geo, paging
from fair.enums import Contract, WorkingTime
from fair.errors import Invalid
from fair.models import NetworkOffer, Offer
from fair.search.match import Reason, Wider

PER_PAGE = 20
# Matches counted at most past the page shown: beyond it the page says "more than 1,000
# offers", so that counting never costs more than finding the page (a broad word or the
# whole listing at 100,000 offers).
COUNT_CAP = 1000
# Matches ranked by their full-text score at most, per tier (fair.search.match: the titles
# starting with the words, the titles holding them, the texts, what only a widening finds), on
# both databases: the newest this many of each (by id), the rest after them, newest first; 0:
# every match scored (exact). The tiers hold the evidence that counts (a title is the job, a
# text may only mention it). At 100,000 offers, "chauffeur" took 37 ms on PostgreSQL where
# scoring every match took 60 (ts_rank on each one's vector), and SQLite's page statement 9
# ms where bm25 on each of its 6,783 title matches took 17. The first page's jobs (ROME
# codes) stay the exact ranking's for the 22 broad words of bench/search.py --approximation
# (jobs@10 1.000 on PostgreSQL, 0.936 on SQLite); its offers less so on SQLite (overlap@10
# 0.155 against PostgreSQL's 0.900: bm25 weighs each offer's length, so a tier's best are
# spread over the whole tier, where most title matches tie under ts_rank and ties go to the
# newest). The judged queries (bench/search.py --relevance) rank the same.
RANK_BOUND = 200
MAX_PAGE = paging.MAX_PAGE
RADII = (5, 10, 20, 30, 50, 100)
SORTS = ("relevance", "recent", "distance")
PUBLICS = {
    "seniors": Offer.open_seniors,
    "under26": Offer.open_under26,
    "disabled": Offer.open_disabled,
    "no_diploma": Offer.no_diploma,
    "insertion": Offer.insertion_clause,
}


@dataclass
class Query:
    q: str = ""
    domain: str = ""
    contract: str = ""
    working_time: str = ""
    commune: str = ""
    # "lat,lon" (the browser's "around me", rounded: fair.geo.position), when no commune.
    near: str = ""
    radius_km: int = 0
    remote: bool = False
    publics: set[str] = field(default_factory=set)
    sort: str = ""
    page: int = 1
    per_page: int = PER_PAGE
    # What the words also match, below their own matches (fair.search.terms fills it).
    also: Wider = Wider()
    count_cap: int = COUNT_CAP  # matches counted past the page at most
    # Matches ranked by score per tier at most (0: every one); None: the database's own
    # (`rank_bound`).
    rank_bound: int | None = None


@dataclass
class Hit:
    offer: Offer
    employer: str
    distance_km: float | None
    # A partner's offer (fair.network): `offer` is then a copy of its fields, not stored.
    network: NetworkOffer | None = None
    territory: str = ""
    why: Reason | None = None  # found by a widening of the words (fair.search.terms)


@dataclass
class Page(paging.Paged):
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    origin: geo.Origin | None
    did_you_mean: str = ""  # the words spelled as the offers spell them (fair.search.terms)
    # More than `total` match: the count stopped there (COUNT_CAP past the page).
    capped: bool = False
    # What the words also matched (fair.search.terms): the facets count the same offers.
    also: Wider = Wider()
    # Every match's id (a partner's negated), when the page has them all: no filter set, the
    # count not capped (fair.search.pages). The facets then read those offers by id.
    matched: tuple[int, ...] | None = None


def check(query: Query) -> geo.Origin | None:
    """Validate the filters; returns the commune (or position) distances are measured from."""
    place = geo.place(
        query.commune,
        query.radius_km,
        radii=RADII,
        near=query.near,
        needs_origin=query.sort == "distance",
    )
    errors, params, origin = dict(place.errors), dict(place.params), place.origin
    if query.contract and query.contract not in {c.value for c in Contract}:
        errors["contract"] = "Choose a contract type from the list."
    if query.working_time and query.working_time not in {w.value for w in WorkingTime}:
        errors["working_time"] = "Choose a working time from the list."
    if query.domain and not re.fullmatch(r"[A-N]", query.domain):
        errors["domain"] = "Choose a job domain from the list."
    if query.sort and query.sort not in SORTS:
        errors["sort"] = "Choose a sort order from the list."
    if not set(query.publics) <= set(PUBLICS):
        errors["publics"] = "Choose from the listed publics."
    if errors:
        raise Invalid(
            "Some search filters need correcting.",
            code="search.invalid",
            fields=errors,
            params=params,
        )
    query.page = paging.clamp(query.page, MAX_PAGE)
    return origin


def rank_bound(query: Query, dialect: str) -> int:
    """The matches `query` ranks by score at most per tier: its own bound, else RANK_BOUND
    (the same on both databases)."""
    return RANK_BOUND if query.rank_bound is None else query.rank_bound
