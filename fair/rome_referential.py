"""The official ROME 4.0 referential, imported from the CSV files France Travail publishes as open
data (data.gouv.fr, "Répertoire Opérationnel des Métiers et des Emplois", Licence Ouverte), by
`fair rome import <dir>`:

- `unix_referentiel_appellation_v460_utf8.csv`: the job names (code_ogr,
  libelle_appellation_long, code_rome, …), required;
- `unix_referentiel_code_rome_v460_utf8.csv`: the codes (code_rome, libelle_rome,
  code_rome_parent, …); without it, codes come from the appellations and their labels from the
  shipped table (fair.rome);
- the skills when present: `unix_referentiel_competence_v460_utf8.csv` (know-hows: code_ogr,
  libelle_competence), `unix_referentiel_savoir_v460_utf8.csv` (knowledges: code_ogr or
  code_ogr_savoir, libelle_savoir), and `unix_coherence_item_v460_utf8.csv` (which code lists
  which skill: code_rome, code_ogr, coeur_metier). A skill's training link is read from a column
  named like url_formation / lien_formation where a file has one; it stays empty otherwise.

Column names are matched loosely (case, accents, spaces; `appellation` or `libelle_appellation`
for the long name; `libelle_rome*` for a code's label), so the files of other versions (v4.xx)
and trimmed copies (code_rome,appellation) import too. The version number in a file name may be
any. The import replaces the whole referential in the caller's transaction: running it twice
gives the same tables. Other tables refer to ROME codes by value, so nothing else is touched.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from fair import rome, rome_suggest, rome_text
from fair.errors import Invalid
from fair.models import RomeAppellation, RomeCode, RomeCodeSkill, RomeSkill

BATCH = 2000
FILES = {
    "appellations": re.compile(r"^unix_referentiel_appellation_v[0-9]+_utf8\.csv$"),
    "codes": re.compile(r"^unix_referentiel_code_rome_v[0-9]+_utf8\.csv$"),
    "competences": re.compile(r"^unix_referentiel_competence_v[0-9]+_utf8\.csv$"),
    "savoirs": re.compile(r"^unix_referentiel_savoir_v[0-9]+_utf8\.csv$"),
    "links": re.compile(r"^unix_coherence_item_v[0-9]+_utf8\.csv$"),
}
TRAINING_COLUMNS = ("url_formation", "lien_formation", "formation_url", "training_url")


@dataclass
class Referential:
    """What the files hold, read and checked, ready to store."""

    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (label, parent)
    appellations: list[tuple[str, str, str]] = field(default_factory=list)  # code, label, ogr
    skills: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # ogr -> kind…
    links: set[tuple[str, str, bool]] = field(default_factory=set)  # code, skill ogr, core


@dataclass(frozen=True)
class Counts:
    codes: int
    appellations: int
    skills: int
    links: int


def files_in(directory: Path) -> dict[str, Path]:
    """The referential's files found in `directory`, by kind (official names)."""
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()) if directory.is_dir() else ():
        for kind, pattern in FILES.items():
            if pattern.match(path.name.lower()):
                found[kind] = path
    return found


def read(files: dict[str, Path]) -> Referential:
    """Read the files (kinds as `files_in` names them); raises Invalid on unusable content."""
    if "appellations" not in files:
        raise Invalid(
            "No appellation file (unix_referentiel_appellation_v460_utf8.csv) was found.",
            code="rome.no_appellations",
        )
    ref = Referential()
    if "codes" in files:
        for row in _rows(files["codes"]):
            code = _code(_get(row, "code_rome"))
            label = _get(row, "libelle_rome") or _starting(row, "libelle_rome")
            ref.codes[code] = (
                label or _shipped(code),
                _code(_get(row, "code_rome_parent") or code),
            )
    for row in _rows(files["appellations"]):
        code = _code(_get(row, "code_rome"))
        label = _get(row, "libelle_appellation_long") or _get(row, "appellation")
        label = label or _get(row, "libelle_appellation")
        if not label:
            raise Invalid("An appellation has no name.", code="rome.bad_file")
        ref.appellations.append((code, label[:300], _get(row, "code_ogr")[:12]))
        if code not in ref.codes:
            parent = _get(row, "code_rome_parent")
            ref.codes[code] = (_shipped(code), _code(parent) if parent else code)
    _read_skills(ref, files)
    return ref


def _read_skills(ref: Referential, files: dict[str, Path]) -> None:
    for kind, column in (("competences", "libelle_competence"), ("savoirs", "libelle_savoir")):
        if kind not in files:
            continue
        for row in _rows(files[kind]):
            label = _get(row, column)
            ogr = (_get(row, "code_ogr") or _get(row, f"code_ogr_{kind[:-1]}"))[:12]
            if not label:
                continue
            ogr = ogr or f"{kind[0]}{len(ref.skills) + 1}"
            training = next((_get(row, c) for c in TRAINING_COLUMNS if _get(row, c)), "")
            ref.skills.setdefault(ogr, (kind[:-1], label, training[:500]))
            code = _get(row, "code_rome")  # trimmed copies list the code on the skill's row
            if code:
                ref.links.add((_code(code), ogr, False))
    if "links" in files:
        for row in _rows(files["links"]):
            code, ogr = _code(_get(row, "code_rome")), _get(row, "code_ogr")
            if ogr in ref.skills:
                ref.links.add((code, ogr, _get(row, "coeur_metier").upper() in {"O", "OUI"}))
    ref.links = {link for link in ref.links if link[0] in ref.codes}


async def store(session: AsyncSession, ref: Referential) -> Counts:
    """Replace the stored referential by `ref` (flushed, not committed), and make every
    process's suggestion index rebuild (this one at once, the others at their next check)."""
    for table in (RomeCodeSkill, RomeSkill, RomeAppellation, RomeCode):
        await session.execute(delete(table))
    await _insert(
        session,
        RomeCode,
        [
            {"code": code, "label": label[:300], "parent": parent}
            for code, (label, parent) in sorted(ref.codes.items())
        ],
    )
    analyser = rome_text.Analyser()
    analyser.learn(label for _, label, _ in ref.appellations)
    await _insert(
        session,
        RomeAppellation,
        [
            {
                "code": code,
                "label": label,
                "code_ogr": ogr,
                "stems": " ".join(analyser.terms(rome_text.masculine_form(label))),
            }
            for code, label, ogr in ref.appellations
        ],
    )
    ids = await _insert_skills(session, ref)
    await _insert(
        session,
        RomeCodeSkill,
        [
            {"code": code, "skill_id": ids[ogr], "core": core}
            for code, ogr, core in sorted(ref.links)
        ],
    )
    await session.flush()
    rome_suggest.invalidate()
    return Counts(len(ref.codes), len(ref.appellations), len(ref.skills), len(ref.links))


async def import_directory(session: AsyncSession, directory: Path) -> Counts:
    """`fair rome import`: read the official files in `directory` and store them."""
    return await store(session, read(files_in(directory)))


async def _insert_skills(session: AsyncSession, ref: Referential) -> dict[str, int]:
    ids = {ogr: number for number, ogr in enumerate(sorted(ref.skills), 1)}
    await _insert(
        session,
        RomeSkill,
        [
            {"id": ids[ogr], "code_ogr": ogr, "kind": kind, "label": label, "training_url": url}
            for ogr, (kind, label, url) in sorted(ref.skills.items())
        ],
    )
    return ids


async def _insert(session: AsyncSession, model: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(model), rows[start : start + BATCH])


# --- Reading the CSV files -------------------------------------------------------------------


def _rows(path: Path) -> Iterator[dict[str, str]]:
    try:
        yield from _read_rows(path)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Invalid(
            "%(file)s is not a CSV file in UTF-8.", code="rome.bad_file", params={"file": path.name}
        ) from exc


def _read_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        reader = csv.reader(handle, delimiter=delimiter)
        header = [_column(name) for name in next(reader, [])]
        for values in reader:
            if any(v.strip() for v in values):
                yield {name: value.strip() for name, value in zip(header, values, strict=False)}


def _column(name: str) -> str:
    """'Libellé Appellation Long' -> 'libelle_appellation_long'."""
    return re.sub(r"[^a-z0-9]+", "_", rome_text.fold(name)).strip("_")


def _get(row: dict[str, str], name: str) -> str:
    return row.get(name, "")


def _starting(row: dict[str, str], prefix: str) -> str:
    return next((value for name, value in row.items() if name.startswith(prefix) and value), "")


def _code(value: str) -> str:
    code = value.strip().upper()
    if not rome.CODE_RE.match(code):
        raise Invalid(
            "%(value)s is not a ROME code (a letter and four digits).",
            code="rome.bad_code",
            params={"value": value[:20]},
        )
    return code


def _shipped(code: str) -> str:
    job = rome.job(code)
    return job.label if job else code
