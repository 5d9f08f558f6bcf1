"""Saving an edition's settings from its own form: unchanged, and with live days kept, added,
removed or overlapping the old ones (issue 10, item 1: the new days used to be inserted before
the old ones were deleted, and UNIQUE (edition_id, day) answered 500)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fair import clock, db, demo, editions
from fair.enums import Role
from fair.models import Edition, LiveDay
from tests import factories as f
from tests.conftest import login
from tests.html_forms import Form, forms_of
from tests.walk import changed, snapshot

# A Wednesday morning in Paris: the demo edition is live from Tuesday 22 to Sunday 27.
NOW = datetime(2030, 1, 23, 9, 30, 17, 250000, tzinfo=UTC)
TODAY = date(2030, 1, 23)


async def _demo_edition(client: Any, session: Any) -> Edition:
    """The demo's edition (its settings, seconds included), and its organiser logged in."""
    clock.set_now(NOW)
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await editions.create(session, by=organiser, data=demo.edition_input(NOW))
    await editions.publish(session, edition)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, organiser.email, f.PASSWORD)
    return edition


async def _settings_form(client: Any, edition_id: int) -> Form:
    path = f"http://testserver/organiser/editions/{edition_id}/settings"
    page = await client.get(path)
    assert page.status_code == 200
    [form] = [form for form in forms_of(page.text) if form.action == path]
    return form


def _with(form: Form, **values: str | list[str]) -> Form:
    """The form with some fields set to other values (a list for the weekday boxes)."""
    kept = [(name, value) for name, value in form.fields if name not in values]
    for name, value in values.items():
        kept += [(name, v) for v in (value if isinstance(value, list) else [value])]
    return Form(form.action, form.method, form.enctype, kept, form.files, form.button)


async def _days(fetch: Any) -> list[tuple[int, date, time, time]]:
    rows = await fetch.scalars(select(LiveDay).order_by(LiveDay.day))
    return [(row.id, row.day, row.opens, row.closes) for row in rows]


async def test_the_demo_edition_saved_unchanged_changes_nothing(app, client, session):  # type: ignore[no-untyped-def]
    edition = await _demo_edition(client, session)
    form = await _settings_form(client, edition.id)
    assert form.values() == {
        "title": ["Rencontres pour l'emploi 2030"],
        "territory": ["Garrigues et Lez Métropole"],
        "partners": ["France Travail, Mission locale, Cap emploi, Département de l'Hérault"],
        "description": [demo.edition_input(NOW).description],
        "timezone": ["Europe/Paris"],
        "applications_open_at": ["2030-01-18T10:30"],
        "applications_close_at": ["2030-02-01T10:30"],
        "response_deadline": ["2030-02-04T10:30"],
        "live_first_day": ["2030-01-22"],
        "live_last_day": ["2030-01-27"],
        "opens": ["08:00"],
        "closes": ["20:00"],
        # Every day of the week is chosen, but no live day falls on a Monday: not shown.
        "weekdays": ["1", "2", "3", "4", "5", "6"],
        # No admission caps of its own: the platform's defaults (fair.admission).
        "admission_active_cap": [""],
        "admission_arrivals_per_minute": [""],
    }
    before = await snapshot(app)

    response = await client.post(form.action, **form.send())  # type: ignore[arg-type]

    assert response.status_code == 303
    assert response.headers["location"] == f"/organiser/editions/{edition.id}/settings"
    # Not a row, not a second of the moments shown to the minute, not a live day's id.
    assert changed(before, await snapshot(app)) == {}
    again = await client.get(response.headers["location"])
    assert "The edition was saved." in again.text
    assert (await _settings_form(client, edition.id)).values() == form.values()


EVERY_DAY = [str(n) for n in range(7)]
# (first live day, last live day, weekdays, opens, closes) -> the live days afterwards.
CASES = {
    "kept, other hours": (
        ("2030-01-22", "2030-01-27", EVERY_DAY, "09:15", "18:45"),
        [date(2030, 1, d) for d in range(22, 28)],
    ),
    "added at both ends": (
        ("2030-01-20", "2030-01-29", EVERY_DAY, "08:00", "20:00"),
        [date(2030, 1, d) for d in range(20, 30)],
    ),
    "removed at both ends": (
        ("2030-01-23", "2030-01-25", EVERY_DAY, "08:00", "20:00"),
        [date(2030, 1, d) for d in range(23, 26)],
    ),
    "overlapping, moved later": (
        ("2030-01-25", "2030-01-31", EVERY_DAY, "10:00", "16:00"),
        [date(2030, 1, d) for d in range(25, 32)],
    ),
    "overlapping, moved earlier": (
        ("2030-01-18", "2030-01-24", EVERY_DAY, "08:00", "20:00"),
        [date(2030, 1, d) for d in range(18, 25)],
    ),
    "weekends dropped, a week added": (
        ("2030-01-22", "2030-02-03", ["0", "1", "2", "3", "4"], "08:00", "20:00"),
        [date(2030, 1, d) for d in (22, 23, 24, 25, 28, 29, 30, 31)] + [date(2030, 2, 1)],
    ),
    "none kept": (
        ("2030-02-11", "2030-02-13", EVERY_DAY, "08:00", "20:00"),
        [date(2030, 2, 11), date(2030, 2, 12), date(2030, 2, 13)],
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_live_days_kept_added_removed_or_overlapping(app, client, session, fetch, case):  # type: ignore[no-untyped-def]
    (first, last, weekdays, opens, closes), expected = CASES[case]
    edition = await _demo_edition(client, session)
    old = {day: row_id for row_id, day, _opens, _closes in await _days(fetch)}
    assert sorted(old) == [date(2030, 1, d) for d in range(22, 28)]
    form = _with(
        await _settings_form(client, edition.id),
        live_first_day=first,
        live_last_day=last,
        weekdays=weekdays,
        opens=opens,
        closes=closes,
    )

    response = await client.post(form.action, **form.send())  # type: ignore[arg-type]

    assert response.status_code == 303
    hours = (time.fromisoformat(opens), time.fromisoformat(closes))
    after = await _days(fetch)
    assert [(day, o, c) for _id, day, o, c in after] == [(day, *hours) for day in expected]
    # A day in both ranges keeps its row, updated in place.
    assert {day: row_id for row_id, day, _o, _c in after if day in old} == {
        day: old[day] for day in expected if day in old
    }
    saved = await fetch.get(Edition, edition.id)
    assert saved.title == "Rencontres pour l'emploi 2030"


async def test_every_setting_round_trips_through_the_form(app, client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await _demo_edition(client, session)
    posted = {
        "title": "Forum de l'emploi de Cayenne",
        "territory": "Communauté d'agglomération du Centre Littoral",
        "partners": "France Travail Guyane\nMission locale",
        "description": "Deux semaines en ligne.\n\nPostulez, puis échangez en visio.",
        "timezone": "America/Cayenne",
        "applications_open_at": "2030-01-14T08:00",
        "applications_close_at": "2030-02-05T17:30",
        "response_deadline": "2030-02-12T12:00",
        "live_first_day": "2030-01-21",
        "live_last_day": "2030-02-01",
        "opens": "08:30",
        "closes": "16:00",
        "weekdays": ["0", "1", "3", "4"],
        "admission_active_cap": "2500",
        "admission_arrivals_per_minute": "400",
    }
    form = _with(await _settings_form(client, edition.id), **posted)

    response = await client.post(form.action, **form.send())  # type: ignore[arg-type]

    assert response.status_code == 303
    shown = await _settings_form(client, edition.id)
    assert shown.values() == {k: v if isinstance(v, list) else [v] for k, v in posted.items()}
    saved = await fetch.get(Edition, edition.id)
    cayenne = timedelta(hours=3)  # UTC-3, no summer time
    assert (saved.admission_active_cap, saved.admission_arrivals_per_minute) == (2500, 400)
    assert (saved.timezone, saved.applications_open_at, saved.response_deadline) == (
        "America/Cayenne",
        datetime(2030, 1, 14, 8, 0, tzinfo=UTC) + cayenne,
        datetime(2030, 2, 12, 12, 0, tzinfo=UTC) + cayenne,
    )
    assert [day for _id, day, _o, _c in await _days(fetch)] == [
        date(2030, 1, d) for d in (21, 22, 24, 25, 28, 29, 31)
    ] + [date(2030, 2, 1)]
