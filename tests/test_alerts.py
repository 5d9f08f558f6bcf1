"""Mail alerts (fair.alerts): a daily digest of the new matching offers, never the same offer
twice, stopped by a signed link; the clock moved by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from fair import alerts, candidates, clock, job_search, mail, network, offers, search, settings
from fair.enums import Transport
from fair.errors import Conflict, NotFound
from fair.job_search import Target, Wanted
from fair.models import OutboxMail
from tests import factories as f
from tests import network_offers

T0 = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)


async def mails(session, to: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = await session.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == to).order_by(OutboxMail.id)
    )
    return [(m.subject, m.body) for m in rows]


async def test_a_daily_digest_of_new_matching_offers(session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(T0)
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)

    async def offer(title: str, code: str, commune: str, postcode: str):  # type: ignore[no-untyped-def]
        return await f.offer(
            session, booth_=booth, title=title, rome_code=code, commune=commune, postcode=postcode
        )

    await offer("Cariste d'avant", "N1101", "Lattes", "34970")
    candidate = await f.user(session, can_log_in=False, name="Nadia")
    with pytest.raises(Conflict) as refused:
        await alerts.subscribe(session, candidate)
    assert refused.value.code == "alert.no_job"
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    wanted = Wanted(
        targets=(Target("N1101", "Cariste"),), max_distance_km=30, transport=Transport.CAR
    )
    await job_search.update(session, candidate, wanted=wanted)
    alert = await alerts.subscribe(session, candidate)
    assert await alerts.subscribe(session, candidate) == alert  # the same alert
    clock.set_now(T0 + timedelta(hours=2))
    assert await alerts.send_due(session) == 0  # its day has not come
    lunel = await offer("Cariste à Lunel", "N1101", "Lunel", "34400")
    await offer("Aide à domicile", "K1302", "Lattes", "34970")
    clock.set_now(T0 + timedelta(days=1, minutes=1))
    assert await alerts.send_due(session) == 1
    base = settings.get().base_url
    link = f"{base}/alerts/stop/{alerts.token(alert.id)}"
    assert await mails(session, candidate.email) == [
        (
            "1 nouvelle offre pour vous",
            "Bonjour Nadia,\n\n"
            "De nouvelles offres correspondent à ce que vous cherchez :\n\n"
            f"* Cariste à Lunel — {booth.employer.name}, Lunel (34400)\n"
            "  Correspondance : 68 %. Même métier : Cariste."
            " À 22 km, dans votre rayon de 30 km en voiture.\n"
            f"  {base}/offers/{lunel.id}\n\n"
            f"Toutes les offres pour vous : {base}/me/offers-for-you\n"
            f"Modifier ce que vous cherchez : {base}/me/profile\n\n"
            "-- \n"
            f"Vous avez demandé ces offres par e-mail à {base}.\n"
            f"Arrêter cette alerte en un clic, sans vous connecter : {link}\n",
        )
    ]
    assert await alerts.send_due(session) == 0  # once a day
    sent = await session.scalar(select(OutboxMail).where(OutboxMail.to_addr == candidate.email))
    built = mail._build(
        mail._Outgoing(
            sent.id,
            sent.attempts,
            sent.to_addr,
            sent.subject,
            sent.body,
            None,
            sent.created_at,
            sent.headers,
        ),
        settings.get(),
    )
    assert (built["List-Unsubscribe"], built["List-Unsubscribe-Post"]) == (
        f"<{link}>",
        "List-Unsubscribe=One-Click",
    )
    # The next day: an offer changed (already sent) and a new one; only the new one is mailed.
    clock.set_now(T0 + timedelta(days=1, hours=3))
    await offers.update(
        session,
        lunel,
        data=f.offer_input(
            title="Cariste à Lunel (CACES)", commune="Lunel", postcode="34400", rome_code="N1101"
        ),
    )
    jacou = await offer("Cariste à Jacou", "N1101", "Jacou", "34830")
    clock.set_now(T0 + timedelta(days=2, minutes=2))
    assert await alerts.send_due(session) == 1
    sent = await mails(session, candidate.email)
    assert [subject for subject, _body in sent] == ["1 nouvelle offre pour vous"] * 2
    assert f"{base}/offers/{jacou.id}\n" in sent[1][1] and f"/offers/{lunel.id}\n" not in sent[1][1]
    # Stopped by its link: nothing more.
    found = await alerts.by_token(session, alerts.token(alert.id))
    await alerts.stop(session, found)
    await offer("Cariste à Pérols", "N1101", "Pérols", "34470")
    clock.set_now(T0 + timedelta(days=4))
    assert await alerts.send_due(session) == 0
    assert len(await mails(session, candidate.email)) == 2
    for forged in (f"{alert.id}.x", f"{alert.id + 1}.{alerts.token(alert.id).split('.')[1]}", "x"):
        with pytest.raises(NotFound):
            await alerts.by_token(session, forged)


async def test_two_alerts_never_mail_one_offer_twice(session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(T0)
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    candidate = await f.user(session, can_log_in=False)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    await job_search.update(
        session, candidate, wanted=Wanted(targets=(Target("N1101", "Cariste"),))
    )
    await alerts.subscribe(session, candidate)
    kept = {"edition_id": str(edition.id), "q": "cariste"}
    await alerts.subscribe(session, candidate, kept=kept)
    clock.set_now(T0 + timedelta(hours=1))
    both = await f.offer(
        session,
        booth_=booth,
        title="Cariste",
        rome_code="N1101",
        commune="Lattes",
        postcode="34970",
    )
    other = await f.offer(
        session,
        booth_=booth,
        title="Cariste cuisine",
        rome_code="G1602",
        commune="Lattes",
        postcode="34970",
    )
    clock.set_now(T0 + timedelta(days=1))
    assert await alerts.send_due(session) == 2
    sent = await mails(session, candidate.email)
    assert [subject for subject, _body in sent] == [
        "1 nouvelle offre pour vous",
        "1 nouvelle offre pour votre recherche",
    ]
    assert f"/offers/{both.id}\n" in sent[0][1] and f"/offers/{other.id}\n" in sent[1][1]


async def test_partners_offers_shown_by_the_edition_are_mailed_once_nearest_first(session) -> None:  # type: ignore[no-untyped-def]
    """A profile alert mails the partners' offers "offers for you" shows (fair.network
    .shown_partners), after this instance's, each marked with its territory and linked to its
    page here, the nearest first; each once: a round takes those created at their origin in
    its window (alerts.SYNC_LAG)."""
    clock.set_now(T0)
    edition = await f.edition(session)
    hidden = await f.edition(session, title="Forum sans réseau")
    montlucon = await network_offers.partner(session, edition, "Montluçon", "https://m.example")
    elsewhere = await network_offers.partner(session, hidden, "Ailleurs", "https://a.example")
    await network.set_offers_shown(session, hidden, shown=False)
    candidate = await f.user(session, can_log_in=False, name="Nadia")
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    wanted = Wanted(
        targets=(Target("N1101", "Cariste"),),
        max_distance_km=30,
        transport=Transport.CAR,
        available_from=date(2030, 9, 1),
    )
    await job_search.update(session, candidate, wanted=wanted)
    clock.set_now(T0 - alerts.SYNC_LAG - timedelta(minutes=1))
    await network_offers.held(session, montlucon, 1, "Cariste d'avant", "Lattes")
    clock.set_now(T0)
    alert = await alerts.subscribe(session, candidate)
    clock.set_now(T0 + timedelta(hours=2))
    lunel = await network_offers.held(
        session, montlucon, 2, "Cariste à Lunel", "Lunel", starts_on=date(2030, 9, 1)
    )
    # Nearer but to be filled before the candidate is free: a lower score, listed first.
    perols = await network_offers.held(session, montlucon, 3, "Cariste à Pérols", "Pérols")
    await network_offers.held(session, elsewhere, 4, "Cariste caché", "Lattes")
    clock.set_now(T0 + timedelta(days=1, minutes=1))
    assert await alerts.send_due(session) == 1
    base = settings.get().base_url
    [(subject, body)] = await mails(session, candidate.email)
    assert subject == "2 nouvelles offres pour vous"
    listed = body.split("\n\n")[2:4]
    assert listed == [
        "* Cariste à Pérols — Employeur de Pérols, Pérols (34470)\n"
        "  Offre du réseau · Montluçon. Correspondance : 63 %. Même métier : Cariste."
        " À 5 km, dans votre rayon de 30 km en voiture.\n"
        f"  {base}/network/offers/{perols.id}",
        "* Cariste à Lunel — Employeur de Lunel, Lunel (34400)\n"
        "  Offre du réseau · Montluçon. Correspondance : 68 %. Même métier : Cariste."
        " À 22 km, dans votre rayon de 30 km en voiture.\n"
        f"  {base}/network/offers/{lunel.id}",
    ]
    # The next round: only the partner's offer created since the previous one.
    clock.set_now(T0 + timedelta(days=1, hours=3))
    jacou = await network_offers.held(session, montlucon, 5, "Cariste à Jacou", "Jacou")
    clock.set_now(T0 + timedelta(days=2, minutes=2))
    assert await alerts.send_due(session) == 1
    sent = await mails(session, candidate.email)
    assert sent[1][0] == "1 nouvelle offre pour vous"
    assert f"/network/offers/{jacou.id}\n" in sent[1][1]
    assert "/network/offers/" not in sent[1][1].replace(f"/network/offers/{jacou.id}\n", "")
    assert alert.stopped_at is None


async def test_a_saved_search_mails_the_partners_offers_its_edition_shows(session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(T0)
    edition = await f.edition(session)
    montlucon = await network_offers.partner(session, edition, "Montluçon", "https://m.example")
    candidate = await f.user(session, can_log_in=False)
    kept = {"edition_id": str(edition.id), "q": "cariste"}
    await alerts.subscribe(session, candidate, kept=kept)
    clock.set_now(T0 + timedelta(hours=2))
    held = await network_offers.held(
        session, montlucon, 7, "Cariste de nuit", "Montluçon", title_stems=search.stems("Cariste")
    )
    clock.set_now(T0 + timedelta(days=1, minutes=1))
    assert await alerts.send_due(session) == 1
    [(subject, body)] = await mails(session, candidate.email)
    assert subject == "1 nouvelle offre pour votre recherche"
    assert (
        "* Cariste de nuit — Employeur de Montluçon, Montluçon (03100)\n"
        "  Offre du réseau · Montluçon.\n"
        f"  {settings.get().base_url}/network/offers/{held.id}\n"
    ) in body
    # Turned off by the edition's organisers: the next one is not mailed.
    await network.set_offers_shown(session, edition, shown=False)
    clock.set_now(T0 + timedelta(days=1, hours=2))
    await network_offers.held(
        session, montlucon, 8, "Cariste du matin", "Montluçon", title_stems=search.stems("Cariste")
    )
    clock.set_now(T0 + timedelta(days=2, minutes=2))
    assert await alerts.send_due(session) == 1
    assert len(await mails(session, candidate.email)) == 1
