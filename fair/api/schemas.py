"""The API's response models: what a partner reads, built from the domain's objects. Their
fields, types and descriptions are the OpenAPI document's schemas (fair/api/openapi.py)."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import BaseModel, Field

from fair import editions
from fair.enums import EditionStatus
from fair.models import Edition


class LiveDay(BaseModel):
    day: date
    opens: time = Field(description="Local time in the edition's time zone.")
    closes: time = Field(description="Local time in the edition's time zone.")


class EditionOut(BaseModel):
    """A published edition of a job fair."""

    id: int
    slug: str
    title: str
    territory: str
    description: str
    timezone: str = Field(description="The IANA time zone its live days are in.")
    status: EditionStatus
    applications_open_at: datetime
    applications_close_at: datetime
    live_days: list[LiveDay]
    url: str = Field(description="Its public page.")

    @classmethod
    def of(cls, edition: Edition, url: str) -> EditionOut:
        return cls(
            id=edition.id,
            slug=edition.slug,
            title=edition.title,
            territory=edition.territory,
            description=edition.description,
            timezone=edition.timezone,
            status=editions.status_at(edition),
            applications_open_at=edition.applications_open_at,
            applications_close_at=edition.applications_close_at,
            live_days=[
                LiveDay(day=d.day, opens=d.opens, closes=d.closes) for d in edition.live_days
            ],
            url=url,
        )
