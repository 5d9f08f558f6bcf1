"""Explainable matching of an offer and a candidate's job search: a score and the reasons a
person can read. Pure functions over plain values; fair.match_offers and fair.match_candidates
query the database and call them.

The score (0 to 100) is the sum of these points, each shown as a reason:

- the job (ROME): the same code 50; a close job: the same parent code in the imported ROME 4.0
  referential 35, the same professional family (the code's first three characters, "N11") 25;
  the same domain (first letter) 10; another job 0;
- skills: 10 × the share of the offer's skills the candidate has (no reason when the offer
  lists none); each missing skill is a reason of its own, with its training link when the
  referential gives one;
- distance: a remote offer 20; within the candidate's radius R, 20 − 10 × d/R (20 at home, 10
  at the edge); beyond it, falling to −30 at 2R, and −30 further (low mobility is the
  first brake: a far offer ranks below a near one that only misses a wish); home unknown 0;
- contract: one the candidate accepts +10, another −10, no preference 0 (no reason);
- working time: the one wanted +5, the other −5, either 0 (no reason);
- availability: the day the candidate can start (today when they gave none or a past one)
  against the day the offer's position is to be filled (today when "as soon as possible"):
  in time +5, up to 30 days late 0, later −5.

R is the distance the candidate declared, or else what their means of transport makes likely
(`DEFAULT_RADIUS_KM`: 30 km by car, 20 by public transport, 10 by bike, 3 on foot, 5 without
a means of transport, 20 when nothing is said). Far offers thus rank below near ones for the
same job. Ties go to the nearer offer, then the newer one (higher id). The weights are plain
constants, the same for everyone, so the order can always be explained by the reasons shown.
The databases apply the same points but the skills' and the availability's (`coarse_*`) to keep
the best few hundred rows before this module scores them exactly (both change a row's points
by at most 15).

Reasons are structured (`Reason`: kind, points, facts); `describe` turns one into an English
msgid and its parameters for an audience (the candidate: "you"; a recruiter or counsellor:
"the candidate"), translated at the boundary (`Term` parameters are msgids themselves; `date`
parameters are formatted in the reader's language).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from fair import geo, i18n, rome, search
from fair.enums import Contract, Transport, WorkingTime
from fair.i18n import N_, gettext
from fair.job_search import JobSearch

SAME_JOB, SAME_PARENT, SAME_FAMILY, SAME_DOMAIN = 50, 35, 25, 10
SKILLS = 10
DISTANCE_BEST, DISTANCE_EDGE, DISTANCE_WORST = 20, 10, -30
CONTRACT = 10
WORKING_TIME = 5
AVAILABILITY = 5
SOON = timedelta(days=30)
MAX_SCORE = SAME_JOB + SKILLS + DISTANCE_BEST + CONTRACT + WORKING_TIME + AVAILABILITY
DEFAULT_RADIUS_KM: dict[Transport | None, int] = {
    Transport.CAR: 30,
    Transport.PUBLIC_TRANSPORT: 20,
    Transport.BIKE: 10,
    Transport.ON_FOOT: 3,
    Transport.NONE: 5,
    None: 20,
}
# What a means of transport reads as after a distance ("within your 20 km radius by car").
BY = {
    Transport.CAR: N_("by car"),
    Transport.PUBLIC_TRANSPORT: N_("by public transport"),
    Transport.BIKE: N_("by bike"),
    Transport.ON_FOOT: N_("on foot"),
    Transport.NONE: N_("without a means of transport"),
}


class Term(str):
    """A parameter that is itself a msgid (a contract's label, a domain's): translated too."""

    __slots__ = ()


@dataclass(frozen=True)
class OfferFacts:
    """What matching reads of an offer (from an Offer row, or a partner's copy)."""

    id: int
    rome_code: str
    rome_label: str
    contract: str
    working_time: str
    latitude: float
    longitude: float
    remote: bool = False
    skills: tuple[str, ...] = ()
    starts_on: date | None = None  # None: as soon as possible


@dataclass(frozen=True)
class Reason:
    """One readable reason: its kind, the points it adds (or takes), and the facts it states.
    `tone` is "plus", "minus" or "info" (shown as such, not only by colour)."""

    kind: str
    points: float
    facts: Mapping[str, Any] = field(default_factory=dict)
    link: str = ""

    @property
    def tone(self) -> str:
        if self.kind == "skill_missing":
            return "minus"
        return "plus" if self.points > 0 else "minus" if self.points < 0 else "info"


@dataclass(frozen=True)
class Match:
    """An offer and a candidate scored: `score` 0-100 and the reasons, in a fixed order (job,
    skills, distance, contract, working time, availability)."""

    offer_id: int
    candidate_id: int
    score: int
    reasons: tuple[Reason, ...]
    distance_km: float | None

    def order_key(self) -> tuple[float, float, int]:
        """Best first: the higher score, then the nearer, then the newer offer."""
        far = self.distance_km if self.distance_km is not None else float("inf")
        return (-self.score, far, -self.offer_id)


@dataclass(frozen=True)
class Referential:
    """What the imported ROME referential adds, when there is one: the parent of each code, and
    the training links of skills by their folded label."""

    parents: Mapping[str, str] = field(default_factory=dict)
    trainings: Mapping[str, str] = field(default_factory=dict)


NO_REFERENTIAL = Referential()


def radius_km(wanted: JobSearch) -> int:
    """The candidate's radius: declared, or what their means of transport makes likely."""
    if wanted.max_distance_km is not None:
        return wanted.max_distance_km
    return DEFAULT_RADIUS_KM[wanted.transport]


def family(code: str) -> str:
    """A code's professional family: its first three characters ("N11" for N1103)."""
    return code[:3]


def job_points(code: str, wanted: tuple[str, ...], parents: Mapping[str, str]) -> float:
    """The job's points against the codes wanted (the best of them)."""
    return max((_job_level(code, other, parents)[1] for other in wanted), default=0)


def _job_level(code: str, other: str, parents: Mapping[str, str]) -> tuple[str, int]:
    if code == other:
        return "same", SAME_JOB
    parent = parents.get(code)
    if parent is not None and parent == parents.get(other):
        return "parent", SAME_PARENT
    if family(code) == family(other):
        return "family", SAME_FAMILY
    if code[:1] == other[:1]:
        return "domain", SAME_DOMAIN
    return "other", 0


def _job(offer: OfferFacts, wanted: JobSearch, parents: Mapping[str, str]) -> Reason:
    best = ("other", 0, "")
    for target in wanted.targets:
        level, points = _job_level(offer.rome_code, target.rome_code, parents)
        if points > best[1]:
            best = (level, points, target.label)
    level, points, label = best
    facts: dict[str, Any] = {"level": level, "job": offer.rome_label, "wanted": label}
    if level == "domain":
        facts["domain"] = Term(rome.DOMAINS.get(offer.rome_code[:1], ""))
    return Reason("job", points, facts)


@lru_cache(maxsize=4096)
def _words(text: str) -> frozenset[str]:
    return frozenset(search.words(text))


def same_skill(a: str, b: str) -> bool:
    """The same skill, written alike or one within the other ("Permis B" and "Permis B -
    Véhicule léger"), accents, case and small words aside."""
    wa, wb = _words(a), _words(b)
    return bool(wa and wb) and (wa <= wb or wb <= wa)


def _skills(offer: OfferFacts, wanted: JobSearch, trainings: Mapping[str, str]) -> list[Reason]:
    if not offer.skills:
        return []
    common = [s for s in offer.skills if any(same_skill(s, mine) for mine in wanted.skills)]
    missing = [s for s in offer.skills if s not in common]
    found: list[Reason] = []
    points = SKILLS * len(common) / len(offer.skills)
    if common:
        found.append(Reason("skills_common", points, {"skills": ", ".join(common)}))
    for skill in missing:
        link = trainings.get(search.fold(skill).strip(), "")
        found.append(Reason("skill_missing", 0, {"skill": skill}, link=link))
    return found


def distance_points(km: float, radius: float) -> float:
    """20 at home, 10 at the edge of the radius, falling to −30 at twice the radius."""
    if radius <= 0:
        return DISTANCE_BEST if km < 1 else DISTANCE_WORST
    if km <= radius:
        return DISTANCE_BEST - (DISTANCE_BEST - DISTANCE_EDGE) * km / radius
    beyond = min(1.0, (km - radius) / radius)
    return DISTANCE_EDGE - (DISTANCE_EDGE - DISTANCE_WORST) * beyond


def _distance(offer: OfferFacts, wanted: JobSearch) -> tuple[Reason, float | None]:
    if wanted.latitude is None or wanted.longitude is None:
        return Reason("distance", 0, {"where": "unknown"}), None
    km = geo.distance_km(wanted.latitude, wanted.longitude, offer.latitude, offer.longitude)
    if offer.remote:
        return Reason("distance", DISTANCE_BEST, {"where": "remote", "km": round(km)}), km
    radius = radius_km(wanted)
    facts: dict[str, Any] = {
        "where": "within" if km <= radius else "beyond",
        "km": round(km),
        "radius": radius,
        "declared": wanted.max_distance_km is not None,
    }
    if wanted.transport is not None:
        facts["means"] = Term(BY[wanted.transport])
    return Reason("distance", distance_points(km, radius), facts), km


def _contract(offer: OfferFacts, wanted: JobSearch) -> list[Reason]:
    if not wanted.contracts:
        return []
    label = Term(Contract(offer.contract).label)
    if offer.contract in {c.value for c in wanted.contracts}:
        return [Reason("contract", CONTRACT, {"contract": label})]
    others = sorted(wanted.contracts, key=lambda c: list(Contract).index(c))
    labels = tuple(Term(c.label) for c in others)
    return [Reason("contract", -CONTRACT, {"contract": label, "wanted": labels})]


def _working_time(offer: OfferFacts, wanted: JobSearch) -> list[Reason]:
    if wanted.working_time is None:
        return []
    label = Term(WorkingTime(offer.working_time).label)
    if offer.working_time == wanted.working_time.value:
        return [Reason("working_time", WORKING_TIME, {"time": label})]
    wish = Term(wanted.working_time.label)
    return [Reason("working_time", -WORKING_TIME, {"time": label, "wanted": wish})]


def availability(
    starts_on: date | None, available_from: date | None, today: date
) -> tuple[int, dict[str, date | None]]:
    """The availability's points and facts: `from`, the day the candidate can start, and
    `start`, the day the position is to be filled, each None when it is today or past (now;
    as soon as possible)."""
    start = starts_on if starts_on is not None and starts_on > today else None
    ready = available_from if available_from is not None and available_from > today else None
    late = (ready or today) - (start or today)
    points = AVAILABILITY if late <= timedelta(0) else 0 if late <= SOON else -AVAILABILITY
    return points, {"from": ready, "start": start}


def _availability(offer: OfferFacts, wanted: JobSearch, today: date) -> list[Reason]:
    points, facts = availability(offer.starts_on, wanted.available_from, today)
    return [Reason("availability", points, facts)]


def score(
    offer: OfferFacts, wanted: JobSearch, *, today: date, referential: Referential = NO_REFERENTIAL
) -> Match:
    """The offer scored for the candidate, with every reason (module docstring: the points)."""
    distance, km = _distance(offer, wanted)
    reasons = [
        _job(offer, wanted, referential.parents),
        *_skills(offer, wanted, referential.trainings),
        distance,
        *_contract(offer, wanted),
        *_working_time(offer, wanted),
        *_availability(offer, wanted, today),
    ]
    total = sum(reason.points for reason in reasons)
    value = max(0, min(MAX_SCORE, round(total)))
    return Match(offer.id, wanted.user_id, value, tuple(reasons), km)


def best(matches: list[Match], limit: int) -> list[Match]:
    """The `limit` best matches, best first (`Match.order_key`)."""
    return sorted(matches, key=Match.order_key)[:limit]


def points(
    offer: OfferFacts, wanted: JobSearch, *, today: date, referential: Referential = NO_REFERENTIAL
) -> tuple[int, float | None]:
    """`score`'s score and distance without its reasons (ranking hundreds costs less)."""
    total: float = job_points(offer.rome_code, wanted.codes, referential.parents)
    if offer.skills:
        common = sum(1 for s in offer.skills if any(same_skill(s, m) for m in wanted.skills))
        total += SKILLS * common / len(offer.skills)
    km = None
    if wanted.latitude is not None and wanted.longitude is not None:
        km = geo.distance_km(wanted.latitude, wanted.longitude, offer.latitude, offer.longitude)
        total += DISTANCE_BEST if offer.remote else distance_points(km, radius_km(wanted))
    if wanted.contracts:
        accepted = offer.contract in {c.value for c in wanted.contracts}
        total += CONTRACT if accepted else -CONTRACT
    if wanted.working_time is not None:
        same = offer.working_time == wanted.working_time.value
        total += WORKING_TIME if same else -WORKING_TIME
    total += availability(offer.starts_on, wanted.available_from, today)[0]
    return max(0, min(MAX_SCORE, round(total))), km


def top(
    pairs: list[tuple[OfferFacts, JobSearch]],
    limit: int,
    *,
    today: date,
    referential: Referential = NO_REFERENTIAL,
) -> list[Match]:
    """The `limit` best of these (offer, job search) pairs, best first, each scored with its
    reasons: ranked by `points` first, so that only the kept ones build their reasons."""

    def key(pair: tuple[OfferFacts, JobSearch]) -> tuple[float, float, int]:
        value, km = points(pair[0], pair[1], today=today, referential=referential)
        return (-value, km if km is not None else float("inf"), -pair[0].id)

    kept = sorted(pairs, key=key)[:limit]
    return [score(o, w, today=today, referential=referential) for o, w in kept]


# Words ----------------------------------------------------------------------------------------

YOU, THEM = "candidate", "others"
JOB_TEXT = {
    "same": N_("Same job: %(job)s"),
    "parent": N_("A close job: %(job)s (%(wanted)s wanted)"),
    "family": N_("A job of the same family: %(job)s (%(wanted)s wanted)"),
    "domain": N_("Same field (%(domain)s): %(job)s"),
    "other": N_("Another job: %(job)s"),
}
DISTANCE_TEXT = {
    (YOU, "within", True): N_("%(km)s km away, within your %(radius)s km radius"),
    (YOU, "within", False): N_("%(km)s km away from home"),
    (YOU, "beyond", True): N_("%(km)s km away, beyond your %(radius)s km radius"),
    (YOU, "beyond", False): N_("%(km)s km away from home, far"),
    (THEM, "within", True): N_("%(km)s km away, within their %(radius)s km radius"),
    (THEM, "within", False): N_("%(km)s km from their home"),
    (THEM, "beyond", True): N_("%(km)s km away, beyond their %(radius)s km radius"),
    (THEM, "beyond", False): N_("%(km)s km from their home, far"),
}
OTHER_TEXT = {
    (YOU, "remote"): N_("Remote work possible"),
    (YOU, "unknown"): N_("Add your commune to your profile to see how far it is"),
    (YOU, "skills_common"): N_("Skills you have: %(skills)s"),
    (YOU, "skill_missing"): N_("Skill to acquire: %(skill)s"),
    (YOU, "contract_yes"): N_("%(contract)s, a contract you accept"),
    (YOU, "contract_no"): N_("%(contract)s, while you look for: %(wanted)s"),
    (YOU, "time_yes"): N_("%(time)s, as you wish"),
    (YOU, "time_no"): N_("%(time)s, while you look for: %(wanted)s"),
    (YOU, "now"): N_("You can start now"),
    (YOU, "in_time"): N_("You are available in time: the position is to be filled on %(start)s"),
    (YOU, "late_asap"): N_(
        "You can start on %(from)s, while the position is to be filled as soon as possible"
    ),
    (YOU, "late"): N_("You can start on %(from)s, while the position is to be filled on %(start)s"),
    (THEM, "remote"): N_("Remote work possible"),
    (THEM, "unknown"): N_("Their commune is not known"),
    (THEM, "skills_common"): N_("Skills in common: %(skills)s"),
    (THEM, "skill_missing"): N_("Skill to acquire: %(skill)s"),
    (THEM, "contract_yes"): N_("%(contract)s, a contract they accept"),
    (THEM, "contract_no"): N_("%(contract)s, while they look for: %(wanted)s"),
    (THEM, "time_yes"): N_("%(time)s, as they wish"),
    (THEM, "time_no"): N_("%(time)s, while they look for: %(wanted)s"),
    (THEM, "now"): N_("Available now"),
    (THEM, "in_time"): N_("Available in time: the position is to be filled on %(start)s"),
    (THEM, "late_asap"): N_(
        "Available from %(from)s, while the position is to be filled as soon as possible"
    ),
    (THEM, "late"): N_("Available from %(from)s, while the position is to be filled on %(start)s"),
}
# "…, by car": the means of transport after a distance.
WITH_MEANS = N_("%(text)s %(means)s")


def describe(reason: Reason, audience: str = YOU) -> tuple[str, dict[str, Any]]:
    """The reason as an English msgid and its parameters, for the candidate (`YOU`) or for a
    recruiter or counsellor (`THEM`). Parameters that are `Term`s (or tuples of them, to be
    joined with commas) are msgids; `date`s are to be formatted in the reader's language."""
    facts = dict(reason.facts)
    if reason.kind == "job":
        return JOB_TEXT[facts["level"]], facts
    if reason.kind == "distance":
        where = facts["where"]
        if where in ("remote", "unknown"):
            return OTHER_TEXT[(audience, where)], facts
        return DISTANCE_TEXT[(audience, where, facts["declared"])], facts
    if reason.kind == "contract":
        return OTHER_TEXT[(audience, "contract_yes" if reason.points > 0 else "contract_no")], facts
    if reason.kind == "working_time":
        return OTHER_TEXT[(audience, "time_yes" if reason.points > 0 else "time_no")], facts
    if reason.kind == "availability":
        return OTHER_TEXT[(audience, _when(facts["from"], facts["start"]))], facts
    return OTHER_TEXT[(audience, reason.kind)], facts


def _when(ready: date | None, start: date | None) -> str:
    """Which availability sentence: in time (now, or before the start), or late."""
    if ready is None or (start is not None and ready <= start):
        return "now" if start is None else "in_time"
    return "late_asap" if start is None else "late"


def _value(value: Any, locale: str | None) -> Any:
    if isinstance(value, Term):
        return gettext(value, locale)
    if isinstance(value, tuple):
        return ", ".join(str(_value(item, locale)) for item in value)
    if isinstance(value, date):
        return i18n.day(value, "long", locale)
    return value


def sentence(reason: Reason, audience: str = YOU, locale: str | None = None) -> str:
    """One reason as a sentence in `locale` (the current one by default)."""
    message, facts = describe(reason, audience)
    params = {key: _value(value, locale) for key, value in facts.items()}
    text = gettext(message, locale, **params)
    if "means" in params:
        text = gettext(WITH_MEANS, locale, text=text, means=params["means"])
    return text
