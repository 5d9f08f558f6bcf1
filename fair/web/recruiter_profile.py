"""A recruiter's public profile: the job title and photo the booth pages they staff show."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import recruiter_profiles
from fair.enums import Role
from fair.errors import FairError
from fair.web import forms, urls
from fair.web.auth import database, page, require_role
from fair.web.flash import flash
from fair.web.templating import render


async def _context(request: Request, form: forms.FormState | None = None) -> dict[str, object]:
    user = require_role(request, Role.RECRUITER)
    return {"profile": await recruiter_profiles.profile(database(request), user), "form": form}


@page
async def profile_page(request: Request) -> Response:
    user = require_role(request, Role.RECRUITER)
    if request.method == "GET":
        return render(request, "recruiter/profile.html", await _context(request))
    session = database(request)
    fields = forms.Fields(await forms.read(request))
    try:
        upload = await fields.upload("photo")
        photo = None
        if upload is not None:
            photo = recruiter_profiles.Photo(upload[0], upload[1], fields.flag("photo_consent"))
        await recruiter_profiles.update(
            session,
            user,
            job_title=fields.text("job_title"),
            photo=photo,
            remove_photo=fields.flag("remove_photo"),
        )
    except FairError as error:
        context = await _context(request, forms.state_from(fields, error))
        return render(request, "recruiter/profile.html", context, status=error.status)
    flash(request, "Your profile is saved.")
    return urls.redirect(request, "recruiter_profile")


routes = [
    Route("/recruiter/profile", profile_page, methods=["GET", "POST"], name="recruiter_profile"),
]
