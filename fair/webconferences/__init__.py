"""Webconferences: an edition's programme of talks, registrations and their waiting list, the
access rules, the candidates' mails, the audience (attendance and questions) and recordings.

Organisers schedule talks for the edition; recruiters of an approved booth schedule their
booth's. Candidates register (a seat, or the waiting list), presenters take the stage, viewers
watch and ask questions, and a consented talk is recorded for replay.

Modules, in import order (each imports only those before it; `__init__` imports them all):
`mail` (what candidates hear; nothing from the package), `talks` (the row, its presenters, its
phase), `registrations` (seats, waiting list, reminders; imports `mail`, `talks`), `rules` (who
may manage, present, moderate, see, watch; imports `talks`, `registrations`), `scheduling`
(schedule, change, cancel, start, end; imports `talks`, `registrations`, `rules`), `listing`
(the programme page; imports `talks`, `registrations`, `rules`), `audience` (attendance and
questions; imports `talks`, `rules`), `recordings` (consent, recording, replay; imports
`talks`, `rules`), `figures` (seats, attendance, watch time and questions per talk for the
organiser; imports none of them), `feeds` (the public calendars of an edition's programme and
of a booth's talks; imports `mail`, `listing`).

The names below are what the rest of fair calls as `webconferences.<name>`; audience and
recordings (and figures) are called through their module (`from fair.webconferences import
recordings`).
"""

from fair.webconferences import (
    audience,
    feeds,
    figures,
    listing,
    mail,
    recordings,
    registrations,
    rules,
    scheduling,
    talks,
)
from fair.webconferences.listing import Item, Programme, items, of_edition, programme
from fair.webconferences.registrations import (
    register,
    registration_of,
    send_reminders,
    unregister,
    waiting_position,
)
from fair.webconferences.rules import (
    can_manage,
    can_moderate,
    eligible_presenters,
    holds_access,
    may_watch,
    require_manageable,
    require_manager,
    require_presenter,
    require_presents,
    require_reader,
    require_viewer,
    require_visible,
    visible_to,
)
from fair.webconferences.scheduling import (
    WebconferenceInput,
    cancel,
    end,
    schedule,
    start,
    update,
)
from fair.webconferences.talks import (
    OVER,
    SOON,
    get,
    is_live,
    is_past,
    phase,
    phase_label,
    presented_by,
    presenters_of,
    within_live_hours,
)

__all__ = [
    "OVER",
    "SOON",
    "Item",
    "Programme",
    "WebconferenceInput",
    "audience",
    "feeds",
    "can_manage",
    "can_moderate",
    "cancel",
    "eligible_presenters",
    "end",
    "figures",
    "get",
    "holds_access",
    "is_live",
    "is_past",
    "items",
    "listing",
    "mail",
    "may_watch",
    "of_edition",
    "phase",
    "phase_label",
    "presented_by",
    "presenters_of",
    "programme",
    "recordings",
    "register",
    "registration_of",
    "registrations",
    "require_manageable",
    "require_manager",
    "require_presenter",
    "require_presents",
    "require_reader",
    "require_viewer",
    "require_visible",
    "rules",
    "schedule",
    "scheduling",
    "send_reminders",
    "start",
    "talks",
    "unregister",
    "update",
    "visible_to",
    "waiting_position",
    "within_live_hours",
]
