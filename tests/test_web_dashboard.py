"""The organiser's dashboard and a recruiter's booth funnel: the figures the pages show (whole
text of the funnel table, against the journeys the test built), the filters, who may see them,
and a query count that does not grow with the candidates."""

from __future__ import annotations

import re

import pytest

from fair import app_state, clock, db
from fair.enums import Role
from tests import factories as f
from tests import funnel_journeys
from tests.pages import person, text
from tests.statements import cold, listening


@pytest.fixture(autouse=True)
def _clock(conf):  # type: ignore[no-untyped-def]
    yield
    clock.set_now(None)


def table(page: str, caption_id: str) -> str:
    """The text of the table region labelled by `caption_id`."""
    found = re.search(
        rf'<div class="table-wrap"[^>]*aria-labelledby="{caption_id}">(.*?)</table>', page, re.S
    )
    assert found, caption_id
    return text(found.group(1))


def funnel_text(counts: dict[str, int], *, booth_only: bool = False) -> str:
    """The funnel table as the page should print it, from the counts the test computed."""
    steps = (*funnel_journeys.JOURNEYS["hired"], "no_show", "not_held_yet")
    shown = {s: counts.get(s, 0) if counts.get(s, 0) >= 5 else None for s in steps}
    # No-show and "not held yet" below 5 hide each other; nothing else is pinned here.
    labels = [
        ("registered", "Registered candidates"),
        ("active", "Active during the edition"),
        ("applied", "Applied to an offer"),
        ("shortlisted", "Shortlisted at least once"),
        ("interview_booked", "Interview booked"),
        ("held", "↳ Interview held"),
        ("no_show", "↳ Did not attend (no-show)"),
        ("not_held_yet", "↳ Booked, not held yet or not recorded"),
        ("retained", "Retained (the recruiter's decision)"),
        ("hired", "Back at work (confirmed)"),
    ]
    if booth_only:
        labels = labels[2:]
    before = {
        "active": "registered",
        "applied": "active",
        "shortlisted": "applied",
        "interview_booked": "shortlisted",
        "held": "interview_booked",
        "no_show": "interview_booked",
        "not_held_yet": "interview_booked",
        "retained": "held",
        "hired": "retained",
    }
    parts = ["Step Candidates Rate"]
    for i, (step, label) in enumerate(labels):
        figure = "hidden" if shown[step] is None else str(shown[step])
        if i == 0:
            rate = "—"
        else:
            top, bottom = shown[step], shown.get(before[step])
            rate = "hidden" if top is None or bottom is None else f"{100 * top / bottom:.1f} %"
        parts.append(f"{label} {figure} {rate}")
    return " ".join(parts)


async def test_the_dashboard_shows_the_funnel_and_every_booth(app, session, make_client) -> None:  # type: ignore[no-untyped-def]
    built = await funnel_journeys.build(session)
    await db.commit(session)
    client = await person(make_client, built.organiser)
    page = await client.get(f"/organiser/editions/{built.edition.id}")
    assert page.status_code == 200
    expected = built.expected()
    assert table(page.text, "funnel-title") == funnel_text(dict(expected))
    assert "fewer than 5 people (0 included) is not shown" in text(page.text)
    # The bars say it in a sentence: the last shown step of the chain is "held" (5 of 18).
    share = f"{100 * expected['held'] / expected['registered']:.1f}"
    sentence = (
        f"Of {expected['registered']} candidates at the step “Registered candidates”, "
        f"{expected['held']} reached the step “Interview held” ({share} %)."
    )
    assert sentence in text(page.text)
    assert 'role="img"' in page.text
    # Booth B's cells are below 5 (4 applied, 3 shortlisted, no interview): hidden; each of
    # A's then stands alone shown in its column beside a hidden one (with the column's sum it
    # would give B's back): hidden too. Without filters, no page views (the activity page's).
    a, b = built.expected(per_booth="A"), built.expected(per_booth="B")
    assert (a["applied"], a["shortlisted"], b["applied"], b["shortlisted"]) == (12, 10, 4, 3)
    cells = " ".join(["hidden"] * 8)
    rows = sorted((built.employers[name], f"{built.employers[name]} {cells}") for name in "AB")
    header = (
        "Booth Applied to an offer Shortlisted at least once Interview booked "
        "Interview held Did not attend (no-show) Booked, not held yet or not recorded "
        "Retained (the recruiter's decision) Back at work (confirmed)"
    )
    assert table(page.text, "booths-title") == " ".join([header, *(r for _n, r in rows)])
    await _filters(client, built)
    await _queries_do_not_grow(app, session, client, built)


async def _filters(client, built) -> None:  # type: ignore[no-untyped-def]
    """The filters restrict the steps from "applied" on, and say so."""
    base = f"/organiser/editions/{built.edition.id}"
    page = await client.get(base, params={"contract": "cdd"})
    only_b = built.expected(booths=["B"])
    assert table(page.text, "funnel-title") == funnel_text(dict(only_b))
    assert "Registration and activity are counted over the whole edition" in text(page.text)
    assert '<option value="cdd" selected>' in page.text
    # The matching pages' views beside the funnel: B's offer page only (not people: shown).
    views = "Views of the matching booth pages 0 Views of the matching offer pages 5"
    assert views in text(page.text)
    page = await client.get(base, params={"sector": "56"})
    assert "Views of the matching booth pages 3 Views of the matching offer pages 5" in text(
        page.text
    )
    # An unknown value is no filter.
    page = await client.get(base, params={"contract": "nope", "booth": "999999"})
    assert table(page.text, "funnel-title") == funnel_text(dict(built.expected()))
    assert "Registration and activity are counted" not in text(page.text)
    assert "Views of the matching" not in text(page.text)


async def test_the_funnel_is_read_on_a_spare_connection_when_one_is_free(
    app, session, make_client
) -> None:  # type: ignore[no-untyped-def]
    # The funnel's statement runs on a second connection beside the booths' table's; with the
    # process's spare connections all taken, the page reads both on its own and is the same.
    built = await funnel_journeys.build(session)
    await db.commit(session)
    client = await person(make_client, built.organiser)
    url = f"/organiser/editions/{built.edition.id}"
    connections: dict[str, set[int]] = {"funnel": set(), "booths": set()}

    def record(connection, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if "sum(edition_candidates.reached_active)" in statement:
            connections["funnel"].add(id(connection.connection.dbapi_connection))
        elif "GROUP BY booth_candidates.booth_id" in statement:
            connections["booths"].add(id(connection.connection.dbapi_connection))

    engine = app.state.engine.sync_engine
    with listening(engine, "before_cursor_execute", record):
        spare = await client.get(url)
        assert connections["funnel"] and connections["booths"]
        assert not connections["funnel"] & connections["booths"]
        for _ in range(app_state.SPARE_READS):
            await app.state.spare_reads.acquire()
        try:
            alone = await client.get(url)
        finally:
            for _ in range(app_state.SPARE_READS):
                app.state.spare_reads.release()
    assert spare.status_code == alone.status_code == 200
    for caption in ("funnel-title", "booths-title"):
        assert table(spare.text, caption) == table(alone.text, caption), caption
    assert table(alone.text, "funnel-title") == funnel_text(dict(built.expected()))


async def test_a_recruiter_sees_their_booth_funnel_and_strangers_nothing(
    session, make_client
) -> None:  # type: ignore[no-untyped-def]
    built = await funnel_journeys.build(session)
    other_organiser = await f.user(session, Role.ORGANISER, locale="en")
    candidate = await f.user(session, Role.CANDIDATE, locale="en")
    other_edition = await f.edition(session)
    other_booth, other_recruiter = await f.booth(session, edition_=other_edition)
    await db.commit(session)
    url = f"/organiser/editions/{built.edition.id}"
    for user, status in ((other_organiser, 403), (candidate, 403), (built.recruiters["A"], 403)):
        client = await person(make_client, user)
        assert (await client.get(url)).status_code == status, user.role
    booth_url = f"/recruiter/booths/{built.booths['A'].id}/funnel"
    for user in (other_recruiter, candidate, built.organiser):
        client = await person(make_client, user)
        assert (await client.get(booth_url)).status_code == 403, user.role
    assert other_booth.id
    client = await person(make_client, built.recruiters["B"])
    booth_page = await client.get(f"/recruiter/booths/{built.booths['B'].id}")
    assert f'href="/recruiter/booths/{built.booths["B"].id}/funnel"' in booth_page.text
    page = await client.get(f"/recruiter/booths/{built.booths['B'].id}/funnel")
    assert page.status_code == 200
    b = built.expected(per_booth="B")
    assert table(page.text, "funnel-title") == funnel_text(
        {**dict(b), "not_held_yet": 0}, booth_only=True
    )
    assert "Views of the booth page 3 Views of the offer pages 5" in text(page.text)


async def _queries_do_not_grow(app, session, client, built) -> None:  # type: ignore[no-untyped-def]
    """The dashboard's queries do not grow with candidates, applications and booths."""
    url = f"/organiser/editions/{built.edition.id}"
    with cold(app) as few:
        await client.get(url)
    clock.set_now(f.NOON)
    booth, _recruiter = await f.booth(session, edition_=built.edition)
    offer = await f.offer(session, booth_=booth)
    for _ in range(3):
        await f.application(session, offer_=offer, can_log_in=False)
    await db.commit(session)
    with cold(app) as many:
        await client.get(url)
    assert len(many) == len(few), many
