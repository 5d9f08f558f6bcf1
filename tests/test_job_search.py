"""The candidate's job search (fair.job_search): target jobs as ROME codes, the home's place,
mobility, contracts, working time, start and skills; one owner for changes."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from fair import candidates, job_search, migrations
from fair.enums import Contract, Role, Transport, WorkingTime
from fair.errors import Forbidden, Invalid
from fair.job_search import JobSearch, Target, Wanted
from fair.models import JobSearchTarget
from tests import factories as f
from tests.sqlite_rows import insert_row


async def test_a_job_search_is_saved_and_read_back_with_its_home(session) -> None:  # type: ignore[no-untyped-def]
    user = await f.user(session, can_log_in=False)
    profile = candidates.ProfileInput(name="Nadia", phone="", commune="34970", wanted_jobs="")
    await candidates.update(session, user, data=profile)
    wanted = Wanted(
        targets=(
            Target("F1602", "Électricien / Électricienne du bâtiment"),
            Target("N1103", "Cariste", "11673"),
        ),
        max_distance_km=20,
        transport=Transport.CAR,
        contracts=frozenset({Contract.CDI, Contract.CDD}),
        working_time=WorkingTime.FULL_TIME,
        available_from=date(2030, 3, 1),
        skills=("Habilitation électrique", "CACES 3"),
    )
    await job_search.update(session, user, wanted=wanted)
    found = await job_search.of(session, user.id)
    assert found == JobSearch(
        user_id=user.id,
        targets=wanted.targets,
        commune_code="34129",
        latitude=found.latitude,
        longitude=found.longitude,
        max_distance_km=20,
        transport=Transport.CAR,
        contracts=frozenset({Contract.CDI, Contract.CDD}),
        working_time=WorkingTime.FULL_TIME,
        available_from=date(2030, 3, 1),
        skills=("Habilitation électrique", "CACES 3"),
    )
    assert (round(found.latitude or 0, 2), round(found.longitude or 0, 2)) == (43.57, 3.9)
    # One query for one candidate (2 targets × 2 contracts joined), three for many: the same.
    assert found == (await job_search.of_many(session, [user.id]))[user.id]


async def test_target_jobs_without_the_rest_read_back(session) -> None:  # type: ignore[no-untyped-def]
    """Target jobs without a profile row, as migration 0030 leaves them from the free text."""
    user = await f.user(session, can_log_in=False)
    session.add_all(
        [
            JobSearchTarget(
                user_id=user.id,
                position=1,
                rome_code="N1103",
                label="Magasinier",
                appellation_code="",
            ),  # fmt: skip
            JobSearchTarget(
                user_id=user.id, position=0, rome_code="N1101", label="Cariste", appellation_code=""
            ),  # fmt: skip
        ]
    )
    await session.flush()
    targets = (Target("N1101", "Cariste"), Target("N1103", "Magasinier"))
    assert await job_search.of(session, user.id) == JobSearch(user_id=user.id, targets=targets)
    assert await job_search.of_many(session, [user.id]) == {
        user.id: JobSearch(user_id=user.id, targets=targets)
    }


async def test_moving_home_and_replacing_the_search(session) -> None:  # type: ignore[no-untyped-def]
    user = await f.user(session, can_log_in=False)
    await candidates.update(session, user, data=candidates.ProfileInput("Nadia", "", "Lattes", ""))
    await job_search.update(
        session,
        user,
        wanted=Wanted(
            targets=(Target("N1103", "Cariste", "11673"),), contracts=frozenset({Contract.CDI})
        ),
    )
    await candidates.update(session, user, data=candidates.ProfileInput("Nadia", "", "Lunel", ""))
    await job_search.update(
        session, user, wanted=Wanted(targets=(Target("K1302", "Aide à domicile"),))
    )
    found = await job_search.of(session, user.id)
    assert (found.commune_code, found.codes, found.contracts) == ("34145", ("K1302",), frozenset())
    # The profile's commune moves the search's home (fair.candidates calls moved_home).
    await candidates.update(session, user, data=candidates.ProfileInput("Nadia", "", "Sète", ""))
    assert (await job_search.of(session, user.id)).commune_code == "34301"
    await candidates.update(session, user, data=candidates.ProfileInput("Nadia", "", "", ""))
    assert (await job_search.of(session, user.id)).commune_code == ""


async def test_refusals(session) -> None:  # type: ignore[no-untyped-def]
    user = await f.user(session, can_log_in=False)
    bad = Wanted(
        targets=(Target("Z9999", "Nothing"),),
        max_distance_km=301,
        skills=("x" * 81,),
    )
    with pytest.raises(Invalid) as refused:
        await job_search.update(session, user, wanted=bad)
    assert (refused.value.code, refused.value.fields) == (
        "job_search.invalid",
        {
            "targets": "Choose the jobs in the list of job names.",
            "max_distance_km": "Enter a distance between 0 and 300 km.",
            "skills": "Write each skill in 80 characters at most.",
        },
    )
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    with pytest.raises(Forbidden):
        await job_search.update(session, recruiter, wanted=Wanted())
    assert await job_search.of(session, user.id) == JobSearch(user_id=user.id)


def test_typed_jobs_and_skills() -> None:
    electrician = Target("F1602", "Électricien / Électricienne du bâtiment")
    assert job_search.target_from_text("Électricien du bâtiment (f1602)") == electrician
    assert job_search.target_from_text("electricien / electricienne du BATIMENT") == electrician
    assert job_search.target_from_text("électricien") is None
    assert job_search.target_from_text("Z1234") is None
    assert job_search.skills_from_text("CACES 3, caces 3; Permis B\n\n") == ("CACES 3", "Permis B")


def test_the_free_text_of_jobs_wanted_becomes_target_jobs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration 0030: the ROME codes and names the old free text gives become targets."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url, "0029")
    with sqlite3.connect(path) as connection:
        insert_row(connection, "users", id=1, email="a@example.fr")
        insert_row(connection, "users", id=2, email="b@example.fr")
        wanted = "Cariste\nF1602, plombier ; aide-soignant / aide-soignante\nn1101"
        insert_row(connection, "candidate_profiles", user_id=1, wanted_jobs=wanted)
        insert_row(connection, "candidate_profiles", user_id=2, wanted_jobs="du travail")
    migrations.upgrade(url, "0030")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT user_id, position, rome_code, label FROM job_search_targets"
            " ORDER BY user_id, position"
        ).fetchall()
        kept = connection.execute("SELECT wanted_jobs FROM candidate_profiles").fetchall()
    assert rows == [
        (1, 0, "N1101", "Cariste"),
        (1, 1, "F1602", "Électricien / Électricienne du bâtiment"),
        (1, 2, "J1501", "Aide-soignant / Aide-soignante"),
    ]
    assert kept == [(wanted,), ("du travail",)]
