"""The partners' endpoints, each needing a partner key's scope (fair.api_keys): the edition's
aggregated figures, a booth's applications for its recruiter's applicant tracking system, and
the upsert of a booth's offers in France Travail's shape.

The framework (fair.api.core) has checked the key, its scope and its edition and counted the
request before a handler runs; a booth scope is checked here (`api_keys.require_booth`).
`authenticate` only reads, so a read's key is touched (`last_used_at`, once a minute) and a
personal read audited in a write unit of work of its own, committed before the data leaves;
the upsert does both in its own write transaction.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from fair import (
    api_keys,
    app_state,
    applications,
    db,
    idempotency,
    insight,
    offer_upserts,
    personal_data,
)
from fair.api.core import Call, Endpoint, endpoint
from fair.api.params import Id, Page, PageParams, Params, Position, page
from fair.disclosure import THRESHOLD
from fair.enums import ApiScope, ApplicationStatus
from fair.errors import NotFound
from fair.models import ApiKey, Booth

APPLICATIONS_READ = "booth_applications"


async def _note_use(
    call: Call[Any], key: ApiKey, *, what: str = "", rows: int = 0, booth_id: int | None = None
) -> None:
    """Touch the key when due and audit a personal read, committed before answering."""
    if not what and not api_keys.stale(key):
        return
    async with db.unit_of_work(app_state.of(call.request).write_sessions) as session:
        if api_keys.stale(key):
            await api_keys.touch(session, key.id)
        if what:
            await api_keys.record_use(session, key, what=what, rows=rows, booth_id=booth_id)


# The edition's figures -------------------------------------------------------------------------


class EditionParams(Params):
    edition_id: Id


class StepOut(BaseModel):
    step: str = Field(description="A step of the funnel (registered, active, applied, ...).")
    count: int | None = Field(
        description=f"Candidates at this step; null when hidden (fewer than {THRESHOLD}, or "
        "a figure that would let a hidden one be worked out)."
    )
    rate: float | None = Field(
        description="The share of the previous step that reached this one; null when either "
        "figure is hidden."
    )


class FiguresOut(BaseModel):
    """The edition's funnel, with the figures about people hidden as the dashboard hides them."""

    edition_id: int
    threshold: int = Field(description="Counts below it are hidden.")
    steps: list[StepOut]


@endpoint(
    "GET",
    "/editions/{edition_id}/figures",
    params=EditionParams,
    response=FiguresOut,
    summary="The edition's funnel",
    tags=("partners",),
    scope=ApiScope.FIGURES.value,
)
async def edition_figures(call: Call[EditionParams]) -> FiguresOut:
    """Candidates at each step of the funnel, as the organisers' dashboard shows them: figures
    about fewer than 5 people, and those that would reveal them, are null."""
    funnel = await insight.funnel(call.session, call.params.edition_id)
    await _note_use(call, call.key)
    steps = [
        StepOut(
            step=step,
            count=figure.value if figure.shown else None,
            rate=funnel.rate(step),
        )
        for step, figure in funnel.figures.items()
    ]
    return FiguresOut(edition_id=call.params.edition_id, threshold=THRESHOLD, steps=steps)


# A booth's applications --------------------------------------------------------------------


class BoothParams(Params):
    edition_id: Id
    booth_id: Id


class BoothPageParams(PageParams):
    edition_id: Id
    booth_id: Id


class CandidateOut(BaseModel):
    name: str
    # None for a candidate without e-mail (accompanied by a counsellor) or whose account was
    # deleted: their stored address is a placeholder nobody reads (fair.personal_data).
    email: str | None


class ApplicationOut(BaseModel):
    """An application to one of the booth's offers."""

    id: int
    candidate: CandidateOut
    status: ApplicationStatus
    offer_id: int
    offer_title: str
    offer_external_id: str = Field(description="The offer's id in the partner's system, if any.")
    message: str = Field(description="The candidate's message.")
    applied_at: datetime
    status_changed_at: datetime
    cv_url: str | None = Field(
        description="The CV sent with the application: a page of the recruiter's own space, "
        "opened only by the booth's recruiters once logged in (the key does not open it); null "
        "without a CV."
    )


async def _booth(call: Call[Any], edition_id: int, booth_id: int) -> Booth:
    api_keys.require_booth(call.key, booth_id)
    booth = await call.session.get(Booth, booth_id)
    if booth is None or booth.edition_id != edition_id:
        raise NotFound("This booth does not exist.")
    return booth


@endpoint(
    "GET",
    "/editions/{edition_id}/booths/{booth_id}/applications",
    params=BoothPageParams,
    response=Page[ApplicationOut],
    summary="A booth's applications",
    tags=("partners",),
    scope=ApiScope.APPLICATIONS.value,
)
async def booth_applications(call: Call[BoothPageParams]) -> Page[ApplicationOut]:
    """The booth's applications, oldest first, for the recruiter's applicant tracking system
    (the key names the booth). Personal data: every call is recorded in the edition's audit."""
    params = call.params
    booth = await _booth(call, params.edition_id, params.booth_id)
    rows = await applications.of_booth_after(
        call.session,
        booth.id,
        after=None if params.cursor is None else params.cursor.id,
        limit=params.limit + 1,
    )
    data, following = page(
        call,
        rows,
        limit=params.limit,
        position=lambda row: Position(row.application.id, row.application.id),
        item=lambda row: _application(call, row),
    )
    await _note_use(call, call.key, what=APPLICATIONS_READ, rows=len(data), booth_id=booth.id)
    return Page[ApplicationOut](data=data, next=following)


def _application(call: Call[Any], row: applications.Listed) -> ApplicationOut:
    application = row.application
    cv = None
    if application.cv_file_id is not None:
        cv = str(call.request.url_for("application_cv", application_id=str(application.id)))
    return ApplicationOut(
        id=application.id,
        candidate=CandidateOut(
            name=personal_data.shown(row.candidate_name),
            email=None
            if personal_data.is_placeholder_address(row.candidate_email)
            else row.candidate_email,
        ),
        status=ApplicationStatus(application.status),
        offer_id=application.offer_id,
        offer_title=row.offer_title,
        offer_external_id=row.offer_external_id,
        message=application.message,
        applied_at=application.created_at,
        status_changed_at=application.status_changed_at,
        cv_url=cv,
    )


# Upserting a booth's offers ----------------------------------------------------------------


OFFER_FIELDS = (
    "Offers: id (yours, up to 40 characters: the key of the upsert), intitule, description, "
    "romeCode, typeContrat, natureContrat, dureeTravailLibelleConverti, experienceExige, "
    "lieuTravail {libelle, codePostal, latitude, longitude}, nombrePostes, salaire {libelle}, "
    "formations [{niveauLibelle}], competences [{libelle}], accessibleTH, and fair {remote, "
    "insertionClause, openSeniors, openUnder26, noDiploma}. Each is answered on its own: one "
    "that is not an object is refused in the results, not the whole request."
)
# Any items: an offer that is not an object is one refused result, not a refused request.
Offers = Annotated[
    list[Any],
    Field(min_length=1, max_length=offer_upserts.MAX_OFFERS),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "object"},
            "minItems": 1,
            "maxItems": offer_upserts.MAX_OFFERS,
            "description": OFFER_FIELDS,
        }
    ),
]


class OffersIn(BaseModel):
    """Offers in France Travail's shape (Offres d'emploi v2), as its search answers them."""

    resultats: Offers


class OfferResult(BaseModel):
    index: int = Field(description="The offer's place in `resultats`, from 0.")
    id: str = Field(description="The offer's id as given.")
    outcome: Literal["created", "updated", "refused"]
    offer_id: int | None = Field(description="The offer's id here; null when refused.")
    code: str = Field(description="Why it was refused (a dotted code); empty otherwise.")
    message: str
    fields: dict[str, str] = Field(description="A message per refused field.")


class UpsertOut(BaseModel):
    created: int
    updated: int
    refused: int
    results: list[OfferResult]


@endpoint(
    "POST",
    "/editions/{edition_id}/booths/{booth_id}/offers",
    params=BoothParams,
    response=UpsertOut,
    body=OffersIn,
    summary="Create or update a booth's offers",
    tags=("partners",),
    scope=ApiScope.OFFERS.value,
    errors=(400, 404, 409, 422, 429),
)
async def upsert_offers(call: Call[BoothParams]) -> UpsertOut:
    """Each offer is created, or updated when the booth has one with its `id`; each is answered
    on its own (a refused one says why, the others are written). With an `Idempotency-Key`
    header, a retry of the same request gets the first answer again (kept 24 hours); the same
    key with another request is refused (422)."""
    booth = await _booth(call, call.params.edition_id, call.params.booth_id)
    key = call.request.headers.get("idempotency-key")
    claim = None
    if key is not None:
        request = idempotency.fingerprint(
            call.request.method, call.request.url.path, await call.request.body()
        )
        claim = await idempotency.claim(
            call.session, api_key_id=call.key.id, key=key, request=request
        )
        if claim.replay is not None:
            return UpsertOut.model_validate_json(claim.replay)
    assert isinstance(call.body, OffersIn)
    results = await offer_upserts.upsert(call.session, booth=booth, items=call.body.resultats)
    out = UpsertOut(
        created=sum(r.outcome == "created" for r in results),
        updated=sum(r.outcome == "updated" for r in results),
        refused=sum(r.outcome == "refused" for r in results),
        results=[OfferResult(**dataclasses.asdict(r)) for r in results],
    )
    if claim is not None:
        await idempotency.store(call.session, claim, status=200, body=out.model_dump_json())
    if api_keys.stale(call.key):
        await api_keys.touch(call.session, call.key.id)
    return out


ENDPOINTS: list[Endpoint] = [edition_figures, booth_applications, upsert_offers]
