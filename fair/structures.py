"""Structures whose counsellors accompany candidates, and their counsellors' accounts.

An organiser (for one of their editions) or an administrator creates a structure: a France
Travail agency, a mission locale, a mission Emploi, a PLIE, a Cap emploi or a temporary-work
agency (enums.StructureKind), with its territory (a département, narrowed to an EPCI or to
communes, fair.geo). Created by them, it is approved at once; approval can be withdrawn and
given back (`set_approved`): a structure that is not approved acts in nothing (its counsellors
see no candidate, and a temporary-work agency does not search the CV pool). They then add its
counsellors (`add_counsellor`): a new account gets a mail to choose its password, as
organisers' accounts do.

Who manages a structure: an administrator, or an organiser of an edition that admitted it
(`StructureEdition`, written when an organiser creates it for their edition).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import accounts, clock, editions, geo, mail, permissions
from fair.enums import Role, StructureKind
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.i18n import gettext as _
from fair.models import EditionOrganiser, Structure, StructureEdition, StructureMember, User

MAX_COMMUNES = 200


@dataclass(frozen=True)
class StructureInput:
    name: str
    kind: str
    departement: str
    epci: str = ""
    communes: list[str] = field(default_factory=list)


def check(data: StructureInput) -> StructureInput:
    """The input with its territory checked against fair.geo; every field error at once."""
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name or len(name) > 200:
        errors["name"] = "Enter the structure's name (200 characters at most)."
    if data.kind not in set(StructureKind):
        errors["kind"] = "Choose the kind of structure."
    departement = data.departement.strip().upper()
    if not geo.departement_name(departement):
        errors["departement"] = "Enter a département code, such as 03 or 2A."
    epci = data.epci.strip()
    in_epci = geo.in_epci(epci) if epci else ()
    if epci and not any(c.departement == departement for c in in_epci):
        errors["epci"] = "This EPCI is not in the département (enter its 9-digit SIREN)."
    members = {c.code for c in in_epci}
    communes = sorted({c.strip().upper() for c in data.communes if c.strip()})
    unknown = [c for c in communes if (found := geo.by_code(c)) is None or found.code != c]
    if unknown or len(communes) > MAX_COMMUNES:
        errors["communes"] = "Enter INSEE commune codes (5 characters), 200 at most."
    elif members and any(c not in members for c in communes):
        errors["communes"] = "These communes are not all in the EPCI."
    if errors:
        raise Invalid(next(iter(errors.values())), code="structure.invalid", fields=errors)
    return StructureInput(name, data.kind, departement, epci, communes)


async def create(
    session: AsyncSession, *, by: User, data: StructureInput, edition_id: int | None = None
) -> Structure:
    """An administrator, or an organiser for one of their editions (`edition_id`), creates a
    structure, approved at once by them."""
    if not permissions.is_admin(by):
        if edition_id is None or by.role != Role.ORGANISER:
            raise Forbidden("Only organisers and administrators create structures.")
        await permissions.require_organiser(session, by, await editions.get(session, edition_id))
    data = check(data)
    now = clock.now()
    structure = Structure(
        name=data.name,
        kind=data.kind,
        departement=data.departement,
        epci=data.epci,
        communes=data.communes,
        approved_at=now,
        approved_by_id=by.id,
        created_at=now,
        created_by_id=by.id,
    )
    session.add(structure)
    await session.flush()
    if edition_id is not None:
        session.add(
            StructureEdition(
                structure_id=structure.id,
                edition_id=edition_id,
                admitted_by_id=by.id,
                admitted_at=now,
            )
        )
        await session.flush()
    return structure


async def may_manage(session: AsyncSession, user: User, structure: Structure) -> bool:
    if permissions.is_admin(user):
        return True
    if user.role != Role.ORGANISER:
        return False
    query = select(
        exists().where(
            StructureEdition.structure_id == structure.id,
            EditionOrganiser.edition_id == StructureEdition.edition_id,
            EditionOrganiser.user_id == user.id,
        )
    )
    return bool(await session.scalar(query))


async def managed(session: AsyncSession, user: User, structure_id: int) -> Structure:
    """The structure, if `user` manages it; to anyone else it does not exist."""
    structure = await session.get(Structure, structure_id)
    if structure is None or not await may_manage(session, user, structure):
        raise NotYours("This structure does not exist.", code="structure.not_found")
    return structure


async def of_manager(session: AsyncSession, user: User) -> list[Structure]:
    """The structures `user` manages: all of them for an administrator."""
    query = select(Structure).order_by(Structure.name, Structure.id)
    if not permissions.is_admin(user):
        query = query.where(
            Structure.id.in_(
                select(StructureEdition.structure_id)
                .join(EditionOrganiser, EditionOrganiser.edition_id == StructureEdition.edition_id)
                .where(EditionOrganiser.user_id == user.id)
            )
        )
    return list(await session.scalars(query))


async def set_approved(
    session: AsyncSession, structure: Structure, *, by: User, approved: bool
) -> None:
    """Approve a structure, or withdraw its approval (its counsellors then act in nothing)."""
    if not await may_manage(session, by, structure):
        raise NotYours("This structure does not exist.", code="structure.not_found")
    structure.approved_at = clock.now() if approved else None
    structure.approved_by_id = by.id if approved else None
    await session.flush()


def is_approved(structure: Structure) -> bool:
    return structure.approved_at is not None


async def counsellors(session: AsyncSession, structure: Structure) -> list[User]:
    rows = await session.scalars(
        select(User)
        .join(StructureMember, StructureMember.user_id == User.id)
        .where(StructureMember.structure_id == structure.id)
        .order_by(User.name, User.id)
    )
    return list(rows)


async def add_counsellor(
    session: AsyncSession, *, by: User, structure: Structure, email: str, name: str
) -> User:
    """Add a counsellor to the structure: a new account (mailed a link to choose its password),
    or an existing counsellor's account (mailed that they now work for it too)."""
    if not await may_manage(session, by, structure):
        raise NotYours("This structure does not exist.", code="structure.not_found")
    user = await accounts.by_email(session, accounts.check_email(email))
    if user is None:
        user = await accounts.create_user(
            session, email=email, name=name, password=None, role=Role.COUNSELLOR
        )
        intro = _(
            "You are a counsellor of %(structure)s: you will accompany the candidates who agree "
            "to it.",
            user.locale,
            structure=structure.name,
        )
        await accounts.send_password_link(session, user, welcome=True, introduction=intro)
    elif user.role != Role.COUNSELLOR:
        message = "This address belongs to an account that is not a counsellor's."
        raise Conflict(message, code="structure.not_counsellor", fields={"email": message})
    elif await session.get(StructureMember, (structure.id, user.id)) is not None:
        message = "This counsellor already works for this structure."
        raise Conflict(message, code="structure.already_member", fields={"email": message})
    else:
        await _tell_added(session, user, structure)
    session.add(StructureMember(structure_id=structure.id, user_id=user.id, created_at=clock.now()))
    await session.flush()
    return user


async def _tell_added(session: AsyncSession, user: User, structure: Structure) -> None:
    body = _(
        "Hello %(name)s,\n\nYou are now a counsellor of %(structure)s on fair.\n",
        user.locale,
        name=user.name,
        structure=structure.name,
    )
    subject = _("You are a counsellor of %(structure)s", user.locale, structure=structure.name)
    await mail.queue(session, to=user.email, subject=subject, body=body)


async def of_counsellor(session: AsyncSession, user: User) -> list[Structure]:
    """The approved structures the counsellor works for."""
    rows = await session.scalars(
        select(Structure)
        .join(StructureMember, StructureMember.structure_id == Structure.id)
        .where(StructureMember.user_id == user.id, Structure.approved_at.is_not(None))
        .order_by(Structure.name, Structure.id)
    )
    return list(rows)


def territory(structure: Structure) -> str:
    """The territory in words: the département's name, with its EPCI or its communes."""
    parts = [f"{geo.departement_name(structure.departement)} ({structure.departement})"]
    if structure.epci:
        found = next((e for e in geo.epcis() if e.siren == structure.epci), None)
        parts.append(found.name if found else structure.epci)
    if structure.communes:
        parts.append(
            ", ".join(c.name for code in structure.communes if (c := geo.by_code(code)) is not None)
        )
    return " · ".join(parts)
