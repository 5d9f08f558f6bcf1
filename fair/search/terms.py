"""Job seekers' words for the offer search: what a query also means, and its spelling forgiven.

`find` is the offer search of the pages: `fair.search.search` with the query widened, then
each hit told why it was found when its words alone did not find it.

- Synonyms: fair/data/search_synonyms.toml, a maintained list of the words people type for common
  trades ("chauffeur", "BTP", "aide à domicile", "ASH", "CACES"…) with the phrases the offers use.
- The same job: the ROME codes fair.rome_suggest gives for the query (from the imported
  referential, or from the shipped labels when none is), when the name the code's offers are
  indexed with does not already hold the query's words naming the job (those offers find
  themselves): an appellation's words, or words of the name's family ("conduite de poids
  lourd" for "Conducteur de poids lourd"), find the code's offers.
- Spelling: when nothing matches, each unknown word is compared with the words of the offers'
  titles (the `search_words` vocabulary of migration 0035: trigram similarity, pg_trgm on
  PostgreSQL and an FTS5 trigram table on SQLite) and with the trades' words, within one or two
  letters; the corrected words are searched and the page says "did you mean".
- Words no offer has: when still nothing matches, the words that find no offer alone (a
  qualifier: "aide-soignant nuit", "dev web") are left out, the others searched, and each hit
  says so (`without_absent`).

Cost: synonyms and the ROME index are in memory (rome_suggest checks its tables every 30 s);
the widened match is the same single statement (fair.search.match); spelling adds, only after a
search found nothing, two small queries per unknown word (its nearest vocabulary words; whether
it finds an offer alone; their answer kept until the edition's offers change, fair.search.cache)
and one search.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo, rome, rome_suggest, timing
from fair.search import cache as search_cache
from fair.search import pages, stemming
from fair.search.match import (
    WHOLE,
    WHOLE_STEM,
    Reason,
    Wider,
    forms,
    fts5,
    tsquery,
    typed_terms,
)
from fair.search.match import typed as typed_stem
from fair.search.query import Hit, Page, Query

JOBS = 4  # ROME suggestions read
JOB_SHARE = 0.6  # a suggestion kept scores at least this share of the best one's
MAX_WORDS = 12  # as fair.search
ROOT = 5  # letters two words of one family share at least (`akin`)
PREFIX_KEY = 5  # a synonym's stem this long also matches the longer stems it starts
SPELLING_WORDS = 4  # unknown words corrected at most per query
COMPOUND_HEAD = 3  # letters of a word's start that begins a compound at least (`compound`)
COMPOUND_TAIL = 6  # letters of the trade's word that ends a compound at least
CANDIDATES = 40  # vocabulary words read per unknown word
TOKEN_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


# --- Synonyms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synonym:
    typed: str  # as the file writes it: "aide à domicile"
    key: tuple[str, ...]  # its stems
    means: tuple[tuple[str, tuple[str, ...]], ...]  # (phrase, its stems: `_means`)


def _stems(phrase: str) -> tuple[str, ...]:
    """A phrase's stems as a query's (a job's feminine as its masculine: "vendeuse" is
    "vendeur", fair.search.stemming.gendered), once each; elided articles ("d'", "l'") left
    out."""
    found = (stemming.gendered(w) for w in stemming.words(phrase) if len(w) > 1)
    return tuple(dict.fromkeys(found))


def _means(phrase: str) -> tuple[str, ...]:
    """A synonym's phrase as a group's stems: its short stems (WHOLE_STEM letters at most)
    matched whole, not as a word's start ("vie" is "vi": "ville", "visite"… start with it)."""
    return tuple(s + WHOLE if len(s) <= WHOLE_STEM else s for s in _stems(phrase))


@cache
def synonyms() -> tuple[Synonym, ...]:
    """The list of fair/data/search_synonyms.toml, longest keys first."""
    raw = resources.files("fair").joinpath("data/search_synonyms.toml").read_text("utf-8")
    table: dict[str, list[str]] = tomllib.loads(raw)["synonyms"]
    found = [
        Synonym(typed, _stems(typed), tuple((p, _means(p)) for p in phrases))
        for typed, phrases in table.items()
    ]
    return tuple(sorted(found, key=lambda s: -len(s.key)))


def _same(typed: str, key: str) -> bool:
    """Whether a query's stem (`typed_stem`: maybe to be matched whole) is a synonym's key's."""
    typed = typed.removesuffix(WHOLE)
    return typed == key or (len(key) >= PREFIX_KEY and typed.startswith(key))


def _elided(term: str) -> bool:
    """Whether a query's stem is a lone letter a synonym's key leaves out (`_stems`): "Agent
    D entretien" (elided articles never reach the terms: fair.search.stemming.ELISION_RE;
    but a capital before a vowel may be a licence's letter, "Permis D exigé")."""
    return len(term) == 1 and term.isalpha()


def _span(terms: Sequence[str], key: Sequence[str]) -> range | None:
    """The positions in `terms` of `key`'s stems next to each other (an elided article between
    two of them too: "agent d'entretien" has the key "agent entretien"), or None."""
    for start in range(len(terms) - len(key) + 1):
        at = start
        for n, stem in enumerate(key):
            while n and at < len(terms) and _elided(terms[at]):
                at += 1
            if at == len(terms) or not _same(terms[at], stem):
                break
            at += 1
        else:
            return range(start, at)
    return None


def synonym_groups(
    terms: Sequence[str], used: set[int] | None = None
) -> list[tuple[tuple[str, ...], Reason]]:
    """The groups of stems the synonyms make of the query's `terms`, each with its reason;
    `used` receives the positions of the terms a synonym replaced."""
    found: list[tuple[tuple[str, ...], Reason]] = []
    used = set() if used is None else used
    for synonym in synonyms():
        span = _span(terms, synonym.key)
        if span is None or used.intersection(span):
            continue
        used.update(span)
        # A number beside a trade's word is its category ("CACES 3"), not one of the offer's.
        before = [t for t in terms[: span.start] if not t.isdigit()]
        after = [t for t in terms[span.stop :] if not t.isdigit()]
        for phrase, stems in synonym.means:
            group = tuple(dict.fromkeys([*before, *stems, *after]))
            found.append((group, Reason("synonym", synonym.typed, phrase)))
    return found


# --- The same job (ROME) --------------------------------------------------------------------


def _has(stems: Sequence[str], term: str) -> bool:
    """`term` (one of its forms: a masculine's feminines, fair.search.match.forms) starts one
    of the sorted `stems` (the search's prefix match), or is one when it is to be matched whole
    (fair.search.match.WHOLE)."""
    return any(_has_one(stems, form) for form in forms(term))


def _has_one(stems: Sequence[str], term: str) -> bool:
    whole = term.removesuffix(WHOLE)
    at = bisect.bisect_left(stems, whole)
    if at == len(stems):
        return False
    return stems[at] == whole if whole != term else stems[at].startswith(term)


async def job_codes(
    session: AsyncSession, q: str, *, known: Iterable[int] = ()
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The ROME codes (code -> name) the query's words name but do not find by themselves, and
    the stems of its other words (required beside a code). The words at the positions `known`
    (a synonym's) are not asked: the maintained list knows better what they mean.

    A word names a job when it is one of the words of the job's names (its label, the
    appellation suggested), or of the family of a name's first word, its trade (`akin`:
    "conduite" and "conducteur"). A code is left out when the name its offers are indexed
    with (the shipped label, fair.offers) holds every word naming it: those offers find
    themselves. An appellation's words ("conducteur de tracteur" for "Conducteur d'engins
    agricoles") or a family's ("conduite de poids lourd") are in none: the code brings them."""
    typed = stemming.words(q)[:MAX_WORDS]
    asked = [w for n, w in enumerate(typed) if n not in set(known)]
    if not asked:
        return {}, ()
    index = await rome_suggest.index(session)
    found = index.search(" ".join(_as_trades(index, asked)), limit=JOBS)
    if not found:
        return {}, ()
    kept: dict[str, str] = {}
    covered: set[str] = set()
    for suggestion in found:
        if suggestion.score < JOB_SHARE * found[0].score:
            continue
        appellation = suggestion.label_appellation
        label = suggestion.label_rome or appellation
        names = [index.name_terms(n) for n in (label, appellation)]
        naming = [w for w in asked if _names(index.analyser.terms(w), names)]
        shipped = rome.job(suggestion.code_rome)
        indexed = _indexed(shipped.label if shipped else label)
        if not naming or all(_has(indexed, typed_stem(w)) for w in naming):
            continue  # nothing of the job in the words, or its offers' name holds them all
        kept[suggestion.code_rome] = label
        covered.update(naming)
    if not kept:
        return {}, ()
    rest = (typed_stem(w) for w in typed if w not in covered and len(w) > 1)
    return kept, tuple(dict.fromkeys(rest))


@lru_cache(maxsize=4096)
def _indexed(name: str) -> tuple[str, ...]:
    """The stems a job's name is indexed with in its offers (fair.offers), sorted (`_has`);
    kept, as `rome_suggest.Index.name_terms`."""
    return tuple(sorted(stemming.stems(name).split()))


def _as_trades(index: rome_suggest.Index, asked: Sequence[str]) -> list[str]:
    """The words asked, those of the family of a trade read as the trade ("conduite d'engins"
    as "conducteur d'engins", where the ROME suggestion would read the "formateur conduite
    d'engins", whose name has both words), when none of them names a trade itself ("agent de
    production" keeps "production", no "producteur" there: "agent" is the trade)."""
    terms = [index.analyser.terms(w) for w in asked]
    if any(t in index.heads for found in terms for t in found):
        return list(asked)
    return [_trade(index, found) or word for word, found in zip(asked, terms, strict=True)]


def _trade(index: rome_suggest.Index, terms: Sequence[str]) -> str | None:
    """The trade (a name's first word, as written) of the family of a word's one term, the
    nearest (the most letters shared), then the most common; None when none is."""
    if len(terms) != 1 or len(terms[0]) < ROOT:
        return None
    start = bisect.bisect_left(index.trades, terms[0][:ROOT])
    near: list[tuple[int, int, str]] = []
    for head in index.trades[start:]:
        if not head.startswith(terms[0][:ROOT]):
            break
        if akin(terms[0], head):
            count, written = index.heads[head]
            near.append((_shared(terms[0], head), count, written))
    return max(near)[2] if near else None


def _names(terms: Iterable[str], names: Sequence[Sequence[str]]) -> bool:
    """Whether a typed word's `terms` name a job whose names have the terms `names`: one of
    their terms, or one of the family of a name's first (its trade: "conduite" names
    "Conducteur de bus", not "Formateur conduite d'engins")."""
    found = {t for name in names for t in name}
    heads = [name[0] for name in names if name]
    return any(t in found or any(akin(t, head) for head in heads) for t in terms)


def akin(a: str, b: str) -> bool:
    """Whether two stems are of one word family, such as an activity and the person doing it
    ("conduit" and "conducteur", "plomber" and "plombi", "coiff" and "coiffeur"): they share
    their first ROOT letters at least, and all but at most two letters of the shorter one
    ("transport" and "transform" do not)."""
    shared = _shared(a, b)
    return shared >= ROOT and shared >= min(len(a), len(b)) - 2


def _shared(a: str, b: str) -> int:
    """How many first letters `a` and `b` have in common."""
    for n, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return n
    return min(len(a), len(b))


# --- Spelling -------------------------------------------------------------------------------


def distance(a: str, b: str, most: int = 2) -> int:
    """Edits (a letter added, dropped, changed, or two swapped) from `a` to `b` when they are
    `most` at most; `most` + 1 when they are more.

    Only the cells within `most` of the diagonal are worked out: a path through any other
    costs more than `most` (each step off the diagonal costs an edit, a swap keeps to it), and
    the others are `most` + 1 ("more"). The spelling correction compares a typed word with
    ~200 words (`Typed.near`): in Python, this is a third of the full table's cost. The
    letters both words start and end with are left out first (an optimal alignment keeps them
    matched, a swap included: the full table's answer for every pair of words of up to six
    letters of three), so that the table is that of the letters that differ ("r" against "tr"
    for "elecricien" and "electricien", which share "elec" and "icien"; the tables of a typo's
    nearest trades' words: 0.13 ms for "elecricien", 0.10)."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    if a == b:
        return 0
    start, tail, shorter = 0, 0, min(len(a), len(b))
    while start < shorter and a[start] == b[start]:
        start += 1
    while tail < shorter - start and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a, b = a[start : len(a) - tail], b[start : len(b) - tail]
    size = len(b)
    more = most + 1
    if not a or not size:
        return min(len(a) + size, more)
    before: list[int] = []
    row = [j if j <= most else more for j in range(size + 1)]
    for i, ca in enumerate(a, 1):
        current = [i if i <= most else more] + [more] * size
        least = current[0]
        for j in range(max(1, i - most), min(size, i + most) + 1):
            cb = b[j - 1]
            found = row[j - 1] + (ca != cb)  # the same letter, or changed
            other = row[j] + 1  # `a`'s letter dropped
            if other < found:
                found = other
            other = current[j - 1] + 1  # `b`'s letter added
            if other < found:
                found = other
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                other = before[j - 2] + 1  # two letters swapped
                if other < found:
                    found = other
            current[j] = found if found < more else more
            if found < least:
                least = found
        if least > most:
            return more
        before, row = row, current
    return row[-1]


def allowed(word: str) -> int:
    """Letters a word may have wrong: none under 4 letters, 1 up to 6, then 2."""
    return 0 if len(word) < 4 else 1 if len(word) <= 6 else 2


def closeness(word: str, stem: str, *, start: bool = True) -> int:
    """How far a typed word is from a vocabulary stem: as typed, stemmed, or its start (a
    stem is a word's start). `start` False: `stem` is a whole word (a trade's), which the
    typed word's start is not compared with: "livreru" is two letters swapped from "livreur",
    not "libre" with its "ru" left over."""
    most = allowed(word)
    found = min(distance(word, stem, most), distance(stemming.stem(word), stem, most))
    if start and len(stem) >= 5 and len(word) > len(stem):
        found = min(found, distance(word[: len(stem)], stem, most))
    return found


def letters(text: str) -> int:
    """The letters of `text` as bits, one per letter (a few letters share one): see `apart`."""
    found = 0
    for letter in text:
        found |= 1 << (ord(letter) & 63)
    return found


def apart(a: int, b: int) -> int:
    """At most the edits between two texts whose `letters` are `a` and `b`: each letter one
    has and the other lacks takes an edit of its own (none of `distance`'s edits brings or
    takes more than one letter; a swap none)."""
    return max((a & ~b).bit_count(), (b & ~a).bit_count())


@dataclass(frozen=True)
class Typed:
    """A typed word as `closeness` compares it (as typed, stemmed, its start), with the
    letters of each form: a vocabulary word too many letters apart from one of them is not
    compared with it (`distance`, in Python, costs ~20 µs a pair; the bound ~0.3)."""

    word: str
    stem: str
    most: int
    starts: tuple[int, ...]  # letters(word[:n]) for n from 0 to len(word)
    # The word as typed and its stem, with their letters: the stem once when it is the word
    # (a typo often stems to itself: "elecricien"), not compared twice.
    forms: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, word: str) -> Typed:
        starts, found = [0], 0
        for letter in word:
            found |= 1 << (ord(letter) & 63)
            starts.append(found)
        stem = stemming.stem(word)
        forms_ = ((word, found),) + (((stem, letters(stem)),) if stem != word else ())
        return cls(word, stem, allowed(word), tuple(starts), forms_)

    def near(self, other: str, other_letters: int, *, start: bool = True) -> int:
        """`closeness(word, other, start=start)` when it is at most `most` (then the same);
        else more."""
        most, found = self.most, self.most + 1
        for form, form_letters in self.forms:
            if abs(len(form) - len(other)) <= most and apart(form_letters, other_letters) <= most:
                found = min(found, distance(form, other, most))
        size = len(other)
        if (
            start
            and size >= 5
            and len(self.word) > size
            and apart(self.starts[size], other_letters) <= most
        ):
            found = min(found, distance(self.word[:size], other, most))
        return found


@cache
def surfaces() -> dict[str, str]:
    """Stem -> a word of the trades that has it, as written ("soign" -> "soignant"): the words
    of the ROME names and of the synonyms."""
    found: dict[str, str] = {}
    phrases = [job.label for job in rome.jobs().values()]
    for synonym in synonyms():
        phrases.append(synonym.typed)
        phrases.extend(p for p, _ in synonym.means)
    for phrase in phrases:
        for token in TOKEN_RE.findall(phrase.lower()):
            for word in re.split(r"['’-]", token):
                if len(word) > 2 and not word.isdigit():
                    folded = stemming.fold(word)
                    found.setdefault(stemming.stem(folded), word)
                    found.setdefault(folded, word)
    return found


@cache
def trade_words() -> dict[str, list[tuple[str, int]]]:
    """The trades' folded words by first letter, with their `letters`: spelling candidates
    beside the vocabulary."""
    by_letter: dict[str, list[tuple[str, int]]] = {}
    for word in sorted({stemming.fold(w) for w in surfaces().values()}):
        by_letter.setdefault(word[0], []).append((word, letters(word)))
    return by_letter


@cache
def trades_sorted() -> tuple[str, ...]:
    """The trades' folded words, sorted (`compound`)."""
    return tuple(w for found in sorted(trade_words().items()) for w, _ in found[1])


def compound(word: str) -> bool:
    """Whether a typed (folded) word is a trade's word of COMPOUND_TAIL letters at least (or
    its plural, its feminine) after the start of another's (COMPOUND_HEAD letters at least):
    "électro" and "technicien" make "électrotechnicien", a trade no name of ours has. Made of
    known words, it is no typo: two letters from "électromécanicien", it is not
    "électromécanicien" misspelt."""
    known = trades_sorted()

    def has(word: str, *, whole: bool) -> bool:
        at = bisect.bisect_left(known, word)
        return at < len(known) and (known[at] == word if whole else known[at].startswith(word))

    for cut in range(COMPOUND_HEAD, len(word) - COMPOUND_TAIL + 1):
        tail = word[cut:]
        tails = {tail, tail.removesuffix("s"), stemming.masculine(tail)}
        if any(has(t, whole=True) for t in tails) and has(word[:cut], whole=False):
            return True
    return False


@cache
def place_words() -> frozenset[str]:
    """The words of the communes' names ("vendargues", "lattes"): never "corrected" to a
    trade's word (a commune no offer is in is no typo)."""
    return frozenset(
        w for place in geo.communes() for w in stemming.words(place.name) if len(w) > 2
    )


def load() -> None:
    """Work out the spelling's tables now (the trades' words and their stems, the communes'
    words: ~0.25 s of CPU, the Snowball stemmer being pure Python): processes call it in a
    thread at start-up (fair.app), so that the first typo a process sees does not wait for
    them on the event loop."""
    synonyms()
    trades_sorted()
    place_words()


def trigrams(word: str) -> list[str]:
    return list(dict.fromkeys(word[i : i + 3] for i in range(len(word) - 2)))


async def vocabulary(session: AsyncSession, word: str) -> list[tuple[str, int]]:
    """The offers' title words (stems) nearest `word` by trigrams, with their offer counts."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        grams = trigrams(word) + [g for g in trigrams(stemming.stem(word)) if g not in word]
        statement = text(
            "SELECT word, offers FROM search_words WHERE rowid IN (SELECT rowid FROM"
            " search_words_trigrams WHERE search_words_trigrams MATCH :grams"
            " ORDER BY rank LIMIT :n)"
        ).bindparams(grams=" OR ".join(f'"{g}"' for g in grams), n=CANDIDATES)
    else:
        # `%` compares with pg_trgm's similarity threshold, which every connection sets when
        # it starts (fair.db TRIGRAM_SIMILARITY: 0.2, below its default 0.3, for two letters
        # wrong in a short word): no statement of its own, no transaction. No index serves
        # `<%` with the column on its left: every word is read, each compared once per
        # condition, so a stem that is the word itself ("elecricien") is not compared again
        # (0.3 of 1 ms at 100,000 offers).
        stem = stemming.stem(word)
        statement = text(
            "SELECT word, offers FROM search_words"
            f" WHERE word % :word{' OR word % :stem' if stem != word else ''} OR word <% :word"
            " ORDER BY greatest(similarity(word, :word), word_similarity(word, :word)) DESC"
            " LIMIT :n"
        ).bindparams(word=word, n=CANDIDATES, **({"stem": stem} if stem != word else {}))
    return [(str(w), int(n)) for w, n in (await session.execute(statement)).all()]


async def found_alone(session: AsyncSession, word: str) -> bool:
    """Whether `word` alone finds an offer (then it is no typo, only in no offer with the
    query's other words)."""
    if session.get_bind().dialect.name == "sqlite":
        statement = text(
            "SELECT 1 FROM offers_fts WHERE offers_fts MATCH :match LIMIT 1"
        ).bindparams(match=fts5([(typed_stem(word),)]))
    else:
        # Materialised: planned without the LIMIT, the match reads the full-text index (a
        # word of no offer: nothing); with it, PostgreSQL expected a match early in a scan of
        # every offer (25 ms at 100,000). Rows are still taken one at a time: one is enough.
        statement = text(
            "WITH found AS MATERIALIZED (SELECT id FROM offers"
            " WHERE search_vector @@ to_tsquery('fair_french', :match))"
            " SELECT 1 FROM found LIMIT 1"
        ).bindparams(match=tsquery([(typed_stem(word),)]))
    return (await session.scalar(statement)) is not None


async def respell(
    session: AsyncSession, typed: Iterable[str], *, edition_id: int
) -> dict[str, str]:
    """Typed (folded) word -> the stem it was probably meant to be, for the words no offer
    title has, that find no offer alone, and are one or two letters away from a title's or a
    trade's word (communes' names are never corrected, nor a compound of the trades' words:
    `compound`). Each word's answer is kept until the edition's offers change
    (fair.search.cache): a typo is typed again."""
    fixes: dict[str, str] = {}
    unknown = [
        w for w in dict.fromkeys(typed) if allowed(w) and w not in place_words() and not compound(w)
    ]
    for word in unknown[:SPELLING_WORDS]:

        async def fixed(word: str = word) -> str | None:
            return await _fix(session, word)

        fix = await search_cache.through(_RESPELT, session, edition_id, word, fixed)
        if fix is not None:
            fixes[word] = fix
    return fixes


_RESPELT: search_cache.Kept[str | None] = search_cache.Kept()


async def _fix(session: AsyncSession, word: str) -> str | None:
    """The stem `word` was probably meant to be (`respell`), None when it is no typo."""
    known = await vocabulary(session, word)
    typed = Typed.of(word)
    # Its own stems: as typed, and as searched (a feminine's masculine, and its feminines).
    own = {typed.stem, *(f.removesuffix(WHOLE) for f in forms(typed_stem(word)))}
    if any(w.startswith(s) for w, _ in known for s in own) or await found_alone(session, word):
        return None
    # The nearest within the letters allowed (`closeness`), the most frequent of the titles'
    # words first, then the trades' words (a feminine as its masculine). The titles' words
    # are stems, which a typed word's start is compared with too; the trades' are whole.
    most = typed.most
    choices = [(c, -n, w) for w, n in known if (c := typed.near(w, letters(w))) <= most]
    trade = trade_words().get(word[0], [])
    choices += [
        (c, 0, stemming.gendered(w))
        for w, bits in trade
        if (c := typed.near(w, bits, start=False)) <= most
    ]
    found = min(choices)[2] if choices else None
    return None if found in own else found  # a word is no misspelling of itself


def respelled(q: str, fixes: dict[str, str]) -> str:
    """`q` with its misspelt words replaced by the words they were meant to be, as written."""

    def one(match: re.Match[str]) -> str:
        folded = stemming.fold(match.group(0))
        if folded not in fixes:
            return match.group(0)
        return surfaces().get(fixes[folded], fixes[folded])

    return re.sub(r"[^\W_]+", one, q)


# --- The search -----------------------------------------------------------------------------


@dataclass
class Widening:
    wider: Wider = field(default_factory=Wider)
    reasons: list[tuple[tuple[str, ...], Reason]] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)
    left_out: str = ""  # the typed words no offer has, searched without (`without_absent`)


async def widen(session: AsyncSession, q: str) -> Widening:
    """What `q` also means: its synonyms' groups and the same job's ROME codes; worked out
    once per text while the ROME index is the same (`_WIDENED`), a copy of its own to each
    caller (`meant` adds to the one it gets)."""
    terms = typed_terms(q, MAX_WORDS)
    if not terms:
        return Widening()
    # Asked on every search as before: it also has the index checked every so often.
    index = await rome_suggest.index(session)
    found = _WIDENED.get(q)
    if found is None or found[0] is not index:
        found = _WIDENED[q] = (index, await _widened(session, q, terms))
        if len(_WIDENED) > WIDENED_KEPT:
            del _WIDENED[next(iter(_WIDENED))]  # the oldest text
    return _copy(found[1])


# The texts `widen` worked out, with the ROME index they were worked out under: a rebuilt
# index (the referential or the coded offers changed: fair.rome_suggest) is a new object, and
# the texts are then worked out again. The synonyms are the shipped list's.
_WIDENED: dict[str, tuple[rome_suggest.Index, Widening]] = {}
WIDENED_KEPT = 4096


def forget_widenings() -> None:
    """Drop the texts' widenings kept (bench/search.py --cold: every query worked out)."""
    _WIDENED.clear()


def _copy(widening: Widening) -> Widening:
    return replace(widening, reasons=list(widening.reasons), jobs=dict(widening.jobs))


async def _widened(session: AsyncSession, q: str, terms: Sequence[str]) -> Widening:
    """`widen`'s answer, worked out."""
    known: set[int] = set()
    reasons = synonym_groups(terms, known)
    jobs, rest = await job_codes(session, q, known=known)
    groups = tuple(dict.fromkeys(g for g, _ in reasons))
    return Widening(Wider(groups, tuple(sorted(jobs)), rest if jobs else ()), reasons, jobs)


async def find(
    session: AsyncSession, *, edition_id: int, query: Query, network: bool = False
) -> Page:
    """The search of the pages: `query`'s words, their synonyms and the same jobs, ranked below
    the words' own matches but for a synonym's phrase in a title (fair.search.match's tiers);
    when nothing matches, the words respelt ("did you mean")."""
    terms = typed_terms(query.q, MAX_WORDS)
    if not terms:
        return await pages.search(session, edition_id=edition_id, query=query, network=network)
    with timing.span("widen"):
        widening = await widen(session, query.q)
    asked = replace(query, also=widening.wider)
    page = await pages.search(session, edition_id=edition_id, query=asked, network=network)
    if page.total == 0 and (respelt := await meant(session, query.q, edition_id=edition_id)):
        # The words meant, ranked as if typed so (their tiers: a title starting with them
        # first), not the typo's, which finds nothing, with the synonyms' phrases.
        again = await pages.search(
            session,
            edition_id=edition_id,
            query=replace(query, q=respelt[0], also=respelt[1].wider),
            network=network,
        )
        if again.total:
            page, widening = again, respelt[1]
            page.did_you_mean = respelt[0]
    if page.total == 0 and (loose := await without_absent(session, query.q)):
        again = await pages.search(
            session, edition_id=edition_id, query=replace(query, also=loose.wider), network=network
        )
        if again.total:
            page, widening = again, loose
    explain(page.hits, terms, widening)
    return page


async def listing(
    session: AsyncSession,
    *,
    edition_id: int,
    query: Query,
    after: int | None,
    limit: int,
    updated_since: datetime | None = None,
) -> list[Hit]:
    """The offers `find` finds, by id (`fair.search.listing`: the public API's list, which a
    cursor continues): the same words widened the same way; respelt when the first page of
    them finds nothing (later pages keep to the words as typed: a cursor's end is no typo)."""
    if not stemming.words(query.q):
        return await pages.listing(
            session, edition_id=edition_id, query=query, after=after, limit=limit,
            updated_since=updated_since,
        )  # fmt: skip
    widening = await widen(session, query.q)

    async def listed(wider: Wider) -> list[Hit]:
        return await pages.listing(
            session, edition_id=edition_id, query=replace(query, also=wider), after=after,
            limit=limit, updated_since=updated_since,
        )  # fmt: skip

    hits = await listed(widening.wider)
    if (
        not hits
        and after is None
        and (respelt := await meant(session, query.q, edition_id=edition_id))
    ):
        hits = await listed(respelt[1].wider)
    if not hits and after is None and (loose := await without_absent(session, query.q)):
        hits = await listed(loose.wider)
    return hits


async def meant(session: AsyncSession, q: str, *, edition_id: int) -> tuple[str, Widening] | None:
    """The words `q` was probably meant to be, and what they mean (their widening, the respelt
    words first), when some are misspelt (`respell`); None when none is."""
    with timing.span("respell"):
        fixes = await respell(session, stemming.words(q), edition_id=edition_id)
        if not fixes:
            return None
        words_meant = respelled(q, fixes)
        again = await widen(session, words_meant)
    own = tuple(fixes.get(w, typed_stem(w)) for w in stemming.words(q))[:MAX_WORDS]
    typed, fixed = next(iter(fixes.items()))
    again.reasons.insert(0, (own, Reason("spelling", typed, surfaces().get(fixed, fixed))))
    again.wider = replace(again.wider, groups=(own, *again.wider.groups))
    return words_meant, again


async def without_absent(session: AsyncSession, q: str) -> Widening | None:
    """What `q` means without its words that no offer has (nor their spelling fixed, `meant`
    having found nothing): a qualifier of the job ("aide-soignant nuit", "dev web") that no
    offer says would otherwise leave the page empty. The other words are then the query's own
    group, widened as typed; every hit says which words were left out ("without"). None when no
    word is absent, or every one is. A synonym's key is never absent (the list knows what it
    means), nor a commune's name (no offer there is the answer)."""
    typed = stemming.words(q)[:MAX_WORDS]
    known: set[int] = set()
    synonym_groups(typed_terms(q, MAX_WORDS), known)  # a synonym's key: the list knows it
    asked = [w for n, w in enumerate(typed) if n not in known and len(w) > 1]
    with timing.span("respell"):
        absent = [
            w
            for w in list(dict.fromkeys(asked))[:SPELLING_WORDS]
            if w not in place_words() and not await found_alone(session, w)
        ]
    kept = [w for w in typed if w not in absent]
    if not absent or not [w for w in kept if len(w) > 1]:
        return None
    widening = await widen(session, " ".join(kept))
    own = tuple(dict.fromkeys(typed_stem(w) for w in kept if len(w) > 1))
    widening.wider = replace(widening.wider, groups=(own, *widening.wider.groups))
    widening.left_out = " ".join(absent)
    return widening


def explain(hits: Iterable[Hit], terms: Sequence[str], widening: Widening) -> None:
    """Set each hit's reason when the query's own words do not find it: the words left out
    first when some were (`without_absent`: no hit has them)."""
    if widening.left_out:
        for hit in hits:
            hit.why = Reason("without", widening.left_out, "")
        return
    if not widening.wider:
        return
    # Each term's forms once, as the words they find: a stem a word's start (" conduct"), a
    # whole one a word (" bus "), looked for in the hit's words (a substring search), each
    # term once per hit and each group a set of terms: a sorted list of the hit's words, a
    # bisect per form, and each group's terms asked one by one took 0.45 ms a page
    # ("chauffeur": its trade's stem in six groups).
    found_as = {
        t: tuple(_as_words(f) for f in forms(t))
        for t in (*terms, *(t for g, _ in widening.reasons for t in g))
    }
    own = frozenset(terms)
    groups = [(frozenset(g), len(g), -n, r) for n, (g, r) in enumerate(widening.reasons)]
    for hit in hits:
        source: Any = hit.network or hit.offer
        words_ = f" {' '.join(f'{source.title_stems} {source.search_stems}'.split())} "
        present = {t for t, found in found_as.items() if any(f in words_ for f in found)}
        if own <= present:
            continue
        matching = [(size, n, r) for group, size, n, r in groups if group <= present]
        hit.why = max(matching)[2] if matching else None  # the longest phrase found: the closest
        if hit.why is None and source.rome_code in widening.jobs:
            hit.why = Reason("job", "", widening.jobs[source.rome_code])


def _as_words(form: str) -> str:
    """A form (`forms`) as the text it is found as in space-separated words (`explain`)."""
    whole = form.removesuffix(WHOLE)
    return f" {whole} " if whole != form else f" {form}"
