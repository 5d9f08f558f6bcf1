"""The follow-up pages (fair.web.outcomes): a recruiter confirms hires in one click from their
booth page's task, a candidate says whether they found a job, the organiser reads the
outcomes; each refused to the others; both databases."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, disclosure, insight
from fair.enums import Role
from fair.models import HireConfirmation, JobReport, User
from tests import factories as f
from tests import outcome_setup as o
from tests.factories import NOON
from tests.html_forms import Form, forms_of
from tests.pages import person, text
from tests.statements import cold


def forms_with(page: str, name: str) -> list[Form]:
    """The page's forms that have a field called `name` (not the menu's log-out or language)."""
    return [form for form in forms_of(page) if name in dict(form.fields)]


def as_shown(figure: disclosure.Figure) -> str:
    return str(figure.value) if figure.shown else "hidden"


async def read(app, query) -> list:  # type: ignore[no-untyped-def,type-arg]
    async with app.state.read_sessions() as s:
        return list((await s.scalars(query)).all())


async def test_recruiter_confirms_hires_in_one_click(
    app, session: AsyncSession, make_client
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session)
    a = await o.stand(session, edition, name="Alpha", can_log_in=True)
    b = await o.stand(session, edition, name="Bravo", can_log_in=True)
    kept = await o.apply(session, a, hired=True)
    second = await o.apply(session, a, hired=True)
    other = await o.apply(session, b, hired=True)
    await o.apply(session, a)  # applied, not retained: not listed
    names = {}
    for applied in (kept, second):
        user = await session.get(User, applied.candidate_id)
        assert user is not None
        names[applied.id] = user.name
    await db.commit(session)
    path = f"/recruiter/booths/{a.booth.id}/follow-up"
    o.after_end(edition, 30)
    alpha, bravo = await person(make_client, a.recruiter), await person(make_client, b.recruiter)
    booth_page = await alpha.get(f"/recruiter/booths/{a.booth.id}")
    assert "2 candidates you retained await your answer: were they hired?" in text(booth_page.text)
    assert f'href="{path}"' in booth_page.text
    page = await alpha.get(path)
    assert page.status_code == 200
    legends = re.findall(r"<legend>([^<]*)</legend>", page.text)
    assert sorted(legends) == sorted(
        f"{names[x.id]} — Électricien du bâtiment (H/F)" for x in (kept, second)
    )
    forms = {
        dict(form.fields)["application"]: form for form in forms_with(page.text, "application")
    }
    assert set(forms) == {str(kept.id), str(second.id)}
    # One click: the form as it stands (the offer's CDI chosen), its first button "Hired".
    form = forms[str(kept.id)]
    assert form.button == ("hired", "yes")
    sent = await alpha.post(path, data=form.data())
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{path}#application-{kept.id}"
    # "Not hired" for the second.
    data = forms[str(second.id)].data() | {"hired": "no"}
    assert (await alpha.post(path, data=data)).status_code == 303
    rows = await read(app, select(HireConfirmation).order_by(HireConfirmation.application_id))
    assert [(r.application_id, r.hired, r.contract, r.months, r.stage) for r in rows] == [
        (kept.id, True, "cdi", None, 30),
        (second.id, False, None, None, 30),
    ]
    booth_page = await alpha.get(f"/recruiter/booths/{a.booth.id}")
    assert "You have answered about every candidate you retained" in text(booth_page.text)

    # A CDD without its length: the page again, the error on that row's field.
    data = forms[str(second.id)].data() | {"contract": "cdd", "months": ""}
    refused = await alpha.post(path, data=data)
    assert refused.status_code == 422
    assert f'href="#f-months-{second.id}"' in refused.text
    assert f'id="e-months-{second.id}"' in refused.text
    assert "Enter the contract&#39;s length in months (0 for less than a month)." in refused.text
    assert (await read(app, select(HireConfirmation.hired).order_by(HireConfirmation.id))) == [
        True,
        False,
    ]

    # Another booth's recruiter: not their booth's page, nor another booth's application.
    assert (await bravo.get(path)).status_code == 403
    other_path = f"/recruiter/booths/{b.booth.id}/follow-up"
    page_b = await bravo.get(other_path)
    token = forms_of(page_b.text)[0].data()["csrf_token"]
    stolen = {"csrf_token": token, "application": str(kept.id), "hired": "no"}
    assert (await bravo.post(other_path, data=stolen)).status_code == 404
    # Nor may Alpha answer for Bravo's candidate through Alpha's own page.
    token = forms_of((await alpha.get(path)).text)[0].data()["csrf_token"]
    stolen = {"csrf_token": token, "application": str(other.id), "hired": "no"}
    assert (await alpha.post(path, data=stolen)).status_code == 404
    rows = await read(app, select(HireConfirmation).order_by(HireConfirmation.application_id))
    assert [(r.application_id, r.hired) for r in rows] == [(kept.id, True), (second.id, False)]


async def test_candidate_reports_a_job(app, session: AsyncSession, make_client) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session, title="Forum Lunel")
    a = await o.stand(session, edition, name="Alpha")
    mine = await f.candidate(session)
    theirs = await f.candidate(session)
    outsider = await f.candidate(session)
    await o.apply(session, a, mine)
    await o.apply(session, a, theirs)
    await db.commit(session)
    path = f"/me/editions/{edition.id}/job"
    o.after_end(edition, 31)
    me, them, nobody = (
        await person(make_client, mine),
        await person(make_client, theirs),
        await person(make_client, outsider),
    )
    area = await me.get("/me/jobs")
    assert f'href="{path}"' in area.text and "No answer yet." in area.text
    assert 'href="/me/jobs"' in (await me.get("/me/applications")).text
    page = await me.get(path)
    assert "<legend>Since Forum Lunel, have you found a job?</legend>" in page.text
    assert re.search(r'<option value="\d+">Alpha</option>', page.text)
    assert '<label for="f-employer_name">Name of the other employer</label>' in page.text
    token = forms_of(page.text)[0].data()["csrf_token"]
    # No choice made: the error names the question.
    refused = await me.post(path, data={"csrf_token": token})
    assert refused.status_code == 422 and 'href="#f-found"' in refused.text
    # A job with an employer outside the fair, a CDD of 4 months.
    answer = {
        "csrf_token": token,
        "found": "yes",
        "employer": "other",
        "employer_name": "Mairie de Lunel",
        "contract": "cdd",
        "months": "4",
    }
    assert (await me.post(path, data=answer)).status_code == 303
    # Another candidate answers for themselves only: their row, mine unchanged.
    their_page = await them.get(path)
    their_token = forms_of(their_page.text)[0].data()["csrf_token"]
    assert (
        await them.post(path, data={"csrf_token": their_token, "found": "no"})
    ).status_code == 303
    # Someone who did not take part is refused.
    assert (await nobody.get(path)).status_code == 403
    reports = await read(app, select(JobReport).order_by(JobReport.user_id))
    assert [
        (r.user_id, r.found, r.booth_id, r.employer_name, r.contract, r.months) for r in reports
    ] == sorted(
        [
            (mine.id, True, None, "Mairie de Lunel", "cdd", 4),
            (theirs.id, False, None, "", None, None),
        ]
    )
    # The page shows the answer back, changeable: now with Alpha, a CDI.
    again = await me.get(path)
    shown = forms_with(again.text, "employer_name")[0].values()
    assert (shown["found"], shown["employer"], shown["employer_name"], shown["months"]) == (
        ["yes"],
        ["other"],
        ["Mairie de Lunel"],
        ["4"],
    )
    change = answer | {"employer": str(a.booth.id), "contract": "cdi", "months": ""}
    assert (await me.post(path, data=change)).status_code == 303
    found = await read(app, select(JobReport).where(JobReport.user_id == mine.id))
    assert [(r.booth_id, r.employer_name, r.contract, r.months) for r in found] == [
        (a.booth.id, "Alpha", "cdi", None)
    ]


async def test_organiser_reads_the_outcomes(app, session: AsyncSession, make_client) -> None:  # type: ignore[no-untyped-def]
    from fair import outcomes

    clock.set_now(NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    a = await o.stand(session, edition, naf="56.10A", name="Alpha")
    b = await o.stand(session, edition, naf="56.10B", name="Bravo")
    kept = [await o.apply(session, a, hired=True) for _ in range(6)]
    few = [await o.apply(session, b, hired=True) for _ in range(2)]
    stranger = await f.user(session, Role.ORGANISER)
    await db.commit(session)
    o.after_end(edition, 35)
    for applied in kept:
        await outcomes.confirm_hire(
            session,
            by=a.recruiter,
            application_id=applied.id,
            answer=outcomes.Answer(True, outcomes.Contract.CDI),
        )
    await db.commit(session)
    client = await person(make_client, organiser)
    path = f"/organiser/editions/{edition.id}/outcomes"
    with cold(app) as first:
        page = await client.get(path)
    assert page.status_code == 200
    shown = text(page.text)
    # Counted here: 8 retained (6 + 2), 6 back at work; Alpha 6 and 6, Bravo 2 and 0. Shown or
    # hidden as the dashboard shows them (fair.insight decides).
    async with app.state.read_sessions() as s:
        funnel = await insight.funnel(s, edition.id)
        rows = {r.employer: r.funnel.figures for r in await insight.booth_funnels(s, edition.id)}
    assert (funnel.counts["retained"], funnel.counts["hired"]) == (8, 6)
    retained, hired = funnel.figures["retained"], funnel.figures["hired"]
    assert f"Retained during the fair {as_shown(retained)}" in shown
    assert f"Back at work from the fair (confirmed) {as_shown(hired)}" in shown
    assert "Found a job elsewhere hidden" in shown
    assert {name: (fig["retained"].value, fig["hired"].value) for name, fig in rows.items()} == {
        "Alpha": (6, 6),
        "Bravo": (2, 0),
    }
    for name, fig in rows.items():
        assert f"{name} {as_shown(fig['retained'])} {as_shown(fig['hired'])}" in shown
    assert "Bravo hidden hidden" in shown
    assert "Restauration · This sector's funnel" in shown
    assert f'href="/organiser/editions/{edition.id}?sector=56"' in page.text
    assert "To protect the people counted" in shown
    assert f'href="{path}"' in page.text  # the edition's menu links to it
    assert len(few) == 2
    other = await person(make_client, stranger)
    assert (await other.get(path)).status_code == 403

    # A booth and a sector more: the page asks as many questions of the database.
    clock.set_now(NOON)
    c = await o.stand(session, edition, naf="86.21Z", name="Charlie")
    await o.apply(session, c, hired=True)
    await db.commit(session)
    o.after_end(edition, 35)
    with cold(app) as again:
        page = await client.get(path)
    assert "Charlie hidden hidden" in text(page.text)
    assert len(again) == len(first), again
