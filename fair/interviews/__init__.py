"""Scheduled one-to-one interviews: slots, invitations, booking, changes, reminders, rooms.

A recruiter publishes slots (per staff member, with the modes offered: video, phone, chat) and
invites a shortlisted candidate from the pipeline; the candidate books a slot (or a recruiter
books one for them, and they confirm); both meet in the interview's room. The edition's rules
(InterviewRules) bound bookings.

Modules, after the concept each holds:
- `reads`: reading and locking the family's rows.
- `rules`: who may do what (booths' staff, an invitation's candidate, an interview's two sides,
  a room's two people). Every permission check of the family is there.
- `limits`: the edition's booking rules and what they refuse (`booking_refusal`).
- `slots`: publishing availability, free slots, SlotTaken.
- `telling`: the notice, live event and mail with its calendar that every change sends.
- `lifecycle`: the only writers of an interview's status, and its application following.
- `reminders`, `waitlist`: the worker's rounds (reminders, offers that expire) and the
  waiting list.
- `booking`: invite, book, confirm, decline, cancel, reschedule, record.
- `feeds`: the candidate's calendar feed. `figures`: the organiser's counts per booth and by mode.
- `rooms`: the interview room (entry, waiting room, mode, phone number, chat).

Import order inside the package (each imports only modules before it): `reads` and `rules`
import nothing from the package; `limits` imports `reads`; `slots` imports `reads`, `rules`,
`limits`; `telling` and `figures` nothing from the package; `lifecycle` imports `reads`;
`reminders` imports `telling`; `waitlist` imports `reads`, `rules`, `limits`, `slots`,
`telling`, `lifecycle`; `booking` imports all of these; `feeds` imports `telling`; `rooms`
imports `rules`. Outside the package, import the names below (`interviews.book(...)`), or
`interviews.rules` and `interviews.rooms`.
"""

from fair.interviews import rooms, rules
from fair.interviews.booking import (
    application_withdrawn,
    book,
    cancel,
    confirm,
    decline,
    invite,
    record,
    reschedule,
)
from fair.interviews.feeds import feed, feed_token
from fair.interviews.figures import BoothFigures, ModeFigures, booth_figures, by_mode
from fair.interviews.limits import (
    Refusal,
    RulesInput,
    booking_refusal,
    booking_rules,
    rules_refusal,
    set_rules,
)
from fair.interviews.reads import (
    get,
    get_invitation,
    get_slot,
    invitations_of,
    of_booth,
    of_candidate,
    open_invitation,
    slots_of_booth,
)
from fair.interviews.reminders import send_reminders
from fair.interviews.slots import (
    Availability,
    AvailabilityInput,
    Choice,
    SlotTaken,
    free_counts,
    free_slots,
    publish_availability,
    slot_modes,
    withdraw_slot,
)
from fair.interviews.telling import NOTICES
from fair.interviews.waitlist import expire_offers, join_waitlist, leave_waitlist

__all__ = [
    "Availability",
    "NOTICES",
    "AvailabilityInput",
    "BoothFigures",
    "Choice",
    "ModeFigures",
    "Refusal",
    "RulesInput",
    "SlotTaken",
    "application_withdrawn",
    "book",
    "booking_refusal",
    "booking_rules",
    "booth_figures",
    "by_mode",
    "cancel",
    "confirm",
    "decline",
    "expire_offers",
    "feed",
    "feed_token",
    "free_counts",
    "free_slots",
    "get",
    "get_invitation",
    "get_slot",
    "invitations_of",
    "invite",
    "join_waitlist",
    "leave_waitlist",
    "of_booth",
    "of_candidate",
    "open_invitation",
    "publish_availability",
    "record",
    "reschedule",
    "rooms",
    "rules",
    "rules_refusal",
    "send_reminders",
    "set_rules",
    "slot_modes",
    "slots_of_booth",
    "withdraw_slot",
]
