"""Sign-up, log-in, log-out, password reset, invitations and the language switch."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import accounts, app_state, counsellors, db, employers, settings, user_sessions
from fair.enums import Role
from fair.errors import FairError, Invalid
from fair.i18n import current_locale
from fair.throttle import Throttled
from fair.web import auth, forms, urls
from fair.web.auth import database, page
from fair.web.templating import render

SIGNUP_ROLES = (Role.CANDIDATE, Role.RECRUITER)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: never redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


LANDINGS = {
    Role.CANDIDATE: "home",
    Role.RECRUITER: "recruiter_home",
    Role.ORGANISER: "organiser_home",
    Role.ADMIN: "admin_home",
    Role.COUNSELLOR: "counsellor_home",
}


def landing(request: Request, role: str) -> str:
    """Where a role's pages start, after logging in."""
    return urls.path(request, LANDINGS.get(Role(role), "home"))


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
            # The same answer whether the address has an account or not (its owner is mailed).
            await accounts.sign_up(
                database(request),
                email=fields.text("email"),
                name=fields.text("name"),
                password=str(fields.form.get("password", "")),
                role=Role(role),
                locale=current_locale.get(),
                next_path=safe_next(str(fields.form.get("next", "")), ""),
                ip=auth.client_address(request),
            )
        except FairError as error:
            form = forms.state_from(fields, error)
            page_ = render(request, "accounts/signup.html", {"form": form}, status=error.status)
            return _throttled(page_, error)
        return urls.redirect(request, "signup_sent")
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "next": request.query_params.get("next", "")},
    )


@page
async def signup_sent(request: Request) -> Response:
    return render(request, "accounts/signup_sent.html", {})


@page
async def signup_confirm(request: Request) -> Response:
    """The link mailed at sign-up: a button (mail scanners follow links), which logs in."""
    next_url = safe_next(request.query_params.get("next", ""), "")
    if request.method == "POST":
        await forms.read(request)
        try:
            user = await accounts.confirm_signup(
                database(request), token=request.path_params["token"]
            )
        except FairError as error:
            form = forms.state_from(None, error)
            context = {"form": form, "next": next_url}
            return render(request, "accounts/signup_confirm.html", context, status=error.status)
        await auth.login(request, user)
        return urls.see_other(next_url or landing(request, user.role))
    return render(request, "accounts/signup_confirm.html", {"next": next_url})


def _throttled(response: Response, error: FairError) -> Response:
    if isinstance(error, Throttled):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@page
async def login(request: Request) -> Response:
    next_url = request.query_params.get("next", "")
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        next_url = fields.text("next")
        ip = auth.client_address(request)
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
                # `release`, not a bare rollback: that would expire the logged-in user the page
                # shows (a DetachedInstanceError once rendered).
                await auth.release(request)
                async with db.unit_of_work(app_state.of(request).write_sessions) as session:
                    await accounts.record_failure(session, email=fields.text("email"), ip=ip)
            form = forms.state_from(fields, error)
            form.values.pop("password", None)
            context = {"form": form, "next": next_url}
            page_ = render(request, "accounts/login.html", context, status=error.status)
            return _throttled(page_, error)
        if request.cookies.get("lang") == current_locale.get():
            # The language they chose on this browser: their mails follow it.
            await accounts.set_locale(database(request), user, current_locale.get())
        await auth.login(request, user)
        return urls.see_other(safe_next(next_url, landing(request, user.role)))
    return render(request, "accounts/login.html", {"next": next_url})


@page
async def logout(request: Request) -> Response:
    await forms.read(request)
    await auth.logout(request)
    return urls.redirect(request, "home")


@page
async def sessions(request: Request) -> Response:
    """The user's logged-in browsers, and "log out everywhere"."""
    user = auth.require_user(request)
    found = await user_sessions.active(database(request), user.id)
    current = request.state.user_session
    context = {"sessions": found, "current_id": current.id if current else None}
    return render(request, "accounts/sessions.html", context)


@page
async def logout_everywhere(request: Request) -> Response:
    user = auth.require_user(request)
    await user_sessions.revoke_all(database(request), user.id)
    await auth.logout(request)
    return urls.redirect(request, "login")


@page
async def reset_request(request: Request) -> Response:
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            await accounts.request_password_reset(
                database(request), email=fields.text("email"), ip=auth.client_address(request)
            )
        except FairError as error:
            form = forms.state_from(fields, error)
            context = {"sent": False, "form": form}
            page_ = render(request, "accounts/reset_request.html", context, status=error.status)
            return _throttled(page_, error)
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
        await auth.login(request, user)
        if await counsellors.has_request(database(request), user):
            # An account a counsellor made with them: asked for their agreement first.
            return urls.redirect(request, "my_counsellors")
        return urls.see_other(landing(request, user.role))
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
        return urls.redirect(request, "employer_edit", employer_id=employer.id)
    context = {"employer": employer, "invitation": found, "user": user, "token": token}
    return render(request, "accounts/invitation.html", context)


@page
async def set_language(request: Request) -> Response:
    fields = forms.Fields(await forms.read(request))
    lang = fields.text("lang")
    response = urls.see_other(safe_next(fields.text("next")))
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
    Route("/signup/sent", signup_sent, name="signup_sent"),
    Route(
        "/signup/confirm/{token}", signup_confirm, methods=["GET", "POST"], name="signup_confirm"
    ),
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/account/sessions", sessions, name="account_sessions"),
    Route(
        "/account/sessions/end-all",
        logout_everywhere,
        methods=["POST"],
        name="logout_everywhere",
    ),
    Route("/reset", reset_request, methods=["GET", "POST"], name="reset_request"),
    Route("/reset/{token}", reset, methods=["GET", "POST"], name="reset"),
    Route("/invitations/{token}", invitation, methods=["GET", "POST"], name="invitation"),
    Route("/language", set_language, methods=["POST"], name="set_language"),
]
