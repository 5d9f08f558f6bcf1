"""ROME suggestion: a typed job title ("cariste H/F CACES 3", "aide soignante de nuit") gives
ranked ROME codes and official job names, offline, in France Travail's ROMEO response shape
(codeRome, libelleRome, codeAppellation, libelleAppellation, scorePrediction).

Sources, in one in-memory index built once per process from the database:
- the official appellations imported by `fair rome import` (fair.rome_referential), or, when
  none is imported, the ROME code labels shipped in fair/data/rome.json (fair.rome);
- offers already coded in the database (France Travail imports carry their code): each distinct
  title is one more document of its code, weighted below an official name, and the number of
  offers of a code gives it a small prior.

Normalisation (`analyse`): accents and case folded; "H/F", "(F/H/X)" and contract or schedule
noise (CDI, CDD, intérim, temps plein, urgent, "poste de"…) dropped; feminine forms read as the
masculine ("conductrice" -> "conducteur", "aide-soignant(e)", "vendeur/vendeuse"), through the
pairs the referential itself gives ("Conducteur / Conductrice …") and French suffix rules;
common trade abbreviations expanded (PL, VL, ASH, AES, BTP…); certifications kept as words
(CACES, SSIAP, permis C, FIMO…); then the Snowball French stem (as fair.search).

Ranking: BM25 over the words of each document (an official name weighs more than a learned
offer title), plus a bonus for each pair of query words found next to each other in the
document and one when the document's head word (its first word: French job names start with
the trade) is in the query; a code's score is its best document's plus a share of its next
ones. The index is rebuilt when the referential changes (`invalidate`, called by the import in
its process, and a cheap check of the tables every `CHECK_SECONDS` in the others), and when
coded offers changed, at most every `LEARN_SECONDS`.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import re
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import rome, search
from fair.models import Offer, RomeAppellation, RomeCode

CHECK_SECONDS = 30.0  # how often a process checks whether the tables changed
LEARN_SECONDS = 600.0  # new coded offers rebuild the index at most this often
MAX_QUERY = 200  # characters of a query read
MAX_LEARNED = 50_000  # distinct (title, code) pairs of coded offers read at most
LEARNED_WEIGHT = 0.6  # a learned offer title against an official name (1.0)
K1, B = 1.2, 0.5  # BM25
PAIR_BONUS = 0.35  # per adjacent query pair found adjacent in the document, times its idf mean
HEAD_BONUS = 0.25  # the document's first word is in the query, times its idf
COVER_BONUS = 1.0  # times the share of the document's words found in the query
SPREAD = 0.15
CANDIDATES = 300  # documents of best BM25 given the bonuses

# Gender markers, contract and schedule noise: dropped before anything else.
GENDER_RE = re.compile(r"\(?\b(?:h\s*/\s*f|f\s*/\s*h|h\s*/\s*f\s*/\s*x|f\s*/\s*h\s*/\s*x)\b\)?")
# "soignant(e)", "conducteur(trice)", "vendeur.euse", "technicien·ne": the suffix is dropped.
SUFFIX_RE = re.compile(
    r"(?<=[a-z])(?:\((?:e|s|es|ne|le|se|euse|rice|trice|ere|ière|ive)\)"
    r"|[.·](?:e|ne|le|se|euse|rice|trice|ere|ive)\b)"
)
TOKEN_RE = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a au aux avec ce ces dans de des du en et l d la le les leur ou par pour sur un une "
    "son sa ses chez qui que the of and".split()
)
# Words of job ads that say nothing of the job: contract, schedule, level, ad wording.
NOISE = frozenset(
    """
    h f x hf fh cdi cdd cdic interim interimaire mission missions contrat temps plein partiel
    complet urgent urgence poste postes offre offres recrute recrutons recherche recherchons
    recrutement emploi job jobs cherche h/f nuit jour jours week end weekend matin soir
    semaine semaines mois an ans heure heures hebdo hebdomadaire mensuel horaires horaire
    debutant debutants accepte acceptes experimente experimentee confirme confirmee junior
    senior alternance alternant apprenti apprentie apprentissage stage stagiaire
    professionnalisation pro saison saisonnier saisonniere saisonniers ete hiver
    immediat immediate asap rapidement possible evolutif evolution cdd/cdi salaire brut net
    euros eur k taf
    """.split()
)
# Trade abbreviations and everyday synonyms -> words of the official names.
ABBREVIATIONS: dict[str, str] = {
    "pl": "poids lourd",
    "spl": "super poids lourd",
    "vl": "vehicule leger",
    "vul": "vehicule utilitaire leger",
    "ash": "agent service hospitalier",
    "aes": "accompagnant educatif social",
    "avs": "auxiliaire vie sociale",
    "amp": "aide medico psychologique",
    "ide": "infirmier",
    "idec": "infirmier coordinateur",
    "ibode": "infirmier bloc operatoire",
    "asem": "agent specialise ecoles maternelles",
    "atsem": "agent specialise ecoles maternelles",
    "btp": "batiment travaux publics",
    "tp": "travaux publics",
    "vrd": "voirie reseaux divers",
    "rh": "ressources humaines",
    "drh": "directeur ressources humaines",
    "adv": "administration ventes",
    "sav": "service apres vente",
    "daf": "directeur administratif financier",
    "qse": "qualite securite environnement",
    "hse": "hygiene securite environnement",
    "cvc": "chauffage ventilation climatisation",
    "ssiap": "ssiap securite incendie",
    "aps": "agent securite",
    "caces": "caces cariste",
    "fimo": "fimo conducteur",
    "fco": "fco conducteur",
    "dev": "developpeur",
    "ehpad": "ehpad",
    "els": "employe libre service",
    "mecano": "mecanicien",
    "commis": "commis",
    "plongeur": "plongeur",
    "chauffeur": "chauffeur conducteur",
    "conducteur": "conducteur chauffeur",
    "manutentionnaire": "manutentionnaire",
    "technico": "technico",
}
# French feminine endings -> masculine, tried longest first when the referential gave no pair.
SUFFIXES = (
    ("trices", "teur"),
    ("trice", "teur"),
    ("euses", "eur"),
    ("euse", "eur"),
    ("ieres", "ier"),
    ("iere", "ier"),
    ("iennes", "ien"),
    ("ienne", "ien"),
    ("ennes", "en"),
    ("enne", "en"),
    ("elles", "el"),
    ("elle", "el"),
    ("antes", "ant"),
    ("ante", "ant"),
    ("entes", "ent"),
    ("ente", "ent"),
    ("eres", "er"),
    ("ere", "er"),
    ("ives", "if"),
    ("ive", "if"),
)
PERMIS_RE = re.compile(r"\bpermis\s+(b|c|ce|c1|d|de|ec|be)\b")
CACES_RE = re.compile(r"\bcaces\s*(?:r\s*)?([0-9]{3}|[0-9])\b")


def fold(text: str) -> str:
    """Lower case without accents, ligatures opened: 'Œnologue' -> 'oenologue'."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("’", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def masculine_form(label: str) -> str:
    """'Conducteur / Conductrice d'engins agricoles' -> "Conducteur d'engins agricoles":
    the words before the slash, then what follows the feminine words after it."""
    if " / " not in label:
        return label
    left, right = label.split(" / ", 1)
    words = right.split()
    return " ".join([left, *words[len(left.split()) :]])


def gender_pairs(label: str) -> list[tuple[str, str]]:
    """The (feminine, masculine) folded word pairs an official label gives:
    'Ouvrier forestier / Ouvrière forestière …' -> [('ouvriere', 'ouvrier'), …]."""
    if " / " not in label:
        return []
    left, right = label.split(" / ", 1)
    masc = TOKEN_RE.findall(fold(left))
    fem = TOKEN_RE.findall(fold(right))[: len(masc)]
    return [(f, m) for m, f in zip(masc, fem, strict=False) if f != m]


@dataclass
class Analyser:
    """Turns text into the index's terms; knows the referential's feminine forms."""

    feminine: dict[str, str] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)  # the masculine words of those pairs

    def learn(self, labels: Iterable[str]) -> None:
        for label in labels:
            for fem, masc in gender_pairs(label):
                self.feminine.setdefault(fem, masc)
                self.known.add(masc)

    def words(self, text: str) -> list[str]:
        """Folded words, noise dropped, feminine forms made masculine, abbreviations expanded."""
        text = fold(text[:MAX_QUERY])
        text = GENDER_RE.sub(" ", text)
        text = SUFFIX_RE.sub("", text)
        text = PERMIS_RE.sub(lambda m: f" permis{m.group(1)} ", text)
        text = CACES_RE.sub(" caces ", text)
        found: list[str] = []
        for word in TOKEN_RE.findall(text):
            if word in STOPWORDS or word in NOISE or word.isdigit():
                continue
            word = self.masculine(word)
            found.extend(ABBREVIATIONS.get(word, word).split())
        return found

    def masculine(self, word: str) -> str:
        if word in self.feminine:
            return self.feminine[word]
        for ending, replacement in SUFFIXES:
            if word.endswith(ending) and len(word) > len(ending) + 2:
                candidate = word[: -len(ending)] + replacement
                if candidate in self.known:
                    return candidate
        return word

    def terms(self, text: str) -> list[str]:
        return [stem(w) for w in self.words(text)]


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return search.stem(word)


@dataclass(frozen=True)
class Suggestion:
    code_rome: str
    label_rome: str
    code_appellation: str
    label_appellation: str
    score: float

    def romeo(self) -> dict[str, Any]:
        """France Travail ROMEO's shape of one predicted job."""
        return {
            "codeRome": self.code_rome,
            "libelleRome": self.label_rome,
            "codeAppellation": self.code_appellation,
            "libelleAppellation": self.label_appellation,
            "scorePrediction": self.score,
        }


@dataclass(frozen=True)
class Document:
    code: str
    label: str  # shown as the appellation (official name, or the code's label)
    code_ogr: str
    weight: float
    official: bool = True
    text: str = ""  # what is analysed, when it differs from the label (learned titles)
    stems: str = ""  # the terms precomputed at import (fair.rome_referential), if any


@dataclass
class Index:
    """BM25 over documents (official names and learned offer titles), scored per code."""

    analyser: Analyser
    documents: list[Document]
    code_labels: dict[str, str]
    prior: dict[str, float] = field(default_factory=dict)
    terms: list[list[str]] = field(default_factory=list)
    # term -> (document, its BM25 term weight before idf), computed once at build
    postings: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    pairs: list[frozenset[tuple[str, str]]] = field(default_factory=list)
    idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        code_labels: dict[str, str],
        *,
        offer_counts: dict[str, int] | None = None,
    ) -> Index:
        analyser = Analyser()
        analyser.learn(d.label for d in documents if d.official)
        analyser.learn(code_labels.values())
        index = cls(analyser, list(documents), code_labels)
        index.terms = [
            d.stems.split() if d.stems else analyser.terms(masculine_form(d.text or d.label))
            for d in documents
        ]
        index.pairs = [frozenset(zip(t, t[1:], strict=False)) for t in index.terms]
        n = max(1, len(documents))
        average = sum(len(t) for t in index.terms) / n or 1.0
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, terms in enumerate(index.terms):
            length = K1 * (1 - B + B * len(terms) / average)
            for term, count in Counter(terms).items():
                postings[term].append((number, count * (K1 + 1) / (count + length)))
        index.postings = dict(postings)
        index.idf = {
            t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()
        }
        total = sum((offer_counts or {}).values())
        if total:
            index.prior = {
                code: 0.3 * math.log1p(count) / math.log1p(total)
                for code, count in (offer_counts or {}).items()
            }
        return index

    def search(self, text: str, *, limit: int = 5) -> list[Suggestion]:
        query = list(dict.fromkeys(self.analyser.terms(text)))
        if not query:
            return []
        scores = self._documents(query)
        return self._codes(scores, limit)

    def _documents(self, query: list[str]) -> dict[int, float]:
        """BM25 of every document sharing a word with the query; the bonuses (adjacent pairs,
        head word, coverage) for the best CANDIDATES of them, which are the ones they reorder."""
        base: dict[int, float] = defaultdict(float)
        for term in query:
            idf = self.idf.get(term, 0.0)
            for number, weight in self.postings.get(term, ()):
                base[number] += idf * weight
        pairs = list(zip(query, query[1:], strict=False))
        wanted = set(query)
        scores: dict[int, float] = {}
        for number in heapq.nlargest(CANDIDATES, base, key=base.__getitem__):
            terms = self.terms[number]
            bonus = sum(
                PAIR_BONUS * (self.idf[a] + self.idf[b]) / 2
                for a, b in pairs
                if (a, b) in self.pairs[number]
            )
            if terms[0] in wanted:
                bonus += HEAD_BONUS * self.idf[terms[0]]
            bonus += COVER_BONUS * sum(1 for t in terms if t in wanted) / len(terms)
            scores[number] = (base[number] + bonus) * self.documents[number].weight
        return scores

    def _codes(self, scores: dict[int, float], limit: int) -> list[Suggestion]:
        per_code: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for number, score in scores.items():
            per_code[self.documents[number].code].append((score, number))
        ranked: list[tuple[float, str, int]] = []
        for code, found in per_code.items():
            found.sort(key=lambda s: (-s[0], s[1]))
            best = found[0][0] + SPREAD * sum(s for s, _ in found[1:3])
            best += self.prior.get(code, 0.0)
            ranked.append((best, code, self._shown(found)))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        top = ranked[:limit]
        total = sum(s for s, _, _ in top) or 1.0
        return [self._suggestion(code, number, score / total) for score, code, number in top]

    def _shown(self, found: list[tuple[float, int]]) -> int:
        """The document named in the answer: the best official one of the code if any."""
        for _, number in found:
            if self.documents[number].official:
                return number
        return found[0][1]

    def _suggestion(self, code: str, number: int, score: float) -> Suggestion:
        document = self.documents[number]
        label = document.label if document.official else self.code_labels.get(code, code)
        return Suggestion(
            code_rome=code,
            label_rome=self.code_labels.get(code, ""),
            code_appellation=document.code_ogr if document.official else "",
            label_appellation=label,
            score=round(score, 3),
        )


# --- The process's index, built from the database ------------------------------------------


@dataclass
class _Cache:
    index: Index | None = None
    referential: tuple[Any, ...] = ()  # what the index was built from
    offers: tuple[Any, ...] = ()
    built: float = 0.0
    checked: float = 0.0
    lock: asyncio.Lock | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def guard(self) -> asyncio.Lock:
        """A lock of the running event loop (a process may run several loops in turn)."""
        loop = asyncio.get_running_loop()
        if self.lock is None or self.loop is not loop:
            self.lock, self.loop = asyncio.Lock(), loop
        return self.lock

    def stale(self, referential: tuple[Any, ...], offers: tuple[Any, ...]) -> bool:
        """A new referential rebuilds at once; new coded offers at most every LEARN_SECONDS."""
        if self.index is None or referential != self.referential:
            return True
        return offers != self.offers and time.monotonic() - self.built >= LEARN_SECONDS


_caches: dict[str, _Cache] = {}  # by database URL: one index per database a process uses


def invalidate() -> None:
    """Forget the indexes: the next suggestion rebuilds them (the import calls this)."""
    _caches.clear()


async def suggest(session: AsyncSession, text: str, *, limit: int = 5) -> list[Suggestion]:
    """Ranked ROME suggestions for a typed job title (at most `limit`, best first)."""
    return (await index(session)).search(text, limit=limit)


async def index(session: AsyncSession) -> Index:
    """This database's index, rebuilt when the referential or the coded offers changed (checked
    at most every CHECK_SECONDS; the build runs in a thread)."""
    cache = _caches.setdefault(str(session.get_bind().engine.url), _Cache())
    if cache.index is not None and time.monotonic() - cache.checked < CHECK_SECONDS:
        return cache.index
    async with cache.guard():
        if cache.index is not None and time.monotonic() - cache.checked < CHECK_SECONDS:
            return cache.index
        referential, offers = await _signatures(session)
        found = cache.index
        if found is None or cache.stale(referential, offers):
            rows = await _rows(session)
            found = cache.index = await asyncio.to_thread(_build, *rows)
            cache.referential, cache.offers, cache.built = referential, offers, time.monotonic()
        cache.checked = time.monotonic()
        return found


async def _signatures(session: AsyncSession) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Cheap summaries of the referential and of the coded offers: a change changes them."""
    referential = (
        await session.execute(
            select(
                func.count(),
                func.max(RomeAppellation.id),
                func.sum(func.length(RomeAppellation.label)),
            )
        )
    ).one()
    offers = (
        await session.execute(
            select(func.count(), func.max(Offer.updated_at)).where(Offer.rome_code != "")
        )
    ).one()
    return tuple(referential), tuple(offers)


async def _rows(
    session: AsyncSession,
) -> tuple[list[Any], list[Any], list[Any]]:
    appellations = list(
        await session.execute(
            select(
                RomeAppellation.code,
                RomeAppellation.label,
                RomeAppellation.code_ogr,
                RomeAppellation.stems,
            ).order_by(RomeAppellation.id)
        )
    )
    codes = list(await session.execute(select(RomeCode.code, RomeCode.label)))
    learned = list(
        await session.execute(
            select(Offer.rome_code, Offer.title, func.count())
            .where(Offer.rome_code != "")
            .group_by(Offer.rome_code, Offer.title)
            .order_by(func.count().desc(), Offer.rome_code, Offer.title)
            .limit(MAX_LEARNED)
        )
    )
    return appellations, codes, learned


def _build(appellations: list[Any], codes: list[Any], learned: list[Any]) -> Index:
    return build(
        appellations=[(a[0], a[1], a[2], a[3]) for a in appellations],
        code_labels={c[0]: c[1] for c in codes},
        offers=[(o[0], o[1], int(o[2])) for o in learned],
    )


def build(
    *,
    appellations: Sequence[tuple[str, str, str, str]],
    code_labels: dict[str, str] | None = None,
    offers: Sequence[tuple[str, str, int]] = (),
) -> Index:
    """An index over official names (code, label, codeAppellation, stems or "") — the shipped code
    labels when there are none — and coded offers' titles (code, title, how many offers)."""
    labels = {code: job.label for code, job in rome.jobs().items()}
    labels.update(code_labels or {})
    if appellations:
        documents = [
            Document(code, label, ogr, 1.0, stems=stems) for code, label, ogr, stems in appellations
        ]
    else:
        documents = [Document(code, label, "", 1.0) for code, label in sorted(labels.items())]
    counts: Counter[str] = Counter()
    for code, title, count in offers:
        counts[code] += count
        documents.append(Document(code, title, "", LEARNED_WEIGHT, official=False, text=title))
    return Index.build(documents, labels, offer_counts=dict(counts))
