"""The embeddable widget: an edition's offer search, a booth's offers and the programme, as
pages a partner's site frames (an `<iframe>`, or static/embed.js that makes one and fits its
height), and the organiser's page listing the sites allowed to frame them (fair.embeds).

The widget's pages touch no cookie: they are not `page`s (no session, no user, no CSRF token,
no flash), so the session middleware sends no Set-Cookie and no `Vary: Cookie`; the language
comes from `?lang=`. Each answer sets its own Content-Security-Policy, whose `frame-ancestors`
lists exactly the edition's origins (fair.web.middleware.SecurityHeaders then leaves out
X-Frame-Options); links to the full site open in a new tab.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from fair import (
    app_state,
    branding,
    editions,
    embeds,
    employers,
    i18n,
    offers,
    settings,
    structured_data,
    webconferences,
)
from fair.enums import BoothStatus
from fair.errors import FairError, NotFound
from fair.i18n import N_
from fair.models import Edition
from fair.web import forms, middleware, public, templating, urls
from fair.web.auth import database, organised_edition, page, path_int
from fair.web.flash import flash
from fair.web.templating import render

# The edition's widgets (a booth's is per booth), by route name.
WIDGETS = {"embed_search": N_("Offer search"), "embed_programme": N_("Programme")}
Shown = tuple[str, dict[str, Any], int]  # a widget's template, its context and status
EmbedHandler = Callable[[Request, AsyncSession, Edition], Awaitable[Shown]]


def framing(origins: list[str]) -> dict[str, str]:
    """The headers of a widget's page that the sites `origins` (and only they) may frame."""
    return {
        "content-security-policy": middleware.policy(" ".join(origins) or "'none'"),
        "cache-control": "no-cache",
        "x-robots-tag": "noindex",
    }


def _show(request: Request, name: str, context: dict[str, Any], *, status: int) -> str:
    """The template rendered without the session: no CSRF token, no user, no flash."""

    def url(route: str, **params: Any) -> str:
        return urls.path(request, route, **params)

    edition = context.get("edition")
    full = {
        "request": request,
        "locale": i18n.current_locale.get(),
        "url": url,
        "static": app_state.of(request).assets.url,
        "form": None,
        "brand": branding.look(edition) if edition is not None else None,
        "lang_query": _lang_query(request),
        **context,
    }
    return templating.env().get_template(name).render(full)


def _lang_query(request: Request) -> str:
    lang = request.query_params.get("lang", "")
    return f"lang={lang}" if lang in i18n.LOCALES else ""


def widget(handler: EmbedHandler) -> Callable[[Request], Awaitable[Response]]:
    """A widget's page: the edition of the path read in a read session of its own, the page
    rendered in the `?lang=` language with the edition's framing headers; a refusal (an
    unknown edition or booth) is the widget's own error page, framed by nobody."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        lang = request.query_params.get("lang", "")
        token = i18n.current_locale.set(lang if lang in i18n.LOCALES else i18n.current_locale.get())
        try:
            async with app_state.of(request).read_sessions() as session:
                try:
                    edition = await editions.by_slug(session, request.path_params["slug"])
                    name, context, status = await handler(request, session, edition)
                    origins = await embeds.origins(session, edition.id)
                except NotFound as error:
                    context = {"message": error.message, "params": error.params}
                    html = _show(request, "embed/error.html", context, status=404)
                    return HTMLResponse(html, status_code=404, headers=framing([]))
                html = _show(request, name, {"edition": edition, **context}, status=status)
            return HTMLResponse(html, status_code=status, headers=framing(origins))
        finally:
            i18n.current_locale.reset(token)

    return wrapper


@widget
async def search_widget(request: Request, session: AsyncSession, edition: Edition) -> Shown:
    """The edition's offer search: the search page's query, filters and form (fair.search)."""
    context, status = await public.searched(request, session, edition)
    return "embed/search.html", context, status


@widget
async def booth_widget(request: Request, session: AsyncSession, edition: Edition) -> Shown:
    """A booth's published offers."""
    booth = await employers.public_booth(session, path_int(request, "booth_id"))
    if booth.edition_id != edition.id:
        raise NotFound("This booth does not exist.")
    listed = await offers.of_booth(session, booth, published_only=True)
    return "embed/booth.html", {"booth": booth, "offers": listed}, 200


@widget
async def programme_widget(request: Request, session: AsyncSession, edition: Edition) -> Shown:
    """The edition's programme of webconferences, as the public sees it."""
    context = {
        "zone": edition.timezone,
        "programme": await webconferences.programme(session, edition, None),
    }
    return "embed/programme.html", context, 200


# The documentation page -----------------------------------------------------------------------


@page
async def widget_docs(request: Request) -> Response:
    """How to put a widget on a partner's site: the three widgets, the iframe and script
    snippets, their options, the sites allowed, privacy and accessibility."""
    base = settings.get().base_url
    context = {
        "base": base,
        "script": base + app_state.of(request).assets.url("embed.js"),
        "api_docs": urls.path(request, "api:docs"),
        "licence": structured_data.LICENCE,
    }
    return render(request, "public/widget.html", context)


# The organiser's page -----------------------------------------------------------------------


async def _organiser_page(
    request: Request, edition: Edition, form: forms.FormState, *, status: int = 200
) -> Response:
    session = database(request)
    base = settings.get().base_url
    booths = await employers.booths_of_edition(session, edition, status=BoothStatus.APPROVED)
    context = {
        "edition": edition,
        "form": form,
        "base": base,
        "widgets": [
            (name, i18n.gettext(label), *_snippets(request, edition, name, label))
            for name, label in WIDGETS.items()
        ],
        "booths": [
            (b, base + urls.path(request, "embed_booth", slug=edition.slug, booth_id=b.id))
            for b in booths
        ],
    }
    return render(request, "organiser/embed.html", context, status=status)


def _snippets(request: Request, edition: Edition, name: str, label: str) -> tuple[str, str]:
    """The HTML to paste on a partner's page for the widget `name`: an iframe, and the script
    tag making one (static/embed.js)."""
    base = settings.get().base_url
    src, title, script = (
        html.escape(value)
        for value in (
            base + urls.path(request, name, slug=edition.slug),
            f"{i18n.gettext(label)} · {edition.title}",
            base + app_state.of(request).assets.url("embed.js"),
        )
    )
    frame = f'<iframe src="{src}" title="{title}" width="100%" height="700" loading="lazy">'
    tag = f'<script src="{script}" data-fair-widget="{src}" data-fair-title="{title}" async>'
    return frame + "</iframe>", tag + "</script>"


@page
async def edition_embed(request: Request) -> Response:
    """The sites allowed to frame the edition's widget, and the snippets to paste there."""
    _user, edition = await organised_edition(request)
    session = database(request)
    if request.method != "POST":
        listed = await embeds.origins(session, edition.id)
        form = forms.FormState(values={"origins": "\n".join(listed)})
        return await _organiser_page(request, edition, form)
    fields = forms.Fields(await forms.read(request))
    try:
        origins = embeds.parse_list(fields.text("origins", max_length=10_000, multiline=True))
        await embeds.replace(session, edition, origins)
    except FairError as error:
        state = forms.state_from(fields, error)
        return await _organiser_page(request, edition, state, status=error.status)
    flash(request, "The sites allowed to show the widget were saved.")
    return urls.redirect(request, "edition_embed", edition_id=edition.id)


routes = [
    Route("/embed/e/{slug}/offers", search_widget, name="embed_search"),
    Route("/embed/e/{slug}/booths/{booth_id:int}", booth_widget, name="embed_booth"),
    Route("/embed/e/{slug}/programme", programme_widget, name="embed_programme"),
    Route("/widget", widget_docs, name="widget_docs"),
    Route(
        "/organiser/editions/{edition_id:int}/embed",
        edition_embed,
        methods=["GET", "POST"],
        name="edition_embed",
    ),
]
