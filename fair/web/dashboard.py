"""The organiser's edition home, a dashboard: the candidates' funnel (fair.insight), filterable
by a GET form that works without JavaScript, and every booth's funnel; a recruiter's page of
their own booth's funnel."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import (
    disclosure,
    editions,
    employers,
    i18n,
    insight,
    outcome_figures,
    parse,
    permissions,
    rome,
)
from fair.enums import Contract, Role
from fair.i18n import N_
from fair.web import charts, forms
from fair.web.auth import database, organised_edition, page, path_int, require_role, spare_session
from fair.web.templating import render

# Each step's label, in the funnel's order; the booked step's outcome is indented under it.
LABELS = {
    "registered": N_("Registered candidates"),
    "active": N_("Active during the edition"),
    "applied": N_("Applied to an offer"),
    "shortlisted": N_("Shortlisted at least once"),
    "interview_booked": N_("Interview booked"),
    "held": N_("Interview held"),
    "no_show": N_("Did not attend (no-show)"),
    "not_held_yet": N_("Booked, not held yet or not recorded"),
    "retained": N_("Retained (the recruiter's decision)"),
    "hired": N_("Back at work (confirmed)"),
}
ROWS = (
    "registered",
    "active",
    "applied",
    "shortlisted",
    "interview_booked",
    "held",
    "no_show",
    "not_held_yet",
    "retained",
    "hired",
)
SPLIT = frozenset(insight.SPLIT)
BOOTH_ROWS = tuple(s for s in ROWS if s not in ("registered", "active"))


def _number(raw: str | None) -> int | None:
    try:
        return parse.identifier(raw) if raw else None
    except parse.ParseError:
        return None


def read_filters(params: QueryParams, choices: insight.Choices) -> insight.Filters:
    """The filters asked for; a value that is not among the edition's choices is ignored."""

    def chosen(name: str, allowed: list[str]) -> str | None:
        value = params.get(name, "")
        return value if value in allowed else None

    booth_id, offer_id = _number(params.get("booth")), _number(params.get("offer"))
    return insight.Filters(
        booth_id=booth_id if booth_id in {b for b, _ in choices.booths} else None,
        offer_id=offer_id if offer_id in {o for o, _ in choices.offers} else None,
        sector=chosen("sector", choices.sectors),
        rome_domain=chosen("domain", choices.rome_domains),
        contract=chosen("contract", choices.contracts),
        commune=chosen("commune", choices.communes),
        epci=chosen("epci", [e.siren for e in choices.epcis]),
    )


def _options(choices: insight.Choices) -> dict[str, list[tuple[str, str]]]:
    """Each filter's options (value, label in the current language)."""
    gettext = i18n.gettext
    sectors = rome.sectors()
    return {
        "booth": [(str(b), name) for b, name in choices.booths],
        "offer": [(str(o), title) for o, title in choices.offers],
        "sector": [(s, f"{s} · {sectors.get(s, '')}") for s in choices.sectors],
        "domain": [(d, f"{d} · {gettext(rome.DOMAINS.get(d, d))}") for d in choices.rome_domains],
        "contract": [(c, gettext(_contract_label(c))) for c in choices.contracts],
        "commune": [(c, c) for c in choices.communes],
        "epci": [(e.siren, e.name) for e in choices.epcis],
    }


def _contract_label(value: str) -> str:
    try:
        return Contract(value).label
    except ValueError:
        return value


def _values(filters: insight.Filters) -> dict[str, str]:
    """The form's values: the filters kept."""
    pairs = {
        "booth": filters.booth_id,
        "offer": filters.offer_id,
        "sector": filters.sector,
        "domain": filters.rome_domain,
        "contract": filters.contract,
        "commune": filters.commune,
        "epci": filters.epci,
    }
    return {k: str(v) for k, v in pairs.items() if v is not None}


def rows(funnel: insight.Funnel, steps: tuple[str, ...]) -> list[dict[str, Any]]:
    """The funnel table's rows: label, figure, rate from the step before (None: not shown)."""
    return [
        {
            "step": step,
            "label": LABELS[step],
            "figure": funnel.figures[step],
            "rate": funnel.rate(step),
            "sub": step in SPLIT,
        }
        for step in steps
    ]


# The bars: the nested steps and the booked step's outcome, in the table's order.
BARS = ("registered", "active", "applied", "shortlisted", "interview_booked", "held", "no_show")
BARS_END = ("retained", "hired")


def chart(funnel: insight.Funnel, steps: tuple[str, ...]) -> charts.Chart:
    """The funnel as bars (hidden figures drawn as no bar), with a sentence saying it: the
    first step and the last shown one of the chain, and the share between them."""
    gettext = i18n.gettext
    items = [
        charts.Item(gettext(LABELS[s]), funnel.figures[s].value, funnel.figures[s].shown)
        for s in steps
    ]
    chain = [s for s in insight.CHAIN if s in steps]
    first = funnel.figures[chain[0]]
    shown = [s for s in chain[1:] if funnel.figures[s].shown]
    if not first.shown:
        summary = gettext("Too few candidates for the funnel's figures to be shown.")
    elif not shown:
        summary = gettext(
            "%(count)s candidates at the first step; the next are hidden.",
            count=i18n.decimal(first.value, 0),
        )
    else:
        last = funnel.figures[shown[-1]]
        summary = gettext(
            "Of %(first)s candidates at the step “%(first_step)s”, "
            "%(last)s reached the step “%(last_step)s” (%(share)s %%).",
            first=i18n.decimal(first.value, 0),
            first_step=gettext(LABELS[chain[0]]),
            last=i18n.decimal(last.value, 0),
            last_step=gettext(LABELS[shown[-1]]),
            share=i18n.decimal(100 * last.value / first.value if first.value else 0, 1),
        )
    return charts.bars(
        gettext("The funnel in bars"),
        items,
        summary=summary,
        columns=(gettext("Step"), gettext("Candidates")),
    )


@page
async def edition_dashboard(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    choices = await insight.choices(session, edition.id)
    filters = read_filters(request.query_params, choices)
    async with spare_session(request) as spare:
        found = await insight.dashboard(session, edition.id, filters, spare=spare)
    context = {
        "edition": edition,
        "filters": filters,
        "filtered": filters.on_offers,
        "values": forms.FormState(values=_values(filters)),
        "options": _options(choices),
        "funnel_rows": rows(found.funnel, ROWS),
        "chart": chart(found.funnel, (*BARS, *BARS_END)),
        "booths": [(b, rows(b.funnel, BOOTH_ROWS)) for b in found.booths],
        "booth_steps": BOOTH_ROWS,
        "labels": LABELS,
        "views": found.views,
        "threshold": disclosure.THRESHOLD,
        "live_now": editions.open_now(edition),  # the live panel (fair.live_panel) on top
        # Edition-wide: beside the unfiltered funnel only, which it reuses (two queries more).
        "outcomes_summary": None
        if filters.on_offers
        else await outcome_figures.summary(session, edition.id, found.funnel),
    }
    return render(request, "organiser/dashboard.html", context)


@page
async def booth_funnel(request: Request) -> Response:
    """A recruiter's own booth's funnel: its row of the edition's booths' table, protected the
    same way as on the organiser's dashboard."""
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    booth = await employers.get_booth(session, path_int(request, "booth_id"))
    await permissions.require_booth_member(session, user, booth)
    edition = await editions.get(session, booth.edition_id)
    booths = await insight.booth_funnels(session, edition.id, views=False)
    row = next((b for b in booths if b.booth_id == booth.id), None)
    context = {
        "edition": edition,
        "booth": booth,
        "row": row,
        "views": await insight.page_views(session, edition.id, insight.Filters(booth_id=booth.id)),
        "funnel_rows": rows(row.funnel, BOOTH_ROWS) if row else [],
        "threshold": disclosure.THRESHOLD,
    }
    return render(request, "recruiter/funnel.html", context)


routes = [
    Route("/organiser/editions/{edition_id:int}", edition_dashboard, name="edition_dashboard"),
    Route("/recruiter/booths/{booth_id:int}/funnel", booth_funnel, name="booth_funnel"),
]
