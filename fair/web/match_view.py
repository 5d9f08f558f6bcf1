"""Matching reasons (fair.matching) as a page shows them: one sentence each in the reader's
language, its tone (plus, minus, info: said in words by the template, not only by colour) and a
training link for a missing skill. `templates/_match.html` prints them."""

from __future__ import annotations

from dataclasses import dataclass

from fair import matching
from fair.matching import Match


@dataclass(frozen=True)
class Shown:
    tone: str
    text: str
    link: str = ""


def reasons(match: Match, audience: str = matching.YOU) -> list[Shown]:
    """Every reason of a match, in its order, in the current language."""
    return [Shown(r.tone, matching.sentence(r, audience), r.link) for r in match.reasons]
