"""Jinja2 environment: translations, a URL builder, date formatting in the edition's zone."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_time
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

from fair import (
    app_state,
    branding,
    counsellors,
    i18n,
    interviews,
    personal_data,
    rome,
    settings,
    timing,
    videos,
)
from fair.enums import (
    ApplicationStatus,
    BoothStatus,
    CompanySize,
    Contract,
    EditionStatus,
    Experience,
    NextStep,
    Role,
    WorkingTime,
)
from fair.rome import DOMAINS
from fair.web import urls
from fair.web.auth import csrf_token
from fair.web.flash import take
from fair.webconferences import phase_label as talk_phase


def _format_dt(value: datetime | None, zone: str = "Europe/Paris", fmt: str = "medium") -> str:
    """A moment in the current language, without seconds (fair.i18n.moment)."""
    return i18n.moment(value, zone, fmt) if value is not None else ""


def _format_date(value: Any, fmt: str = "full") -> str:
    return i18n.day(value, fmt) if value else ""


def _sector(employer: Any) -> str:
    """The employer's NAF sector as the reference list writes it now (older rows kept a label
    without accents), else the stored label."""
    return rome.sector_of(employer.naf_code) or employer.sector


def _job(offer: Any) -> str:
    """The offer's ROME job label from the reference list, else the stored (imported) one."""
    job = rome.job(offer.rome_code)
    return job.label if job else str(offer.rome_label)


def _offer_choice(offer: Any) -> str:
    """An offer told apart from others of the same title: its reference, commune and date."""
    return i18n.gettext(
        "%(title)s — ref. %(ref)s, %(commune)s, %(date)s",
        title=offer.title,
        ref=offer.external_id or offer.id,
        commune=offer.commune,
        date=i18n.day(offer.created_at, "short"),
    )


def _decimal(value: float | None, digits: int = 1) -> str:
    """A number with the current language's separators: "0,4" in French (fair.i18n.decimal)."""
    return i18n.decimal(value, digits) if value is not None else ""


def _format_time(value: Any) -> str:
    return format_time(value, "short", locale=i18n.current_locale.get()) if value else ""


def _clock(value: datetime | None, zone: str = "Europe/Paris") -> str:
    """The time of day of `value` in `zone`, short ("14:05")."""
    if value is None:
        return ""
    return format_time(value.astimezone(ZoneInfo(zone)), "short", locale=i18n.current_locale.get())


def _minutes(seconds: int) -> int:
    """A wait in whole minutes, rounded up (at least 1)."""
    return max(1, -(-int(seconds) // 60))


def _t(message: str, **params: Any) -> str:
    return i18n.gettext(message, **params)


def _local_input(value: datetime | None, zone: str = "Europe/Paris") -> str:
    """A datetime as a datetime-local input value in `zone`."""
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if value else ""


def _status_labels() -> dict[str, str]:
    """Application statuses and their labels in the current language (read by static/live.js)."""
    return {status.value: i18n.gettext(status.label) for status in ApplicationStatus}


def _finalize(value: object) -> object:
    """Every value a template prints: an erased account's name and a placeholder address
    (fair.personal_data.shown) in the reader's language. Markup is printed as it is (a
    template that needs the stored value wraps it so)."""
    if type(value) is str:
        return personal_data.shown(value)
    return value


@pass_context
def _gettext(context: Context, message: str, **variables: Any) -> str:
    """Jinja's newstyle `_()` (jinja2.ext._make_new_gettext), without formatting a message
    that has neither variables nor a "%" (Markup's % with nothing to put in cost 3 µs: 150
    messages on a search page). The same text."""
    found = i18n.gettext(message)
    if context.eval_ctx.autoescape:
        found = Markup(found)
    return found % variables if variables or "%" in found else found


def translated(message: str, locale: str | None = None) -> Markup:
    """What `_(message)` (no variables) prints in an HTML template, in `locale` (the current
    language by default): for labels a page lists from Python, translated once per language
    (fair.web.public's facets)."""
    found = Markup(i18n.gettext(message, locale))
    return found % {} if "%" in found else found


@functools.cache
def _labels(kind: type[Contract] | type[WorkingTime], locale: str) -> dict[str, Markup]:
    return {member.value: translated(member.label, locale) for member in kind}


def _contract_label(value: str) -> Markup:
    """`_(Contract(value).label)`, looked up (each result card shows it: the enum built, then
    translated, took a tenth of a search page's render)."""
    return _labels(Contract, i18n.current_locale.get())[value]


def _working_time_label(value: str) -> Markup:
    """`_(WorkingTime(value).label)`, looked up (`_contract_label`)."""
    return _labels(WorkingTime, i18n.current_locale.get())[value]


def build_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(settings.get().templates_dir)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
        # Outside development a template changes only with a deployment: no stat() of each
        # template (and each include) on every render to see whether it changed.
        auto_reload=settings.get().env == "development",
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda m: i18n.gettext(m), lambda s, p, n: i18n.ngettext(s, p, n), newstyle=True
    )
    env.globals["gettext"] = _gettext
    env.filters.update(
        datetime=_format_dt,
        date=_format_date,
        time=_format_time,
        decimal=_decimal,
        sector=_sector,
        job=_job,
        contract_label=_contract_label,
        working_time_label=_working_time_label,
        clock=_clock,
        local_input=_local_input,
    )
    env.tests["placeholder_address"] = personal_data.is_placeholder_address
    env.globals.update(
        t=_t,
        minutes=_minutes,
        INTERVIEW_NOTICES=interviews.NOTICES,
        COUNSELLOR_ACTIONS=counsellors.ACTIONS,
        talk_phase=talk_phase,  # one label of a talk's state for every page
        translated=lambda pairs: [(key, i18n.gettext(label)) for key, label in pairs],
        status_labels=_status_labels,
        # A plural form for a script to fill: {num} in place of the number (static/live.js).
        plural_format=lambda s, p, n: i18n.ngettext(s, p, n, num="{num}"),
        ApplicationStatus=ApplicationStatus,
        BoothStatus=BoothStatus,
        CompanySize=CompanySize,
        Contract=Contract,
        EditionStatus=EditionStatus,
        NextStep=NextStep,
        Experience=Experience,
        Role=Role,
        WorkingTime=WorkingTime,
        DOMAINS=DOMAINS,
        video_embed=videos.embed,
        offer_choice=_offer_choice,
    )
    return env


_env: Environment | None = None


def env() -> Environment:
    global _env
    if _env is None:
        _env = build_env()
    return _env


def reset() -> None:
    global _env
    _env = None


# Templates of an edition's public pages: they wear its branding (fair.branding) when their
# context holds the edition (base.html links its stylesheet and shows its header).
BRANDED = ("public/", "webconferences/programme.html", "webconferences/webconference.html")


def _brand(name: str, context: dict[str, Any]) -> None:
    """`brand` (a branding.Look or None) and `brand_banner` (the banner: on the landing page
    only, it weighs tens of kilobytes) for base.html."""
    edition = context.get("edition")
    found = branding.look(edition) if name.startswith(BRANDED) else None
    context.setdefault("brand", found)
    context.setdefault("brand_banner", name == "public/edition.html")


def render(
    request: Request, name: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    def url(route: str, **params: Any) -> str:
        return urls.path(request, route, **params)

    token = request.state.csrf_shown = csrf_token(request)  # a kept page's (fair.web.browsing)
    flashes = request.state.flashes_shown = take(request)  # likewise: one person's messages
    full = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf_token": token,
        "locale": i18n.current_locale.get(),
        "url": url,
        "static": app_state.of(request).assets.url,
        "flashes": flashes,
        "unread_notices": getattr(request.state, "unread_notices", 0),
        "pool_search": getattr(request.state, "pool_search", False),
        "form": None,
        **context,
    }
    _brand(name, full)
    template = env().get_template(name)
    if status >= 400:
        return Deferred(lambda: template.render(full), status_code=status)
    with timing.span("render"):
        body = template.render(full)
    return HTMLResponse(body, status_code=status)


def fragment(request: Request, name: str, **context: Any) -> str:
    """A partial template rendered alone with the request's URL builder and language: a part
    of a kept page that is the viewer's own (fair.web.browsing)."""

    def url(route: str, **params: Any) -> str:
        return urls.path(request, route, **params)

    return (
        env()
        .get_template(name)
        .render({"request": request, "url": url, "locale": i18n.current_locale.get(), **context})
    )


class Deferred(HTMLResponse):
    """An error page rendered when it is sent: after `page` has rolled its transaction back,
    so that no row lock is held while rendering (decide, roll back, then render)."""

    def __init__(self, build: Callable[[], str], *, status_code: int) -> None:
        super().__init__(b"", status_code=status_code)
        self.build = build

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.body = self.render(self.build())
        self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)
