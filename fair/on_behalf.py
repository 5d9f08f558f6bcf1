"""A counsellor acting on a candidate's behalf (fair.counsellors): who, for which structure.

The owning functions that a counsellor may call for a candidate (`interviews.book`,
`webconferences.register`) take it as `acting`, and tell the candidate in their mail that it
was done for them, and by whom.
"""

from __future__ import annotations

from dataclasses import dataclass

from fair.i18n import N_
from fair.i18n import gettext as _

DONE_FOR_YOU = N_("Done for you by %(counsellor)s (%(structure)s), who accompanies you.")


@dataclass(frozen=True)
class Acting:
    counsellor_id: int
    counsellor: str  # the counsellor's name
    structure: str  # their structure's name

    def line(self, locale: str) -> str:
        """The sentence the candidate reads in their language."""
        return _(DONE_FOR_YOU, locale, counsellor=self.counsellor, structure=self.structure)
