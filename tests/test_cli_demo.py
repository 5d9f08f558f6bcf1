"""The `fair` command, run for real as a subprocess, and the demo fair it seeds and serves."""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from fair import cv_pool, db, demo, editions, rome
from fair.enums import EditionStatus
from fair.models import User

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
CLEARED = ("DATABASE_URL", "BROADCAST_URL", "SECRET_KEY", "BASE_URL", "FAIR_ENV", "SMTP_HOST")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({"FAIR_DATA_DIR": str(data_dir), "FAIR_ENV": "test", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def fair(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fair", *args],
        env=_env(data_dir, **extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


# The recruiters of the demo's interview booths (demo.INTERVIEW_BOOTHS); the history books a few
# interviews of its own at other booths for the coming days.
DEMO_RECRUITERS = ("recruteur@demo.fair", "recruteur01@demo.fair", "recruteur05@demo.fair")


def _now() -> str:
    """Now as SQLite stores the app's UTC times, to compare with them."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_data_is_consistent() -> None:
    assert len(demo.EMPLOYERS) == 40
    assert len({e.name for e in demo.EMPLOYERS}) == 40
    for employer in demo.EMPLOYERS:
        assert rome.normalize_naf(employer.naf) == employer.naf, employer.name
        assert all(rome.job(code) for code in employer.jobs), employer.name
        assert {code[0] for code in employer.jobs} <= set(demo.MISSIONS), employer.name


def test_migrate_then_create_admin(tmp_path: Path) -> None:
    migrated = fair(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    args = ("create-admin", "--email", "Root@Example.fr", "--name", "Root", "--password")
    created = fair(tmp_path, *args, "a-long-password")
    assert (created.returncode, created.stdout) == (0, "Administrator created: root@example.fr\n")
    with sqlite3.connect(tmp_path / "fair.db") as conn:
        rows = conn.execute("SELECT email, name, role, is_active FROM users").fetchall()
    assert rows == [("root@example.fr", "Root", "admin", 1)]
    again = fair(tmp_path, *args, "a-long-password")
    assert again.returncode == 1
    assert again.stderr == (
        "fair: An account already uses this e-mail address. Log in or reset your password.\n"
    )


def test_create_admin_name_is_one_line(tmp_path: Path) -> None:
    assert fair(tmp_path, "migrate").returncode == 0
    args = ("create-admin", "--email", "root@example.fr\r\n", "--name", "Root\r\nBcc: x@y.fr")
    created = fair(tmp_path, *args, "--password", "a-long-password")
    assert (created.returncode, created.stdout) == (0, "Administrator created: root@example.fr\n")
    with sqlite3.connect(tmp_path / "fair.db") as conn:
        rows = conn.execute("SELECT email, name FROM users").fetchall()
    assert rows == [("root@example.fr", "Root Bcc: x@y.fr")]


def test_create_admin_before_migrate_says_so(tmp_path: Path) -> None:
    result = fair(
        tmp_path, "create-admin", "--email", "a@b.fr", "--name", "A", "--password", "x" * 12
    )
    assert result.returncode == 2
    assert result.stderr.startswith("fair: cannot use the database at sqlite+aiosqlite:///")
    assert result.stderr.endswith("no such table: users; run `fair migrate` first\n")


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One `fair seed-demo` run (seeding hashes a password per account: seconds), shared."""
    data_dir = tmp_path_factory.mktemp("seeded")
    return data_dir, fair(data_dir, "seed-demo")


async def test_seed_demo(seeded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    data_dir, result = seeded
    assert result.returncode == 0, result.stderr
    assert "recruteur@demo.fair" in result.stdout and demo.PASSWORD in result.stdout
    with sqlite3.connect(data_dir / "fair.db") as conn:
        # This year's edition (the last created); last year's comes first (test_demo_history).
        (current,) = conn.execute("SELECT max(id) FROM editions").fetchone()
        offers = conn.execute(
            "SELECT count(*) FROM offers WHERE published AND edition_id = ?", (current,)
        ).fetchone()[0]
        booths = Counter(
            s for (s,) in conn.execute("SELECT status FROM booths WHERE edition_id = ?", (current,))
        )
        fts = conn.execute(
            "SELECT count(*) FROM offers_fts JOIN offers o ON o.id = offers_fts.rowid"
            " WHERE o.edition_id = ?",
            (current,),
        ).fetchone()[0]
    assert (offers, booths, fts) == (600, {"approved": 40}, 600)
    with sqlite3.connect(data_dir / "fair.db") as conn:
        # This year's edition wears its brand (fair.demo_brand): colour, logo, banner, partners,
        # each image in its sizes; every recruiter has a job title and a photo.
        brand = conn.execute(
            "SELECT colour, text_colour, logo_file_id, banner_file_id FROM edition_brands"
            " WHERE edition_id = ?",
            (current,),
        ).fetchone()
        partners = conn.execute(
            "SELECT name, link, logo_file_id IS NOT NULL FROM edition_partners"
            " WHERE edition_id = ? ORDER BY position",
            (current,),
        ).fetchall()
        logo_sizes = conn.execute(
            "SELECT width, format FROM image_variants WHERE file_id = ? ORDER BY width, format",
            (brand[2],),
        ).fetchall()
        profiles = conn.execute(
            "SELECT u.email, p.job_title, f.kind FROM recruiter_profiles p"
            " JOIN users u ON u.id = p.user_id JOIN stored_files f ON f.id = p.photo_file_id"
            " ORDER BY u.email"
        ).fetchall()
    assert brand[:2] == ("#0d6b6e", "#ffffff") and None not in brand
    assert partners == [
        ("Garrigues et Lez Métropole", "https://garrigues-et-lez.example.fr", 1),
        ("France Travail", "https://www.francetravail.fr", 1),
        ("Mission locale", "", 1),
        ("Cap emploi", "", 1),
        ("Département de l'Hérault", "https://herault.fr", 1),
    ]
    assert logo_sizes == [(96, "png"), (96, "webp"), (192, "png"), (192, "webp")]
    by_email = {email: (title, kind) for email, title, kind in profiles}
    assert len(by_email) == 40
    assert by_email[demo.RECRUITER] == ("Responsable du recrutement", "photo")
    assert by_email["recruteur01@demo.fair"] == ("Responsable des ressources humaines", "photo")
    with sqlite3.connect(data_dir / "fair.db") as conn:
        # What is still to come: the slots, interviews and talks of the history have passed.
        slots = dict(
            conn.execute(
                "SELECT e.name, count(*) FROM interview_slots s JOIN booths b ON b.id = s.booth_id"
                " JOIN employers e ON e.id = b.employer_id JOIN users u ON u.id = s.staff_id"
                " WHERE s.starts_at > ? AND u.email IN (?, ?, ?) GROUP BY e.name",
                (_now(), *DEMO_RECRUITERS),
            ).fetchall()
        )
        booked = sorted(
            conn.execute(
                "SELECT u.email, i.status, i.mode FROM interviews i"
                " JOIN users u ON u.id = i.candidate_id"
                " WHERE i.starts_at > ? AND u.email NOT LIKE 'personne%'",
                (_now(),),
            ).fetchall()
        )
        mine = sorted(
            conn.execute(
                "SELECT e.name, a.status FROM applications a JOIN users u ON u.id = a.candidate_id"
                " JOIN booths b ON b.id = a.booth_id JOIN employers e ON e.id = b.employer_id"
                " WHERE u.email = 'candidate@demo.fair'"
            ).fetchall()
        )
        talks = conn.execute(
            "SELECT w.title, w.capacity, w.status, count(r.id) FROM webconferences w"
            " LEFT JOIN webconference_registrations r ON r.webconference_id = w.id"
            " WHERE w.status = 'scheduled' GROUP BY w.id ORDER BY w.starts_at"
        ).fetchall()
        registered = sorted(
            title
            for (title,) in conn.execute(
                "SELECT w.title FROM webconference_registrations r"
                " JOIN webconferences w ON w.id = r.webconference_id"
                " JOIN users u ON u.id = r.candidate_id"
                " WHERE u.email = 'candidate@demo.fair' AND r.status = 'registered'"
            )
        )
    assert slots == {
        "Lez Électricité Services": 8,
        "Garrigues Bâtiment": 8,
        "Clinique des Garrigues": 8,
    }
    assert booked == [
        ("candidat01@demo.fair", "booked", "video"),
        ("candidat02@demo.fair", "booked", "chat"),
        ("candidat03@demo.fair", "pending", "phone"),
        ("candidate@demo.fair", "booked", "phone"),
    ]
    assert mine == [
        ("Clinique des Garrigues", "shortlisted"),
        ("Garrigues Bâtiment", "interview_proposed"),
        ("Lez Électricité Services", "interview_scheduled"),
    ]
    assert talks == [
        ("Réussir son entretien d'embauche", 300, "scheduled", 4),
        ("Les métiers qui recrutent dans le BTP", 120, "scheduled", 1),
        ("Alternance : mode d'emploi", 150, "scheduled", 0),
        ("Travailler dans la logistique", 80, "scheduled", 0),
        ("Les métiers du soin et de l'accompagnement", 80, "scheduled", 0),
    ]
    assert registered == [
        "Les métiers qui recrutent dans le BTP",
        "Réussir son entretien d'embauche",
    ]
    with sqlite3.connect(data_dir / "fair.db") as conn:
        # Counsellors and the CV pool (fair.demo_pool).
        structures = conn.execute(
            "SELECT s.name, s.kind, s.approved_at IS NOT NULL, u.email FROM structures s"
            " JOIN structure_editions se ON se.structure_id = s.id AND se.edition_id = ?"
            " JOIN structure_members m ON m.structure_id = s.id JOIN users u ON u.id = m.user_id"
            " ORDER BY s.id",
            (current,),
        ).fetchall()
        followed = conn.execute(
            "SELECT u.email, a.consent_via FROM accompaniments a"
            " JOIN users u ON u.id = a.candidate_id JOIN users c ON c.id = a.counsellor_id"
            " WHERE c.email = 'conseillere@demo.fair' AND a.consent_at IS NOT NULL"
            " AND a.ended_at IS NULL ORDER BY a.id"
        ).fetchall()
        pooled = conn.execute(
            "SELECT u.email, p.level FROM pool_consents p JOIN users u ON u.id = p.user_id"
            " WHERE p.active_key = 1 AND p.ends_at > ? ORDER BY p.level",
            (_now(),),
        ).fetchall()
        cv_in_person = conn.execute(
            "SELECT count(*) FROM stored_files f JOIN users u ON u.id = f.owner_id"
            " WHERE u.name = 'Bernard Vidal' AND f.kind = 'cv'"
        ).fetchone()[0]
    assert structures == [
        ("Mission locale Garrigues et Lez", "mission_locale", 1, "conseillere@demo.fair"),
        ("Garrigues Intérim", "temporary_work", 1, "agence@demo.fair"),
    ]
    assert followed[0] == ("candidate@demo.fair", "candidate")
    assert re.fullmatch(r"bernard\.vidal\.\d{4}@sans-adresse\.invalid", followed[1][0])
    assert (len(followed), followed[1][1], cv_in_person) == (2, "in_person", 1)
    assert pooled == [
        ("candidate@demo.fair", 1),
        ("candidat01@demo.fair", 2),
        ("candidat02@demo.fair", 3),
    ]
    assert "conseillere@demo.fair" in result.stdout and "agence@demo.fair" in result.stdout
    engine = db.create_engine(f"sqlite+aiosqlite:///{data_dir / 'fair.db'}")
    try:
        async with db.sessionmaker(engine)() as session:
            edition = await demo.find(session)
            assert edition is not None
            assert editions.status_at(edition) == EditionStatus.LIVE
            # The pool's profiles have CVs with a text layer: the agency's counsellor finds
            # the two opened to partners by the words of their CV (the third is for the
            # edition's recruiters only).
            agent = await session.scalar(select(User).where(User.email == "agence@demo.fair"))
            viewer = await cv_pool.viewer_of(session, agent)
            assert viewer is not None

            async def found(words: str) -> list[str]:
                query = cv_pool.PoolQuery(q=words)
                page = await cv_pool.search(session, viewer=viewer, query=query)
                return [p.excerpt for p in page.profiles]

            [cariste] = await found("CACES cariste")
            assert "CACES R489 catégorie 3" in cariste and "Haddad" not in cariste
            [soins] = await found("aide-soignante EHPAD")
            assert "aide-soignante de nuit en EHPAD à Lunel" in soins
            assert await found("électricienne") == []
    finally:
        await engine.dispose()


def _by_edition(conn: sqlite3.Connection, query: str) -> dict[int, dict[str, int]]:
    """{edition id: {key: count}} from rows (edition id, key, count)."""
    found: dict[int, dict[str, int]] = {}
    for edition, key, n in conn.execute(query):
        found.setdefault(edition, {})[key] = n
    return found


def test_demo_history(seeded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """Last year's edition and this year's carry a history in every table the organiser's
    dashboard reads (fair.demo_history): each figure below must be there, and plausible."""
    data_dir, result = seeded
    assert result.returncode == 0, result.stderr
    now = _now()
    with sqlite3.connect(data_dir / "fair.db") as conn:
        editions_ = conn.execute(
            "SELECT e.id, e.title, e.territory, e.created_by_id, min(d.day), max(d.day),"
            " e.published_at FROM editions e JOIN live_days d ON d.edition_id = e.id"
            " GROUP BY e.id ORDER BY e.id"
        ).fetchall()
        (past, *_), (current, *_) = editions_
        assert [e[1][-4:] for e in editions_] == [
            str(int(editions_[1][1][-4:]) - 1),
            editions_[1][1][-4:],
        ]
        assert editions_[0][2:4] == editions_[1][2:4]  # same territory, same organiser
        assert editions_[0][5] < now[:10] <= editions_[1][5]
        registered = dict(
            conn.execute("SELECT edition_id, count(*) FROM edition_candidates GROUP BY 1")
        )
        days_before = dict(
            conn.execute(
                "SELECT c.edition_id, count(DISTINCT date(c.registered_at))"
                " FROM edition_candidates c JOIN editions e ON e.id = c.edition_id"
                " WHERE c.registered_at < (SELECT min(day) FROM live_days d"
                " WHERE d.edition_id = e.id) AND c.registered_at > e.published_at GROUP BY 1"
            )
        )
        late = conn.execute(
            "SELECT count(*) FROM edition_candidates WHERE registered_at > ?", (now,)
        ).fetchone()[0]
        views = _by_edition(
            conn,
            "SELECT edition_id, CASE WHEN offer_id IS NULL THEN 'booth' ELSE 'offer' END,"
            " sum(views) FROM page_views GROUP BY 1, 2",
        )
        active = dict(
            conn.execute("SELECT edition_id, count(DISTINCT user_id) FROM active_days GROUP BY 1")
        )
        statuses = _by_edition(
            conn, "SELECT edition_id, status, count(*) FROM applications GROUP BY 1, 2"
        )
        held = _by_edition(
            conn,
            "SELECT b.edition_id, i.status, count(*) FROM interviews i"
            " JOIN booths b ON b.id = i.booth_id GROUP BY 1, 2",
        )
        modes = dict(
            conn.execute(
                "SELECT b.edition_id, count(DISTINCT i.mode) FROM interviews i"
                " JOIN booths b ON b.id = i.booth_id WHERE i.status = 'held' GROUP BY 1"
            )
        )
        queued = _by_edition(
            conn,
            "SELECT b.edition_id, q.status, count(*) FROM queue_entries q"
            " JOIN booths b ON b.id = q.booth_id GROUP BY 1, 2",
        )
        talked = dict(
            conn.execute(
                "SELECT b.edition_id, count(*) FROM conversations c JOIN booths b"
                " ON b.id = c.booth_id WHERE c.ended_at > c.started_at GROUP BY 1"
            )
        )
        talks = _by_edition(
            conn,
            "SELECT w.edition_id, 'watched', count(DISTINCT a.user_id)"
            " FROM webconferences w JOIN webconference_attendances a"
            " ON a.webconference_id = w.id WHERE w.status = 'ended' AND a.left_at IS NOT NULL"
            " GROUP BY 1 UNION ALL SELECT w.edition_id, 'questions', count(*)"
            " FROM webconferences w JOIN webconference_questions q"
            " ON q.webconference_id = w.id GROUP BY 1",
        )
        declared = conn.execute("SELECT count(*) FROM priority_declarations").fetchone()[0]
        hires = _by_edition(
            conn, "SELECT edition_id, hired, count(*) FROM hire_confirmations GROUP BY 1, 2"
        )
        reports = _by_edition(
            conn, "SELECT edition_id, found, count(*) FROM job_reports GROUP BY 1, 2"
        )
        answers = _by_edition(
            conn, "SELECT edition_id, role, count(*) FROM survey_answers GROUP BY 1, 2"
        )
        mailings = sorted(conn.execute("SELECT edition_id, kind FROM edition_mailings"))
    assert registered[past] >= 60 and registered[current] >= 70, registered
    assert days_before[past] >= 15 and days_before[current] >= 15, days_before
    assert late == 0
    for edition in (past, current):
        assert views[edition]["booth"] > 500 and views[edition]["offer"] > 500, views
        assert active[edition] >= 40, active
        assert {"submitted", "shortlisted", "not_retained", "hired", "no_show"} <= set(
            statuses[edition]
        ), statuses
        assert held[edition]["held"] >= 8 and held[edition]["no_show"] >= 1, held
        assert modes[edition] == 3
        assert queued[edition]["done"] >= 10 and queued[edition]["left"] >= 1, queued
        assert talked[edition] == queued[edition]["done"]
        assert talks[edition]["watched"] >= 8 and talks[edition]["questions"] >= 1, talks
    # Last year's interviews were held, missed, or never recorded (booked); none is pending.
    assert "pending" not in held[past] and held[past]["booked"] >= 1
    assert declared >= 70
    # Last year's survey and J+30 follow-up went out and were answered; this year's not yet.
    assert mailings == [
        (past, "follow_up_30"),
        (past, "follow_up_30:booths"),
        (past, "follow_up_30:c0"),
        (past, "survey"),
    ]
    assert set(hires) == set(reports) == set(answers) == {past}
    assert hires[past][1] >= 3 and reports[past][1] >= 10 and reports[past][0] >= 5, (
        hires,
        reports,
    )
    assert answers[past]["candidate"] >= 15 and answers[past]["recruiter"] >= 4, answers


def test_seed_demo_twice_is_refused(seeded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    again = fair(seeded[0], "seed-demo")
    assert (again.returncode, again.stderr) == (
        1,
        "fair: this database already holds the demo accounts\n",
    )


def test_production_refuses_the_default_secret_key(tmp_path: Path) -> None:
    result = fair(tmp_path, "migrate", FAIR_ENV="production")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "fair: configuration error: SECRET_KEY must be set to a random string"
    )
    assert "Traceback" not in result.stderr


def test_serve_fails_fast_without_redis(tmp_path: Path) -> None:
    started = time.monotonic()
    result = fair(
        tmp_path, "serve", "--port", str(_free_port()), BROADCAST_URL="redis://127.0.0.1:1"
    )
    assert time.monotonic() - started < 15
    assert result.returncode == 2
    assert result.stderr.startswith(
        "fair: Cannot reach Redis at redis://127.0.0.1:1 (BROADCAST_URL)"
    )
    assert len(result.stderr.splitlines()) == 1


# The organiser's pages about an edition (issue 12): each answers for both demo editions.
ORGANISER_PAGES = ("", "/activity", "/compare", "/outcomes", "/satisfaction", "/health", "/exports")


def _organiser_pages(base: str, database: Path) -> None:
    """The demo organiser sees every insight page of last year's and this year's edition, and
    the dashboard counts the registered candidates the database holds."""
    with sqlite3.connect(database) as conn:
        registered = dict(
            conn.execute("SELECT edition_id, count(*) FROM edition_candidates GROUP BY 1")
        )
    with httpx.Client(base_url=base, timeout=30) as client:
        token = CSRF.findall(client.get("/login").text)[0]
        credentials = {"email": demo.ORGANISER, "password": demo.PASSWORD}
        assert client.post("/login", data={"csrf_token": token, **credentials}).status_code == 303
        for edition, count in registered.items():
            for page in ORGANISER_PAGES:
                found = client.get(f"/organiser/editions/{edition}{page}")
                assert found.status_code == 200, (edition, page, found.status_code)
                if page == "":
                    assert f">{count}<" in found.text.replace(" ", ""), (edition, count)


def _start_demo(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fair", "demo", "--port", str(port)],
        env=_env(data_dir),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(process: subprocess.Popen[str], url: str, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready after {timeout} s")


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    try:
        return process.communicate(timeout=15)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0]


def test_demo_serves_the_live_edition(
    seeded: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    # The demo keeps a live edition it finds in var/demo.db rather than seeding again (seeding
    # itself is what seed-demo ran above).
    shutil.copy(seeded[0] / "fair.db", tmp_path / "demo.db")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start_demo(tmp_path, port)
    try:
        home = _wait_ready(process, base + "/")
        slug = "rencontres-pour-l-emploi-" + home.text.split("rencontres-pour-l-emploi-")[1][:4]
        assert "Rencontres pour l&#39;emploi" in home.text
        assert f'href="/e/{slug}"' in home.text
        landing = html.unescape(httpx.get(f"{base}/e/{slug}", timeout=10).text)
        assert f'<link rel="stylesheet" href="/e/{slug}/brand.css?v=' in landing
        assert "alt=\"Logo de Rencontres pour l'emploi" in landing
        assert landing.count('class="edition-banner"') == 1
        for partner in demo.DATA["edition"]["brand"]["partners"]:
            assert f'alt="{partner["name"]}"' in landing, partner["name"]
        found = httpx.get(f"{base}/e/{slug}/offers", params={"q": "electricien"}, timeout=10)
        assert found.status_code == 200
        assert found.text.count('<li class="card">') >= 10
        assert "Électricien / Électricienne du bâtiment (H/F)" in found.text
        programme = httpx.get(f"{base}/e/{slug}/programme", timeout=10)
        assert programme.status_code == 200
        listed = html.unescape(programme.text)
        for talk in demo.TALKS:
            assert talk.title in listed, talk.title
        assert "Avec Karim Benali, Claire Fabre" in listed
        with httpx.Client(base_url=base, timeout=10) as client:
            token = CSRF.findall(client.get("/login").text)[0]
            credentials = {"email": demo.CANDIDATE, "password": demo.PASSWORD}
            logged_in = client.post("/login", data={"csrf_token": token, **credentials})
            assert logged_in.status_code == 303
            agenda = client.get("/me/interviews")
        assert agenda.status_code == 200
        text = " ".join(re.sub(r"<[^>]+>", " ", html.unescape(agenda.text)).split())
        # Booked on the third phone slot of the next day; invited by Garrigues Bâtiment.
        booked = r"Lez Électricité Services Réservé \w+ \d+ \w+ \d{4}, 10:20–10:50 Téléphone"
        assert re.search(booked, text), text
        assert re.search(r"Garrigues Bâtiment — [^—]+ \(H/F\) Choisissez un créneau", text), text
        _organiser_pages(base, tmp_path / "demo.db")
    finally:
        output = _stop(process)
        print(output[-20000:])  # the server's log, shown by pytest when the test failed
    assert "Seeding" not in output
    assert f"Demo fair: {base}/" in output and f"{base}/e/{slug}" in output
    assert "candidate@demo.fair" in output and demo.PASSWORD in output
