"""Matching pages: a candidate's "offers for you" (fair.match_offers) with the reasons of each
(fair/web/match_view.py), and their mail alerts (fair.alerts): subscribing to new offers for
them or to a saved search, stopping one from the site, and the mails' one-click stop link
(signed, no login needed; it offers to switch the alert on again); a recruiter's candidates
for an offer (fair.match_candidates)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fair import alerts, job_search, match_candidates, match_offers, matching, offers, permissions
from fair.enums import Role
from fair.errors import NotFound
from fair.search import params as search_params
from fair.web import forms, match_view, urls
from fair.web.auth import (
    database,
    is_one_click,
    one_click_page,
    page,
    path_int,
    require_role,
)
from fair.web.flash import flash
from fair.web.templating import render

SHOWN = 20


@page
async def offers_for_you(request: Request) -> Response:
    """The open offers that best match the candidate's job search, best first, with reasons."""
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    wanted = await job_search.of(session, user.id)
    found = await match_offers.offers_for(session, user.id, limit=SHOWN)
    rows = [(m, match_view.reasons(m.match, matching.YOU)) for m in found]
    mine = await alerts.mine(session, user)
    context = {
        "described": wanted.described(),
        "rows": rows,
        "profile_alert": next((a for a in mine if not a.search), None),
        "search_alerts": [a for a in mine if a.search],
    }
    return render(request, "candidate/offers_for_you.html", context)


@page
async def subscribe(request: Request) -> Response:
    """Follow the offers for you by mail (no `edition_id`) or a search of an edition (its
    filters in the form), then back where the candidate was."""
    user = require_role(request, Role.CANDIDATE)
    fields = forms.Fields(await forms.read(request))
    edition_id = fields.identifier("edition_id", required=False)
    kept = None
    if edition_id is not None:
        fields.done()
        kept = alerts.saved_search(edition_id, search_params.read(fields.form, page=False))
    await alerts.subscribe(database(request), user, kept=kept)
    flash(request, "You will receive the new offers by e-mail once a day.")
    if kept is not None:
        slug = fields.text("slug", max_length=80)
        if slug:
            query = search_params.pairs(alerts.query_of(kept), sort=False)
            return urls.redirect(request, "search", slug=slug, query=query)
    return urls.redirect(request, "offers_for_you")


@page
async def stop_mine(request: Request) -> Response:
    """The candidate stops one of their alerts from the site."""
    user = require_role(request, Role.CANDIDATE)
    await forms.read(request)
    session = database(request)
    alert = await alerts.get(session, path_int(request, "alert_id"))
    if alert.user_id != user.id:
        raise NotFound("This alert does not exist.")
    await alerts.stop(session, alert)
    flash(request, "This alert is stopped: no more e-mails from it.")
    return urls.redirect(request, "offers_for_you")


@one_click_page
async def stop_by_link(request: Request) -> Response:
    """The mails' link, without logging in: GET asks to confirm (mail scanners open links and
    must stop nothing), POST stops the alert, from the page's button or from a mail client's
    one-click (fair.stop_links), and offers to switch it on again."""
    raw = request.path_params["token"]
    session = database(request)
    alert = await alerts.by_token(session, raw)
    if request.method == "GET":
        return render(request, "candidate/alert_stopped.html", {"token": raw, "confirm": True})
    await alerts.stop(session, alert)
    if is_one_click(request):
        return PlainTextResponse("Stopped.")
    return render(request, "candidate/alert_stopped.html", {"token": raw, "resumed": False})


@page
async def resume_by_link(request: Request) -> Response:
    """The stopped page's "switch it on again" (the mail link's token, logged in or not):
    never held by the admission gate, as the stop link (fair.web.gate OPEN_PAGES)."""
    await forms.read(request)
    raw = request.path_params["token"]
    alert = await alerts.by_token(database(request), raw)
    await alerts.resume(database(request), alert)
    return render(request, "candidate/alert_stopped.html", {"token": raw, "resumed": True})


@page
async def offer_candidates(request: Request) -> Response:
    """A recruiter's "candidates for this offer": applicants ranked, then pool profiles
    (pseudonymous) with the reasons, worded for a recruiter."""
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    offer = await offers.get(session, path_int(request, "offer_id"))
    await permissions.require_offer_member(session, user, offer)
    found = await match_candidates.candidates_for(session, offer, viewer=user)
    context = {
        "offer": offer,
        "applicants": [(a, match_view.reasons(a.match, matching.THEM)) for a in found.applicants],
        "pool": [(p, match_view.reasons(p.match, matching.THEM)) for p in found.pool],
    }
    return render(request, "recruiter/offer_candidates.html", context)


routes = [
    Route("/me/offers-for-you", offers_for_you, name="offers_for_you"),
    Route("/me/alerts", subscribe, methods=["POST"], name="alert_subscribe"),
    Route("/me/alerts/{alert_id:int}/stop", stop_mine, methods=["POST"], name="alert_stop"),
    Route("/alerts/stop/{token}", stop_by_link, methods=["GET", "POST"], name="alert_stop_link"),
    Route("/recruiter/offers/{offer_id:int}/candidates", offer_candidates, name="offer_candidates"),
    Route("/alerts/resume/{token}", resume_by_link, methods=["POST"], name="alert_resume_link"),
]
