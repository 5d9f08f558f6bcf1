"""What a candidate's alert mails (fair.alerts): the new offers, each with its link and, for
an alert on their job search, the match and its first reasons; the link to all offers for them,
and the signed link that stops the alert in one click. In the candidate's language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fair import mail, matching, settings, stop_links
from fair.i18n import N_, ngettext
from fair.i18n import gettext as _
from fair.matching import Match
from fair.models import JobAlert, NetworkOffer, Offer, User

# Reasons a digest shows for each offer: the job and the distance (the page shows them all).
SHOWN = ("job", "distance")


@dataclass(frozen=True)
class Found:
    """An offer a digest lists, with its match for an alert on the job search (None for a
    saved search): this instance's (booth and employer loaded), or a partner's held here
    (fair.network_sync), with the `territory` it comes from."""

    offer: Offer | NetworkOffer
    match: Match | None = None
    territory: str = ""

    @property
    def key(self) -> int:
        """The offer's id, negated for a partner's (as fair.match_offers numbers them)."""
        return -self.offer.id if isinstance(self.offer, NetworkOffer) else self.offer.id


def _offer_lines(found: Found, locale: str) -> list[str]:
    offer, base = found.offer, settings.get().base_url
    if isinstance(offer, NetworkOffer):
        employer, link = offer.employer, f"{base}/network/offers/{offer.id}"
    else:
        employer, link = offer.booth.employer.name, f"{base}/offers/{offer.id}"
    lines = [f"* {offer.title} — {employer}, {offer.commune} ({offer.postcode})"]
    said = []
    if found.territory:
        said.append(_("Network offer · %(territory)s", locale, territory=found.territory))
    if found.match is not None:
        said.append(_("Match: %(score)s %%", locale, score=found.match.score))
        said += [
            matching.sentence(r, matching.YOU, locale)
            for r in found.match.reasons
            if r.kind in SHOWN
        ]
    if said:
        lines.append("  " + ". ".join(said) + ".")
    lines.append(f"  {link}")
    return lines


async def digest(
    session: AsyncSession, user: User, alert: JobAlert, found: list[Found], token: str
) -> None:
    """Queue the digest of `found` for `user` (fair.mail.queue, in the caller's transaction)."""
    locale, base = user.locale, settings.get().base_url
    if alert.search:
        subject = ngettext(
            "%(num)s new offer for your search",
            "%(num)s new offers for your search",
            len(found),
            locale,
        )
    else:
        subject = ngettext(
            "%(num)s new offer for you", "%(num)s new offers for you", len(found), locale
        )
    lines = [_("Hello %(name)s,", locale, name=user.name), ""]
    lead = (
        N_("New offers match the search you follow:")
        if alert.search
        else N_("New offers match what you are looking for:")
    )
    lines += [_(lead, locale), ""]
    for item in found:
        lines += [*_offer_lines(item, locale), ""]
    lines.append(_("All the offers for you: %(link)s", locale, link=f"{base}/me/offers-for-you"))
    lines.append(_("Change what you are looking for: %(link)s", locale, link=f"{base}/me/profile"))
    stop = base + "/alerts/stop/" + token
    lines += [
        "",
        "-- ",
        _("You asked %(site)s for these offers by e-mail.", locale, site=base),
        _("Stop this alert in one click, without logging in: %(link)s", locale, link=stop),
    ]
    await mail.queue(
        session,
        to=user.email,
        subject=subject,
        body="\n".join(lines) + "\n",
        headers=stop_links.headers(stop),
    )
