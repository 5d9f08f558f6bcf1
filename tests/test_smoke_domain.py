from fair import db
from fair.enums import ApplicationStatus
from tests import factories as f


async def test_journey_in_domain(session):
    ed = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=ed)
    offer = await f.offer(session, booth_=booth)
    app_ = await f.application(session, offer_=offer)
    await db.commit(session)
    assert app_.status == ApplicationStatus.SUBMITTED
