"""The job-search fields of the candidate's profile form (fair/web/job_search_form.py)."""

from __future__ import annotations

from datetime import date

from fair import db, job_search
from fair.enums import Contract, Transport, WorkingTime
from fair.job_search import JobSearch, Target
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import text


async def test_the_profile_form_saves_the_job_search(app, client, session) -> None:  # type: ignore[no-untyped-def]
    candidate = await f.candidate(session)
    await db.commit(session)
    client.cookies.set("lang", "fr")
    await login(client, candidate.email, f.PASSWORD)
    form = {
        "csrf_token": await csrf(client, "/me/profile"),
        "name": "Nadia Benali",
        "commune": "Lattes",
        "target_0": "Électricien / Électricienne du bâtiment",
        "target_1": "n1103",
        "target_2": "",
        "wanted_jobs": "Électricité, logistique",
        "contracts": ["cdi", "cdd"],
        "working_time": "full_time",
        "available_from": "2030-03-01",
        "max_distance_km": "20",
        "transport": "car",
        "skills": "Habilitation électrique, CACES 3",
    }
    refused = await client.post(
        "/me/profile",
        data=form | {"commune": "Gignac", "target_2": "astronaute", "max_distance_km": "9999"},
    )
    assert refused.status_code == 422
    shown = text(refused.text)
    assert (
        "Choisissez un métier de la liste : tapez son nom ou son code ROME (par exemple N1103)."
        in shown
    )
    assert "Plusieurs communes s'appellent Gignac" in shown
    assert "Indiquez un nombre entier entre 0 et 300." in shown
    assert 'value="cdd" checked' in refused.text
    saved = await client.post("/me/profile", data=form)
    assert saved.status_code == 303
    async with app.state.read_sessions() as read:
        found = await job_search.of(read, candidate.id)
    assert found == JobSearch(
        user_id=candidate.id,
        targets=(
            Target("F1602", "Électricien / Électricienne du bâtiment"),
            Target("N1103", "Préparateur / Préparatrice de commandes"),
        ),
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
    page = (await client.get("/me/profile")).text
    assert 'value="Préparateur / Préparatrice de commandes (N1103)"' in page
    assert 'value="car" selected' in page


async def test_a_job_chosen_in_the_suggestion_list(client, session, app) -> None:  # type: ignore[no-untyped-def]
    candidate = await f.candidate(session)
    await db.commit(session)
    await login(client, candidate.email, f.PASSWORD)
    page = (await client.get("/me/profile")).text
    assert 'data-combobox="/api/v1/rome/suggest" data-combobox-fill="f-target_0_code"' in page
    form = {
        "csrf_token": await csrf(client, "/me/profile"),
        "name": "Nadia",
        "target_0": "Agent / Agente de quai",  # an appellation's name, with the code chosen
        "target_0_code": "N1106",
        "target_1": "Cariste",  # typed without JavaScript: the ROME name
        "target_1_code": "",
    }
    assert (await client.post("/me/profile", data=form)).status_code == 303
    async with app.state.read_sessions() as read:
        found = await job_search.of(read, candidate.id)
    assert found.targets == (
        Target("N1106", "Agent / Agente de quai"),
        Target("N1101", "Cariste"),
    )
