"""The job-search fields of a candidate's profile form (fair.job_search): read from a submitted
form, and the choices and values a template shows. The candidate's own profile page uses them;
a counsellor's page editing a candidate's profile can too."""

from __future__ import annotations

from typing import Any

from fair import job_search, rome
from fair.enums import Contract, Transport, WorkingTime
from fair.i18n import gettext
from fair.job_search import JobSearch, Target, Wanted
from fair.web import forms

# How many job fields the form shows.
TARGET_FIELDS = 3
UNKNOWN_JOB = "Choose a job from the list: type its name or its ROME code (for example N1103)."


def target_names() -> list[str]:
    return [f"target_{i}" for i in range(TARGET_FIELDS)]


def read(fields: forms.Fields) -> Wanted:
    """The job search typed in the form; unknown jobs and bad numbers or dates are field errors
    collected in `fields` (the caller raises them with `fields.done()`)."""
    targets: list[Target] = []
    for name in target_names():
        typed = fields.text(name, max_length=200)
        if not typed:
            continue
        found = job_search.target_from_text(typed) or _chosen(typed, fields.text(name + "_code"))
        if found is None:
            fields.errors.setdefault(name, UNKNOWN_JOB)
        else:
            targets.append(found)
    distance = fields.text("max_distance_km")
    start = fields.text("available_from")
    return Wanted(
        targets=tuple(targets),
        max_distance_km=fields.integer("max_distance_km", lo=0, hi=300) if distance else None,
        transport=fields.member("transport", Transport),
        contracts=frozenset(_contracts(fields)),
        working_time=fields.member("working_time", WorkingTime),
        available_from=fields.day("available_from") if start else None,
        skills=job_search.skills_from_text(fields.text("skills", multiline=True, max_length=4000)),
    )


def _chosen(typed: str, code: str) -> Target | None:
    """The job chosen in the suggestion list (static/combobox.js): the name it put in the
    field and the ROME code it put in the hidden field beside it."""
    job = rome.job(code) if code else None
    return Target(job.code, typed) if job else None


def _contracts(fields: forms.Fields) -> list[Contract]:
    chosen = []
    for raw in fields.choices("contracts"):
        try:
            chosen.append(Contract(raw))
        except ValueError:
            fields.errors.setdefault("contracts", "Choose one of the answers.")
    return chosen


def shown(search: JobSearch) -> dict[str, Any]:
    """The stored search as the form's values, and the choices of its selects and boxes."""
    values: dict[str, Any] = {name: "" for name in target_names()}
    values |= {name + "_code": "" for name in target_names()}
    for name, target in zip(target_names(), search.targets, strict=False):
        values[name] = f"{target.label} ({target.rome_code})"
        values[name + "_code"] = target.rome_code
    values |= {
        "max_distance_km": "" if search.max_distance_km is None else str(search.max_distance_km),
        "transport": search.transport.value if search.transport else "",
        "working_time": search.working_time.value if search.working_time else "",
        "available_from": search.available_from.isoformat() if search.available_from else "",
        "skills": "\n".join(search.skills),
        "contracts": sorted(c.value for c in search.contracts),
    }
    return {
        "values": values,
        "targets": target_names(),
        "transports": [(t.value, gettext(t.label)) for t in Transport],
        "working_times": [(w.value, gettext(w.label)) for w in WorkingTime],
        "contracts": [(c.value, gettext(c.label)) for c in Contract],
    }
