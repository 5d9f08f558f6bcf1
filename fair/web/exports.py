"""Export pages and files: the organiser's exports page with its audit list, the edition's
exports (CSV, XLSX), and a booth's applications for its recruiters (fair.exports).

A file is decided in the request's unit of work (`@page`): the permission is checked and a
personal export recorded there, and committed before the first byte leaves. The body is then
streamed by a generator that opens a read session of its own (the request's is closed by
then) and reads the rows in chunks. Personal exports are POSTed (a form with its CSRF token:
they write the audit record); the others are plain links.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from fair import app_state, disclosure, editions, employers, exports, insight, parse, settings
from fair.enums import Role
from fair.errors import NotFound
from fair.i18n import N_, current_locale, gettext
from fair.models import Edition
from fair.web import dashboard, urls
from fair.web.auth import database, organised_edition, page, path_int, require_role
from fair.web.templating import render

# Compressed already (a zip): the app's gzip leaves it alone.
XLSX = exports.MEDIA_TYPES["xlsx"]
Source = Callable[[AsyncSession], exports.Batches]
# The organiser's exports, as the page lists them, with what each holds.
FILES = {
    exports.CANDIDATE_FUNNEL.what: N_(
        "One row per registered candidate: a pseudonym (no name, no e-mail), the day of "
        "registration, the funnel's steps reached (1 or 0), the EPCI of residence and the age "
        "band. Recorded."
    ),
    exports.EDITION_FUNNEL.what: N_(
        "The dashboard's funnel: candidates at each step, with the same figures hidden."
    ),
    exports.BOOTH_FUNNEL.what: N_(
        "The dashboard's table of booths: each booth's funnel, with the same figures hidden, "
        "and its page views."
    ),
    exports.EDITION_EVENTS.what: N_(
        "One row for the edition: dates, hours, state, NAF and ROME codes, recruiters, offers "
        "and positions, registrants (all online), target publics, partners."
    ),
}


def streamed(
    request: Request,
    *,
    format: str,
    title: str,
    header: Sequence[str],
    source: Source,
    filename: str,
) -> StreamingResponse:
    """The file, streamed: `source` runs in a read session opened for the body."""
    state = app_state.of(request)

    async def batches() -> exports.Batches:
        async with state.read_sessions() as session:
            async for batch in source(session):
                yield batch

    body = exports.encoder(format)(title, header, batches())
    headers = {
        "content-disposition": f'attachment; filename="{filename}.{format}"',
        "cache-control": "private, no-store",
    }
    return StreamingResponse(body, media_type=exports.MEDIA_TYPES[format], headers=headers)


def _page_number(request: Request) -> int:
    """The audit's page asked for; anything but a number from 1 to 99,999 is the first page
    (fair.parse: a digit string past Python's 4,300-digit limit answered 500 with int())."""
    try:
        return parse.integer(request.query_params.get("page", "1"), lo=1, hi=99_999)
    except parse.ParseError:
        return 1


@page
async def edition_exports(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    number = _page_number(request)
    lines, more = await exports.audit(session, edition.id, page=number)
    context = {
        "edition": edition,
        "figures": await exports.event_figures(session, edition.id),
        "files": [(exports.EXPORTS[what], holds) for what, holds in FILES.items()],
        "exports": exports.EXPORTS,
        "threshold": disclosure.THRESHOLD,
        "formats": exports.FORMATS,
        "audit": lines,
        "page": number,
        "more": more,
        "zone": edition.timezone,
    }
    return render(request, "organiser/exports.html", context)


@page
async def edition_file(request: Request) -> Response:
    """An edition's export; a personal one only POSTed (recorded), the others by GET."""
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    edition = await editions.get(session, path_int(request, "edition_id"))
    export = exports.kind(str(request.path_params["what"]))
    format = exports.check_format(str(request.path_params["format"]))
    if export is exports.BOOTH_APPLICATIONS or export.personal != (request.method == "POST"):
        raise NotFound("The page you asked for does not exist or was moved.")
    await exports.authorise_edition(
        session, user=user, edition=edition, export=export, format=format
    )
    locale = current_locale.get()
    # The dashboard's filters, from the query string, read as the dashboard reads them.
    choices = await insight.choices(session, edition.id)
    filters = dashboard.read_filters(request.query_params, choices)
    header, source = _edition_table(request, edition, export, locale, filters)
    return streamed(
        request,
        format=format,
        title=gettext(export.title, locale),
        header=header,
        source=source,
        filename=f"{edition.slug}-{export.what}",
    )


def _edition_table(
    request: Request,
    edition: Edition,
    export: exports.Export,
    locale: str,
    filters: insight.Filters,
) -> tuple[Sequence[str], Source]:
    hidden = gettext("hidden", locale)
    if export is exports.EDITION_EVENTS:
        source = functools.partial(
            exports.event_rows, edition_ids=[edition.id], link=_public(request), hidden=hidden
        )
        return exports.EVENT_COLUMNS, source
    if export is exports.CANDIDATE_FUNNEL:
        source = functools.partial(exports.candidate_rows, edition_id=edition.id, filters=filters)
        return exports.candidate_header(locale), source
    if export is exports.EDITION_FUNNEL:
        source = functools.partial(
            exports.edition_funnel_rows,
            edition_id=edition.id,
            hidden=hidden,
            locale=locale,
            filters=filters,
        )
        return exports.edition_funnel_header(locale), source
    if export is exports.BOOTH_FUNNEL:
        source = functools.partial(
            exports.booth_funnel_rows, edition_id=edition.id, hidden=hidden, filters=filters
        )
        return exports.booth_funnel_header(locale), source
    raise NotFound("The page you asked for does not exist or was moved.")


def _public(request: Request) -> Callable[[str], str]:
    """An edition's public page, as a full URL, from its slug."""
    base = settings.get().base_url
    return lambda slug: base + urls.path(request, "edition", slug=slug)


@page
async def organiser_events(request: Request) -> Response:
    """Every edition the organiser organises, a row each in France Travail's events shape."""
    user = require_role(request, Role.ORGANISER)
    format = exports.check_format(str(request.path_params["format"]))
    found = await editions.organised_by(database(request), user)
    locale = current_locale.get()
    source = functools.partial(
        exports.event_rows,
        edition_ids=[edition.id for edition in found],
        link=_public(request),
        hidden=gettext("hidden", locale),
    )
    return streamed(
        request,
        format=format,
        title=gettext(exports.EDITION_EVENTS.title, locale),
        header=exports.EVENT_COLUMNS,
        source=source,
        filename="editions-france-travail",
    )


@page
async def booth_applications(request: Request) -> Response:
    """A booth's applications, for its recruiters; recorded."""
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    booth = await employers.get_booth(session, path_int(request, "booth_id"))
    format = exports.check_format(str(request.path_params["format"]))
    await exports.authorise_booth(session, user=user, booth=booth, format=format)
    edition = await editions.get(session, booth.edition_id)
    locale = current_locale.get()
    source = functools.partial(
        exports.application_rows, booth_id=booth.id, zone=ZoneInfo(edition.timezone), locale=locale
    )
    return streamed(
        request,
        format=format,
        title=gettext("Applications", locale),
        header=exports.application_header(locale),
        source=source,
        filename=f"{edition.slug}-booth-{booth.id}-applications",
    )


routes = [
    Route("/organiser/events.{format}", organiser_events, name="organiser_events"),
    Route("/organiser/editions/{edition_id:int}/exports", edition_exports, name="edition_exports"),
    Route(
        "/organiser/editions/{edition_id:int}/exports/{what}.{format}",
        edition_file,
        methods=["GET", "POST"],
        name="edition_file",
    ),
    Route(
        "/recruiter/booths/{booth_id:int}/applications.{format}",
        booth_applications,
        methods=["POST"],
        name="booth_applications_export",
    ),
]
