"""Organiser page: an edition's activity in figures, tables and charts (issue 12 item 3).

Page views (fair.activity) are counts of page loads, not of people: shown as counted. Every
other figure here counts people or what they did (queue joins, seats, questions, interviews)
and goes through fair.disclosure: each table of counts that add up (per booth, per talk, per
mode, with their totals) is protected as a grid, so no hidden count can be worked out from the
others. A figure derived from counts is hidden with them: a rate when its part or its whole is
hidden (the rate and the whole would give the part back), a median when it is taken over
fewer than `disclosure.THRESHOLD` values (a median of two waits tells each of them).

Organisers of the edition and administrators only (permissions.require_organiser). The page
reads each family's figures in a few grouped queries (no query per booth or per talk).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from babel.numbers import format_percent
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import (
    activity,
    disclosure,
    employers,
    i18n,
    interviews,
    offers,
)
from fair import queue_figures as queues
from fair.enums import BoothStatus
from fair.i18n import gettext
from fair.models import Booth
from fair.web import charts
from fair.web.auth import database, organised_edition, page
from fair.web.charts import Cell
from fair.web.templating import render
from fair.webconferences import figures as talk_figures

MOST_VIEWED = 10  # booths and offers in the "most viewed" tables and chart


# Formats and derived figures -------------------------------------------------------------------


def count(figure: disclosure.Figure) -> Cell:
    return Cell(charts.number(figure.value), figure.shown)


def percent(part: int, whole: int) -> str:
    return format_percent(part / whole, "#,##0%", locale=i18n.current_locale.get())


def rate(part: disclosure.Figure, whole: disclosure.Figure) -> Cell:
    """`part` over `whole` in percent, hidden when either is (or when `whole` is zero)."""
    if not (part.shown and whole.shown) or whole.value == 0:
        return Cell("", False)
    return Cell(percent(part.value, whole.value))


def minutes(seconds: float) -> str:
    return gettext("%(minutes)s min", minutes=i18n.decimal(seconds / 60, 1))


def median_minutes(values: Sequence[float]) -> Cell:
    """The median in minutes, hidden when taken over fewer than the threshold's values."""
    middle = queues.median(values)
    if middle is None or disclosure.small(len(values)):
        return Cell("", False)
    return Cell(minutes(middle))


def shown_value(figure: disclosure.Figure) -> str:
    return i18n.decimal(figure.value, 0) if figure.shown else gettext("hidden")


def named(name: str, value: str) -> str:
    """A name and its value for the charts' summaries: "Video: 12" ("Vidéo : 12" in French)."""
    return gettext("%(name)s: %(value)s", name=name, value=value)


# Page views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewRow:
    label: str
    booth: int
    offers: int
    total: int


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def views_chart(per_day: dict[date, activity.Views]) -> charts.Chart | None:
    """Views per day, every day from the first to the last with a view (0 on quiet days)."""
    if not per_day:
        return None
    days = days_between(min(per_day), max(per_day))
    empty = activity.Views()
    booth = [per_day.get(d, empty).booth for d in days]
    offer = [per_day.get(d, empty).offers for d in days]
    busiest = max(days, key=lambda d: (per_day.get(d, empty).total, -d.toordinal()))
    summary = gettext(
        "%(booth)s views of booth pages and %(offers)s of offer pages from %(first)s to "
        "%(last)s; the busiest day was %(day)s (%(views)s views).",
        booth=i18n.decimal(sum(booth), 0),
        offers=i18n.decimal(sum(offer), 0),
        first=i18n.day(days[0], "long"),
        last=i18n.day(days[-1], "long"),
        day=i18n.day(busiest, "long"),
        views=i18n.decimal(per_day[busiest].total, 0),
    )
    return charts.lines(
        gettext("Page views per day"),
        [i18n.day(d, "d MMM") for d in days],
        [
            charts.Series(gettext("Booth pages"), booth),
            charts.Series(gettext("Offer pages"), offer),
        ],
        summary=summary,
    )


def booth_views(booths: list[Booth], per_booth: dict[int, activity.Views]) -> list[ViewRow]:
    """Every booth with a view, most viewed first."""
    names = {b.id: b.employer.name for b in booths}
    rows = [
        ViewRow(names.get(booth_id, "?"), v.booth, v.offers, v.total)
        for booth_id, v in per_booth.items()
    ]
    return sorted(rows, key=lambda r: (-r.total, r.label))


def booth_views_chart(rows: list[ViewRow]) -> charts.Chart | None:
    if not rows:
        return None
    top = rows[:MOST_VIEWED]
    summary = gettext(
        "The most viewed booth is %(employer)s: %(views)s views of its page and its offers.",
        employer=top[0].label,
        views=i18n.decimal(top[0].total, 0),
    )
    return charts.bars(
        gettext("Most viewed booths"),
        [charts.Item(r.label, r.total) for r in top],
        summary=summary,
        columns=(gettext("Employer"), gettext("Views")),
    )


def per_booth_views(per_page: dict[activity.PageId, int]) -> dict[int, activity.Views]:
    """Views of each booth's page and of its offers' pages (activity.views_per_booth's)."""
    own: dict[int, int] = {}
    offered: dict[int, int] = {}
    for (booth_id, offer_id), views in per_page.items():
        into = own if offer_id is None else offered
        into[booth_id] = into.get(booth_id, 0) + views
    return {b: activity.Views(own.get(b, 0), offered.get(b, 0)) for b in own.keys() | offered}


async def offer_views(
    session: AsyncSession, per_page: dict[activity.PageId, int]
) -> list[tuple[str, int]]:
    """The most viewed offers' titles and views."""
    per_offer = [(offer_id, n) for (_, offer_id), n in per_page.items() if offer_id is not None]
    top = sorted(per_offer, key=lambda item: (-item[1], item[0]))[:MOST_VIEWED]
    titles = await offers.titles(session, [offer_id for offer_id, _ in top])
    return [(titles.get(offer_id, "?"), views) for offer_id, views in top]


# Queues ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    label: str
    cells: tuple[Cell, ...]  # conversations held, abandoned, still in the queue
    joins: Cell
    abandon_rate: Cell
    median_wait: Cell


@dataclass(frozen=True)
class QueueTable:
    rows: list[QueueRow]
    total: QueueRow
    chart: charts.Chart


def queue_table(booths: list[Booth], found: dict[int, queues.BoothQueue]) -> QueueTable | None:
    """Every approved booth (and any other with a join), by employer name, then the edition."""
    listed = [b for b in booths if b.status == BoothStatus.APPROVED.value or b.id in found]
    if not listed:
        return None
    figures = [found.get(b.id, queues.BoothQueue(b.id)) for b in listed]
    grid = disclosure.grid([[q.conversations, q.abandoned, q.in_queue] for q in figures])
    rows = [
        QueueRow(
            booth.employer.name,
            tuple(count(c) for c in grid.cells[i]),
            count(grid.row_totals[i]),
            rate(grid.cells[i][1], grid.row_totals[i]),
            median_minutes(q.waits),
        )
        for i, (booth, q) in enumerate(zip(listed, figures, strict=True))
    ]
    rows.sort(key=lambda r: r.label.casefold())
    every_wait = [w for q in figures for w in q.waits]
    total = QueueRow(
        gettext("The whole edition"),
        tuple(count(c) for c in grid.column_totals),
        count(grid.total),
        rate(grid.column_totals[1], grid.total),
        median_minutes(every_wait),
    )
    return QueueTable(rows, total, queue_chart(grid))


def queue_chart(grid: disclosure.Grid) -> charts.Chart:
    held, abandoned, _waiting = grid.column_totals
    labels = [
        gettext("Conversations held"),
        gettext("Left or missed the call"),
        gettext("Still in the queue"),
    ]
    items = [
        charts.Item(label, f.value, f.shown)
        for label, f in zip(labels, grid.column_totals, strict=True)
    ]
    if grid.total.shown:
        summary = gettext(
            "%(joins)s joins of a booth's queue; %(held)s; %(abandoned)s.",
            joins=shown_value(grid.total),
            held=named(labels[0], shown_value(held)),
            abandoned=named(labels[1], shown_value(abandoned)),
        )
    else:
        summary = gettext("Too few candidates joined a queue for their figures to be shown.")
    return charts.bars(
        gettext("Queue joins by outcome"),
        items,
        summary=summary,
        columns=(gettext("Outcome"), gettext("Joins")),
    )


# Webconferences --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TalkRow:
    label: str
    starts_at: Any
    cells: tuple[Cell, ...]  # seat and watched, seat and absent, watched without a seat
    people: Cell
    participation: Cell
    median_watch: Cell
    questions: Cell


@dataclass(frozen=True)
class TalkTable:
    rows: list[TalkRow]
    total: TalkRow
    chart: charts.Chart


def talk_table(talks: list[talk_figures.TalkFigures]) -> TalkTable | None:
    if not talks:
        return None
    grid = disclosure.grid([[t.seated_watched, t.seated_absent, t.unseated_watched] for t in talks])
    asked = disclosure.listing([t.questions for t in talks])
    rows = [
        TalkRow(
            t.title,
            t.starts_at,
            tuple(count(c) for c in grid.cells[i]),
            count(grid.row_totals[i]),
            participation(grid.cells[i][0], grid.cells[i][1]),
            median_minutes(t.watch_seconds),
            count(asked.cells[i]),
        )
        for i, t in enumerate(talks)
    ]
    total = TalkRow(
        gettext("Every talk"),
        None,
        tuple(count(c) for c in grid.column_totals),
        count(grid.total),
        participation(grid.column_totals[0], grid.column_totals[1]),
        median_minutes([s for t in talks for s in t.watch_seconds]),
        count(asked.total),
    )
    items = [
        charts.Item(r.label, _percent_value(talks[i]), r.participation.shown)
        for i, r in enumerate(rows)
    ]
    chart = charts.bars(
        gettext("Participation rate per talk (%)"),
        items,
        summary=gettext(
            "Of the seats booked, %(rate)s were used by a candidate who watched.",
            rate=total.participation.text,
        )
        if total.participation.shown
        else gettext("Too few seats were booked for the participation rate to be shown."),
        columns=(gettext("Talk"), gettext("Participation rate (%)")),
    )
    return TalkTable(rows, total, chart)


def participation(watched: disclosure.Figure, absent: disclosure.Figure) -> Cell:
    """Seats used over seats booked: shown when both parts are (their sum is then known)."""
    seats = disclosure.Figure(watched.value + absent.value, watched.shown and absent.shown)
    return rate(watched, seats)


def _percent_value(talk: talk_figures.TalkFigures) -> float:
    return round(100 * talk.seated_watched / talk.seats) if talk.seats else 0


# Interviews ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModeRow:
    label: str
    cells: tuple[Cell, ...]  # held, no-shows, booked
    total: Cell
    no_show_rate: Cell


@dataclass(frozen=True)
class ModeTable:
    rows: list[ModeRow]
    total: ModeRow
    chart: charts.Chart


def mode_table(found: list[interviews.ModeFigures]) -> ModeTable:
    grid = disclosure.grid([[m.held, m.no_shows, m.booked] for m in found])

    def no_show_rate(held: disclosure.Figure, missed: disclosure.Figure) -> Cell:
        return rate(
            missed, disclosure.Figure(held.value + missed.value, held.shown and missed.shown)
        )

    rows = [
        ModeRow(
            gettext(m.mode.label),
            tuple(count(c) for c in grid.cells[i]),
            count(grid.row_totals[i]),
            no_show_rate(grid.cells[i][0], grid.cells[i][1]),
        )
        for i, m in enumerate(found)
    ]
    total = ModeRow(
        gettext("Every mode"),
        tuple(count(c) for c in grid.column_totals),
        count(grid.total),
        no_show_rate(grid.column_totals[0], grid.column_totals[1]),
    )
    items = [
        charts.Item(row.label, grid.row_totals[i].value, grid.row_totals[i].shown)
        for i, row in enumerate(rows)
    ]
    summary = gettext(
        "Interviews by mode: %(modes)s.",
        modes="; ".join(
            named(row.label, shown_value(grid.row_totals[i])) for i, row in enumerate(rows)
        ),
    )
    chart = charts.bars(
        gettext("Interviews by mode"),
        items,
        summary=summary,
        columns=(gettext("Mode"), gettext("Interviews")),
    )
    return ModeTable(rows, total, chart)


# The page --------------------------------------------------------------------------------------


@page
async def edition_activity(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    booths = await employers.booths_of_edition(session, edition)
    per_day = await activity.views_per_day(session, edition.id)
    per_page = await activity.views_per_page(session, edition.id)
    view_rows = booth_views(booths, per_booth_views(per_page))
    joined = await queues.per_booth(session, edition.id)
    context = {
        "edition": edition,
        "views_total": activity.Views(
            sum(v.booth for v in per_day.values()), sum(v.offers for v in per_day.values())
        ),
        "views_chart": views_chart(per_day),
        "booth_views": view_rows,
        "booth_views_chart": booth_views_chart(view_rows),
        "offer_views": await offer_views(session, per_page),
        # Nobody in any queue: no table of zeros to protect (a total of 0 narrows nothing).
        "queues": queue_table(booths, joined) if joined else None,
        "talks": talk_table(await talk_figures.per_talk(session, edition.id)),
        "modes": mode_table(await interviews.by_mode(session, edition.id)),
        "threshold": disclosure.THRESHOLD,
        "number": charts.number,  # the tables' hundreds of numbers, formatted once each
    }
    return render(request, "organiser/activity.html", context)


routes = [
    Route(
        "/organiser/editions/{edition_id:int}/activity",
        edition_activity,
        name="edition_activity",
    ),
]
