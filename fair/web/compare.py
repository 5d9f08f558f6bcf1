"""Organiser page: the organiser's editions compared day by day around their opening day
(issue 12 item 8): a summary table and a line chart per measure of fair.timeline, whose
docstring says what is counted and how small counts are protected.

Organisers of the edition and administrators only (permissions.require_organiser); which
editions are shown beside it is fair.timeline.compared's rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import disclosure, i18n, permissions, timeline
from fair.enums import Role
from fair.i18n import N_, gettext
from fair.models import Edition
from fair.web import charts
from fair.web.activity import named
from fair.web.auth import database, organised_edition, page, require_role
from fair.web.charts import Cell
from fair.web.templating import render

MEASURE_TITLES = {
    "registrations": N_("Registered candidates, day by day"),
    "applications": N_("Applications, day by day"),
    "interviews": N_("Interviews booked, day by day"),
}
MEASURE_NAMES = {
    "registrations": N_("Registered candidates"),
    "applications": N_("Applications"),
    "interviews": N_("Interviews booked"),
}


def day_label(day: int) -> str:
    """D-7, D, D+7 ("J-7", "J", "J+7" in French): days from the opening day."""
    offset = f"{day:+d}" if day else ""
    return gettext("D%(offset)s", offset=offset)


def edition_label(edition: Edition) -> str:
    """An edition told apart from another of the same title by its opening day."""
    return gettext(
        "%(title)s (%(day)s)",
        title=edition.title,
        day=i18n.day(timeline.opening_day(edition), "medium"),
    )


def timeline_chart(measure: str, curves: list[timeline.Curve]) -> charts.Chart:
    last = []
    for curve in curves:
        figure = last_shown(curve.points, timeline.LAST_DAY)
        text = figure.text if figure.shown else gettext("hidden")
        last.append(named(edition_label(curve.edition), text))
    summary = gettext(
        "%(measure)s, the last figure shown by day %(day)s: %(editions)s.",
        measure=gettext(MEASURE_NAMES[measure]),
        day=day_label(timeline.LAST_DAY),
        editions="; ".join(last),
    )
    return charts.lines(
        gettext(MEASURE_TITLES[measure]),
        [day_label(day) for day in timeline.DAYS],
        [
            charts.Series(
                edition_label(c.edition),
                [p.value if p.shown else None for p in c.points],
                known=c.known,
            )
            for c in curves
        ],
        summary=summary,
        x_heading=gettext("Day (D: applications open)"),
        join_gaps=True,
    )


@dataclass(frozen=True)
class CompareRow:
    edition: Edition
    label: str
    current: bool
    cells: tuple[Cell, ...]  # per measure: by the opening day, and by the window's last day


def last_shown(points: Sequence[disclosure.Figure], day: int) -> Cell:
    """The curve's figure by `day`: the last point shown on or before it, with its own day
    when earlier (a point equal to the one before is hidden, fair.timeline)."""
    upto = timeline.DAYS.index(day)
    for index in range(upto, -1, -1):
        if points[index].shown:
            value = i18n.decimal(points[index].value, 0)
            if index == upto:
                return Cell(value)
            return Cell(
                gettext("%(count)s (%(day)s)", count=value, day=day_label(timeline.DAYS[index]))
            )
    return Cell("", False)


def compare_rows(edition: Edition, found: dict[str, list[timeline.Curve]]) -> list[CompareRow]:
    rows = []
    for i, curve in enumerate(found[timeline.MEASURES[0]]):
        cells: list[Cell] = []
        for measure in timeline.MEASURES:
            points = found[measure][i].points
            cells += [last_shown(points, 0), last_shown(points, timeline.LAST_DAY)]
        rows.append(
            CompareRow(
                curve.edition,
                edition_label(curve.edition),
                curve.edition.id == edition.id,
                tuple(cells),
            )
        )
    return rows


@page
async def edition_compare(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    user = require_role(request, Role.ORGANISER)
    chosen = await timeline.compared(session, user, edition)
    found = await timeline.curves(session, chosen)
    context = {
        "edition": edition,
        "editions": chosen,
        "rows": compare_rows(edition, found),
        "curves": [timeline_chart(m, found[m]) for m in timeline.MEASURES],
        "measures": [MEASURE_NAMES[m] for m in timeline.MEASURES],
        "first_day": day_label(timeline.FIRST_DAY),
        "zero_day": day_label(0),
        "last_day": day_label(timeline.LAST_DAY),
        "threshold": disclosure.THRESHOLD,
        "admin": permissions.is_admin(user),
    }
    return render(request, "organiser/compare.html", context)


routes = [
    Route(
        "/organiser/editions/{edition_id:int}/compare",
        edition_compare,
        name="edition_compare",
    ),
]
