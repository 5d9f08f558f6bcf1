"""Pages read and driven as a person would, through the app's httpx clients (tests/conftest.py).

Reading: `text(page)` is the visible text with every entity decoded, `text_of(html)` the same
with only apostrophes decoded (to read sentences), `radios(html, name)` the values of a radio
group, `untokened(page)` the whole markup without its random CSRF tokens (to assert that a word
appears nowhere: a random token holds any short word now and then). Driving: `as_user` and
`person` log a new or given account in (in English), `post` sends a form with the CSRF token
read from its page. `OFFER_FORM` is a complete offer form.
"""

from __future__ import annotations

import html as entities
import re
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from fair import db
from fair.enums import Role
from fair.models import User
from tests import factories as f
from tests.conftest import csrf, login

OFFER_FORM = {
    "title": "Électricien du bâtiment (H/F)",
    "rome_code": "F1602",
    "description": "Chantiers de rénovation.",
    "contract": "cdi",
    "working_time": "full_time",
    "experience": "beginner",
    "positions": "2",
    "commune": "Lattes",
    "postcode": "34970",
    "skills": "Habilitation électrique\nLecture de plans",
    "no_diploma": "on",
}


def text(page: str) -> str:
    """The visible text of a page, whitespace collapsed, for asserting whole sentences."""
    return " ".join(entities.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def text_of(html: str) -> str:
    """The page's visible text, tags removed, spaces collapsed (to read sentences)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]*(")')


def untokened(page: str) -> str:
    """The page's markup with each CSRF token's random value blanked."""
    return CSRF_VALUE.sub(r"\1\2", page)


def radios(html: str, name: str) -> list[str]:
    """The values of the page's radio buttons called `name`, in order."""
    return re.findall(rf'type="radio" id="[^"]*" name="{name}" value="([^"]*)"', html)


async def as_user(
    client: httpx.AsyncClient,
    session: AsyncSession,
    role: Role = Role.ORGANISER,
    user: User | None = None,
) -> User:
    """Log `client` in (in English) as `user`, or as a new account of `role`, committed."""
    user = user or await f.user(session, role, locale="en")
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, user.email, f.PASSWORD)
    return user


async def person(make_client: Callable[[], httpx.AsyncClient], user: User) -> httpx.AsyncClient:
    """A new client logged in as `user`, in English."""
    client = make_client()
    client.cookies.set("lang", "en")
    await login(client, user.email, f.PASSWORD)
    return client


async def post(client: httpx.AsyncClient, page: str, action: str, **data: object) -> httpx.Response:
    """Post a form of `page` (its CSRF token read from it) to `action`."""
    token = await csrf(client, page)
    return await client.post(action, data={"csrf_token": token, **data})  # type: ignore[dict-item]
