"""Suggestions as a person types in the offer search (static/combobox.js): job names and
communes, from indexes held in memory, so that an answer costs well under a millisecond of
work once they are built.

- Jobs: the official ROME appellations when a referential is imported, else the ROME codes'
  labels and the titles of the offers already coded (the documents of fair.rome_suggest's
  index, rebuilt when they change; this prefix index follows it); and, either way, the words
  job seekers type for common trades, the keys of the synonym list ("aide à domicile", "BTP":
  fair/data/search_synonyms.toml, read by fair.search.terms), which the search widens.
- Communes: every commune by a word of its name or by its postcode, the most populous first,
  those of the edition's territory (fair.search.territory_communes) before the others.

Each typed word must begin a word of the name ("aide soi" finds "Aide-soignant",
"st jean" does not, "saint je" does): what a person sees grow as they type.
"""

from __future__ import annotations

import asyncio
import heapq
import re
import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo, rome_suggest, search
from fair.search import terms as search_terms

LIMIT = 8  # suggestions shown at most
MIN_CHARS = 2  # fewer typed characters suggest nothing
MAX_WORDS = 6
# A synonym's key against an official name (1.0) and a coded offer's title (0.6, with its
# code's share of the offers): the fair's own names first.
SYNONYM_WEIGHT = 0.5
TERRITORY_SECONDS = 60.0  # an edition's territory is read again at most this often
WORD_RE = re.compile(r"[a-z0-9]+")
POSTCODE_RE = re.compile(r"\d{2,5}")


@dataclass(frozen=True)
class Suggestion:
    label: str  # what the list shows
    value: str  # what the field receives when it is chosen


class Prefixes:
    """Entries found by the prefixes of their words: a sorted vocabulary, each word with the
    entries it is in; a typed word selects the range of words it begins (two bisections)."""

    def __init__(self, labels: Sequence[str]) -> None:
        vocabulary: dict[str, list[int]] = {}
        for number, label in enumerate(labels):
            for word in set(_words(label)):
                vocabulary.setdefault(word, []).append(number)
        self.words = sorted(vocabulary)
        self.entries = [vocabulary[w] for w in self.words]
        self.firsts = [(_words(label) or [""])[0] for label in labels]

    def find(self, text: str) -> tuple[set[int], str]:
        """The entries having a word that begins with each typed word; the first typed word."""
        typed = sorted(set(_words(text)[:MAX_WORDS]), key=len, reverse=True)
        found: set[int] | None = None
        for word in typed:  # the longest first: the fewest entries to intersect
            low = bisect_left(self.words, word)
            high = bisect_left(self.words, word + "\x7f", low)
            matches: set[int] = set()
            for entries in self.entries[low:high]:
                matches.update(entries)
            found = matches if found is None else found & matches
            if not found:
                return set(), ""
        return found or set(), (_words(text) or [""])[0]


def _words(text: str) -> list[str]:
    return WORD_RE.findall(search.fold(text))


# Jobs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Jobs:
    labels: list[str]
    weights: list[float]
    prefixes: Prefixes


_jobs: dict[int, tuple[rome_suggest.Index, _Jobs]] = {}  # by the id of the index it follows


async def jobs(session: AsyncSession, text: str, *, limit: int = LIMIT) -> list[Suggestion]:
    """Job names beginning as typed: the name's first word first, then the most common."""
    if len(text.strip()) < MIN_CHARS:
        return []
    index = await rome_suggest.index(session)
    held = _jobs.get(id(index))
    if held is None or held[0] is not index:
        built = await asyncio.to_thread(_build_jobs, index)
        _jobs.clear()
        _jobs[id(index)] = held = (index, built)
    table = held[1]
    found, first = table.prefixes.find(text)
    best = heapq.nsmallest(
        limit,
        found,
        key=lambda n: (
            not table.prefixes.firsts[n].startswith(first),
            -table.weights[n],
            len(table.labels[n]),
            table.labels[n],
        ),
    )
    return [Suggestion(table.labels[n], table.labels[n]) for n in best]


def _build_jobs(index: rome_suggest.Index) -> _Jobs:
    """The official names when the referential is imported, else the codes' labels and the
    coded offers' titles; the synonym list's keys; one entry per name (accents and case
    folded), its best weight."""
    imported = any(d.official and d.code_ogr for d in index.documents)
    weights: dict[str, tuple[float, str]] = {}

    def add(label: str, weight: float) -> None:
        key = " ".join(_words(label))
        if key and (key not in weights or weights[key][0] < weight):
            weights[key] = (weight, label.strip())

    for document in index.documents:
        if imported and not (document.official and document.code_ogr):
            continue
        add(document.label, document.weight + index.prior.get(document.code, 0.0))
    if not imported:
        for code, label in index.code_labels.items():
            add(label, 1.0 + index.prior.get(code, 0.0))
    for synonym in search_terms.synonyms():  # as written, acronyms in capitals
        add(synonym.typed[0].upper() + synonym.typed[1:], SYNONYM_WEIGHT)
    labels = [label for _weight, label in weights.values()]
    return _Jobs(labels, [weight for weight, _label in weights.values()], Prefixes(labels))


# Communes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Communes:
    communes: tuple[geo.Commune, ...]
    prefixes: Prefixes
    postcodes: list[str]  # sorted
    by_postcode: dict[str, tuple[geo.Commune, ...]]


_communes: list[_Communes] = []
_territories: dict[int, tuple[float, frozenset[str]]] = {}  # edition -> (when read, départements)


async def communes(
    session: AsyncSession, text: str, *, edition_id: int, limit: int = LIMIT
) -> list[Suggestion]:
    """Communes whose name begins as typed, or whose postcode does (from two digits): the
    edition's territory first, then the most populous."""
    typed = text.strip()
    if len(typed) < MIN_CHARS:
        return []
    if not _communes:
        _communes.append(await asyncio.to_thread(_build_communes))
    table = _communes[0]
    territory = await _territory(session, edition_id)
    if POSTCODE_RE.fullmatch(typed):
        low = bisect_left(table.postcodes, typed)
        high = bisect_left(table.postcodes, typed + "\x7f", low)
        pairs = [(c, p) for p in table.postcodes[low:high] for c in table.by_postcode[p]]
        best = heapq.nsmallest(
            limit,
            pairs,
            key=lambda cp: (cp[0].departement not in territory, cp[1], -cp[0].population),
        )
        return [Suggestion(f"{c.name} ({p})", _value(c, p)) for c, p in best]
    found, first = table.prefixes.find(_saints(typed))
    chosen = heapq.nsmallest(
        limit,
        found,
        key=lambda n: (
            not table.prefixes.firsts[n].startswith(first),
            table.communes[n].departement not in territory,
            -table.communes[n].population,
        ),
    )
    return [
        Suggestion(f"{c.name} ({c.postcode})", c.label)
        for c in map(table.communes.__getitem__, chosen)
    ]


def _saints(typed: str) -> str:
    """ "st jean" as "saint jean" (fair.geo.SAINTS), but for the word still being typed: "st"
    alone may begin "Strasbourg"."""
    words = _words(typed)
    if not words:
        return typed
    return " ".join([*(geo.SAINTS.get(w, w) for w in words[:-1]), words[-1]])


def _value(commune: geo.Commune, postcode: str) -> str:
    """What the field receives: the name, with the postcode when others share the name or the
    postcode (the form then knows which one is meant: fair.geo.lookup)."""
    shared = len(geo.by_postcode(postcode)) > 1 or commune.label != commune.name
    return f"{commune.name} ({postcode})" if shared else commune.name


def _build_communes() -> _Communes:
    every = geo.communes()
    by_postcode: dict[str, list[geo.Commune]] = {}
    for commune in every:
        for postcode in commune.postcodes:
            by_postcode.setdefault(postcode, []).append(commune)
    return _Communes(
        communes=every,
        prefixes=Prefixes([c.name for c in every]),
        postcodes=sorted(by_postcode),
        by_postcode={p: tuple(found) for p, found in by_postcode.items()},
    )


async def _territory(session: AsyncSession, edition_id: int) -> frozenset[str]:
    """The départements of the edition's territory, read again at most every minute."""
    held = _territories.get(edition_id)
    if held is not None and time.monotonic() - held[0] < TERRITORY_SECONDS:
        return held[1]
    found = await search.territory_communes(session, edition_id=edition_id)
    departements = frozenset(c.departement for c in found)
    _territories[edition_id] = (time.monotonic(), departements)
    return departements
