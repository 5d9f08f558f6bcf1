"""Pages anyone can read: editions, the booth hall, booths, offer search and offers."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fair import (
    activity,
    app_state,
    applications,
    candidates,
    editions,
    employers,
    hall,
    i18n,
    interviews,
    network,
    offers,
    parse,
    rome,
    search,
    structured_data,
    suggest,
    timing,
)
from fair.enums import Contract, Role, WorkingTime
from fair.errors import Invalid, NotFound
from fair.i18n import N_
from fair.models import Edition, Employer, Offer
from fair.search import facets as search_facets
from fair.search import params as search_params
from fair.search import terms as search_terms
from fair.web import desk, urls
from fair.web.auth import csrf_token, database, page, path_int
from fair.web.browsing import cached, shared
from fair.web.chat import booth_qa
from fair.web.forms import FormState
from fair.web.templating import render, translated


@page
async def home(request: Request) -> Response:
    session = database(request)
    ordered = editions.home_order(await editions.published(session))
    rows = [(e, status, await offers.count_in_edition(session, e.id)) for e, status in ordered]
    return render(request, "public/home.html", {"editions": rows})


@cached  # a short cache while the fair is full (fair.web.browsing)
@page
@shared(lambda r, _: _hall_kept(r), lambda r, _: _hall_key(r))  # kept for logged-in candidates
async def hall_page(request: Request) -> Response:
    """The booth hall, filtered by its query string (a GET form: a filtered hall is a link)."""
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    filters = _hall_filters(request)
    form = FormState(values=dict(request.query_params.multi_items()))
    result, status = None, 200
    try:
        result = await hall.find(session, edition_id=edition.id, filters=filters)
    except Invalid as error:
        form.errors, form.message, status = dict(error.fields), error.message, 422
        form.params = dict(error.params)
    context = {
        "edition": edition,
        "filters": filters,
        "result": result,
        "form": form,
        "live": editions.open_now(edition),
        "sectors": await hall.sectors(session, edition.id),
        "radii": hall.RADII,
        "contracts": list(Contract),
        "base_query": _without_page(request),
    }
    return render(request, "public/hall.html", context, status=status)


async def _hall_kept(request: Request) -> str | None:
    """The hall is kept (fair.web.browsing.shared) but when filtered by free interview slots:
    a booking changes those and not the version the page is kept under."""
    return _hall_key(request)


def _hall_key(request: Request) -> str | None:
    return None if request.query_params.get("slots") else ""


def _hall_filters(request: Request) -> hall.Filters:
    """The hall's query string read (fair.hall.check validates the values)."""
    params = request.query_params
    try:
        page_number = parse.integer(params.get("page", "") or "1", lo=1, hi=hall.MAX_PAGE)
    except parse.ParseError:
        page_number = 1  # a page number typed by hand: the first page
    try:
        radius = parse.integer(params.get("radius_km", "") or "0", lo=0, hi=1000)
    except parse.ParseError:
        radius = -1  # not in hall.RADII: the form says to choose one from the list
    return hall.Filters(
        q=parse.line(params.get("q", ""))[:200],
        sector=parse.line(params.get("sector", ""))[:10],
        commune=parse.line(params.get("commune", ""))[:120],
        radius_km=radius,
        contracts=[parse.line(c)[:40] for c in params.getlist("contract") if c][:10],
        no_diploma=params.get("no_diploma") == "on",
        present=params.get("present") == "on",
        slots=params.get("slots") == "on",
        page=page_number,
    )


@page
async def booth_page(request: Request) -> Response:
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    booth = await employers.public_booth(session, path_int(request, "booth_id"))
    if booth.edition_id != edition.id:
        raise NotFound("This booth does not exist.")
    listed = await offers.of_booth(session, booth, published_only=True)
    context = {
        "edition": edition,
        "booth": booth,
        "employer": booth.employer,
        "offers": listed,
        **await desk.candidate_context(session, request.state.user, booth, edition),
        "qa": await booth_qa(request, booth),
        "jsonld": structured_data.dumps(
            structured_data.employer_page(
                booth.employer,
                url=urls.absolute(request, "booth", slug=edition.slug, booth_id=booth.id),
                logo_url=_logo_url(request, booth.employer),
            )
        ),
    }
    _count_view(request, edition, booth_id=booth.id)
    return render(request, "public/booth.html", context)


def _count_view(
    request: Request, edition: Edition, *, booth_id: int, offer_id: int | None = None
) -> None:
    """Tally this view of a public page in this process's memory (fair.activity: no I/O here;
    a round writes it later, outside the request's read transaction)."""
    if request.method != "GET":  # a HEAD is not a view
        return
    headers = request.headers
    activity.viewed(
        app_state.of(request).activity,
        edition=edition,
        booth_id=booth_id,
        offer_id=offer_id,
        user=request.state.user,
        browser=_browser(request),
        user_agent=headers.get("user-agent", ""),
        prefetch="prefetch" in headers.get("sec-purpose", headers.get("purpose", "")).lower(),
    )


def _browser(request: Request) -> str:
    """Who is viewing, to count a page once a day per browser session: the account, or the
    session's random CSRF secret, which every page puts in the session cookie anyway. The
    tally only keeps a keyed hash of it, in memory."""
    user = request.state.user
    if user is not None:
        return f"user:{user.id}"
    csrf_token(request)  # the secret, made now if this is the browser's first page
    return f"session:{request.session['csrf']}"


def _query(request: Request) -> search.Query:
    return search_params.read(request.query_params)


# The publics an offer may be open to, as the search's filter names them (fair.search.PUBLICS).
PUBLICS = (
    ("no_diploma", N_("People without a diploma")),
    ("disabled", N_("Disabled workers (RQTH)")),
    ("seniors", N_("Seniors (50 and over)")),
    ("under26", N_("Under-26s")),
    ("insertion", N_("Insertion clause")),
)


@cached  # a short cache while the fair is full (fair.web.browsing)
@page
async def search_page(request: Request) -> Response:
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    context, status = await searched(request, session, edition, facets=True)
    applied: set[int] = set()
    user, result = request.state.user, context["result"]
    if result and user is not None and user.role == Role.CANDIDATE:
        applied = await applications.applied_offer_ids(
            session, user, [h.offer.id for h in result.hits if h.network is None]
        )
    context.update(edition=edition, applied=applied)
    return render(request, "public/search.html", context, status=status)


async def searched(
    request: Request, session: AsyncSession, edition: Edition, *, facets: bool = False
) -> tuple[dict[str, Any], int]:
    """The search form's context from the query string (templates/public/_search_form.html),
    and the status: 422 when a filter is refused (the form then shows why). The search page
    and the embeddable widget (fair/web/embeds.py) both show it; the page with `facets`
    (fair.search.facets: the filters' counts)."""
    query = _query(request)
    form = FormState(values=dict(request.query_params.multi_items()))
    result, status, counts = None, 200, None
    try:
        with timing.span("network"):
            shows_network = await network.shows_network(session, edition.id)
        result = await search_terms.find(
            session,
            edition_id=edition.id,
            query=query,
            network=shows_network,
        )
        if facets:
            with timing.span("facets"):
                counts = await search_facets.count(
                    session,
                    edition_id=edition.id,
                    query=replace(query, also=result.also),  # the offers the results found
                    origin=result.origin,
                    network=shows_network,
                    shown=result,
                )
    except Invalid as error:
        form.errors, form.message, status = dict(error.fields), error.message, 422
        form.params = dict(error.params)
    context = {
        "query": query,
        "result": result,
        "form": form,
        **_CHOICES,
        "facets": counts,
        "facet_options": facet_options(i18n.current_locale.get()),
        "without_near": urlencode(
            [(k, v) for k, v in request.query_params.multi_items() if k not in ("near", "page")]
        ),
        "base_query": _without_page(request),
        "respelt": _respelt(request, result.did_you_mean if result else ""),
        "search_pairs": search_params.pairs(query),
    }
    return context, status


# The search form's lists, the same on every page.
_CHOICES = {
    "radii": search.RADII,
    "domains": sorted(rome.DOMAINS.items()),
    "contracts": list(Contract),
    "working_times": list(WorkingTime),
    "publics": PUBLICS,
}


@functools.cache
def facet_options(locale: str) -> dict[str, list[tuple[str, str]]]:
    """Each facet's choices, (value, label as `_()` prints it in `locale`), built once per
    language: the facets list them all on every search page (templates/public/
    _search_facets.html), where translating each label took a tenth of the page's render."""
    labels = {
        "contract": [(c.value, c.label) for c in Contract],
        "working_time": [(w.value, w.label) for w in WorkingTime],
        "domain": sorted(rome.DOMAINS.items()),
    }
    return {
        name: [(value, translated(label, locale)) for value, label in choices]
        for name, choices in labels.items()
    }


def _respelt(request: Request, words: str) -> str:
    """The query string of the same search with the words respelt ("did you mean")."""
    if not words:
        return ""
    params = request.query_params.multi_items()
    return urlencode([(k, words if k == "q" else v) for k, v in params if k != "page"])


SUGGESTED = ("job", "commune")


@page
async def search_suggest(request: Request) -> Response:
    """The search form's suggestions as the person types (static/combobox.js): job names
    (`field=job`) or communes (`field=commune`) beginning with `q`, as
    `{"suggestions": [{"label": shown, "value": put in the field}]}` (fair.suggest)."""
    field = request.query_params.get("field", "")
    if field not in SUGGESTED:
        raise Invalid(
            "Ask for job or commune suggestions.",
            code="search.suggest_field",
            fields={"field": "Choose job or commune."},
        )
    session = database(request)
    edition_id = await editions.public_id(session, request.path_params["slug"])
    typed = parse.line(request.query_params.get("q", ""))[:100]
    with timing.span("suggest"):
        if field == "job":
            found = await suggest.jobs(session, typed)
        else:
            found = await suggest.communes(session, typed, edition_id=edition_id)
    body = {"suggestions": [{"label": s.label, "value": s.value} for s in found]}
    # The same for everyone (a browser may reuse it while the person types again).
    return JSONResponse(body, headers={"cache-control": "public, max-age=60"})


def _without_page(request: Request) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"])


@page
async def offer_page(request: Request) -> Response:
    session = database(request)
    offer = await offers.get_public(session, path_int(request, "offer_id"))
    edition = await editions.get(session, offer.edition_id)
    user = request.state.user
    applied = has_cv = False
    withdrawn = None  # their application, when they withdrew it (they may apply again)
    if user is not None and user.role == Role.CANDIDATE:
        mine = await applications.of_offer_for(session, user, offer.id)
        applied = mine is not None and not applications.withdrawn(mine)
        withdrawn = mine if mine is not None and not applied else None
        has_cv = (await candidates.profile(session, user)).cv_file_id is not None
    context = {
        "offer": offer,
        "edition": edition,
        "employer": offer.booth.employer,
        "applications_open": editions.applications_open(edition),
        "applied": applied,
        "withdrawn": withdrawn,
        "has_cv": has_cv,
        "rome_domain": rome.DOMAINS.get(offer.rome_domain, ""),
        "jsonld": _job_posting(request, offer, edition),
    }
    _count_view(request, edition, booth_id=offer.booth_id, offer_id=offer.id)
    return render(request, "public/offer.html", context)


def _job_posting(request: Request, offer: Offer, edition: Edition) -> str:
    """The offer's JobPosting as JSON-LD (fair.structured_data); empty once it is closed."""
    employer = offer.booth.employer
    links = structured_data.OfferLinks(
        page=urls.absolute(request, "offer", offer_id=offer.id),
        logo=_logo_url(request, employer),
    )
    data = structured_data.job_posting(offer, edition, employer, links)
    return structured_data.dumps(data) if data else ""


def _logo_url(request: Request, employer: Employer) -> str:
    if employer.logo_file_id is None:
        return ""
    return urls.absolute(request, "logo", file_id=employer.logo_file_id)


@page
async def calendar_feed(request: Request) -> Response:
    """A candidate's private calendar of interviews; the secret token in the URL is the key."""
    text = await interviews.feed(database(request), request.path_params["token"])
    headers = {"cache-control": "private, max-age=300", "x-robots-tag": "noindex"}
    return Response(text, media_type="text/calendar; charset=utf-8", headers=headers)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def favicon(request: Request) -> Response:
    """Browsers and feed readers ask for /favicon.ico whatever the pages link."""
    return RedirectResponse(app_state.of(request).assets.url("favicon.ico"), status_code=301)


routes = [
    Route("/", home, name="home"),
    Route("/health", health, name="health"),
    Route("/favicon.ico", favicon, name="favicon"),
    Route("/e/{slug}/booths", hall_page, name="hall"),
    Route("/e/{slug}/booths/{booth_id:int}", booth_page, name="booth"),
    Route("/e/{slug}/offers", search_page, name="search"),
    Route("/e/{slug}/offers/suggest", search_suggest, name="search_suggest"),
    Route("/offers/{offer_id:int}", offer_page, name="offer"),
    Route("/calendar/{token}.ics", calendar_feed, name="calendar_feed"),
]
