"""The indexable form of French text, accents and plurals ignored: folded, stop words dropped,
each word stemmed with the Snowball French stemmer (`stems`). SQLite's FTS5 index holds these
stems; PostgreSQL's `fair_french` configuration (unaccent, then french_stem) computes the same.

Genders: Snowball stems a job's feminine apart from its masculine ("vendeuse" is "vendeux",
"vendeur" "vendeur"; "caissière" "caissier", "caissier" "caissi"), and both are in the offers
("Vendeur H/F", "Vendeuse"). The indexes keep the stems as they are (PostgreSQL's vectors are
computed by PostgreSQL from the texts: no rule of ours reaches them); a typed word is searched
as its masculine (`gendered`, one table of endings: `FEMININE`), and that masculine's stem
matches its feminine's too (`feminine_stems`, the same table read backwards, where the
masculine's stem does not start the feminine's: fair.search.match writes both).
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
# An elided article or pronoun (c', d', j', l', m', n', s', t', qu'): no word of its own; "d"
# or "l" typed in lower case without the apostrophe before a vowel ("conduite d engins")
# likewise, where a capital is a licence's letter ("Permis D exigé"). Kept, "d" of "agent
# d'entretien" was searched as a prefix: every word starting with d, each offer.
# ("aujourd'hui", "prud'homme": no word starts at their "d".) Read before folding (the case).
ELISION_RE = re.compile(r"\b(?:(?i:qu|[cdjlmnst])['’]|[dl] +(?=(?i:[aeiouyhàâäéèêëîïôöùûüœæ])))")


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
    """The folded words of `text_`, stop words and elided articles dropped."""
    # Written all in capitals ("AGENT D ENTRETIEN"), a capital tells no licence's letter.
    cased = text_ if any(c.islower() for c in text_) else text_.lower()
    return [w for w in WORD_RE.findall(fold(ELISION_RE.sub(" ", cased))) if w not in STOPWORDS]


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """One folded word's Snowball French stem (the pure-Python stemmer is slow: cache it)."""
    return str(stemmer().stemWord(word))


# A job's feminine ending and its masculine's, tried in this order: "conductrice" ->
# "conducteur", "vendeuse" -> "vendeur", "caissière" -> "caissier", "employée" -> "employé",
# "sportive" -> "sportif" ("technicienne", "agente" share their masculine's stem already;
# kept, so that the table read backwards finds them too).
FEMININE = (
    ("trice", "teur"),
    ("euse", "eur"),
    ("iere", "ier"),
    ("ienne", "ien"),
    ("enne", "en"),
    ("elle", "el"),
    ("ante", "ant"),
    ("ente", "ent"),
    ("ere", "er"),
    ("ive", "if"),
    ("ee", "e"),
)
GENDERED_STEM = 4  # a masculine stem this long at least stands for the feminine's


def masculine(word: str) -> str:
    """The masculine of a folded word with a feminine ending (`FEMININE`, plural or not:
    "vendeuses" -> "vendeur"), the word itself otherwise (or when it would leave too little of
    it: "vente", "frere")."""
    base = word.removesuffix("s")
    for ending, replacement in FEMININE:
        if base.endswith(ending) and len(base) > len(ending) + 2:
            return base[: -len(ending)] + replacement
    return word


@lru_cache(maxsize=50_000)
def feminine_stems(stem_: str) -> tuple[str, ...]:
    """The stems of the feminines of the masculine whose stem is `stem_` (`FEMININE` read
    backwards) that `stem_` does not start, as a word's start does: "vendeur" -> ("vendeux",),
    "conducteur" -> ("conductric",), "sportif" -> ("sportiv",); none for "caissi" (the
    masculine's stem starts "caissier", the feminine's), "technicien" or "agent". Not a shorter
    one (Snowball took the feminine's whole ending: "acheteuse" is "achet", "directeuse" would
    be "direct", which "direction" is too): that feminine's stem starts the masculine's, so the
    feminine typed finds the masculine's offers as it is (`gendered` keeps it)."""
    found: dict[str, None] = {}
    for ending, replacement in FEMININE:
        if stem_.endswith(replacement):
            other = stem(stem_[: -len(replacement)] + ending)
            if not other.startswith(stem_) and len(other) >= len(stem_):
                found[other] = None
    return tuple(found)


@lru_cache(maxsize=50_000)
def craft_stems(stem_: str) -> tuple[str, ...]:
    """The stem of the craft or the shop in "-erie" of a trade in "-ier" whose stem is `stem_`,
    which Snowball stems apart: "menuisi" (menuisier) -> ("menuiser",) (menuiserie),
    "patissi" -> ("patisser",), "plombi" -> ("plomber",); none for another stem, nor where
    the trade's stem starts it already ("boulang": "boulangerie" is "boulanger"). An offer of
    a "Menuiserie" or that makes "pâtisseries" speaks of the trade (PostgreSQL's to_tsquery
    stems our stems again, "menuisi" to "menuis", which finds "menuiser" already)."""
    if not stem_.endswith("i") or len(stem_) <= GENDERED_STEM or stem(stem_ + "er") != stem_:
        return ()
    other = stem(stem_[:-1] + "erie")
    return () if other.startswith(stem_) else (other,)


@lru_cache(maxsize=50_000)
def gendered(word: str) -> str:
    """The stem a typed (folded) word is searched by: its masculine's (`masculine`), when that
    still finds what the word's own stem finds (the masculine's stem starts the word's, or the
    word's is one of the masculine's `feminine_stems`), the word's own otherwise. "vendeuse"
    and "vendeur" are both "vendeur", "caissière" and "caissier" "caissi", "employée" and
    "employé" "employ"; "rigoureuse" stays "rigour" (Snowball's, as "rigoureux")."""
    own = stem(word)
    found = stem(masculine(word))
    if found == own or len(found) < GENDERED_STEM:
        return own
    return found if own.startswith(found) or own in feminine_stems(found) else own


def stems(text_: str) -> str:
    """The indexable form of `text_`: folded, stop words dropped, each word stemmed."""
    return " ".join(stem(w) for w in words(text_))
