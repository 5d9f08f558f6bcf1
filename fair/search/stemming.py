"""The indexable form of French text, accents and plurals ignored: folded, stop words dropped,
each word stemmed with the Snowball French stemmer (`stems`). SQLite's FTS5 index holds these
stems; PostgreSQL's `fair_french` configuration (unaccent, then french_stem) computes the same.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import snowballstemmer

WORD_RE = re.compile(r"[a-z0-9]+")
# Words too common to help a search (kept short: French articles and prepositions).
STOPWORDS = frozenset(
    "a au aux avec ce ces dans de des du en et h f la le les leur mais ou par pour sur un"
    " une".split()
)


@cache
def stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("french")


def fold(text_: str) -> str:
    """Lower case without accents, ligatures opened: 'Électricien' -> 'electricien',
    'Manœuvre' -> 'manoeuvre' (as PostgreSQL's unaccent)."""
    lowered = text_.lower().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text_: str) -> list[str]:
    return [w for w in WORD_RE.findall(fold(text_)) if w not in STOPWORDS]


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """One folded word's Snowball French stem (the pure-Python stemmer is slow: cache it)."""
    return str(stemmer().stemWord(word))


def stems(text_: str) -> str:
    """The indexable form of `text_`: folded, stop words dropped, each word stemmed."""
    return " ".join(stem(w) for w in words(text_))
