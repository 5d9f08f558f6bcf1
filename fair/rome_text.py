"""How a job title is read for the ROME suggestion (fair.rome_suggest): the same reading for the
official names at build time and for what a person types.

`Analyser.words`: accents and case folded; "H/F", "(F/H/X)" dropped; contract, schedule, level,
salary and ad wording dropped (NOISE); feminine forms read as the masculine ("conductrice" ->
"conducteur", "aide-soignant(e)", "vendeur.euse"), through the pairs the referential itself
gives ("Conducteur / Conductrice …") and French suffix rules; trade abbreviations expanded and
certifications kept as words (fair/data/rome_abbreviations.tsv: "PL" -> "poids lourd", "CACES 3"
-> "caces cariste", "permis C" -> "permisc"). `Analyser.terms`: those words' Snowball French
stems (as fair.search).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from fair import search
from fair.search.stemming import FEMININE

ABBREVIATIONS_FILE = Path(__file__).resolve().parent / "data" / "rome_abbreviations.tsv"
MAX_QUERY = 200  # characters of a text read
MAX_READ = 100_000  # words whose masculine form an analyser remembers

# Gender markers: "H/F", "(F/H)", "H/F/X".
GENDER_RE = re.compile(r"\(?\b(?:h\s*/\s*f|f\s*/\s*h|h\s*/\s*f\s*/\s*x|f\s*/\s*h\s*/\s*x)\b\)?")
# "soignant(e)", "conducteur(trice)", "vendeur.euse", "technicien·ne": the suffix is dropped.
SUFFIX_RE = re.compile(
    r"(?<=[a-z])(?:\((?:e|s|es|ne|le|se|euse|rice|trice|ere|ière|ive)\)"
    r"|[.·](?:e|ne|le|se|euse|rice|trice|ere|ive)\b)"
)
# Salaries and levels written with figures: "1 800 €", "12€/h", "bac+2", "35h", "2500 euros".
FIGURES_RE = re.compile(
    r"\b\d[\d\s.,]*\s*(?:k\s*)?(?:€|euros?|eur)(?:\s*/\s*(?:h|heure|mois|an))?"
    r"|\bbac\s*\+\s*\d\b|\b\d+\s*h(?:eures?)?\b"
)
PERMIS_RE = re.compile(r"\bpermis\s+(b|c|ce|c1|d|de|ec|be)\b")
# "CACES 3", "CACES R489 cat 3", "caces 1 3 5": the certification is kept, its categories dropped.
CACES_RE = re.compile(
    r"\bcaces\s*(?:r\s*)?(?:[0-9]{3}|[0-9])?(?:\s*(?:cat(?:egorie)?\s*)?[0-9])*\b"
)
TOKEN_RE = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a au aux avec ce ces dans de des du en et l d la le les leur ou par pour sur un une "
    "son sa ses chez qui que the of and".split()
)
# Words of job ads that say nothing of the job: contract, schedule, level, pay, ad wording.
NOISE = frozenset(
    """
    h f x hf fh cdi cdd cdic interim interimaire mission missions contrat temps plein partiel
    complet urgent urgence poste postes offre offres recrute recrutons recherche recherchons
    recrutement emploi job jobs cherche nuit jour jours week end weekend matin soir
    semaine semaines mois an ans heure heures hebdo hebdomadaire mensuel horaires horaire
    debutant debutants accepte acceptes experimente experimentee confirme confirmee junior
    senior alternance alternant apprenti apprentie apprentissage stage stagiaire
    professionnalisation pro saison saisonnier saisonniere saisonniers ete hiver
    immediat immediate asap rapidement possible evolutif evolution salaire brut net
    euros eur k taf bac bts dut cap bep licence diplome diplomee niveau
    remplacement renfort ponctuel ponctuelle extra extras vacataire vacation
    """.split()
)
# French feminine endings -> masculine, tried when the referential gave no pair: the search's
# table (fair.search.stemming.FEMININE, one table of French endings), each plural first.
SUFFIXES = tuple((ending + plural, masc) for ending, masc in FEMININE for plural in ("s", ""))


def _strip(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Accented Latin letters to their base letters, for str.translate (fast; the referential's
# 13,000 names are folded at each build): the rest goes through Unicode decomposition.
_LATIN = {cp: _strip(chr(cp)) for cp in range(0xC0, 0x250) if _strip(chr(cp)).isascii()}


def fold(text: str) -> str:
    """Lower case without accents, ligatures opened: 'Œnologue' -> 'oenologue'."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("’", "'")
    text = text.translate(_LATIN)
    return text if text.isascii() else _strip(text)


@cache
def abbreviations() -> dict[str, tuple[str, ...]]:
    """fair/data/rome_abbreviations.tsv: abbreviation -> the words it stands for."""
    found: dict[str, tuple[str, ...]] = {}
    for line in ABBREVIATIONS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            short, words = line.split("\t", 1)
            found[short.strip()] = tuple(words.split())
    return found


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


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return search.stem(word)


@dataclass
class Analyser:
    """Turns text into the index's words and terms; knows the referential's feminine forms."""

    feminine: dict[str, str] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)  # the masculine words of those pairs

    read: dict[str, str] = field(default_factory=dict)  # word -> masculine, as found

    def learn(self, labels: Iterable[str]) -> None:
        for label in labels:
            for fem, masc in gender_pairs(label):
                self.feminine.setdefault(fem, masc)
                self.known.add(masc)
        self.read.clear()

    def words(self, text: str) -> list[str]:
        """Folded words, noise dropped, feminine forms made masculine, abbreviations expanded."""
        text = fold(text[:MAX_QUERY])
        text = GENDER_RE.sub(" ", text)
        text = SUFFIX_RE.sub("", text)
        text = FIGURES_RE.sub(" ", text)
        text = PERMIS_RE.sub(lambda m: f" permis{m.group(1)} ", text)
        text = CACES_RE.sub(" caces ", text)
        table = abbreviations()
        found: list[str] = []
        for word in TOKEN_RE.findall(text):
            if word in STOPWORDS or word in NOISE or word.isdigit():
                continue
            word = self.masculine(word)
            found.extend(table.get(word, (word,)))
        return found

    def masculine(self, word: str) -> str:
        found = self.read.get(word)
        if found is None:
            if len(self.read) >= MAX_READ:
                self.read.clear()
            found = self.read[word] = self._masculine(word)
        return found

    def _masculine(self, word: str) -> str:
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
