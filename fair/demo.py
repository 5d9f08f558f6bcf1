"""A demo edition, live now, built through the domain functions only.

`seed` creates a fictional métropole's job fair: 40 employers with approved booths, exactly 600
offers, and four accounts sharing one known password (admin, organiser, recruiter, candidate).
Offers are drawn from `random.Random(42)`, so two seeds give the same fair.

It also shows interviews and webconferences: a few booths (the demo recruiter's first) publish
interview slots on the next two live days; the demo candidate has a phone interview booked there,
an open invitation from a second booth and a shortlisted application at a third, and three other
candidates (no password) fill the recruiter's agenda. The programme holds five talks, the first
starting within a minute when the live hours allow; the demo candidate is registered to two.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accounts,
    applications,
    candidates,
    clock,
    editions,
    employers,
    geo,
    interviews,
    offers,
    rome,
    webconferences,
)
from fair.enums import (
    ApplicationStatus,
    BoothStatus,
    Contract,
    EditionStatus,
    Experience,
    InterviewMode,
    Role,
    WebconferenceAccess,
    WorkingTime,
)
from fair.errors import NotFound
from fair.models import Application, Booth, Edition, InterviewInvitation, Offer, User

PASSWORD = "demo-fair-2026"
TERRITORY = "Garrigues et Lez Métropole"
TITLE = "Rencontres pour l'emploi"
ZONE = "Europe/Paris"
OFFER_COUNT = 600
ADMIN = "admin@demo.fair"
ORGANISER = "organisatrice@demo.fair"
RECRUITER = "recruteur@demo.fair"
CANDIDATE = "candidate@demo.fair"
# Role, e-mail, display name: the accounts printed when the demo starts.
ACCOUNTS = (
    (Role.ADMIN, ADMIN, "Alix Martin"),
    (Role.ORGANISER, ORGANISER, "Claire Fabre"),
    (Role.RECRUITER, RECRUITER, "Karim Benali"),
    (Role.CANDIDATE, CANDIDATE, "Léa Roussel"),
)


@dataclass(frozen=True)
class DemoEmployer:
    name: str
    naf: str
    size: str
    commune: str
    activity: str
    jobs: tuple[str, ...]


# Fictional employers of the métropole (name | NAF | size | commune | activity | ROME codes,
# repeated to weigh them); the first belongs to the demo recruiter.
_EMPLOYERS = """
Lez Électricité Services|43.21A|10-49|Montpellier|électricien du bâtiment|F1602 F1602 I1309 F1610
Garrigues Bâtiment|41.20A|50-249|Lattes|entreprise du bâtiment|F1703 F1701 F1704 F1202 F1201
Plomberie Chauffage du Lez|43.22A|10-49|Castelnau-le-Lez|plombier chauffagiste|F1603 F1610 F1603
Peintures et Façades Occitanes|43.34Z|0-9|Juvignac|peinture et ravalement|F1606 F1704
Énergies Solaires du Midi|43.21B|10-49|Fabrègues|installateur photovoltaïque|F1610 F1602 I1309
Clinique des Garrigues|86.10Z|250-4999|Montpellier|clinique|J1501 J1506 J1301 J1302 J1305
EHPAD Les Oliviers|87.10A|50-249|Pignan|maison de retraite|J1501 J1506 J1301 K1302 G1602
Aide et Présence Hérault|88.10A|50-249|Montpellier|aide à domicile|K1302 K1304 K1303
Crèches Les Petits Lézards|88.91A|10-49|Castelnau-le-Lez|réseau de crèches|J1304 K1303
Logistique Méditerranée|52.10B|250-4999|Vendargues|plateforme logistique|N1101 N1103 N1105 N1301
Transports Cévennes Littoral|49.41A|50-249|Baillargues|transport routier|N4101 N4105 N4201
Messageries du Golfe|53.20Z|50-249|Saint-Jean-de-Védas|livraison de colis|N4105 N1103 N1105
Hypermarché Oc Lattes|47.11F|250-4999|Lattes|hypermarché|D1507 D1505 D1106 D1502 D1101 D1102
Fournil de l'Écusson|10.71C|10-49|Montpellier|boulangerie-pâtisserie|D1102 D1104 D1106
Brasserie du Peyrou|56.10A|10-49|Montpellier|brasserie traditionnelle|G1602 G1803 G1605
Hôtel Les Arceaux|55.10Z|10-49|Montpellier|hôtel trois étoiles|G1703 G1502 G1803 G1704
Camping Les Flots Bleus|55.30Z|10-49|Palavas-les-Flots|camping en bord de mer|G1502 G1703 G1236
Snack Comédie|56.10C|10-49|Montpellier|restauration rapide|G1603 G1603 G1602
Garage du Mas de Mauguio|45.20A|10-49|Mauguio|garage automobile|I1604 I1103 D1404
Occitanie Numérique|62.01Z|50-249|Montpellier|services numériques|M1805 M1810 M1801 M1802
Lez Conseil Expertise|69.20Z|10-49|Castelnau-le-Lez|expertise comptable|M1203 M1607 M1602
Mutuelle Languedoc Santé|65.12Z|250-4999|Montpellier|mutuelle santé|C1102 C1401 D1401
Caisse Solidaire du Lez|64.19Z|50-249|Montpellier|banque coopérative|C1201 C1401 C1102
Port Marianne Immobilier|68.31Z|0-9|Montpellier|agence immobilière|C1504 C1501
Propreté Services Hérault|81.21Z|250-4999|Saint-Jean-de-Védas|propreté|K2204 K2204 I1203
Paysages des Garrigues|81.30Z|10-49|Grabels|espaces verts|A1203 A1208
Sécurité Protection Sud|80.10Z|50-249|Montpellier|sécurité privée|K2503
Intérim Solidaire Métropole|78.20Z|10-49|Montpellier|intérim d'insertion|N1105 F1704 H3302 N1103
Conserverie Méditerranéenne|10.39B|50-249|Lunel|conserverie de fruits|H2102 H3302 N1105 H2105
Métallerie Vendarguoise|25.11Z|10-49|Vendargues|serrurerie-métallerie|H2913 H2909 H2903
Menuiserie Bois du Lez|16.23Z|10-49|Jacou|menuiserie sur mesure|H2206 H2201
Domaine de Saint-Georges|01.21Z|10-49|Saint-Georges-d'Orques|domaine viticole|A1418 A1419 A1422
Pépinières de Lavérune|01.30Z|10-49|Lavérune|pépinière|A1414 A1419 D1219
Régie des Eaux Garrigues et Lez|36.00Z|250-4999|Montpellier|régie de l'eau|H1530 I1309 I1310
Valorisation Déchets du Lez|38.11Z|50-249|Lattes|collecte des déchets|N4118 K2304 K2318
Garrigues et Lez Métropole|84.11Z|5000+|Montpellier|collectivité|M1602 K1707 A1203 N4103 G1203
Lez Formation Adultes|85.59A|10-49|Montpellier|organisme de formation|K2111 M1607 K2112
Lez Forme Club|93.13Z|10-49|Le Crès|salle de sport|G1204 D1401
Ambulances du Pic Saint-Loup|86.90A|10-49|Saint-Mathieu-de-Tréviers|transport sanitaire|J1305
Salon Sète Beauté|96.02A|0-9|Sète|coiffure et esthétique|D1202 D1208
"""
EMPLOYERS = tuple(
    DemoEmployer(name, naf, size, commune, activity, tuple(jobs.split()))
    for name, naf, size, commune, activity, jobs in (
        line.split("|") for line in _EMPLOYERS.strip().splitlines()
    )
)
SIZE_WEIGHT = {"0-9": 1, "10-49": 2, "50-249": 3, "250-4999": 5, "5000+": 6}
# Accents the ROME list leaves off capital letters.
CAPITALS = {
    "Electricien": "Électricien",
    "Electricienne": "Électricienne",
    "Educateur": "Éducateur",
    "Educatrice": "Éducatrice",
    "Equipier": "Équipier",
}
# Per ROME domain: what the job involves (missions) and skills, separated by semicolons.
_DOMAINS = """
A|entretenir les parcelles et les massifs;réaliser les plantations et la taille;utiliser et \
entretenir le matériel;participer aux récoltes|Taille des végétaux;Conduite de tracteur;\
Plantation;Arrosage;Utilisation de débroussailleuse
C|accueillir et conseiller la clientèle;gérer les dossiers et les contrats;assurer le suivi \
administratif;développer un portefeuille de clients|Relation client;Conseil en assurance;\
Gestion de portefeuille;Produits bancaires;Outils bureautiques
D|accueillir et conseiller la clientèle;mettre en rayon et soigner la présentation;tenir la \
caisse;préparer les commandes;respecter les règles d'hygiène|Relation client;Encaissement;\
Mise en rayon;Hygiène alimentaire (HACCP);Techniques de vente;Gestion des stocks
F|intervenir sur des chantiers neufs et de rénovation;lire des plans;respecter les règles de \
sécurité du chantier;réaliser les finitions;travailler avec les autres corps de métier|Lecture \
de plans;Habilitation électrique;Travail en hauteur;Maçonnerie;Pose de cloisons;Sécurité
G|accueillir la clientèle;préparer et dresser les plats;assurer le service;entretenir les \
locaux et le matériel;participer aux animations|Hygiène alimentaire (HACCP);Service en salle;\
Accueil de la clientèle;Anglais courant;Mise en place;Travail en équipe
H|conduire et régler les machines;contrôler la qualité de la production;respecter les \
consignes de sécurité;assurer l'entretien de premier niveau|Conduite de ligne;Contrôle \
qualité;Soudure TIG;Soudure MIG;Lecture de plans;Règles d'hygiène et de sécurité
I|diagnostiquer les pannes;réaliser la maintenance préventive et corrective;renseigner les \
fiches d'intervention;conseiller les utilisateurs|Diagnostic de panne;Habilitation \
électrique;Maintenance préventive;Électrotechnique;Mécanique automobile
J|accompagner les patients dans les actes de la vie quotidienne;participer aux soins;assurer \
la traçabilité dans le dossier patient;travailler en équipe pluridisciplinaire|Soins \
d'hygiène et de confort;Transmissions ciblées;Bientraitance;Gestes et postures;Urgences
K|accompagner les personnes au quotidien;assurer l'entretien des locaux;accueillir et \
informer le public;veiller à la sécurité des personnes;rendre compte à son responsable|Aide \
à la toilette;Entretien des locaux;Écoute et bienveillance;Préparation des repas;Carte \
professionnelle de sécurité
M|assurer le suivi administratif;participer aux projets de l'équipe;gérer les outils \
informatiques;rédiger des documents et des comptes rendus|Outils bureautiques;Python;\
Administration Linux;Comptabilité générale;Gestion administrative;SQL;Paie
N|préparer et charger les commandes;conduire en sécurité;livrer dans les délais;gérer les \
stocks;utiliser un terminal de lecture de codes-barres|CACES R489 catégorie 3;Permis C;FIMO;\
Préparation de commandes;Gestion des stocks;Permis B
"""
_ROWS = [line.split("|") for line in _DOMAINS.strip().splitlines()]
MISSIONS = {letter: missions.split(";") for letter, missions, _skills in _ROWS}
SKILLS = {letter: skills.split(";") for letter, _missions, skills in _ROWS}
SOFT_SKILLS = "Ponctualité;Travail en équipe;Rigueur;Autonomie;Sens du service".split(";")
QUALIFICATIONS = ("CAP / BEP", "Bac professionnel", "BTS / BUT")
INTROS = (
    "{employer} ({activity}) recrute un(e) {job} à {commune}.",
    "Rejoignez {employer} ({activity}) : nous recherchons un(e) {job} à {commune}.",
    "Pour accompagner son développement, {employer} ({activity}) recrute un(e) {job}.",
    "Vous cherchez un emploi près de {commune} ? {employer} recrute un(e) {job}.",
)
PROFILES = {
    "beginner": "Débutant(e) accepté(e) : vous serez formé(e) par nos équipes.",
    "wished": "Une première expérience sur un poste similaire est souhaitée.",
    "required": "Une expérience d'au moins deux ans sur un poste similaire est exigée.",
}
CONTRACT_WEIGHTS = {
    Contract.CDI: 40,
    Contract.CDD: 25,
    Contract.TEMPORARY: 12,
    Contract.SEASONAL: 7,
    Contract.APPRENTICESHIP: 11,
    Contract.INTERNSHIP: 5,
}


def _job_title(label: str) -> str:
    """'Electricien / Electricienne du bâtiment' -> 'Électricien / Électricienne du bâtiment'."""
    return " ".join(CAPITALS.get(word, word) for word in label.split(" "))


def siret(n: int) -> str:
    """A valid SIRET (Luhn check digit) for demo employer number `n`."""
    body = f"{812345000 + n * 1013:09d}0001"
    return next(body + d for d in "0123456789" if employers.siret_valid(body + d))


def edition_input(now: datetime) -> editions.EditionInput:
    """Applications opened 5 days ago and close in 9; live from yesterday to 4 days ahead."""
    local = now.astimezone(ZoneInfo(ZONE))
    return editions.EditionInput(
        title=f"{TITLE} {local.year}",
        territory=TERRITORY,
        partners="France Travail, Mission locale, Cap emploi, Département de l'Hérault",
        description=(
            "Une semaine pour rencontrer en ligne les employeurs de Garrigues et Lez Métropole : "
            "600 offres dans le bâtiment, la santé, la logistique, le commerce, l'hôtellerie-"
            "restauration, le numérique et les services publics. Postulez avec votre CV, puis "
            "échangez en visio avec les recruteurs pendant les journées en direct."
        ),
        timezone=ZONE,
        applications_open_at=now - timedelta(days=5),
        applications_close_at=now + timedelta(days=9),
        response_deadline=now + timedelta(days=12),
        live_first_day=local.date() - timedelta(days=1),
        live_last_day=local.date() + timedelta(days=4),
        opens=time(8, 0),
        closes=time(20, 0),
        weekdays=frozenset(range(7)),
    )


async def find(session: AsyncSession) -> Edition | None:
    """The demo edition, if this database holds one (the one the demo organiser created)."""
    organiser = await accounts.by_email(session, ORGANISER)
    if organiser is None:
        return None
    found = await session.scalar(
        select(Edition.id)
        .where(Edition.created_by_id == organiser.id, Edition.territory == TERRITORY)
        .order_by(Edition.id.desc())
    )
    return await editions.get(session, found) if found is not None else None


async def is_live(session: AsyncSession, now: datetime | None = None) -> bool:
    edition = await find(session)
    return edition is not None and editions.status_at(edition, now) == EditionStatus.LIVE


async def seed(session: AsyncSession, *, now: datetime | None = None) -> dict[str, object]:
    """Build the demo fair (flushes, never commits); returns what to print for the visitor."""
    now = now or clock.now()
    rng = random.Random(42)
    users = {
        role: await accounts.create_user(
            session, email=email, name=name, password=PASSWORD, role=role
        )
        for role, email, name in ACCOUNTS
    }
    organiser = users[Role.ORGANISER]
    edition = await editions.create(session, by=organiser, data=edition_input(now))
    await editions.publish(session, edition)
    booths: list[tuple[DemoEmployer, Booth]] = []
    owners: list[User] = []
    for n, spec in enumerate(EMPLOYERS):
        owner = users[Role.RECRUITER] if n == 0 else await _owner(session, n)
        booth = await _booth(session, spec, n, owner, edition, organiser)
        booths.append((spec, booth))
        owners.append(owner)
    first_offer: dict[int, Offer] = {}
    for spec, booth in _spread(rng, booths):
        offer = await offers.create(session, booth=booth, data=_offer(rng, spec))
        first_offer.setdefault(booth.id, offer)
    stands = [
        Stand(booth, owner, first_offer[booth.id])
        for (_spec, booth), owner in zip(booths, owners, strict=True)
    ]
    await _candidate(session, users[Role.CANDIDATE])
    others = [await _other_candidate(session, n, name) for n, name in enumerate(OTHER_CANDIDATES)]
    await _interviews(session, now, stands, users[Role.CANDIDATE], others)
    await _webconferences(
        session, now, edition, organiser, stands, [users[Role.CANDIDATE], *others]
    )
    return _summary(edition)


async def summary(session: AsyncSession) -> dict[str, object]:
    """What `seed` returned, for a database seeded earlier."""
    edition = await find(session)
    if edition is None:
        raise NotFound("This database holds no demo edition.")
    return _summary(edition)


def _summary(edition: Edition) -> dict[str, object]:
    return {
        "edition": edition.slug,
        "title": edition.title,
        "password": PASSWORD,
        "accounts": {role.value: email for role, email, _name in ACCOUNTS},
    }


async def _owner(session: AsyncSession, n: int) -> User:
    first = ("Camille", "Julien", "Sophie", "Nicolas", "Inès", "Thomas", "Manon", "Yanis")
    last = ("Garcia", "Durand", "Moreau", "Lopez", "Bernard", "Roux", "Fournier", "Girard")
    return await accounts.create_user(
        session,
        email=f"recruteur{n:02d}@demo.fair",
        name=f"{first[n % len(first)]} {last[(n // len(first)) % len(last)]}",
        password=None,
        role=Role.RECRUITER,
    )


async def _booth(
    session: AsyncSession,
    spec: DemoEmployer,
    n: int,
    owner: User,
    edition: Edition,
    organiser: User,
) -> Booth:
    place = geo.find(spec.commune)
    assert place is not None, spec.commune
    employer = await employers.register(
        session,
        by=owner,
        data=employers.EmployerInput(
            name=spec.name,
            siret=siret(n),
            naf_code=spec.naf,
            size=spec.size,
            commune=place.name,
            website=f"https://{editions.slugify(spec.name)[:40]}.example.fr",
            description=f"{spec.name} : {spec.activity} à {place.name}.",
            video_url="",
        ),
    )
    booth = await employers.request_booth(session, by=owner, employer=employer, edition=edition)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=organiser)
    return booth


def _spread(
    rng: random.Random, booths: list[tuple[DemoEmployer, Booth]]
) -> list[tuple[DemoEmployer, Booth]]:
    """Exactly OFFER_COUNT (employer, booth) pairs: three each, the rest weighted by size."""
    picks = [pair for pair in booths for _ in range(3)]
    weights = [SIZE_WEIGHT[spec.size] for spec, _booth in booths]
    picks += rng.choices(booths, weights=weights, k=OFFER_COUNT - len(picks))
    return picks


def _offer(rng: random.Random, spec: DemoEmployer) -> offers.OfferInput:
    code = rng.choice(spec.jobs)
    job = rome.job(code)
    assert job is not None, code
    domain = code[0]
    contract = rng.choices(list(CONTRACT_WEIGHTS), weights=list(CONTRACT_WEIGHTS.values()))[0]
    experience = rng.choices(list(Experience), weights=(40, 35, 25))[0]
    working_time = rng.choices(list(WorkingTime), weights=(75, 25))[0]
    place = geo.find(spec.commune) if rng.random() < 0.6 else rng.choice(geo.communes()[:40])
    assert place is not None
    title = _job_title(job.label)
    beginner = experience == Experience.BEGINNER
    data = offers.OfferInput(
        title=f"{title} (H/F)",
        description=_description(rng, spec, title, place.name, domain, contract, experience),
        rome_code=code,
        contract=contract.value,
        working_time=working_time.value,
        commune=place.name,
        postcode=place.postcode,
        experience=experience.value,
        remote=domain in "CEM" and rng.random() < 0.4,
        positions=rng.choices((1, 2, 3, 5), weights=(70, 15, 10, 5))[0],
        salary=_salary(rng, contract, experience),
        qualification="" if beginner and rng.random() < 0.5 else rng.choice(QUALIFICATIONS),
        skills=_skills(rng, domain),
        insertion_clause=rng.random() < (0.3 if domain in "FK" else 0.1),
        open_seniors=rng.random() < 0.25,
        open_under26=contract == Contract.APPRENTICESHIP or rng.random() < 0.2,
        open_disabled=rng.random() < 0.35,
        no_diploma=beginner and rng.random() < 0.6,
    )
    return data


def _description(
    rng: random.Random,
    spec: DemoEmployer,
    title: str,
    commune: str,
    domain: str,
    contract: Contract,
    experience: Experience,
) -> str:
    job = " / ".join(part[0].lower() + part[1:] for part in title.split(" / "))
    intro = rng.choice(INTROS).format(
        employer=spec.name, activity=spec.activity, commune=commune, job=job
    )
    missions = rng.sample(MISSIONS[domain], k=min(3, len(MISSIONS[domain])))
    lines = [
        intro,
        "",
        "Vos missions :",
        *(f"- {m[0].upper()}{m[1:]} ;" for m in missions[:-1]),
        f"- {missions[-1][0].upper()}{missions[-1][1:]}.",
        "",
        f"Votre profil : {PROFILES[experience.value]}",
        f"Contrat : {_contract_text(contract)}.",
        "Rencontrez-nous pendant les journées en direct du forum !",
    ]
    return "\n".join(lines)


def _contract_text(contract: Contract) -> str:
    return {
        Contract.CDI: "CDI, après une période d'essai",
        Contract.CDD: "CDD de 6 mois, renouvelable",
        Contract.TEMPORARY: "mission d'intérim de 3 mois",
        Contract.SEASONAL: "contrat saisonnier d'avril à septembre",
        Contract.APPRENTICESHIP: "contrat d'apprentissage en alternance",
        Contract.INTERNSHIP: "stage de 2 à 6 mois",
    }[contract]


def _salary(rng: random.Random, contract: Contract, experience: Experience) -> str:
    if contract == Contract.APPRENTICESHIP:
        return "Selon la grille de l'apprentissage"
    if contract == Contract.INTERNSHIP:
        return "Gratification légale de stage"
    low = 1800 + 100 * rng.randint(0, 6) + (300 if experience == Experience.REQUIRED else 0)
    return f"{low:,} € à {low + 300:,} € brut mensuel".replace(",", " ")


def _skills(rng: random.Random, domain: str) -> list[str]:
    pool = SKILLS[domain]
    chosen = rng.sample(pool, k=min(len(pool), rng.randint(2, 4)))
    return [*chosen, rng.choice(SOFT_SKILLS)]


@dataclass(frozen=True)
class Stand:
    """A demo booth with its owner (a recruiter) and one of its offers."""

    booth: Booth
    owner: User
    offer: Offer


# Booths (indexes in EMPLOYERS) publishing interview slots: the demo recruiter's first; the demo
# candidate is booked at the first, invited by the second, shortlisted by the third.
INTERVIEW_BOOTHS = (0, 1, 5)
# Day (live days from today), local start and end, modes: two stretches per booth.
AVAILABILITY = (
    (1, time(9, 0), time(12, 0), frozenset(InterviewMode)),
    (2, time(14, 0), time(17, 0), frozenset({InterviewMode.VIDEO, InterviewMode.PHONE})),
)
OTHER_CANDIDATES = ("Mehdi Haddad", "Julie Vidal", "Samuel Ortiz")
# How the other candidates' interviews at the demo recruiter's booth were booked: by themselves
# (booked) or by the recruiter (pending their confirmation).
OTHER_BOOKINGS = (
    (InterviewMode.VIDEO, True),
    (InterviewMode.CHAT, True),
    (InterviewMode.PHONE, False),
)


@dataclass(frozen=True)
class Talk:
    title: str
    description: str
    day: int  # live days from today
    at: time
    minutes: int
    capacity: int
    booth: int | None  # a booth's talk (index in EMPLOYERS): its recruiter presents it too


TALKS = (
    Talk(
        "Réussir son entretien d'embauche",
        "Préparer sa présentation, répondre aux questions difficiles, parler de son parcours et "
        "poser ses propres questions : une conseillère France Travail partage ses conseils pour "
        "les entretiens en visio, au téléphone et sur place.",
        1,
        time(10, 0),
        45,
        300,
        None,
    ),
    Talk(
        "Les métiers qui recrutent dans le BTP",
        "Électricien, plombier chauffagiste, maçon, installateur photovoltaïque : les métiers du "
        "bâtiment qui recrutent dans la métropole, les formations pour y accéder et les "
        "questions à poser aux employeurs du forum.",
        1,
        time(14, 0),
        60,
        120,
        0,
    ),
    Talk(
        "Alternance : mode d'emploi",
        "Contrat d'apprentissage ou de professionnalisation, rémunération, aides à l'embauche, "
        "trouver son école et son entreprise : tout pour démarrer une alternance à la rentrée.",
        2,
        time(11, 0),
        60,
        150,
        None,
    ),
    Talk(
        "Travailler dans la logistique",
        "Préparateur de commandes, cariste, chauffeur-livreur : une journée sur une plateforme "
        "logistique, les CACES et les perspectives d'évolution.",
        2,
        time(15, 0),
        45,
        80,
        9,
    ),
    Talk(
        "Les métiers du soin et de l'accompagnement",
        "Aide-soignant, infirmier, auxiliaire de vie : rencontrer une clinique de la métropole, "
        "découvrir ses services et ses parcours de formation.",
        3,
        time(10, 30),
        60,
        80,
        5,
    ),
)
# The first talk starts at the next whole minute when that fits the live hours, so the programme
# shows it live within a minute of seeding (scheduling refuses a start in the past).
SOON_MINUTES = 1


async def _interviews(
    session: AsyncSession, now: datetime, stands: list[Stand], candidate: User, others: list[User]
) -> None:
    """Slots at a few booths; the demo candidate's phone interview at the demo recruiter's
    booth, an open invitation and a shortlisted application; other candidates' bookings."""
    today = now.astimezone(ZoneInfo(ZONE)).date()
    chosen = [stands[n] for n in INTERVIEW_BOOTHS]
    for stand in chosen:
        await _availability(session, stand, today)
    mine, invited, shortlisted = chosen
    invitation = await _invite(
        session, mine, candidate, "Électricienne, disponible dès ce mois-ci."
    )
    slots = await interviews.free_slots(session, mine.booth.id)
    phone = [s for s in slots if InterviewMode.PHONE in interviews.slot_modes(s)]
    await interviews.book(
        session, by=candidate, invitation=invitation, slot=phone[2], mode=InterviewMode.PHONE
    )
    await _invite(session, invited, candidate, "Je souhaite découvrir vos chantiers.")
    await _shortlist(session, shortlisted, candidate, "Disponible pour un entretien.")
    for other, (mode, by_candidate) in zip(others, OTHER_BOOKINGS, strict=True):
        invitation = await _invite(session, mine, other, "Bonjour, votre offre m'intéresse.")
        free = await interviews.free_slots(session, mine.booth.id)
        slot = next(s for s in free if mode in interviews.slot_modes(s))
        by = other if by_candidate else mine.owner
        await interviews.book(session, by=by, invitation=invitation, slot=slot, mode=mode)


async def _availability(session: AsyncSession, stand: Stand, today: date) -> None:
    for day, start, end, modes in AVAILABILITY:
        data = interviews.AvailabilityInput(
            day=today + timedelta(days=day),
            start=start,
            end=end,
            length_minutes=30,
            buffer_minutes=10,
            modes=modes,
            staff_id=stand.owner.id,
        )
        await interviews.publish_availability(session, by=stand.owner, booth=stand.booth, data=data)


async def _shortlist(
    session: AsyncSession, stand: Stand, candidate: User, message: str
) -> Application:
    application = await applications.apply(
        session, candidate=candidate, offer=stand.offer, message=message
    )
    await applications.set_status(
        session, application, ApplicationStatus.SHORTLISTED, by=stand.owner
    )
    return application


async def _invite(
    session: AsyncSession, stand: Stand, candidate: User, message: str
) -> InterviewInvitation:
    application = await _shortlist(session, stand, candidate, message)
    return await interviews.invite(session, by=stand.owner, application=application)


async def _webconferences(
    session: AsyncSession,
    now: datetime,
    edition: Edition,
    organiser: User,
    stands: list[Stand],
    audience: list[User],
) -> None:
    """The programme (TALKS); the demo candidate (first of `audience`) registers to the first
    two talks, the other candidates to the first."""
    today = now.astimezone(ZoneInfo(ZONE)).date()
    scheduled = []
    for n, talk in enumerate(TALKS):
        stand = stands[talk.booth] if talk.booth is not None else None
        starts_at = _talk_start(edition, today, talk)
        if n == 0:
            starts_at = _soon(edition, now, talk) or starts_at
        presenters = [stand.owner.id, organiser.id] if stand else [organiser.id]
        data = webconferences.WebconferenceInput(
            title=talk.title,
            description=talk.description,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=talk.minutes),
            capacity=talk.capacity,
            access=WebconferenceAccess.OPEN,
            presenter_ids=presenters,
        )
        scheduled.append(
            await webconferences.schedule(
                session,
                by=stand.owner if stand else organiser,
                edition=edition,
                booth=stand.booth if stand else None,
                data=data,
            )
        )
    candidate, *others = audience
    for webconference in scheduled[:2]:
        await webconferences.register(session, candidate=candidate, webconference=webconference)
    for other in others:
        await webconferences.register(session, candidate=other, webconference=scheduled[0])


def _talk_start(edition: Edition, today: date, talk: Talk) -> datetime:
    at = datetime.combine(today + timedelta(days=talk.day), talk.at, ZoneInfo(edition.timezone))
    return at.astimezone(UTC)


def _soon(edition: Edition, now: datetime, talk: Talk) -> datetime | None:
    """The next whole minute (SOON_MINUTES ahead, truncated), if the talk fits there."""
    real = max(now, clock.now())  # scheduling checks the start against the platform's clock
    start = real.replace(second=0, microsecond=0) + timedelta(minutes=SOON_MINUTES)
    end = start + timedelta(minutes=talk.minutes)
    return start if webconferences.within_live_hours(edition, start, end) else None


async def _other_candidate(session: AsyncSession, n: int, name: str) -> User:
    """A candidate with a CV and no password (no hashing: seeding stays fast)."""
    user = await accounts.create_user(
        session,
        email=f"candidat{n + 1:02d}@demo.fair",
        name=name,
        password=None,
        role=Role.CANDIDATE,
    )
    await candidates.set_cv(session, user, filename="cv.pdf", data=cv_pdf(name))
    return user


async def _candidate(session: AsyncSession, user: User) -> None:
    await candidates.update(
        session,
        user,
        data=candidates.ProfileInput(
            name=user.name,
            phone="06 12 34 56 78",
            commune="Montpellier",
            wanted_jobs="Électricienne du bâtiment, technicienne de maintenance",
        ),
    )
    await candidates.set_cv(session, user, filename="cv-lea-roussel.pdf", data=cv_pdf(user.name))


def cv_pdf(name: str) -> bytes:
    """A small valid one-page PDF written by pypdf."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": f"CV de {name}", "/Author": name})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
