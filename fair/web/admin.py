"""Administration pages: organiser accounts, account counts, and the e-mail outbox."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import accounts, mail, permissions
from fair.enums import Role
from fair.errors import FairError, NotFound
from fair.models import User
from fair.web import forms, urls
from fair.web.auth import database, page, path_int, require_user
from fair.web.flash import flash
from fair.web.templating import render

OUTBOX_SIZE = 100


def _admin(request: Request) -> User:
    user = require_user(request)
    permissions.require_admin(user)
    return user


async def _home(
    request: Request,
    form: forms.FormState | None = None,
    *,
    status: int = 200,
    deactivate_form: forms.FormState | None = None,
) -> Response:
    counts = await accounts.count_by_role(database(request))
    context = {
        "form": form or forms.FormState(),
        "deactivate_form": deactivate_form or forms.FormState(),
        "counts": [(role, counts.get(role.value, 0)) for role in Role],
    }
    return render(request, "admin/home.html", context, status=status)


@page
async def home(request: Request) -> Response:
    _admin(request)
    return await _home(request)


@page
async def create_organiser(request: Request) -> Response:
    user = _admin(request)
    fields = forms.Fields(await forms.read(request))
    try:
        fields.text("name", required=True)
        fields.text("email", required=True)
        fields.done()
        await accounts.create_organiser(
            database(request), by=user, email=fields.text("email"), name=fields.text("name")
        )
    except FairError as error:
        return await _home(request, forms.state_from(fields, error), status=error.status)
    flash(request, "The organiser account was created. A link to choose a password was e-mailed.")
    return urls.redirect(request, "admin_home")


@page
async def deactivate(request: Request) -> Response:
    """Close an account: it cannot log in any more, its sessions end and its sockets close."""
    user = _admin(request)
    fields = forms.Fields(await forms.read(request))
    session = database(request)
    try:
        fields.text("email", required=True)
        fields.done()
        target = await accounts.by_email(session, fields.text("email"))
        if target is None or not target.is_active:
            message = "No active account uses this address."
            raise NotFound(message, code="account.not_found", fields={"email": message})
        await accounts.deactivate(session, target, by=user)
    except FairError as error:
        failed = forms.state_from(fields, error)
        # The field is `deactivate-email` on the page (the organiser form has an `email`).
        failed.errors = {f"deactivate-{name}": text for name, text in failed.errors.items()}
        return await _home(request, status=error.status, deactivate_form=failed)
    flash(
        request,
        "The account was deactivated: it can no longer log in, and its open sessions have ended.",
    )
    return urls.redirect(request, "admin_home")


@page
async def outbox(request: Request) -> Response:
    _admin(request)
    session = database(request)
    context = {
        "failed": await mail.failed(session, limit=OUTBOX_SIZE),
        "mails": await mail.recent(session, limit=OUTBOX_SIZE),
        "limit": OUTBOX_SIZE,
        "max_attempts": mail.MAX_ATTEMPTS,
    }
    return render(request, "admin/outbox.html", context)


@page
async def retry_mail(request: Request) -> Response:
    _admin(request)
    await mail.retry(database(request), path_int(request, "mail_id"))
    flash(request, "The message will be sent again in a moment.")
    return urls.redirect(request, "admin_outbox")


routes = [
    Route("/admin", home, name="admin_home"),
    Route("/admin/organisers", create_organiser, methods=["POST"], name="admin_create_organiser"),
    Route("/admin/accounts/deactivate", deactivate, methods=["POST"], name="admin_deactivate"),
    Route("/admin/outbox", outbox, name="admin_outbox"),
    Route(
        "/admin/outbox/{mail_id:int}/retry", retry_mail, methods=["POST"], name="admin_retry_mail"
    ),
]
