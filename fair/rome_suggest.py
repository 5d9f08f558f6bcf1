"""ROME suggestion: a typed job title ("cariste H/F CACES 3", "aide soignante de nuit") gives
ranked ROME codes and official job names, offline, in France Travail's ROMEO response shape
(codeRome, libelleRome, codeAppellation, libelleAppellation, scorePrediction).

Sources, in one in-memory index built once per process from the database (in a thread):
- the official appellations imported by `fair rome import` (fair.rome_referential) and their
  codes' labels, or, when none is imported, the ROME code labels shipped in fair/data/rome.json;
- offers already coded in the database, this instance's and the network's (France Travail
  imports and partners carry their code): each distinct title is one more document of its code,
  weighted below an official name; the number of offers of a code gives it a small prior.

A title that is, once read, the title of coded offers gives their codes a bonus in the share of
those offers (`MEMORY`): a title France Travail coded three times N1103 and once N1105 ranks
N1103 first. Else, a title that is an official name gives that name's code the same bonus
("Cariste F/H" is the name "Cariste"): an instance's own coding is the more specific evidence.

Text is read by fair.rome_text (noise, gender forms, abbreviations, stems). A query word that
no document has (a typo, a variant: "electromecanicien", "soudeure") is read as the known word
nearest in character trigrams when they are close enough (`TYPO_SIMILARITY`).

Ranking: BM25 over the words of each document (an official name weighs more than a learned
offer title), plus a bonus for each pair of query words found next to each other in the
document, one when the document's head word (its first word: French job names start with the
trade) is in the query, one for the share of the document's words the query has, and one when
the query has them all, growing with their idf (a whole official name inside a title such as
"Agent de quai polyvalent - Mende": the longer the name, the surer). A code's
score is its best document's, plus a share of its next two, plus `CODE_WEIGHT` times a BM25 of
the query against all its names pooled (the evidence spread over its appellations and label).
The index is rebuilt when the referential changes (`invalidate`, called by the import in its
process, and a check of the tables every `CHECK_SECONDS` in the others), and when coded
offers changed, at most every `LEARN_SECONDS`. Only the first build runs on a request: the
check (a count over all the coded offers, 60 ms at 20,000 offers on PostgreSQL) and the
rebuilds it decides run in a background task with a session of their own, one at a time per
database, while requests keep the index they have; its connections say so (fair.db
`background`), so that whatever watches a request's statements can leave them out.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from fair import db, rome, rome_text
from fair.models import NetworkOffer, Offer, RomeAppellation, RomeCode
from fair.rome_text import Analyser, masculine_form

CHECK_SECONDS = 30.0  # how often a process checks whether the tables changed
LEARN_SECONDS = 600.0  # new coded offers rebuild the index at most this often
MAX_LEARNED = 50_000  # distinct (title, code) pairs of coded offers read at most
LEARNED_WEIGHT = 0.6  # a learned offer title against an official name (1.0)
K1, B = 1.2, 0.5  # BM25
PAIR_BONUS = 0.35  # per adjacent query pair found adjacent in the document, times its idf mean
HEAD_BONUS = 0.25  # the document's first word is in the query, times its idf
COVER_BONUS = 1.0  # times the share of the document's words found in the query
CONTAIN_BONUS = 0.3  # all the document's words are in the query: times their idf sum
SPREAD = 0.15  # a code's second and third documents count this much
CODE_WEIGHT = 0.6  # the BM25 of a code's pooled names, added to its best document's score
MEMORY = 1.0  # a title coded before: its codes gain this share of the best score, by share
TYPO_SIMILARITY = 0.7  # trigram Dice of an unknown word and the known word read for it
TYPO_LENGTH = 5  # shorter unknown words are left alone (places, names, acronyms)
MAX_SEEN = 10_000  # unknown words whose reading is remembered
CANDIDATES = 300  # documents of best BM25 given the bonuses

log = logging.getLogger(__name__)
CHECK = "ROME index check"  # the background task's name, its connections' too (fair.db)


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
    offers: int = 0  # a learned title: how many offers carried it with this code


@dataclass
class Bm25:
    """Okapi BM25 postings over lists of terms: term -> [(key, term weight before idf)]."""

    postings: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]]) -> Bm25:
        n = max(1, len(documents))
        average = sum(len(t) for t in documents) / n or 1.0
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, terms in enumerate(documents):
            length = K1 * (1 - B + B * len(terms) / average)
            for term, count in Counter(terms).items():
                postings[term].append((number, count * (K1 + 1) / (count + length)))
        idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}
        return cls(dict(postings), idf)

    def scores(self, query: Sequence[tuple[str, float]]) -> dict[int, float]:
        found: dict[int, float] = defaultdict(float)
        for term, weight in query:
            idf = self.idf.get(term, 0.0) * weight
            for number, tf in self.postings.get(term, ()):
                found[number] += idf * tf
        return found


def trigrams(word: str) -> frozenset[str]:
    padded = f"^{word}$"
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


@dataclass
class Spelling:
    """The known words (of the documents, before stemming) by character trigram, to read an
    unknown query word as the nearest known one."""

    stems: dict[str, str] = field(default_factory=dict)  # known word -> its stem
    by_trigram: dict[str, list[str]] = field(default_factory=dict)
    seen: dict[str, tuple[str, float] | None] = field(default_factory=dict)  # answers given

    @classmethod
    def build(cls, words: set[str]) -> Spelling:
        by_trigram: dict[str, list[str]] = defaultdict(list)
        for word in sorted(words):
            for gram in trigrams(word):
                by_trigram[gram].append(word)
        return cls({w: rome_text.stem(w) for w in words}, dict(by_trigram))

    def nearest(self, word: str) -> tuple[str, float] | None:
        """The known word most like `word` (trigram Dice >= TYPO_SIMILARITY), and how much."""
        if word not in self.seen:
            if len(self.seen) >= MAX_SEEN:
                self.seen.clear()
            self.seen[word] = self._nearest(word)
        return self.seen[word]

    def _nearest(self, word: str) -> tuple[str, float] | None:
        grams = trigrams(word)
        shared: Counter[str] = Counter()
        for gram in grams:
            shared.update(self.by_trigram.get(gram, ()))
        best: tuple[float, str] | None = None
        for known, count in shared.items():
            dice = 2 * count / (len(grams) + len(trigrams(known)))
            if dice >= TYPO_SIMILARITY and (best is None or (dice, known) > best):
                best = (dice, known)
        return (self.stems[best[1]], best[0]) if best else None


@dataclass
class Index:
    """BM25 over documents (official names and learned offer titles) and over each code's names
    pooled, with the bonuses of the module's docstring, scored per code."""

    analyser: Analyser
    documents: list[Document]
    code_labels: dict[str, str]
    prior: dict[str, float] = field(default_factory=dict)
    terms: list[list[str]] = field(default_factory=list)
    pairs: list[frozenset[tuple[str, str]]] = field(default_factory=list)
    bm25: Bm25 = field(default_factory=Bm25)
    codes: list[str] = field(default_factory=list)  # the pooled documents' codes
    pooled: Bm25 = field(default_factory=Bm25)
    spelling: Spelling = field(default_factory=Spelling)
    memory: dict[tuple[str, ...], Counter[str]] = field(default_factory=dict)  # coded titles
    names: dict[tuple[str, ...], Counter[str]] = field(default_factory=dict)  # official ones
    first_official: dict[str, int] = field(default_factory=dict)  # code -> its first name
    # The official names' first terms, their trades ("conducteur"), with how many names start
    # with each and a word as written; sorted in `trades`.
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    trades: list[str] = field(default_factory=list)
    named: dict[str, list[str]] = field(default_factory=dict)  # `name_terms`, as asked

    def name_terms(self, name: str) -> list[str]:
        """The terms of a job's name as written (its masculine form), kept: the search asks
        for those of the jobs it suggests on every request (fair.search.terms.job_codes)."""
        found = self.named.get(name)
        if found is None:
            found = self.named[name] = self.analyser.terms(masculine_form(name))
        return found

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        code_labels: dict[str, str],
    ) -> Index:
        analyser = Analyser()
        analyser.learn(d.label for d in documents if d.official)
        analyser.learn(code_labels.values())
        index = cls(analyser, list(documents), code_labels)
        words = [analyser.words(masculine_form(d.text or d.label)) for d in documents]
        index.terms = [[rome_text.stem(w) for w in found] for found in words]
        index.pairs = [frozenset(zip(t, t[1:], strict=False)) for t in index.terms]
        index.bm25 = Bm25.build(index.terms)
        index._pool()
        index.spelling = Spelling.build({w for found in words for w in found})
        for number, document in enumerate(documents):
            if document.official:
                index.first_official.setdefault(document.code, number)
        heads: Counter[str] = Counter()
        written: dict[str, str] = {}
        for document, found, terms in zip(documents, words, index.terms, strict=True):
            if document.official and terms:
                heads[terms[0]] += 1
                written.setdefault(terms[0], found[0])
        index.heads = {term: (count, written[term]) for term, count in heads.items()}
        index.trades = sorted(index.heads)
        offers: Counter[str] = Counter()
        for document, terms in zip(documents, index.terms, strict=True):
            if terms and document.offers:
                index.memory.setdefault(_key(terms), Counter())[document.code] += document.offers
                offers[document.code] += document.offers
            elif terms and document.official:
                index.names.setdefault(_key(terms), Counter())[document.code] += 1
        total = sum(offers.values())
        index.prior = {
            code: 0.3 * math.log1p(count) / math.log1p(total) for code, count in offers.items()
        }
        return index

    def _pool(self) -> None:
        """One document per code: the terms of all its documents and of its label."""
        pooled: dict[str, list[str]] = defaultdict(list)
        for document, terms in zip(self.documents, self.terms, strict=True):
            pooled[document.code].extend(terms)
        for code in pooled:
            label = self.code_labels.get(code, "")
            pooled[code].extend(self.analyser.terms(masculine_form(label)))
        self.codes = sorted(pooled)
        self.pooled = Bm25.build([pooled[code] for code in self.codes])

    def query(self, text: str) -> list[tuple[str, float]]:
        """The query's terms with their weight: 1, or the similarity of the known word an
        unknown one is read as."""
        found: dict[str, float] = {}
        for word in self.analyser.words(text):
            term, weight = rome_text.stem(word), 1.0
            if term not in self.bm25.idf and len(word) >= TYPO_LENGTH:
                term, weight = self.spelling.nearest(word) or (term, weight)
            found[term] = max(found.get(term, 0.0), weight)
        return list(found.items())

    def search(self, text: str, *, limit: int = 5) -> list[Suggestion]:
        query = self.query(text)
        if not query:
            return []
        return self._codes(query, self._documents(query), limit)

    def _documents(self, query: list[tuple[str, float]]) -> dict[int, float]:
        """BM25 of every document sharing a word with the query; the bonuses (adjacent pairs,
        head word, coverage, containment) for the best CANDIDATES of them, which are the ones
        they reorder."""
        base = self.bm25.scores(query)
        idf = self.bm25.idf
        terms_ = [term for term, _ in query]
        pairs = list(zip(terms_, terms_[1:], strict=False))
        wanted = set(terms_)
        scores: dict[int, float] = {}
        for number in heapq.nlargest(CANDIDATES, base, key=base.__getitem__):
            terms = self.terms[number]
            bonus = sum(
                PAIR_BONUS * (idf[a] + idf[b]) / 2 for a, b in pairs if (a, b) in self.pairs[number]
            )
            if terms[0] in wanted:
                bonus += HEAD_BONUS * idf[terms[0]]
            bonus += COVER_BONUS * sum(1 for t in terms if t in wanted) / len(terms)
            if wanted.issuperset(terms):  # the whole name is in the title: the longer, the surer
                bonus += CONTAIN_BONUS * sum(idf[t] for t in set(terms))
            scores[number] = (base[number] + bonus) * self.documents[number].weight
        return scores

    def _codes(
        self, query: list[tuple[str, float]], scores: dict[int, float], limit: int
    ) -> list[Suggestion]:
        per_code: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for number, score in scores.items():
            per_code[self.documents[number].code].append((score, number))
        pooled = self.pooled.scores(query)
        totals: dict[str, float] = {}
        for code, found in per_code.items():
            found.sort(key=lambda s: (-s[0], s[1]))
            totals[code] = found[0][0] + SPREAD * sum(s for s, _ in found[1:3])
        for number, score in pooled.items():
            if self.codes[number] in totals:
                totals[self.codes[number]] += CODE_WEIGHT * score
        self._remember(query, totals)
        for code, bonus in self.prior.items():
            if code in totals:
                totals[code] += bonus
        ranked = sorted(totals.items(), key=lambda r: (-r[1], r[0]))[:limit]
        total = sum(s for _, s in ranked) or 1.0
        return [
            self._suggestion(code, self._shown(per_code[code]), score / total)
            for code, score in ranked
        ]

    def _remember(self, query: list[tuple[str, float]], totals: dict[str, float]) -> None:
        """A title coded before (the same terms), else one that is an official name: its codes
        gain MEMORY times the best score, by their share of those offers (or names)."""
        key = _key([term for term, _ in query])
        seen = self.memory.get(key) or self.names.get(key)
        if not seen or not totals:
            return
        best, count = max(totals.values()), sum(seen.values())
        for code, times in seen.items():
            if code in totals:
                totals[code] += MEMORY * best * times / count

    def _shown(self, found: list[tuple[float, int]]) -> int:
        """The document named in the answer: the code's best official one found, else its first
        official one (a code found through learned titles only), else the best found."""
        for _, number in found:
            if self.documents[number].official:
                return number
        return self.first_official.get(self.documents[found[0][1]].code, found[0][1])

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


def _key(terms: Sequence[str]) -> tuple[str, ...]:
    """A title's identity for the memory: its distinct terms, in order."""
    return tuple(sorted(set(terms)))


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
    check: asyncio.Task[None] | None = None  # the background check running, if any

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

    def checking(self) -> bool:
        """Whether a check runs now (in this event loop: one of a closed loop never ends)."""
        check, loop = self.check, asyncio.get_running_loop()
        return check is not None and not check.done() and check.get_loop() is loop


_caches: dict[str, _Cache] = {}  # by database URL: one index per database a process uses


def invalidate() -> None:
    """Forget the indexes: the next suggestion rebuilds them (the import calls this)."""
    _caches.clear()


async def suggest(session: AsyncSession, text: str, *, limit: int = 5) -> list[Suggestion]:
    """Ranked ROME suggestions for a typed job title (at most `limit`, best first)."""
    return (await index(session)).search(text, limit=limit)


async def index(session: AsyncSession) -> Index:
    """This database's index. The first one is built here (in a thread); after that, every
    CHECK_SECONDS a background task checks the tables and rebuilds it when the referential or
    the coded offers changed, and this returns the index there is meanwhile."""
    engine = session.get_bind().engine
    cache = _caches.setdefault(str(engine.url), _Cache())
    if cache.index is not None:
        if time.monotonic() - cache.checked >= CHECK_SECONDS and not cache.checking():
            cache.checked = time.monotonic()  # one check at a time, then CHECK_SECONDS after
            cache.check = asyncio.create_task(_check(cache, engine), name=CHECK)
        return cache.index
    async with cache.guard():
        if cache.index is None:
            referential, offers = await _signatures(session)
            await _rebuild(cache, session, referential, offers)
        assert cache.index is not None
        return cache.index


async def settled() -> None:
    """Wait for the background checks running now (tests, a clean shutdown)."""
    checks = [c.check for c in _caches.values() if c.check is not None and c.checking()]
    await asyncio.gather(*checks)


async def _check(cache: _Cache, engine: Engine) -> None:
    """Rebuild `cache`'s index when its tables changed, with a session of its own."""
    try:
        async with AsyncSession(AsyncEngine(db.background(engine, CHECK))) as session:
            referential, offers = await _signatures(session)
            if cache.stale(referential, offers):
                await _rebuild(cache, session, referential, offers)
    except Exception as exc:  # the index in use stays; the next check tries again
        db.report(log, exc, CHECK)
    finally:
        cache.checked = time.monotonic()


async def _rebuild(
    cache: _Cache, session: AsyncSession, referential: tuple[Any, ...], offers: tuple[Any, ...]
) -> None:
    rows = await _rows(session)
    cache.index = await asyncio.to_thread(_build, *rows)
    cache.referential, cache.offers, cache.built = referential, offers, time.monotonic()
    cache.checked = time.monotonic()


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
    offers: list[Any] = []
    for model in (Offer, NetworkOffer):
        found = await session.execute(
            select(func.count(), func.max(model.updated_at)).where(model.rome_code != "")
        )
        offers.extend(found.one())
    return tuple(referential), tuple(offers)


async def _rows(session: AsyncSession) -> tuple[list[Any], list[Any], list[Any]]:
    appellations = list(
        await session.execute(
            select(RomeAppellation.code, RomeAppellation.label, RomeAppellation.code_ogr).order_by(
                RomeAppellation.id
            )
        )
    )
    codes = list(await session.execute(select(RomeCode.code, RomeCode.label)))
    coded = union_all(
        *(
            select(model.rome_code.label("code"), model.title.label("title")).where(
                model.rome_code != ""
            )
            for model in (Offer, NetworkOffer)
        )
    ).subquery()
    learned = list(
        await session.execute(
            select(coded.c.code, coded.c.title, func.count())
            .group_by(coded.c.code, coded.c.title)
            .order_by(func.count().desc(), coded.c.code, coded.c.title)
            .limit(MAX_LEARNED)
        )
    )
    return appellations, codes, learned


def _build(appellations: list[Any], codes: list[Any], learned: list[Any]) -> Index:
    return build(
        appellations=[(a[0], a[1], a[2]) for a in appellations],
        code_labels={c[0]: c[1] for c in codes},
        offers=[(o[0], o[1], int(o[2])) for o in learned],
    )


def build(
    *,
    appellations: Sequence[tuple[str, str, str]],
    code_labels: dict[str, str] | None = None,
    offers: Sequence[tuple[str, str, int]] = (),
) -> Index:
    """An index over official names (code, label, codeAppellation) — the shipped code labels
    when there are none — and coded offers' titles (code, title, how many offers)."""
    labels = {code: job.label for code, job in rome.jobs().items()}
    labels.update(code_labels or {})
    if appellations:
        documents = [Document(code, label, ogr, 1.0) for code, label, ogr in appellations]
    else:
        documents = [Document(code, label, "", 1.0) for code, label in sorted(labels.items())]
    known = set(labels) | {document.code for document in documents}
    documents += [  # a partner's code outside the referential is not learned
        Document(code, title, "", LEARNED_WEIGHT, official=False, text=title, offers=count)
        for code, title, count in offers
        if code in known
    ]
    return Index.build(documents, labels)
