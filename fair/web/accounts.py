"""Sign-up, log-in, log-out, password reset, invitations and the language switch."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fair import accounts, db, employers, settings
from fair.enums import Role
from fair.errors import FairError, Invalid
from fair.i18n import current_locale
from fair.web import auth, forms
from fair.web.auth import database, page
from fair.web.templating import render

SIGNUP_ROLES = (Role.CANDIDATE, Role.RECRUITER)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: never redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def landing(role: str) -> str:
    return {
        Role.CANDIDATE: "/",
        Role.RECRUITER: "/recruiter",
        Role.ORGANISER: "/organiser",
        Role.ADMIN: "/admin",
    }.get(Role(role), "/")


@page
async def signup(request: Request) -> Response:
    form = forms.FormState(values={"role": request.query_params.get("role", "candidate")})
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        role = fields.text("role") or "candidate"
        try:
            if role not in SIGNUP_ROLES:
                raise Invalid("Choose an account type.", fields={"role": "Choose an account type."})
            fields.text("email", required=True)
            fields.text("name", required=True)
            fields.done()
            user = await accounts.create_user(
                database(request),
                email=fields.text("email"),
                name=fields.text("name"),
                password=str(fields.form.get("password", "")),
                role=Role(role),
                locale=current_locale.get(),
            )
        except FairError as error:
            form = forms.state_from(fields, error)
            return render(request, "accounts/signup.html", {"form": form}, status=error.status)
        auth.login(request, user)
        target = safe_next(str(fields.form.get("next", "")), landing(user.role))
        return RedirectResponse(target, status_code=303)
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "next": request.query_params.get("next", "")},
    )


@page
async def login(request: Request) -> Response:
    next_url = request.query_params.get("next", "")
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        next_url = fields.text("next")
        ip = request.client.host if request.client else ""
        try:
            user = await accounts.authenticate(
                database(request),
                email=fields.text("email"),
                password=str(fields.form.get("password", "")),
                ip=ip,
            )
        except FairError as error:
            if error.code == "auth.invalid":
                # The request's transaction ends first (on SQLite it holds the write lock);
                # the failure must be kept although the request itself fails.
                await database(request).rollback()
                async with db.unit_of_work(request.app.state.write_sessions) as session:
                    await accounts.record_failure(session, email=fields.text("email"), ip=ip)
            form = forms.state_from(fields, error)
            form.values.pop("password", None)
            context = {"form": form, "next": next_url}
            return render(request, "accounts/login.html", context, status=error.status)
        auth.login(request, user)
        return RedirectResponse(safe_next(next_url, landing(user.role)), status_code=303)
    return render(request, "accounts/login.html", {"next": next_url})


@page
async def logout(request: Request) -> Response:
    await forms.read(request)
    auth.logout(request)
    return RedirectResponse("/", status_code=303)


@page
async def reset_request(request: Request) -> Response:
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        await accounts.request_password_reset(database(request), email=fields.text("email"))
        return render(request, "accounts/reset_request.html", {"sent": True})
    return render(request, "accounts/reset_request.html", {"sent": False})


@page
async def reset(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            user = await accounts.reset_password(
                database(request), token=token, password=str(fields.form.get("password", ""))
            )
        except FairError as error:
            form = forms.state_from(None, error)
            return render(request, "accounts/reset.html", {"form": form}, status=error.status)
        auth.login(request, user)
        return RedirectResponse(landing(user.role), status_code=303)
    return render(request, "accounts/reset.html", {})


@page
async def invitation(request: Request) -> Response:
    session = database(request)
    token = request.path_params["token"]
    found = await employers.invitation(session, token)
    employer = await employers.get(session, found.employer_id)
    user = request.state.user
    if request.method == "POST":
        await forms.read(request)
        user = auth.require_user(request)
        await employers.accept_invitation(session, token=token, user=user)
        return RedirectResponse(f"/recruiter/employers/{employer.id}", status_code=303)
    context = {"employer": employer, "invitation": found, "user": user, "token": token}
    return render(request, "accounts/invitation.html", context)


@page
async def set_language(request: Request) -> Response:
    fields = forms.Fields(await forms.read(request))
    lang = fields.text("lang")
    response = RedirectResponse(safe_next(fields.text("next")), status_code=303)
    if lang in ("fr", "en"):
        if request.state.user is not None:
            await accounts.set_locale(database(request), request.state.user, lang)
        response.set_cookie(
            "lang",
            lang,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=settings.get().secure_cookies,
        )
    return response


routes = [
    Route("/signup", signup, methods=["GET", "POST"], name="signup"),
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/reset", reset_request, methods=["GET", "POST"], name="reset_request"),
    Route("/reset/{token}", reset, methods=["GET", "POST"], name="reset"),
    Route("/invitations/{token}", invitation, methods=["GET", "POST"], name="invitation"),
    Route("/language", set_language, methods=["POST"], name="set_language"),
]
