"""The organiser's activity page (fair/web/activity.py): its figures against counts made in the
test, suppression as fair.disclosure rules it, its charts, who may read it, and its queries."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

from sqlalchemy.ext.asyncio import AsyncSession

from fair import activity, clock, db, disclosure, employers, participants, queues
from fair.enums import BoothStatus, InterviewStatus, Role
from fair.models import Booth, Edition, User
from fair.tally import Taken
from tests import factories as f
from tests.pages import as_user, person, text
from tests.statements import cold


class Tables(HTMLParser):
    """Every table of a page: its rows, each a list of cell texts (a hidden figure reads
    'hidden'); the tables inside a chart's <details> included, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("th", "td"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self.cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def tables(html: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def table_after(html: str, heading: str) -> list[list[str]]:
    """The last table of the section whose <h2> reads `heading` (its figures, after its chart)."""
    start = html.index(f">{heading}</h2>")
    end = html.find("<h2", start)
    return tables(html[start : end if end != -1 else None])[-1]


def shown(figure: disclosure.Figure) -> str:
    return f"{figure.value:,}" if figure.shown else "hidden"


def percent(part: disclosure.Figure, whole: disclosure.Figure) -> str:
    if not (part.shown and whole.shown) or whole.value == 0:
        return "hidden"
    return f"{round(100 * part.value / whole.value)}%"


async def named_booth(
    session: AsyncSession, edition: Edition, organiser: User, name: str, *, can_log_in: bool
) -> tuple[Booth, User]:
    """An approved booth of employer `name` and its recruiter."""
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=can_log_in)
    employer = await f.employer(session, by=recruiter, name=name)
    booth = await employers.request_booth(session, by=recruiter, employer=employer, edition=edition)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=organiser)
    return await employers.get_booth(session, booth.id), recruiter


async def a_fair(session: AsyncSession) -> tuple[Edition, User, list[Booth], list[User]]:
    """An edition with two booths, Bêta Services (its recruiter may log in) and Alpha Emploi."""
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser, title="Forum Lunel")
    beta = await named_booth(session, edition, organiser, "Bêta Services", can_log_in=True)
    alpha = await named_booth(session, edition, organiser, "Alpha Emploi", can_log_in=False)
    return edition, organiser, [beta[0], alpha[0]], [beta[1], alpha[1]]


async def test_the_activity_page_shows_each_figure_with_suppression(
    client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    edition, organiser, (beta, alpha), (beta_recruiter, alpha_recruiter) = await a_fair(session)
    offer = await f.offer(session, booth_=alpha, title="Soudeur (H/F)")
    today = activity.local_day(edition)
    first, third = today - timedelta(days=2), today
    views = {
        (edition.id, alpha.id, None, first): 30,
        (edition.id, alpha.id, offer.id, first): 12,
        (edition.id, beta.id, None, third): 7,
    }
    await activity.save(session, Taken(views=views))
    # Queues: six candidates join Alpha's queue and leave it; at Bêta seven leave, one waits.
    people = await f.candidate_accounts(session, 14)
    for candidate in people[:6]:
        await queues.join(session, candidate=candidate, booth=alpha)
        await queues.leave(session, candidate=candidate, booth=alpha)
    for candidate in people[6:]:
        await queues.join(session, candidate=candidate, booth=beta)
        if candidate != people[-1]:
            await queues.leave(session, candidate=candidate, booth=beta)
    # Interviews: five held by video, one missed by phone.
    made = [("video", InterviewStatus.HELD)] * 5 + [("phone", InterviewStatus.NO_SHOW)]
    for n, (mode, status) in enumerate(made):
        await f.interview(
            session,
            booth_=alpha,
            recruiter=alpha_recruiter,
            candidate_=await f.candidate(session, can_log_in=False),
            mode=mode,
            status=status,
            starts_at=clock.now() - timedelta(hours=n + 1),
        )
    await as_user(client, session, user=organiser)

    page = await client.get(f"/organiser/editions/{edition.id}/activity")

    assert page.status_code == 200
    html = page.text
    words = text(html)
    assert "Activity · Forum Lunel" in words
    assert "Views of booth pages 37 Views of offer pages 12" in words
    # Views per day: three days, the quiet one at 0, in the chart's table.
    day_rows = tables(html)[0]
    assert [row[1:] for row in day_rows] == [
        ["Booth pages", "Offer pages"],
        ["30", "12"],
        ["0", "0"],
        ["7", "0"],
    ]
    assert "the busiest day was" in words
    assert [
        r for r in tables(html) if r[0] == ["Employer", "Booth page", "Offer pages", "Total"]
    ] == [
        [
            ["Employer", "Booth page", "Offer pages", "Total"],
            ["Alpha Emploi", "30", "12", "42"],
            ["Bêta Services", "7", "0", "7"],
        ]
    ]
    assert ["Soudeur (H/F)", "12"] in [row for t in tables(html) for row in t]

    # Queues: rows by employer name (Alpha, Bêta), then the edition; counted here.
    counts = [[0, 6, 0], [0, 7, 1]]  # held, abandoned, still in the queue
    grid = disclosure.grid(counts)
    queue_rows = table_after(html, "Booth queues")
    expected = []
    for label, cells, joins in (
        *zip(("Alpha Emploi", "Bêta Services"), grid.cells, grid.row_totals, strict=True),
        ("The whole edition", grid.column_totals, grid.total),
    ):
        expected.append(
            [label, *(shown(c) for c in cells), shown(joins), percent(cells[1], joins), "hidden"]
        )
    assert queue_rows[1:] == expected
    # The joins and the edition's abandons are shown, and so the edition's abandon rate; no
    # cell is (a zero beside a shown total would give the others away).
    assert [row[4] for row in queue_rows[1:]] == ["6", "8", "14"]
    assert queue_rows[3][1:6] == ["hidden", "13", "hidden", "14", "93%"]
    summary = (
        "14 joins of a booth's queue; Conversations held: hidden; Left or missed the call: 13."
    )
    assert summary in words

    # Interviews by mode (video, phone, written chat), suppressed as one table.
    modes = disclosure.grid([[5, 0, 0], [0, 1, 0], [0, 0, 0]])
    mode_rows = table_after(html, "Interviews by mode")
    for row, label, cells, total in zip(
        mode_rows[1:],
        ("Video", "Phone", "Written chat", "Every mode"),
        (*modes.cells, modes.column_totals),
        (*modes.row_totals, modes.total),
        strict=True,
    ):
        held_or_missed = disclosure.Figure(
            cells[0].value + cells[1].value, cells[0].shown and cells[1].shown
        )
        assert row == [
            label, *(shown(c) for c in cells), shown(total), percent(cells[1], held_or_missed)
        ]  # fmt: skip
    assert "No webconference yet." in words
    # Charts: inline SVG, no inline style, the rule written under the tables of people.
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    assert "style=" not in html
    assert "fewer than 5 people" in words


async def test_only_the_editions_organisers_and_admins_read_its_figures(
    make_client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    edition, organiser, _, (recruiter, _) = await a_fair(session)
    other = await f.user(session, Role.ORGANISER)
    candidate = await f.user(session, Role.CANDIDATE)
    admin = await f.user(session, Role.ADMIN)
    await db.commit(session)
    paths = [f"/organiser/editions/{edition.id}/{page}" for page in ("activity", "compare")]
    for refused in (other, recruiter, candidate):
        reader = await person(make_client, refused)
        assert [(await reader.get(path)).status_code for path in paths] == [403, 403]
    anonymous = make_client()
    assert [(await anonymous.get(path)).status_code for path in paths] == [303, 303]
    for allowed in (organiser, admin):
        reader = await person(make_client, allowed)
        assert [(await reader.get(path)).status_code for path in paths] == [200, 200]


async def test_the_page_reads_the_same_queries_for_more_booths(
    app, client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    edition, organiser, (beta, _), _ = await a_fair(session)
    await as_user(client, session, user=organiser)
    path = f"/organiser/editions/{edition.id}/activity"
    with cold(app) as few:
        before = await client.get(path)
    for n in range(3):
        name = f"Entreprise {n}"
        booth, _ = await named_booth(session, edition, organiser, name, can_log_in=False)
        (candidate,) = await f.candidate_accounts(session, 1)
        await queues.join(session, candidate=candidate, booth=booth)
        await activity.save(
            session, Taken(views={(edition.id, booth.id, None, activity.local_day(edition)): 3})
        )
    await db.commit(session)
    with cold(app) as many:
        page = await client.get(path)
    assert "Nobody has joined a booth's queue yet." in text(before.text)
    assert page.status_code == 200
    assert len(re.findall("Entreprise", text(page.text))) >= 3
    assert len(many) == len(few), many


# Editions compared -----------------------------------------------------------------------------


async def test_the_editions_compared_page(client, session: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    first_opening = datetime(2025, 3, 3, 9, 0, tzinfo=f.PARIS)
    second_opening = datetime(2026, 3, 2, 9, 0, tzinfo=f.PARIS)
    first = await f.edition(
        session, by=organiser, title="Forum <2025>", now=first_opening + timedelta(days=7)
    )
    second = await f.edition(
        session, by=organiser, title="Forum 2026", now=second_opening + timedelta(days=7)
    )
    await f.edition(session, title="Forum d'un autre")
    # Registrations: the first edition 6 three days before opening, 6 on opening day; the
    # second 9 a week before, 5 a month after.
    registered = [(first, first_opening - timedelta(days=3))] * 6
    registered += [(first, first_opening)] * 6
    registered += [(second, second_opening - timedelta(days=7))] * 9
    registered += [(second, second_opening + timedelta(days=30))] * 5
    people = await f.candidate_accounts(session, len(registered))
    for someone, (edition, moment) in zip(people, registered, strict=True):
        await participants.register(session, edition_id=edition.id, user=someone, at=moment)
    await as_user(client, session, user=organiser)

    page = await client.get(f"/organiser/editions/{second.id}/compare")

    assert page.status_code == 200
    html, words = page.text, text(page.text)
    assert "Editions compared · Forum 2026" in words
    assert "Forum d'un autre" not in words and "Forum &lt;2025&gt;" in html
    summary = tables(html)[0]
    # The last figure shown by day D and by D+21: the first edition's 6 at D-3 (its 12 on day
    # D is its total so far, shown on its dashboard: shown here, its days after would tell
    # that nobody registered since), the second's 9 at D-7 (the same 9 again would tell that
    # nobody registered that day; 14 in all); no application nor interview (0: hidden).
    hidden = ["hidden"] * 4
    assert summary[2:] == [
        ["Forum <2025> (Mar 3, 2025)", "6 (D-3)", "6 (D-3)", *hidden],
        ["Forum 2026 (Mar 2, 2026) (this edition)", "9 (D-7)", "9 (D-7)", *hidden],
    ]
    curves = tables(html)[1]  # registrations, in the first chart's table
    assert curves[0] == [
        "Day (D: applications open)",
        "Forum <2025> (Mar 3, 2025)",
        "Forum 2026 (Mar 2, 2026)",
    ]
    by_day = {row[0]: row[1:] for row in curves[1:]}
    assert by_day["D-21"] == ["hidden", "hidden"]
    assert by_day["D-7"] == ["hidden", "9"]
    assert by_day["D-6"] == ["hidden", "hidden"]
    assert by_day["D-3"] == ["6", "hidden"]
    assert by_day["D"] == ["hidden", "hidden"]
    assert by_day["D+21"] == ["hidden", "hidden"]
    assert len(curves) == 1 + 43
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 3
    assert "a point is shown only when it is at least 5" in words
