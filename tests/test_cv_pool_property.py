"""A property of the CV pool (fair.cv_pool): over random consents (levels, editions, periods,
renewals, withdrawals, time passing), a profile is found and opened by exactly the viewers its
consent in force lets in, never outside its level, after withdrawal or after expiry.

The expected audience is written here from the setting (who staffs which booth, which agency is
admitted where), not from fair.cv_pool's own viewers. One setting per backend, shared by the
examples (a fixed number: the test must stay lean on both databases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, cv_pool
from fair.enums import PoolLevel, StructureKind
from fair.errors import Invalid, NotFound
from fair.models import CvText
from tests import factories as f
from tests.pool_setup import World, agency, world

EDITIONS = ("montpellier", "montpellier2", "lyon")
TERRITORY = {"montpellier": "mtp", "montpellier2": "mtp", "lyon": "lyon"}
# Who each viewer is, written from the setting: the editions where they staff an approved booth,
# the territories they belong to (their booths' editions', their agency's editions'), the network.
REACH: dict[str, tuple[set[str], set[str], bool]] = {
    "montpellier": ({"montpellier"}, {"mtp"}, True),
    "montpellier2": ({"montpellier2"}, {"mtp"}, True),
    "lyon": ({"lyon"}, {"lyon"}, True),
    "pending": (set(), set(), False),  # a booth awaiting approval
    "archived": (set(), set(), False),  # an approved booth of an archived edition
    "agency_mtp": (set(), {"mtp"}, True),  # an approved temporary-work agency
    "agency_unapproved": (set(), set(), False),
    "mission_locale": (set(), set(), False),  # a counsellor, not an agency
    "partner": (set(), set(), True),  # a partner platform of the network
}

actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("give"),
            st.sampled_from(list(PoolLevel)),
            st.sampled_from([1, 3, 6, 12, 13]),
            st.sampled_from([*EDITIONS, None]),
        ),
        st.tuples(st.just("renew"), st.sampled_from([1, 12])),
        st.tuples(st.just("withdraw")),
        st.tuples(st.just("wait"), st.integers(min_value=0, max_value=400)),
        # To the consent's end, a second before or after: where an off-by-one would show.
        st.tuples(st.just("to_end"), st.sampled_from([-1, 0, 1])),
    ),
    min_size=1,
    max_size=6,
)


@dataclass
class Model:
    """The consent in force as the test understands it."""

    level: int = 0
    edition: str | None = None
    starts: datetime | None = None
    ends: datetime | None = None


def expected(model: Model, now: datetime) -> set[str]:
    if model.ends is None or model.starts is None or not model.starts <= now < model.ends:
        return set()
    seen = set()
    for name, (editions, territories, network) in REACH.items():
        territory = TERRITORY.get(model.edition or "")
        if (
            model.edition in editions
            or (model.level >= 2 and territory in territories)
            or (model.level >= 3 and network)
        ):
            seen.add(name)
    return seen


async def _viewers(session: AsyncSession, w: World) -> dict[str, cv_pool.Viewer | None]:
    people = dict(w.recruiters)
    people["agency_mtp"] = await agency(session, admitted=(w.montpellier2,))
    people["agency_unapproved"] = await agency(session, admitted=(w.montpellier,), approved=False)
    people["mission_locale"] = await agency(
        session, admitted=(w.montpellier,), kind=StructureKind.MISSION_LOCALE
    )
    viewers = {name: await cv_pool.viewer_of(session, user) for name, user in people.items()}
    viewers["partner"] = cv_pool.Viewer.partner("Plateforme partenaire")
    return viewers


_settings: dict[int, tuple[World, dict[str, cv_pool.Viewer | None], str]] = {}


async def _setting(
    session: AsyncSession,
) -> tuple[World, dict[str, cv_pool.Viewer | None], str]:
    if id(session) not in _settings:
        clock.set_now(f.NOON)
        w = await world(session)
        viewers = await _viewers(session, w)
        assert w.candidate is not None
        ref = await session.scalar(select(CvText.ref).where(CvText.user_id == w.candidate.id))
        _settings.clear()
        _settings[id(session)] = (w, viewers, str(ref))
    return _settings[id(session)]


async def _seen(
    session: AsyncSession, viewers: dict[str, cv_pool.Viewer | None], ref: str
) -> tuple[set[str], set[str]]:
    """Who finds the profile in a search, and who can open it."""
    found, opened = set(), set()
    for name, viewer in viewers.items():
        if viewer is None:
            continue
        page = await cv_pool.search(
            session, viewer=viewer, query=cv_pool.PoolQuery(q="électricien")
        )
        if [p.ref for p in page.profiles] == [ref]:
            found.add(name)
        try:
            await cv_pool.open_profile(session, viewer=viewer, ref=ref)
            opened.add(name)
        except NotFound:
            pass
    return found, opened


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=actions)
async def test_a_profile_is_seen_only_within_its_consent(session, steps) -> None:  # type: ignore[no-untyped-def]
    w, viewers, ref = await _setting(session)
    assert w.candidate is not None
    clock.set_now(f.NOON)
    await cv_pool.withdraw(session, w.candidate)
    model = Model()
    editions = {"montpellier": w.montpellier, "montpellier2": w.montpellier2, "lyon": w.lyon}
    for step in steps:
        now = clock.now()
        if step[0] == "wait":
            clock.set_now(now + timedelta(days=step[1]))
        elif step[0] == "to_end":
            if model.ends is not None and model.ends + timedelta(seconds=step[1]) > now:
                clock.set_now(model.ends + timedelta(seconds=step[1]))
        elif step[0] == "withdraw":
            await cv_pool.withdraw(session, w.candidate)
            model = Model()
        elif step[0] == "give":
            _, level, months, name = step
            valid = months <= 12 and (name is not None or level == PoolLevel.NETWORK)
            edition_id = editions[name].id if name else None
            try:
                await cv_pool.give(
                    session, w.candidate, level=level, months=months, edition_id=edition_id
                )
            except Invalid:
                assert not valid
                continue
            assert valid
            model = Model(int(level), name, now, cv_pool.add_months(now, months))
        else:
            renewable = model.starts is not None
            try:
                await cv_pool.renew(session, w.candidate, months=step[1])
            except Invalid:
                assert not renewable
                continue
            assert renewable
            model = Model(model.level, model.edition, now, cv_pool.add_months(now, step[1]))
    want = expected(model, clock.now())
    assert await _seen(session, viewers, ref) == (want, want)
