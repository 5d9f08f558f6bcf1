"""Every gated page and socket command declares which edition it acts in (issue 17 item 1).

The admission gate holds a candidate in one edition's line: it must know, for each page and
each /live command, which edition that is (fair.web.gate `declared`, fair.live.socket
`EDITION_OF`, both through fair.edition_keys). The pages come from `app.routes` and the
commands from `ACTIONS`, so a page or command added without a declaration fails here: before,
pages naming an invitation or an edition by id fell back to the edition the cookie named, and a
candidate held in one fair acted in it through another's admission (tests/test_web_gate.py).
Then the reads of fair.edition_keys, on SQLite and PostgreSQL: each kind finds its thing's
edition.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute, Mount, Route

from fair import clock, conversations, db, edition_keys, queues, settings, webconferences
from fair.app import create_app
from fair.enums import Role
from fair.live.socket import ACTIONS, EDITION_OF
from fair.web import auth, gate
from fair.web.convertors import IdConvertor
from tests import factories as f
from tests import network_offers
from tests.payload_keys import payload_keys

# Path parameters of candidates' own pages that name nothing of one edition: a signed link's
# token, the candidate's alert, a recruiter's request for their CV, their counsellor's
# following. A new parameter on such a page needs a decision: a kind of edition_keys.KINDS
# (then the page is gated by that thing's edition), or this list.
NOT_OF_AN_EDITION = {"token", "alert_id", "request_id", "accompaniment_id"}
# Commands that name a thing of one edition yet never hold anyone (fair.live *_commands.py
# EDITION_OF): a read as the booth's page, leaving (it frees a place), the answer to the offer
# of `stage.watch`, and the shared commands of a call or room the socket joined (fair.live.peers:
# a call under way is not cut).
PEERS = ("signal", "leave", "relay_publish", "relay_watch", "relay_answer", "relay_leave")
NEVER_HELD = {
    "queue.status",
    "queue.leave",
    "booth.unstaff",
    "stage.leave",
    "stage.answer",
    *(f"{call}.{action}" for call in ("call", "room") for action in PEERS),
}


def _routes(routes: list[BaseRoute]) -> Iterator[Route]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _routes(route.routes)
        elif isinstance(route, Route):
            yield route


def _gated(route: Route) -> bool:
    """A page: its handler runs in fair.web.auth's unit of work, where the gate checks
    (under the decorators of fair.web.browsing, if any)."""
    endpoint = route.endpoint
    while endpoint is not None:
        code = getattr(endpoint, "__code__", None)
        if code is not None and Path(code.co_filename) == Path(inspect.getfile(auth)):
            return True
        endpoint = getattr(endpoint, "__wrapped__", None)
    return False


def _name(route: Route) -> str:
    return f"{route.endpoint.__module__}.{route.endpoint.__name__}"


def _pages(tmp_path: Path) -> list[Route]:
    conf = settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)})
    return [r for r in _routes(create_app(conf).routes) if _gated(r)]


def test_every_page_declares_the_edition_its_gate_is(tmp_path: Path) -> None:
    pages = _pages(tmp_path)
    assert len(pages) > 200
    how = {r.path: gate.declared(r.endpoint, r.param_convertors) for r in pages}
    assert [path for path, found in how.items() if found is None] == []
    # The known gaps, and the partner's offer (a NetworkOffer's id, not an Offer's):
    assert how["/me/invitations/{invitation_id:int}/book"] == "invitation_id"
    assert how["/me/editions/{edition_id:int}/job"] == "edition_id"
    assert how["/network/offers/{network_offer_id:int}/apply"] == "network_offer_id"
    assert how["/offers/{offer_id:int}/apply"] == "offer_id"
    assert how["/e/{slug}/booths"] == gate.OPEN
    assert how["/recruiter/booths/{booth_id:int}"] == gate.STAFF
    # Leaving frees a place, as the socket's queue.leave (NEVER_HELD); unsubscribing, from a
    # mail's stop link or the site, and the stop page's undo (the link's token alone switches
    # the alert on again) must work during a surge: never held (were OWN and gated).
    leaving = [
        "/booths/{booth_id:int}/queue/leave",
        "/me/invitations/{invitation_id:int}/waitlist/leave",
        "/me/alerts/{alert_id:int}/stop",
        "/alerts/resume/{token}",
        *(path for path in how if "/stop/{token}" in path),
    ]
    assert len(leaving) == 6 and "queue.leave" in NEVER_HELD
    assert {path: how[path] for path in leaving} == dict.fromkeys(leaving, gate.OPEN)
    # A candidate's own page names nothing of one edition; a named thing's id is a database id.
    for route in pages:
        params = set(route.param_convertors)
        if how[route.path] == gate.OWN:
            assert params <= NOT_OF_AN_EDITION, route.path
        elif how[route.path] in edition_keys.KINDS:
            ids = params & (edition_keys.KINDS.keys() - edition_keys.TEXT_KINDS)
            assert all(isinstance(route.param_convertors[p], IdConvertor) for p in ids), route.path
    # Every page listed is a page of the app, in one list only.
    names = {_name(r) for r in pages}
    listed = [gate.OPEN_PAGES, gate.STAFF_PAGES, gate.OWN_PAGES]
    assert set().union(*listed) - names == set()
    assert sum(len(p) for p in listed) == len(set().union(*listed))
    modules = {r.endpoint.__module__ for r in pages}
    assert (gate.OPEN_MODULES | gate.STAFF_MODULES) - modules == set()
    assert gate.OPEN_MODULES & gate.STAFF_MODULES == set()
    # A page added with a new parameter, and no declaration, is found out.
    assert gate.declared(_new_page, ["thing_id"]) is None


async def _new_page() -> None:
    """A candidate's page as a new one would be, for the check above."""


_new_page.__module__ = "fair.web.candidate"


def test_every_socket_command_declares_the_edition_its_gate_is() -> None:
    assert set(EDITION_OF) == set(ACTIONS)
    unlisted = []
    for action, handler in ACTIONS.items():
        field, read = EDITION_OF[action], payload_keys(handler)
        if field is not None:  # a field the command reads, naming a thing of one edition
            assert field in edition_keys.KINDS and field in read, (action, field, read)
        elif read & edition_keys.KINDS.keys() and action not in NEVER_HELD:
            unlisted.append(action)
    assert unlisted == []
    assert EDITION_OF["queue.join"] == "booth_id"
    assert EDITION_OF["qa.ask"] == "booth_id"
    assert EDITION_OF["stage.watch"] == "webconference_id"


async def test_each_kind_finds_the_edition_of_its_thing(session: AsyncSession) -> None:
    """Everything built in the second of two editions: the first's ids differ."""
    clock.set_now(f.NOON)  # the talk's day (f.talk) is a live day
    await f.edition(session)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    application = await f.application(session, offer_=offer)
    interview = await f.interview(session, booth_=booth, recruiter=recruiter)
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser])
    )
    waiting = await f.candidate(session)
    entry = await queues.join(session, candidate=waiting, booth=booth)
    assert await queues.take_next(session, recruiter=recruiter, booth=booth) is not None
    conversation = await conversations.answer(session, candidate=waiting, entry=entry)
    partner = await network_offers.partner(session, edition, "Lunel", "https://l.example")
    theirs = await network_offers.held(session, partner, 1, "Cariste", "Lunel")
    await db.commit(session)
    things = {
        "slug": edition.slug,
        "edition_id": edition.id,
        "booth_id": booth.id,
        "offer_id": offer.id,
        "network_offer_id": theirs.id,
        "webconference_id": talk.id,
        "application_id": application.id,
        "invitation_id": interview.invitation_id,
        "interview_id": interview.id,
        "conversation_id": conversation.id,
        "entry_id": entry.id,
    }
    assert things.keys() == edition_keys.KINDS.keys()
    found = {k: await edition_keys.edition_of(session, k, v) for k, v in things.items()}
    assert found == dict.fromkeys(things, edition.id)
    # Remembered, read again the same; nothing of that name, or not of the kind's type: None.
    assert await edition_keys.edition_of(session, "booth_id", booth.id) == edition.id
    missing = {k: 99_999 for k in things} | {"slug": "nowhere"}
    assert {k: await edition_keys.edition_of(session, k, v) for k, v in missing.items()} == {
        **dict.fromkeys(things),
        "edition_id": 99_999,  # an edition's id is taken as it is: no gate of that id
    }
    assert await edition_keys.edition_of(session, "booth_id", str(booth.id)) is None
    assert await edition_keys.edition_of(session, "slug", edition.id) is None
