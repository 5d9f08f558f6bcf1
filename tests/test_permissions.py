"""fair/permissions.py: the flat families' rules, as the domain and the boundaries call them."""

from __future__ import annotations

import pytest

from fair import applications, offers, permissions
from fair.enums import Role
from fair.errors import Forbidden, NotYours
from fair.models import User
from tests import factories as f


async def test_roles_admit_administrators_everywhere(session):  # type: ignore[no-untyped-def]
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    assert [permissions.has_role(u, Role.CANDIDATE) for u in (admin, organiser)] == [True, False]
    assert permissions.has_role(organiser, Role.CANDIDATE, Role.ORGANISER) is True
    permissions.require_role(admin, Role.RECRUITER)
    permissions.require_admin(admin)
    with pytest.raises(Forbidden) as refused:
        permissions.require_role(organiser, Role.RECRUITER)
    assert refused.value.message == "This page is not available to your account."
    with pytest.raises(Forbidden) as refused:
        permissions.require_admin(organiser)
    assert refused.value.message == "This page is for administrators."


async def test_organisers_of_an_edition(session):  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    other = await f.user(session, Role.ORGANISER, can_log_in=False)
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    draft = await f.edition(session, by=organiser, publish=False)
    published = await f.edition(session, by=organiser)
    found = [await permissions.is_organiser(session, u, draft) for u in (organiser, other, admin)]
    assert found == [True, False, True]
    await permissions.require_organiser(session, organiser, draft)
    with pytest.raises(NotYours) as hidden:  # a draft reads as missing
        await permissions.require_organiser(session, other, draft)
    assert (hidden.value.status, hidden.value.message) == (404, "This edition does not exist.")
    with pytest.raises(Forbidden) as refused:
        await permissions.require_organiser(session, other, published)
    assert refused.value.message == "You do not organise this edition."


async def test_members_and_owners_of_an_employer(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, owner = await f.booth(session, edition_=edition)
    colleague = await f.colleague(session, booth_=booth, owner=owner)
    stranger = await f.user(session, Role.RECRUITER, can_log_in=False)
    members = [
        await permissions.is_member(session, u, booth.employer_id) for u in (owner, stranger)
    ]
    assert members == [True, False]
    assert (
        await permissions.require_member(session, owner, booth.employer_id, owner=True)
    ).is_owner
    await permissions.require_booth_member(session, colleague, booth)
    offer = await offers.get(session, (await f.offer(session, booth_=booth)).id)  # with .booth
    await permissions.require_offer_member(session, colleague, offer)
    for refused_call in (
        permissions.require_member(session, colleague, booth.employer_id, owner=True),
        permissions.require_booth_member(session, stranger, booth),
        permissions.require_offer_member(session, stranger, offer),
    ):
        with pytest.raises(Forbidden) as refused:
            await refused_call
        assert refused.value.message == "You are not a recruiter of this employer."


async def test_who_sees_an_application(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    _other_booth, other_recruiter = await f.booth(session, edition_=edition)
    application = await f.application(session, offer_=await f.offer(session, booth_=booth))
    found, found_booth = await applications.of_recruiter(session, recruiter, application.id)
    assert (found.id, found_booth.id) == (application.id, booth.id)
    with pytest.raises(NotYours) as hidden:
        await applications.of_recruiter(session, other_recruiter, application.id)
    assert (hidden.value.status, hidden.value.message) == (404, "This application does not exist.")
    candidate = await session.get(User, application.candidate_id)
    assert candidate is not None
    assert (await applications.of_owner(session, candidate, application.id)).id == application.id
    other = await f.candidate(session, can_log_in=False)
    with pytest.raises(NotYours):
        await applications.of_owner(session, other, application.id)
