"""Personal data rights: every personal table declared (fair.personal_data), the download of all
one's data (fair.data_export), deleting one's account with the figures unchanged
(fair.erasure), and the retention rule (fair.retention)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from fair import (
    accounts,
    applications,
    candidates,
    clock,
    cv_pool,
    data_export,
    db,
    erasure,
    exports,
    insight,
    mail,
    outcome_figures,
    personal_data,
    retention,
    settings,
    webconferences,
)
from fair.enums import ApiScope, ApplicationStatus, PoolLevel, Role
from fair.insight import progress
from fair.models import (
    Application,
    CandidateProfile,
    ContactRequest,
    Conversation,
    ConversationMessage,
    CvText,
    Edition,
    ErasedAccount,
    NetworkApplication,
    NetworkPartner,
    OutboxMail,
    QaMessage,
    QueueEntry,
    RoomMessage,
    StoredFile,
    User,
    UserSession,
    WebconferenceQuestion,
)
from fair.throttle import Throttled
from tests import factories as f
from tests import funnel_journeys, partner_keys
from tests.conftest import login
from tests.pages import post, text_of


def test_every_table_holding_personal_data_is_declared() -> None:
    """A table with a foreign key to users or a personal column (e-mail, phone, free text…)
    must say how it is exported and what deletion does to it; the declarations must name
    real columns. (No database: the models' metadata.)"""
    assert personal_data.problems() == []


# Download --------------------------------------------------------------------------------------


async def test_the_download_holds_every_row_about_the_person_and_their_files(
    app, session, client
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, title="Cariste")
    person = await f.candidate(session, name="Léa Martin", email="lea@example.fr")
    other = await f.candidate(session, can_log_in=False)
    mine = await applications.apply(session, candidate=person, offer=offer, message="Bonjour !")
    await applications.apply(session, candidate=other, offer=offer, message="Autre")
    await applications.set_status(session, mine, ApplicationStatus.SHORTLISTED, by=recruiter)
    for _ in range(data_export.PER_DAY - 1):  # downloaded already today: this one is the last
        await data_export.record(session, person)
    await db.commit(session)
    await login(client, person.email, f.PASSWORD)
    response = await post(client, "/account/data", "/account/data/download")
    assert response.status_code == 200
    refused = await post(client, "/account/data", "/account/data/download")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "86400")
    assert "Vous avez déjà téléchargé vos données plusieurs fois aujourd’hui" in refused.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="fair-data-{person.id}-20260310.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    cv = await session.scalar(select(StoredFile).where(StoredFile.owner_id == person.id))
    assert archive.namelist() == ["data.json", f"files/{cv.id}-cv.pdf", "LISEZMOI.txt"]
    assert archive.read(f"files/{cv.id}-cv.pdf") == cv.data
    assert archive.read("LISEZMOI.txt").decode().startswith("Vos données sur fair\n")
    data = json.loads(archive.read("data.json"))
    noon = f.NOON.astimezone(clock.now().tzinfo).isoformat()
    assert data["format"] == "fair-personal-data"
    assert data["version"] == 1
    assert data["exported_at"] == noon
    assert data["files"] == [
        {
            "path": f"files/{cv.id}-cv.pdf",
            "id": cv.id,
            "kind": "cv",
            "filename": "cv.pdf",
            "content_type": "application/pdf",
            "size": cv.size,
            "sha256": cv.sha256,
        }
    ]
    tables = data["tables"]
    assert sorted(tables) == [
        "application_events",
        "applications",
        "booth_candidates",
        "candidate_profiles",
        "cv_texts",
        "data_exports",
        "edition_candidates",
        "notices",
        "outbox_mails",
        "stored_files",
        "user_sessions",
        "users",
    ]
    assert tables["users"] == [
        {
            "id": person.id,
            "email": "lea@example.fr",
            "name": "Léa Martin",
            "role": "candidate",
            "locale": "fr",
            "is_active": True,
            "created_at": noon,
            "confirmed_at": noon,
        }
    ]
    assert tables["applications"] == [
        {
            "id": mine.id,
            "offer_id": offer.id,
            "booth_id": booth.id,
            "edition_id": edition.id,
            "candidate_id": person.id,
            "message": "Bonjour !",
            "cv_file_id": cv.id,
            "status": "shortlisted",
            "status_message": "",
            "created_at": noon,
            "status_changed_at": noon,
            "digested_at": None,
            "shortlisted_at": noon,
        }
    ]
    assert [(e["from_status"], e["to_status"]) for e in tables["application_events"]] == [
        ("submitted", "shortlisted")
    ]
    assert [row["id"] for row in tables["stored_files"]] == [cv.id]
    assert "data" not in tables["stored_files"][0]
    assert all("key_hash" not in row for row in tables["user_sessions"])
    assert [m["to_addr"] for m in tables["outbox_mails"]] == ["lea@example.fr"] * len(
        tables["outbox_mails"]
    )
    assert "Autre" not in archive.read("data.json").decode()


async def test_downloads_are_limited_to_a_few_a_day(app, session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    person = await f.user(session, can_log_in=False)
    for _ in range(data_export.PER_DAY):
        await data_export.record(session, person)
    clock.set_now(f.NOON + timedelta(hours=1))
    with pytest.raises(Throttled) as refused:
        await data_export.record(session, person)
    assert refused.value.retry_after == 23 * 3600
    clock.set_now(f.NOON + timedelta(days=1, seconds=1))
    await data_export.record(session, person)


# Deletion --------------------------------------------------------------------------------------


async def _figures(app, edition: Edition) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    async with app.state.read_sessions() as s:
        loaded = await s.get(Edition, edition.id)
        return (
            await insight.dashboard(s, edition.id, insight.Filters()),
            await insight.funnel(s, edition.id),
            await insight.booth_funnels(s, edition.id, insight.Filters()),
            await progress.totals(s, edition.id),
            await progress.drift(s, edition.id),
            await outcome_figures.summary(s, edition.id),
            await outcome_figures.publics(s, loaded),
            await s.scalar(select(func.count()).select_from(Application)),
        )


async def _tables_exported(app, user_id: int) -> dict[str, list[dict[str, object]]]:  # type: ignore[no-untyped-def]
    body = b"".join([c async for c in data_export.archive(app.state.read_sessions, user_id, "en")])
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    tables: dict[str, list[dict[str, object]]] = json.loads(archive.read("data.json"))["tables"]
    return tables


async def test_deleting_a_hired_candidate_leaves_every_figure_as_it_was(app, session) -> None:  # type: ignore[no-untyped-def]
    built = await funnel_journeys.build(session)
    await db.commit(session)
    hired_id = next(u for u, _b, j in built.journeys if j == "hired")
    exported = await _tables_exported(app, hired_id)
    assert sorted(exported) == [
        "application_events",
        "applications",
        "booth_candidates",
        "candidate_profiles",
        "cv_texts",
        "edition_candidates",
        "hire_confirmations",
        "interview_invitations",
        "interviews",
        "notices",
        "outbox_mails",
        "stored_files",
        "users",
    ]
    assert [len(exported[t]) for t in ("applications", "interviews", "hire_confirmations")] == [
        2,
        1,
        1,
    ]
    assert "room_secret" not in exported["interviews"][0]
    before = await _figures(app, built.edition)
    async with app.state.write_sessions() as s:
        hired = await s.get(User, hired_id)
        assert await erasure.blockers(s, hired) == []
        await erasure.erase_rows(s, hired)
        await db.commit(s)
    assert await _figures(app, built.edition) == before
    async with app.state.read_sessions() as s:
        erased = await s.get(User, hired_id)
        assert (erased.name, erased.email, erased.is_active) == (
            personal_data.ERASED_CANDIDATE,  # the same in every language
            f"erased-{hired_id}@erased.invalid",
            False,
        )
        assert await s.get(ErasedAccount, hired_id) is not None
        messages = await s.execute(
            select(Application.message, Application.cv_file_id).where(
                Application.candidate_id == hired_id
            )
        )
        assert messages.all() == [("", None), ("", None)]
        files = select(func.count()).where(StoredFile.owner_id == hired_id)
        assert await s.scalar(files) == 0
        profile = await s.get(CandidateProfile, hired_id)
        assert (profile.phone, profile.wanted_jobs, profile.cv_file_id) == ("", "", None)


async def test_a_candidate_deletes_their_account_with_their_password(
    app, session, client, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    application = await f.application(session, offer_=await f.offer(session, booth_=booth))
    person = await session.get(User, application.candidate_id)
    await db.commit(session)
    await login(client, person.email, f.PASSWORD)
    other_browser = make_client()
    await login(other_browser, person.email, f.PASSWORD)
    refused = await post(client, "/account/delete", "/account/delete", password="wrong one!!")
    assert refused.status_code == 422
    assert "Ce n’est pas votre mot de passe." in refused.text
    done = await post(client, "/account/delete", "/account/delete", password=f.PASSWORD)
    assert (done.status_code, done.headers["location"]) == (303, "/")
    sessions = await fetch.scalars(
        select(UserSession.revoked_at).where(UserSession.user_id == person.id)
    )
    assert sessions == []  # revoked (the sockets are told), then deleted
    assert (await other_browser.get("/me/profile")).status_code in (302, 303, 401)
    seen = make_client()
    seen.cookies.set("lang", "fr")
    await login(seen, recruiter.email, f.PASSWORD)
    page = await seen.get(f"/recruiter/applications/{application.id}")
    assert page.status_code == 200
    assert "Candidat supprimé" in page.text
    assert person.email not in page.text and person.name not in page.text
    assert "erased" not in page.text and "\x1f" not in page.text
    seen.cookies.set("lang", "en")
    page = await seen.get(f"/recruiter/applications/{application.id}")
    assert "Deleted candidate" in page.text and "Candidat supprimé" not in page.text
    assert "no e-mail" in page.text
    again = await client.post("/login", data={"email": person.email, "password": f.PASSWORD})
    assert again.status_code != 303


async def test_what_would_leave_something_broken_blocks_the_deletion(app, session) -> None:  # type: ignore[no-untyped-def]
    """The only organiser of a running edition, the only recruiter of its booth, and the two
    people of an interview still to come wait; once the edition is over, nothing blocks."""
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    person = await f.candidate(session, can_log_in=False)
    await f.interview(session, booth_=booth, recruiter=recruiter, candidate_=person)
    assert await erasure.blockers(session, organiser) == [
        "You are the only organiser of an edition that is not over: add another organiser to "
        "it first."
    ]
    assert await erasure.blockers(session, recruiter) == [
        "You are the only recruiter of an employer with a booth in an edition that is not "
        "over: invite a colleague first.",
        "You have interviews to come with candidates: cancel them first, so that the "
        "candidates are told.",
    ]
    assert await erasure.blockers(session, person) == [
        "You have interviews to come: cancel them first (My interviews), so that the "
        "recruiters are told."
    ]
    clock.set_now(f.NOON + timedelta(days=30))
    for who in (organiser, recruiter, person):
        assert await erasure.blockers(session, who) == []


# Retention -------------------------------------------------------------------------------------


async def _talked(session, booth_id: int, person: User, recruiter: User) -> None:  # type: ignore[no-untyped-def]
    """A finished conversation at a booth with one message each, and a public question."""
    now = clock.now()
    entry = QueueEntry(booth_id=booth_id, candidate_id=person.id, status="done", joined_at=now)
    session.add(entry)
    await session.flush()
    talk = Conversation(
        booth_id=booth_id,
        candidate_id=person.id,
        recruiter_id=recruiter.id,
        queue_entry_id=entry.id,
        started_at=now,
        ended_at=now,
    )
    session.add(talk)
    await session.flush()
    for sender in (person, recruiter):
        session.add(
            ConversationMessage(
                conversation_id=talk.id, sender_id=sender.id, body="Bonjour", created_at=now
            )
        )
    await session.flush()


async def test_the_retention_rule_removes_cvs_and_messages_after_the_last_edition(
    app, session, fetch, client
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    old = await f.edition(session, title="Ancienne édition")
    booth, recruiter = await f.booth(session, edition_=old)
    offer = await f.offer(session, booth_=booth)
    gone = await f.candidate(session, can_log_in=False)
    stays = await f.candidate(session, can_log_in=False)
    pooled = await f.candidate(session, can_log_in=False)
    await applications.apply(session, candidate=pooled, offer=offer, message="Bonjour")
    await _talked(session, booth.id, pooled, recruiter)
    for person in (gone, stays):
        await applications.apply(session, candidate=person, offer=offer, message="Bonjour")
        await _talked(session, booth.id, person, recruiter)
        session.add(
            QaMessage(
                booth_id=booth.id,
                edition_id=old.id,
                author_id=person.id,
                body="Une question ?",
                created_at=clock.now(),
            )
        )
    interview = await f.interview(session, booth_=booth, recruiter=recruiter, candidate_=gone)
    session.add(
        RoomMessage(
            interview_id=interview.id, sender_id=gone.id, body="Allô", created_at=clock.now()
        )
    )
    await db.commit(session)
    # Eleven months later, `stays` takes part in a new edition, and `pooled` opens their profile
    # to the CV pool for a year: their CV stays, for that purpose they chose.
    clock.set_now(f.NOON + timedelta(days=335))
    await cv_pool.give(session, pooled, level=PoolLevel.NETWORK, months=12, edition_id=None)
    recent = await f.edition(session, title="Nouvelle édition")
    recent_booth, _r = await f.booth(session, edition_=recent)
    await f.application(
        session, offer_=await f.offer(session, booth_=recent_booth), candidate_=stays
    )
    await db.commit(session)
    # The old edition ended with its applications, on 17 March 2026: twelve months after it,
    # on 17 March 2027, its candidates' data goes.
    clock.set_now(f.NOON + timedelta(days=371))
    async with app.state.write_sessions() as s:
        assert await retention.step(s) == 0
    clock.set_now(f.NOON + timedelta(days=373))
    async with app.state.write_sessions() as s:
        assert await retention.step(s) == 2
        await db.commit(s)
    async with app.state.write_sessions() as s:
        assert await retention.step(s) == 0  # idempotent: nothing left to remove

    async def left(person: User) -> tuple[int, int, int, list[str]]:
        cvs = await fetch.scalar(
            select(func.count()).where(StoredFile.owner_id == person.id, StoredFile.kind == "cv")
        )
        talk = await fetch.scalar(
            select(func.count())
            .select_from(ConversationMessage)
            .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
            .where(Conversation.candidate_id == person.id)
        )
        room = await fetch.scalar(select(func.count()).where(RoomMessage.sender_id == person.id))
        questions = await fetch.scalars(
            select(QaMessage.body).where(QaMessage.author_id == person.id)
        )
        return cvs, talk, room, questions

    assert await left(gone) == (0, 0, 0, [""])
    assert await left(stays) == (1, 2, 0, ["Une question ?"])
    assert await left(pooled) == (1, 0, 0, [])
    # What the CV pool read from CVs: gone with the CV of `gone` only.
    read = await fetch.scalars(
        select(CvText.user_id).where(CvText.file_id.is_not(None)).order_by(CvText.user_id)
    )
    assert read == [stays.id, pooled.id]
    kept = await fetch.scalar(select(func.count()).where(Application.candidate_id == gone.id))
    assert kept == 2
    booth_page = await client.get(f"/e/{old.slug}/booths/{booth.id}")
    questions = re.findall(r'<p class="qa-body[^"]*" id="qa-text-\d+">([^<]*)</p>', booth_page.text)
    # Newest first: the question of `stays`, then the one of `gone`, its text removed.
    assert questions == [
        "Une question ?",
        "Texte retiré avec les données personnelles de son auteur.",
    ]


async def test_retention_covers_who_never_took_part_every_message_and_sent_mails(
    app, session, fetch
) -> None:  # type: ignore[no-untyped-def]
    """Application messages, talk questions, contact requests and applications to partners'
    offers lose their text; a candidate who never took part in an edition is due twelve
    months after their last activity; a mail goes twelve months after it was sent; the
    organisers' figures stay as they were."""
    clock.set_now(f.NOON)
    old = await f.edition(session, title="Ancienne édition")
    booth, recruiter = await f.booth(session, edition_=old)
    applicant = await f.candidate(session, can_log_in=False)
    application = await applications.apply(
        session, candidate=applicant, offer=await f.offer(session, booth_=booth), message="Bonjour"
    )
    await applications.set_status(
        session, application, ApplicationStatus.SHORTLISTED, by=recruiter, message="À bientôt"
    )
    talk = await webconferences.schedule(
        session, by=recruiter, edition=old, booth=booth, data=f.talk([recruiter])
    )
    session.add(
        WebconferenceQuestion(
            webconference_id=talk.id,
            author_id=applicant.id,
            body="Et le salaire ?",
            status="pending",
            created_at=clock.now(),
        )
    )
    loner = await f.candidate(session, can_log_in=False)  # never in an edition
    partner = NetworkPartner(
        edition_id=old.id,
        territory="Vichy",
        base_url="https://vichy.example",
        their_key_prefix="k",
        their_key_sealed="x",
        created_at=clock.now(),
    )
    session.add(partner)
    await session.flush()
    session.add_all(
        [
            ContactRequest(
                candidate_id=loner.id,
                organisation="Intérim 03",
                message="Appelez-moi",
                status="requested",
                active_key=1,
                created_at=clock.now(),
            ),
            NetworkApplication(
                partner_id=partner.id,
                candidate_id=loner.id,
                origin_offer_id=1,
                offer_title="Cariste",
                employer="Vichy Log",
                territory="Vichy",
                message="Bonjour",
                consent="oui",
                consented_at=clock.now(),
                state="sent",
                status="submitted",
                created_at=clock.now(),
                status_changed_at=clock.now(),
            ),
        ]
    )
    seen_later = await f.candidate(session, can_log_in=False)  # never in one, active since
    sent_then = await mail.queue(session, to="a@example.fr", subject="Ancien", body="…")
    sent_then.sent_at = clock.now()
    await db.commit(session)
    clock.set_now(f.NOON + timedelta(days=200))
    session.add(
        UserSession(
            key_hash="k" * 64,
            user_id=seen_later.id,
            created_at=clock.now(),
            last_seen_at=clock.now(),
        )
    )
    sent_since = await mail.queue(session, to="b@example.fr", subject="Récent", body="…")
    sent_since.sent_at = clock.now()
    newcomer = await f.candidate(session, can_log_in=False)
    await db.commit(session)
    unsent = set(await fetch.scalars(select(OutboxMail.id).where(OutboxMail.sent_at.is_(None))))
    before = await _figures(app, old)
    clock.set_now(f.NOON + timedelta(days=373))
    async with app.state.write_sessions() as s:
        assert await retention.due(s) == [applicant.id, loner.id]
        assert await retention.step(s) == 2 + 1  # two candidates, one mail
        await db.commit(s)
    async with app.state.write_sessions() as s:
        assert await retention.step(s) == 0
    assert await _figures(app, old) == before
    assert await fetch.scalars(select(Application.message + Application.status_message)) == [""]
    assert await fetch.scalars(select(WebconferenceQuestion.body)) == [""]
    assert await fetch.scalars(select(ContactRequest.message)) == [""]
    assert await fetch.scalars(select(NetworkApplication.message)) == [""]
    cvs = await fetch.scalars(
        select(StoredFile.owner_id).where(StoredFile.kind == "cv").order_by(StoredFile.owner_id)
    )
    assert cvs == [seen_later.id, newcomer.id]
    mails = set(await fetch.scalars(select(OutboxMail.id)))
    assert mails == unsent | {sent_since.id}


def test_months_before_keeps_the_day_or_takes_the_months_last() -> None:
    moment = datetime(2027, 3, 31, 10, 0, tzinfo=UTC)
    assert retention.months_before(moment, 1) == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    assert retention.months_before(moment, 12) == datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert retention.months_before(moment, 13) == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)


def test_the_retention_setting_is_read_and_checked() -> None:
    assert settings.load({"FAIR_RETENTION_MONTHS": "6"}).retention_months == 6
    assert settings.load({}).retention_months == 12
    with pytest.raises(settings.SettingsError):
        settings.load({"FAIR_RETENTION_MONTHS": "0"})


async def test_the_privacy_page_says_how_long_and_is_in_the_footer(app, client, conf) -> None:  # type: ignore[no-untyped-def]
    settings.override(replace(conf, retention_months=6, privacy_contact="dpo@metropole.fr"))
    page = await client.get("/privacy")
    assert page.status_code == 200
    text = text_of(page.text)
    assert (
        "Vos CV et vos messages (candidatures, conversations, entretiens, questions, demandes "
        "de contact) sont supprimés 6 mois après la fin du dernier forum auquel vous avez "
        "participé, ou après votre dernière visite si vous n’avez participé à aucun."
    ) in text
    assert "Les e-mails que fair vous a envoyés sont supprimés 6 mois après leur envoi." in text
    assert 'href="mailto:dpo@metropole.fr"' in page.text
    home = await client.get("/")
    assert '<a href="/privacy">Données personnelles</a>' in home.text


async def test_a_placeholder_login_is_never_shown(app, session, make_client) -> None:  # type: ignore[no-untyped-def]
    """An account made without e-mail logs in with a login stored as an address of the
    reserved .invalid domain: pages, the booth's export and the partners' API say "no e-mail"
    (null in the API and in the person's own download), in the reader's language."""
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    person = await accounts.create_without_mailbox(session, name="Marie Dupont")
    code = await accounts.new_code(session, person)
    person = await accounts.redeem_code(session, code=code, password=f.PASSWORD)
    await candidates.set_cv(session, person, filename="cv.pdf", data=f.pdf_bytes())
    offer = await f.offer(session, booth_=booth)
    application = await applications.apply(session, candidate=person, offer=offer, message="")
    _ats, raw = await partner_keys.key(session, edition, ApiScope.APPLICATIONS, booth=booth)
    await db.commit(session)
    placeholder = person.email
    assert placeholder.endswith(".invalid")
    rows = [
        row
        for batch in [
            b
            async for b in exports.application_rows(
                session, booth_id=booth.id, zone=ZoneInfo("Europe/Paris"), locale="en"
            )
        ]
        for row in batch
    ]
    assert [row[:2] for row in rows] == [("Marie Dupont", "no e-mail")]
    api = make_client()
    listed = await api.get(
        f"/api/v1/editions/{edition.id}/booths/{booth.id}/applications",
        headers=partner_keys.bearer(raw),
    )
    assert listed.json()["data"][0]["candidate"] == {"name": "Marie Dupont", "email": None}
    own = await _tables_exported(app, person.id)
    assert own["users"][0]["email"] is None
    them = make_client()
    await login(them, accounts.login_of(person), f.PASSWORD)
    for lang, words in (("fr", "pas d’e-mail"), ("en", "no e-mail")):
        them.cookies.set("lang", lang)
        page = await them.get("/me/profile")
        assert page.status_code == 200
        assert words in text_of(page.text) and placeholder not in page.text
    recruiting = make_client()
    await login(recruiting, recruiter.email, f.PASSWORD)
    seen = await recruiting.get(f"/recruiter/applications/{application.id}")
    assert "Marie Dupont" in seen.text and placeholder not in seen.text
