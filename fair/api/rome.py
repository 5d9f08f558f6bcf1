"""ROME suggestion for a typed job title, in France Travail ROMEO's response shape: what the offer
form's and the job-search profile's combobox (static/combobox.js) ask as the person types, and
what a partner may call. Public and offline (fair.rome_suggest), like ROMEO's answer for one
title: `{"intitule": …, "metiersRome": [{codeRome, libelleRome, codeAppellation,
libelleAppellation, scorePrediction}, …]}`, best first."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fair import rome_suggest
from fair.api.core import Call, Endpoint, endpoint
from fair.api.params import Params, Text


class SuggestParams(Params):
    q: Text = Field(description="A job title as typed, e.g. « cariste H/F CACES 3 ».")
    limit: int = Field(5, ge=1, le=20, description="How many suggestions at most.")


class RomeJob(BaseModel):
    """One predicted job, as ROMEO names its fields."""

    codeRome: str = Field(description="The ROME code, e.g. N1101.")  # noqa: N815 (ROMEO's names)
    libelleRome: str = Field(description="The ROME code's label.")  # noqa: N815
    codeAppellation: str = Field(  # noqa: N815
        description="The official job name's code (empty when the referential gives none)."
    )
    libelleAppellation: str = Field(description="The official job name.")  # noqa: N815
    scorePrediction: float = Field(  # noqa: N815
        ge=0, le=1, description="The share of confidence among the suggestions shown."
    )


class RomeSuggestions(BaseModel):
    """ROMEO's answer for one title."""

    intitule: str = Field(description="The title as received.")
    metiersRome: list[RomeJob] = Field(description="The suggestions, best first.")  # noqa: N815


@endpoint(
    "GET",
    "/rome/suggest",
    params=SuggestParams,
    response=RomeSuggestions,
    summary="ROME codes and job names for a typed job title",
    tags=("rome",),
    errors=(400,),
)
async def suggest_rome(call: Call[SuggestParams]) -> RomeSuggestions:
    """ROME codes and official job names for a typed job title, best first: the imported
    ROME 4.0 appellations (or the shipped code labels), and the titles of offers already
    coded on this platform."""
    found = await rome_suggest.suggest(call.session, call.params.q, limit=call.params.limit)
    return RomeSuggestions(
        intitule=call.params.q, metiersRome=[RomeJob(**s.romeo()) for s in found]
    )


ENDPOINTS: list[Endpoint] = [suggest_rome]
