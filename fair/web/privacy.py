"""Personal data rights: the privacy page, one's data page (download everything, delete the
account), the download itself (fair.data_export) and the deletion (fair.erasure).

The download is POSTed (a form with its CSRF token: it writes the record that rate limits it);
the record is committed in the request's unit of work, then the ZIP is streamed from a read
session of its own, as fair.web.exports streams its files.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from fair import app_state, data_export, erasure, settings
from fair.enums import Role
from fair.errors import FairError
from fair.i18n import current_locale
from fair.throttle import Throttled
from fair.web import forms, urls
from fair.web.auth import database, page, require_user
from fair.web.flash import flash
from fair.web.templating import render


@page
async def privacy(request: Request) -> Response:
    """What is collected, why, for how long, who sees what, and the rights: plain words."""
    conf = settings.get()
    context = {"months": conf.retention_months, "contact": conf.privacy_contact}
    return render(request, "public/privacy.html", context)


async def _data_context(request: Request, form: forms.FormState | None = None) -> dict[str, object]:
    user = require_user(request)
    session = database(request)
    return {
        "last_export": await data_export.last(session, user),
        "blockers": await erasure.blockers(session, user),
        "is_candidate": user.role == Role.CANDIDATE,
        "form": form,
    }


@page
async def my_data(request: Request) -> Response:
    """The account's data page: download everything, delete the account."""
    return render(request, "accounts/data.html", await _data_context(request))


@page
async def download(request: Request) -> Response:
    user = require_user(request)
    await forms.read(request)
    try:
        await data_export.record(database(request), user)
    except Throttled as error:
        context = await _data_context(request, forms.state_from(None, error))
        page_ = render(request, "accounts/data.html", context, status=error.status)
        page_.headers["Retry-After"] = str(error.retry_after)
        return page_
    body = data_export.archive(app_state.of(request).read_sessions, user.id, current_locale.get())
    headers = {
        "content-disposition": f'attachment; filename="{data_export.filename(user)}"',
        "cache-control": "private, no-store",
    }
    return StreamingResponse(body, media_type="application/zip", headers=headers)


@page
async def delete_account(request: Request) -> Response:
    """Asks for the password, then deletes the account and logs out."""
    user = require_user(request)
    if request.method != "POST":
        return render(request, "accounts/delete.html", await _data_context(request))
    fields = forms.Fields(await forms.read(request))
    try:
        await erasure.erase(database(request), user, password=str(fields.form.get("password", "")))
    except FairError as error:
        form = forms.state_from(fields, error)
        form.values.pop("password", None)
        context = await _data_context(request, form)
        return render(request, "accounts/delete.html", context, status=error.status)
    request.session.clear()
    request.state.user = None
    flash(request, "Your account is deleted. Thank you for using fair.")
    return urls.redirect(request, "home")


routes = [
    Route("/privacy", privacy, name="privacy"),
    Route("/account/data", my_data, name="my_data"),
    Route("/account/data/download", download, methods=["POST"], name="data_download"),
    Route("/account/delete", delete_account, methods=["GET", "POST"], name="delete_account"),
]
