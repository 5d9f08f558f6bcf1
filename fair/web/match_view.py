"""Matching reasons (fair.matching) as a page shows them: one sentence each in the reader's
language, its tone (plus, minus, info: said in words by the template, not only by colour) and a
training link for a missing skill. `templates/_match.html` prints them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fair import i18n, matching
from fair.i18n import gettext
from fair.matching import Match, Reason, Term


@dataclass(frozen=True)
class Shown:
    tone: str
    text: str
    link: str = ""


def _value(value: Any) -> Any:
    if isinstance(value, Term):
        return gettext(value)
    if isinstance(value, tuple):
        return ", ".join(str(_value(item)) for item in value)
    if isinstance(value, date):
        return i18n.day(value, "long")
    return value


def sentence(reason: Reason, audience: str = matching.YOU) -> str:
    """One reason in the reader's language."""
    message, facts = matching.describe(reason, audience)
    params = {key: _value(value) for key, value in facts.items()}
    text = gettext(message, **params)
    if "means" in params:
        text = gettext(matching.WITH_MEANS, text=text, means=params["means"])
    return text


def reasons(match: Match, audience: str = matching.YOU) -> list[Shown]:
    """Every reason of a match, in its order."""
    return [Shown(r.tone, sentence(r, audience), r.link) for r in match.reasons]
