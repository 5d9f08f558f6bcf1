"""The organiser's insight into an edition: the candidates' funnel, for the edition and per booth.

The steps, in order (`STEPS`), each counted in distinct candidates:

- registered: a row of edition_candidates (fair.participants): the candidate took a first step.
- active: an active day (fair.activity: a public booth or offer page opened while logged in).
- applied: at least one application. Withdrawn ones count: the candidate did apply.
- shortlisted: at least one application that is, or once was, shortlisted or further on
  (`FROM_SHORTLIST`): its current status, or its history (`shortlisted_at`, set by
  applications.set_status), so that an application shortlisted and then not retained, or
  withdrawn, still counts.
- interview_booked: at least one interview whose booking stands or took place (status booked,
  held or no-show). Cancelled and declined interviews do not count: the row of a cancelled
  one does not say whether the booking had been confirmed (a recruiter's booking waiting for
  the candidate, or a slot offered from the waiting list, are cancelled the same way), and a
  cancellation sends the application back to "interview proposed" to be booked again; counting
  them would make the held and no-show rates about meetings that were called off.
- held: at least one interview held. no_show: booked, but only no-shows (no interview held).
  Held, no-show and "not held yet" (booked, not recorded yet) split the booked step.
- retained: an application whose status is "hired": the recruiter's decision in the fair.
- hired: a confirmed return to work (fair.outcomes.returned_to_work: a recruiter's confirmed
  hire, or the candidate's report of a job at one of the edition's booths). Under a filter
  on booths or offers, and in a booth's funnel, a return to work counts for a candidate the
  matching booths retained: fair.outcomes names candidates, not the booth of their job.

The steps are nested: a candidate at a step counts at every step before it (a retained
candidate counts as applied, shortlisted, booked and held even if the pipeline was moved by
hand after an interview held outside the platform: the application went through
"interviewed" to be hired). `candidate_steps` is the one definition; the funnel, the booths'
funnels, the CSV export (fair.exports) and the benchmark all read it.

Filters. Registration and activity are edition-wide: fair.activity does not keep which booth
or offer a candidate looked at (its docstring says why), so a filter on booths or offers
restricts only the steps from "applied" on (to the matching applications and the interviews
they led to); the page shows the matching pages' views beside the funnel instead.

Figures about people go through fair.disclosure (`protect`, `protect_table`). What that
guards: a reader of one page (the funnel, its booked split, the booths' table beside the
edition's figures) cannot work a hidden figure out; a booth's figures are hidden alike wherever
they are shown (the dashboard filtered on a booth, the recruiter's page and the exports take
its row from the booths' table). What it does not guard: differences between filter selections
read one after the other (the funnel of one sector, of the others, and of the whole edition);
each selection is protected on its own, as a table is.

Modules, in import order (each imports only those before it): `steps` (the definitions and
the filters), `progress` (the steps kept per candidate for the unfiltered figures, and the
listeners that keep them), `figures` (counts and their suppression, per edition and per booth),
`dashboard` (what the page gathers, the filters' choices). Callers use the package
(`insight.funnel(...)`).
"""

from fair.insight import progress
from fair.insight.dashboard import Choices, Dashboard, choices, dashboard, page_views
from fair.insight.figures import (
    BoothFunnel,
    Funnel,
    booth_funnels,
    funnel,
    protect,
    protect_table,
)
from fair.insight.steps import (
    BOOTH_STEPS,
    CHAIN,
    SPLIT,
    STEPS,
    Filters,
    booth_steps,
    candidate_steps,
)

__all__ = [
    "BOOTH_STEPS",
    "CHAIN",
    "SPLIT",
    "STEPS",
    "BoothFunnel",
    "Choices",
    "Dashboard",
    "Filters",
    "Funnel",
    "booth_funnels",
    "booth_steps",
    "candidate_steps",
    "choices",
    "dashboard",
    "funnel",
    "page_views",
    "progress",
    "protect",
    "protect_table",
]
