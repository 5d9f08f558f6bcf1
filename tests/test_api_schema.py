"""The public API against its own OpenAPI document (issue 14 item 10): schemathesis generates
requests for every operation of /api/v1/openapi.json, valid ones and invalid ones, sends them
to the app served by uvicorn (tests/live_server.py) on a seeded database, and checks each
answer: no server error, and a status code, content type, headers and body the document
declares.

Each operation is asked with generated values, then with the seed's ids in its path and a
partner key carrying every scope (so that what exists is read too), then with requests the
document forbids. A bounded number of examples keeps the module under a minute.

Schemathesis's pytest integration (`schemathesis.pytest.from_fixture`) does not run under
pytest 9 (it reads `Function._nodeid`): the operations are parametrized here and each is run
as a Hypothesis test through schemathesis's Python API (`APIOperation.as_strategy`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fair import api, api_keys, clock, db, network, webconferences
from fair import settings as fair_settings
from fair.enums import ApiScope, Role
from tests import factories as f
from tests.live_server import Server, run_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 10  # per operation and kind of request
# The document as the app serves it, read at collection: one test per operation.
SCHEMA = schemathesis.openapi.from_dict(api.DOCUMENT)
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}
# Defects found and left open: an operation's label and its xfail mark (none today).
KNOWN: dict[str, pytest.MarkDecorator] = {}


@dataclass(frozen=True)
class Seeded:
    url: str  # the API's base: http://127.0.0.1:<port>/api/v1
    ids: dict[str, int]  # a path parameter's name: an id that exists
    key: str  # a partner key of the edition and booth, with every scope


async def _seed(server: Server) -> tuple[dict[str, int], str]:
    """A published edition (and a draft one), three booths with two offers and a talk each,
    a partner key; the ids, and the key's text."""
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
            edition = await f.edition(session, by=organiser)
            await f.edition(session, by=organiser, publish=False, title="Brouillon")
            for n in range(3):
                booth, recruiter = await f.booth(session, edition_=edition)
                for title in ("Cariste (H/F)", "Électricien du bâtiment (H/F)"):
                    offer = await f.offer(session, booth_=booth, title=f"{title} {n}")
                starts = f.day_at(f.TOMORROW, 9 + n)
                await webconferences.schedule(
                    session,
                    by=recruiter,
                    edition=edition,
                    booth=booth,
                    data=f.talk(
                        [recruiter], starts_at=starts, ends_at=starts + timedelta(minutes=45)
                    ),
                )
            _key, text = await api_keys.create(
                session,
                edition=edition,
                name="Partenaire",
                scopes=list(ApiScope),
                booth_id=booth.id,
                by=organiser,
                network=True,
            )
            # The network's scopes act only for an active partner's key: this one is.
            partner, _issued = await network.register(
                session,
                edition=edition,
                base_url="http://127.0.0.1/partner",
                territory="Partenaire",
                key=text,
                by=organiser,
            )
            partner.our_key_id = _key.id
            await session.commit()
            ids = {"edition_id": edition.id, "booth_id": booth.id, "offer_id": offer.id}
            return ids, text
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    clock.set_now(f.NOON)  # the server is a thread of this process: the same clock
    try:
        with run_server(tmp_path_factory, "api_schema") as server:
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                ids, key = pool.submit(asyncio.run, _seed(server)).result(timeout=60)
            served = httpx.get(f"{server.url}/api/v1/openapi.json").json()
            assert served == json.loads(json.dumps(api.DOCUMENT))  # what is tested is served
            yield Seeded(f"{server.url}/api/v1", ids, key)
    finally:
        clock.set_now(None)
        fair_settings.override(fair_settings.load({}))


@pytest.mark.parametrize(
    "label", [pytest.param(label, marks=KNOWN.get(label, ())) for label in sorted(OPERATIONS)]
)
def test_every_answer_conforms_to_the_document(seeded: Seeded, label: str) -> None:
    operation = OPERATIONS[label]
    names = {p.name for p in operation.path_parameters}
    existing = operation.as_strategy(
        path_parameters={name: seeded.ids[name] for name in names},
        headers={"Authorization": f"Bearer {seeded.key}"},
    )
    kinds = {
        "generated": operation.as_strategy(),
        "existing": existing,
        "forbidden": operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    }
    for strategy in kinds.values():

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=seeded.url, checks=CHECKS)

        run()
