"""Every route of the app, as every role, with bad values everywhere: never an answer >= 500.

The routes come from `app.routes`, so a new route is walked without writing anything here. For
each route, method and role (anonymous, candidate, the booth's recruiter, another recruiter,
organiser, admin) in a seeded world:

1. path parameters: the real ids of the world, then a corpus of bad values (huge, negative,
   Unicode digits, NUL, dot segments, lone surrogates, ...);
2. query parameters: the names found in the app's own links and GET forms, plus common ones,
   each with bad values;
3. form fields: the names found in the app's own forms (GETting every page as every role and
   reading its <input>, <select>, <textarea> and buttons), posted with a valid CSRF token (so
   the handler runs), without one, and with a non-ASCII one; every field takes every bad value
   over a few requests (a Latin square: request k gives field i value (i + k) mod n); file
   inputs get a deeply nested JSON, a decompression bomb's header, garbage and nothing.

The corpus is sampled with a fixed seed to stay within about a minute per backend. The numbers
tried and the 5xx found are printed (pytest -s); any 5xx fails the test with the list.
"""

from __future__ import annotations

import logging
import random
import re
import time
import traceback
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlsplit

import httpx
from sqlalchemy import select
from starlette.routing import Match, Mount, Route

from fair import (
    chat,
    conversations,
    counsellors,
    db,
    employers,
    files,
    queues,
    structures,
    webconferences,
)
from fair.enums import FileKind, Role, StructureKind, WebconferenceAccess
from fair.models import OutboxMail
from tests import factories as f

ROLES = (
    "anonymous",
    "candidate",
    "recruiter",
    "other_recruiter",
    "organiser",
    "admin",
    "counsellor",
)
SEED = 20261203
# Path values, already as they appear in a URL.
BAD_PATH = [
    "9223372036854775808",
    "99999999999999999999999999",
    "-1",
    "0",
    "%C2%B2",  # ²: str.isdigit() but not int()
    "%EF%BC%91",  # fullwidth 1: int() but not ASCII
    "abc",
    "%00",
    "1%00",
    "..%2F..%2Fetc%2Fpasswd",
    "%C3%A9t%C3%A9",
    "%ED%A0%80",  # a lone surrogate's UTF-8
    "%FF%FE",
    "x" * 3000,
    "1.5",
    "%20",
]
# Form and query values, already URL-encoded (so invalid UTF-8 and lone surrogates can be sent).
BAD_VALUES = [
    "",
    "x" * 10_000,
    quote("Titre\r\nBcc: x@example.fr"),
    "a%00b",
    "9999-12-31",
    "0001-01-01",
    quote("9999-12-31T23:59"),
    quote("0001-01-01T00:00"),
    "nan",
    "inf",
    "-1",
    "9223372036854775808",
    quote("²"),
    quote("１"),
    "%ED%A0%80",
    "%FF",
    quote("25:61"),
    "1e999",
    quote("<script>alert(1)</script>"),
    quote("é" * 300),
    "9" * 5000,  # int() refuses more than 4,300 digits
]
BAD_CSRF = ["", "%C3%A9t%C3%A9", "%ED%A0%80", "x" * 5000]
# Answers that refuse the role itself (log in, not yours to see, wrong method).
REFUSED_ROLE = {401, 403, 405}
COMMON_QUERY = ["page", "q", "next", "status", "offer", "back", "done", "saved", "radius_km"]
# File inputs: what a hostile upload holds.
BAD_FILES = [
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ("bomb.png", f.png_header(100_000, 100_000), "image/png"),
    ("cv.pdf", b"%PDF-1.4 garbage \x00\xff", "application/pdf"),
    ("nan.json", b'[{"intitule": "a", "lieuTravail": {"latitude": "nan"}}]', "application/json"),
    ("empty.bin", b"", "application/octet-stream"),
]


# Reading pages ------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    multipart: bool
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """The forms and links of a page."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: tuple[str, list[str]] | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            action = a.get("action") or self.url
            self._form = Form(
                action=action,
                method=(a.get("method") or "get").upper(),
                multipart="multipart" in a.get("enctype", ""),
            )
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag in ("input", "button"):
            kind = a.get("type", "text" if tag == "input" else "submit")
            if kind == "file":
                self._form.files.append(a["name"])
            elif kind not in ("checkbox", "radio") or "checked" in a:
                self._form.fields.append((a["name"], a.get("value", "")))
            else:
                self._form.fields.append((a["name"], a.get("value", "on")))
        elif tag == "select":
            self._select = (a["name"], [])
        elif tag == "option" and self._select is not None:
            self._select[1].append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options = self._select
            self._form.fields.append((name, next((o for o in options if o), "")))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None


def route_of(app: Any, path: str, method: str) -> Route | None:
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    for route in app.routes:
        if isinstance(route, Route):
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route
    return None


# The world ---------------------------------------------------------------------------------------


async def seed(session) -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every kind of object a path names, and who is who."""
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    other_booth, other_recruiter = await f.booth(session, edition_=edition)
    candidate = await f.candidate(session)
    admin = await f.user(session, Role.ADMIN)
    offer = await f.offer(session, booth_=booth)
    await f.offer(session, booth_=other_booth)
    application = await f.application(session, offer_=offer, candidate_=candidate)
    interview = await f.interview(session, booth_=booth, recruiter=recruiter, candidate_=candidate)
    # One far enough ahead to be moved or cancelled (its page shows those forms), and a booth
    # request waiting for the organiser's decision (the booth list shows its form).
    later = await f.interview(
        session,
        booth_=booth,
        recruiter=recruiter,
        candidate_=candidate,
        starts_at=f.day_at(edition.live_days[-1].day, 15),
    )
    await f.booth(session, edition_=edition, approve=False)
    employer = await employers.get(session, booth.employer_id)
    logo = await files.store(
        session,
        owner_id=recruiter.id,
        kind=FileKind.LOGO,
        filename="logo.png",
        data=f.png_bytes(),
        content_type="image/png",
    )
    employer.logo_file_id = logo.id
    start = f.day_at(edition.live_days[-1].day, 10)
    talk = await webconferences.schedule(
        session,
        by=organiser,
        edition=edition,
        data=webconferences.WebconferenceInput(
            title="Les métiers",
            description="",
            starts_at=start,
            ends_at=start.replace(hour=11),
            capacity=10,
            access=WebconferenceAccess.OPEN,
            presenter_ids=[organiser.id],
        ),
    )
    question = await chat.ask(session, candidate=candidate, booth=booth, body="Une question ?")
    waiting = await f.candidate(session)
    entry = await queues.join(session, candidate=waiting, booth=booth)
    called = await queues.take_next(session, recruiter=recruiter, booth=booth)
    assert called is not None and called.id == entry.id
    conversation = await conversations.answer(session, candidate=waiting, entry=entry)
    token = await employers.invite(
        session, by=recruiter, employer=employer, email=other_recruiter.email
    )
    counsellor, structure, followed = await _counsellor_of(
        session, organiser, edition, candidate, admin
    )
    await session.flush()
    mail = await session.scalar(select(OutboxMail.id).order_by(OutboxMail.id))
    ids = {
        "booth_id": booth.id,
        "offer_id": offer.id,
        "file_id": logo.id,
        "application_id": application.id,
        "employer_id": employer.id,
        "entry_id": entry.id,
        "conversation_id": conversation.id,
        "slot_id": interview.slot_id,
        "invitation_id": interview.invitation_id,
        "interview_id": interview.id,
        "edition_id": edition.id,
        "webconference_id": talk.id,
        "mail_id": mail,
        "slug": edition.slug,
        "token": token,
        "message_id": question.id,
        "candidate_id": candidate.id,
        "structure_id": structure.id,
        "accompaniment_id": followed.id,
        # Pages read too, for the forms they show: the later interview's.
        "extra_pages": [f"/interviews/{later.id}"],
    }
    people = {
        "candidate": candidate,
        "recruiter": recruiter,
        "other_recruiter": other_recruiter,
        "organiser": organiser,
        "admin": admin,
        "counsellor": counsellor,
    }
    return ids, people


async def _counsellor_of(session, organiser, edition, candidate, admin):  # type: ignore[no-untyped-def]
    """A structure's counsellor who follows the candidate (with consent), logging in with
    PASSWORD: the admin's hash is copied rather than paying argon2 once more."""
    structure = await structures.create(
        session,
        by=organiser,
        data=structures.StructureInput(
            name="Mission locale", kind=StructureKind.MISSION_LOCALE.value, departement="34"
        ),
        edition_id=edition.id,
    )
    counsellor = await structures.add_counsellor(
        session, by=organiser, structure=structure, email="conseil@example.fr", name="Claire"
    )
    counsellor.password_hash = admin.password_hash
    request = await counsellors.invite(
        session, by=counsellor, structure=structure, email=candidate.email
    )
    await counsellors.consent(
        session,
        candidate=candidate,
        accompaniment_id=request.id,
        version=counsellors.CONSENT_VERSION,
        agreed=True,
    )
    return counsellor, structure, request


# The walk ----------------------------------------------------------------------------------------


class Errors(logging.Handler):
    """The last error the app logged (fair.web.errors.server_error logs every 500)."""

    def __init__(self) -> None:
        super().__init__()
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            frames = traceback.extract_tb(record.exc_info[2])[-2:]
            where = " < ".join(f"{fr.filename.rsplit('/', 2)[-1]}:{fr.lineno}" for fr in frames)
            self.last = f"{record.exc_info[1]!r:.200} at {where}"


@dataclass
class Tally:
    tried: int = 0
    by_role: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_status: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)
    errors: Errors = field(default_factory=Errors)

    def note(self, role: str, method: str, url: str, response: httpx.Response) -> None:
        self.tried += 1
        self.by_role[role] += 1
        self.by_status[response.status_code] += 1
        if response.status_code >= 500:
            self.failures.append(
                f"{response.status_code} {role} {method} {url[:120]}: {self.errors.last}"
            )
        self.errors.last = ""


def encoded(pairs: Iterable[tuple[str, str]]) -> bytes:
    """An urlencoded body from names and values already encoded."""
    return "&".join(f"{quote(k)}={v}" for k, v in pairs).encode()


class Walker:
    def __init__(self, app: Any, ids: dict[str, Any], people: dict[str, Any]) -> None:
        self.app = app
        self.ids = ids
        self.people = people
        self.rng = random.Random(SEED)
        self.tally = Tally()
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.tokens: dict[str, str] = {}
        self.forms: dict[tuple[str, str], list[Form]] = defaultdict(list)
        self.queries: dict[str, set[str]] = defaultdict(set)
        self.slow: dict[str, float] = {}

    def client(self) -> httpx.AsyncClient:
        # The app's 500 page is what we count: the transport must not re-raise.
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def login(self, role: str) -> None:
        client = self.clients.setdefault(role, self.client())
        client.cookies.clear()
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        if role != "anonymous":
            response = await client.post(
                "/login",
                data={
                    "csrf_token": token.group(1),
                    "email": self.people[role].email,
                    "password": f.PASSWORD,
                },
            )
            assert response.status_code == 303, (role, response.text[:500])
        await self.refresh_token(role)

    async def refresh_token(self, role: str) -> None:
        page = await self.clients[role].get("/login" if role == "anonymous" else "/me/profile")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        self.tokens[role] = found.group(1) if found else ""

    async def still_logged_in(self, role: str) -> None:
        """Re-log in a role whose session a request ended (log-out, password, sessions)."""
        if role == "anonymous":
            return
        page = await self.clients[role].get("/me/profile")
        if page.status_code != 200:
            await self.login(role)

    async def send(self, role: str, method: str, url: str, **kw: Any) -> httpx.Response:
        response = await self.clients[role].request(method, url, **kw)
        self.tally.note(role, method, url, response)
        return response

    def real_path(self, route: Route) -> str:
        path = route.path_format
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", quote(str(self.ids.get(name, 1)), safe=""))
        return path

    # 1. Pages, their forms and links.
    async def read_pages(self, routes: list[Route]) -> None:
        urls = [self.real_path(r) for r in routes if "GET" in (r.methods or ())]
        for url in [*urls, *self.ids["extra_pages"]]:
            for role in ROLES:
                response = await self.send(role, "GET", url)
                if "text/html" not in response.headers.get("content-type", ""):
                    continue
                page = Page(url)
                page.feed(response.text)
                self.learn(page)

    @property
    def names(self) -> list[str]:
        return sorted(
            {name for forms in self.forms.values() for f in forms for name, _ in f.fields}
        )

    def learn(self, page: Page) -> None:
        for link in page.links:
            parts = urlsplit(link)
            if parts.netloc or not parts.path.startswith("/"):
                continue
            target = route_of(self.app, parts.path, "GET")
            if target is not None:
                self.queries[target.path].update(k for k, _ in parse_qsl(parts.query))
        for form in page.forms:
            path = urlsplit(form.action).path or page.url
            target = route_of(self.app, path, form.method)
            if target is None:
                continue
            if form.method == "GET":
                self.queries[target.path].update(name for name, _ in form.fields)
            else:
                self.forms[(target.path, form.method)].append(form)

    # 2. Path parameters: every route, role and method sees bad values, in turn.
    async def bad_paths(self, routes: list[Route]) -> None:
        turn = 0
        for route in routes:
            if not route.param_convertors:
                continue
            methods = sorted((route.methods or {"GET"}) - {"HEAD"})
            names = sorted(route.param_convertors)
            for role in ROLES:
                for method in methods:
                    value = BAD_PATH[turn % len(BAD_PATH)]
                    name = names[turn % len(names)]
                    turn += 1
                    path = route.path_format.replace("{" + name + "}", value)
                    path = self.real_path_with(route, path)
                    data = {"csrf_token": self.tokens[role]} if method != "GET" else None
                    await self.send(role, method, path, data=data)

    def real_path_with(self, route: Route, path: str) -> str:
        for other in route.param_convertors:
            path = path.replace("{" + other + "}", quote(str(self.ids.get(other, 1)), safe=""))
        return path

    # 3. Query parameters: all of a page's at once, each with another bad value.
    async def bad_queries(self, routes: list[Route]) -> None:
        for route in routes:
            if "GET" not in (route.methods or ()):
                continue
            names = sorted(self.queries[route.path] | set(COMMON_QUERY))
            url = self.real_path(route)
            for k, role in enumerate(ROLES):
                values = self.rng.sample(BAD_VALUES, len(BAD_VALUES))
                query = encoded((n, values[(i + k) % len(values)]) for i, n in enumerate(names))
                await self.send(role, "GET", f"{url}?{query.decode()}")

    # 4. Form fields.
    async def bad_forms(self, routes: list[Route], per_role: int) -> None:
        for route in routes:
            for method in sorted((route.methods or set()) - {"GET", "HEAD"}):
                known = self.forms.get((route.path, method), [])
                fields: dict[str, str] = {}
                uploads: set[str] = set()
                for form in known:
                    for name, value in form.fields:
                        fields.setdefault(name, quote(value))
                    uploads.update(form.files)
                if not known:  # no page shows this form to our world: every name any form has
                    fields = dict.fromkeys(self.names, "1")
                fields.pop("csrf_token", None)
                multipart = any(form.multipart for form in known)
                url = self.real_path(route)
                t0 = time.monotonic()
                # The CSRF check runs before any handler: one role in turn gets a bad token.
                role = ROLES[len(self.slow) % len(ROLES)]
                bad = BAD_CSRF[len(self.slow) % len(BAD_CSRF)]
                await self.post(role, method, url, [("csrf_token", bad), *fields.items()], set(), 0)
                for role in ROLES:
                    await self.post_all(role, method, url, fields, uploads, multipart, per_role)
                self.slow[f"{method} {route.path}"] = time.monotonic() - t0

    async def post_all(  # noqa: PLR0913
        self,
        role: str,
        method: str,
        url: str,
        fields: dict[str, str],
        uploads: set[str],
        multipart: bool,
        per_role: int,
    ) -> None:
        names = sorted(fields)
        token = quote(self.tokens[role])
        changed = False
        for k in range(per_role):  # every field takes another bad value in each request
            values = self.rng.sample(BAD_VALUES, len(BAD_VALUES))
            pairs = [
                ("csrf_token", token),
                *((n, values[(i + k) % len(values)]) for i, n in enumerate(names)),
            ]
            response = await self.post(role, method, url, pairs, uploads, k)
            changed |= response.status_code < 400
            if response.status_code in REFUSED_ROLE:
                break  # this role never reaches the handler: its other values would not either
        else:
            # The form as the page shows it: the handler runs to its end.
            pairs = [("csrf_token", token), *fields.items()]
            response = await self.post(role, method, url, pairs, uploads, None)
            changed |= response.status_code < 400
        if changed:
            await self.still_logged_in(role)
            await self.refresh_token(role)

    async def post(
        self,
        role: str,
        method: str,
        url: str,
        pairs: list[tuple[str, str]],
        uploads: set[str],
        k: int | None,
    ) -> httpx.Response:
        if uploads and k is not None:
            data = {n: unquote_to_bytes(v).decode("utf-8", "replace") for n, v in pairs}
            chosen = BAD_FILES[k % len(BAD_FILES)]
            files = {name: chosen for name in sorted(uploads)}
            return await self.send(role, method, url, data=data, files=files)
        headers = {"content-type": "application/x-www-form-urlencoded"}
        return await self.send(role, method, url, content=encoded(pairs), headers=headers)


async def test_every_route_every_role_bad_values_never_500(app, session, backend):  # type: ignore[no-untyped-def]
    ids, people = await seed(session)
    await db.commit(session)
    walker = Walker(app, ids, people)
    logging.getLogger("fair").addHandler(walker.tally.errors)
    for role in ROLES:
        await walker.login(role)
    routes = [r for r in app.routes if isinstance(r, Route)]
    started, cpu = time.monotonic(), time.process_time()
    phases = {}
    for name, phase in (
        ("pages", walker.read_pages(routes)),
        ("paths", walker.bad_paths(routes)),
        ("queries", walker.bad_queries(routes)),
        ("forms", walker.bad_forms(routes, per_role=2)),
    ):
        before, t0 = walker.tally.tried, time.monotonic()
        await phase
        phases[name] = (walker.tally.tried - before, round(time.monotonic() - t0, 1))
    for mount in (r for r in app.routes if isinstance(r, Mount)):
        for value in BAD_PATH:
            await walker.send("anonymous", "GET", f"{mount.path}/{value}")
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    tally = walker.tally
    posted = {(r.path, m) for r in routes for m in (r.methods or ()) if m not in ("GET", "HEAD")}
    print(
        f"\n[{backend}] fuzzed {len(routes)} routes x {len(ROLES)} roles: {tally.tried} requests "
        f"({dict(tally.by_role)}), {len(tally.failures)} answers >= 500, {elapsed:.1f} s "
        f"({cpu:.1f} s CPU); by status {dict(sorted(tally.by_status.items()))}; "
        f"phases (requests, s) {phases}; forms found for {len(walker.forms)} of "
        f"{len(posted)} posted routes, none for {sorted(posted - set(walker.forms))}"
    )
    logging.getLogger("fair").removeHandler(walker.tally.errors)
    print("\n".join(tally.failures))
    assert tally.failures == []
