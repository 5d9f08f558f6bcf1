"""The kinds of export (`Export`: its name in the audit, its title, whether it holds personal
data), the formats, and the types of the rows every source yields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time

from fair.errors import NotFound
from fair.i18n import N_

CHUNK = 1000
Cell = str | int | date | datetime | time | None
Row = tuple[Cell, ...]
Batch = list[Row]
Batches = AsyncIterator[Batch]

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Export:
    """One kind of export: its name in the audit (`what`), its title (a msgid), and whether it
    holds personal data (then only those entitled get it, and each one is recorded)."""

    what: str
    title: str
    personal: bool


CANDIDATE_FUNNEL = Export("candidate_funnel", N_("Funnel per candidate"), personal=True)
EDITION_FUNNEL = Export("edition_funnel", N_("Funnel of the edition"), personal=False)
BOOTH_FUNNEL = Export("booth_funnel", N_("Funnel per booth"), personal=False)
EDITION_EVENTS = Export(
    "edition_events", N_("The edition in France Travail's events shape"), personal=False
)
BOOTH_APPLICATIONS = Export("booth_applications", N_("Applications of a booth"), personal=True)
EXPORTS = {
    e.what: e
    for e in (CANDIDATE_FUNNEL, EDITION_FUNNEL, BOOTH_FUNNEL, EDITION_EVENTS, BOOTH_APPLICATIONS)
}


def kind(what: str) -> Export:
    """The export called `what`; NotFound for any other name (it comes from a URL)."""
    found = EXPORTS.get(what)
    if found is None:
        raise NotFound("The page you asked for does not exist or was moved.")
    return found


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise NotFound("The page you asked for does not exist or was moved.")
    return name
