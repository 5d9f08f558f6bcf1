"""The API's framework: one declaration per endpoint, turned into a Starlette route here and into
the OpenAPI document by fair/api/openapi.py, so nothing is written twice.

An endpoint is declared by decorating its handler with `endpoint(...)`: its method and path
(below /api/v1; `{name}` path parameters), a pydantic model of its parameters (path and query
parameters in one model: the fields named in the path are path parameters, the others query
parameters), the pydantic model of its response, a summary and tags, and its `scope`: None for
public reads, else the partner key's scope it needs (`Authorization: Bearer <key>`, checked by
`fair.api_keys.authenticate`). The handler takes a `Call` (the request, its database session, the
validated parameters, the authenticated key, the validated body) and returns the response model.

What every endpoint gets from here: one error shape, `{"error": {"code", "message", "fields"}}`
(400 for refused parameters with a message per field, 401, 403, 404, 405, 429; the dotted codes
of fair.errors where they overlap); a weak ETag with If-None-Match answered 304 (see `etag`: an
endpoint declaring a `version` has its ETag computed before its handler runs, and a match is
answered without running it; others get a hash of the body);
Cache-Control; CORS for reads (any origin, no credentials) with the OPTIONS preflight. Reads run
on a read session; other methods on a write session, committed when the answer is below 400.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import re
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from fair import app_state, db, i18n, unit_of_work
from fair.errors import FairError, Forbidden, Unauthenticated
from fair.i18n import N_

log = logging.getLogger("fair.api")

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)
JSON = "application/json"
SAFE = frozenset({"GET", "HEAD"})
PUBLIC_CACHE = "public, max-age=60"  # public data: shared caches may keep it a minute
PRIVATE_CACHE = "private, no-cache"  # a partner's data: revalidated every time
PATH_PARAM_RE = re.compile(r"{([a-z_][a-z0-9_]*)}")
CORS = {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "ETag, Link, Retry-After",
}
PREFLIGHT = {
    **CORS,
    "access-control-allow-headers": "Authorization, If-None-Match, Content-Type, Idempotency-Key",
    "access-control-max-age": "86400",
}
MESSAGES = {
    400: N_("The request's parameters are not valid."),
    401: N_("A partner key is needed."),
    403: N_("This partner key may not do this."),
    404: N_("This resource does not exist."),
    405: N_("This method is not allowed here."),
    413: N_("Too large"),
    429: N_("Too many requests"),
    500: N_("Something went wrong on our side"),
    503: N_("Service briefly unavailable"),
}
RETRY_AFTER = 5  # seconds, when the database is out of reach or every connection is taken


class Call(Generic[P]):
    """What a handler gets: the request, its session, its validated parameters, the partner key
    (what `fair.api_keys.authenticate` returned, None for public endpoints) and its body."""

    def __init__(
        self,
        request: Request,
        session: AsyncSession,
        params: P,
        key: Any = None,
        body: BaseModel | None = None,
    ) -> None:
        self.request = request
        self.session = session
        self.params = params
        self.key = key
        self.body = body

    def url_with(self, **changes: str) -> str:
        """This request's URL with some query parameters replaced (the next page's link)."""
        return str(self.request.url.include_query_params(**changes))


Handler = Callable[[Call[Any]], Awaitable[BaseModel]]
# What a body depends on in the database, read cheaply (fair.offers_version): a token that
# changes whenever the body would, or None when unknown (the ETag is then the body's hash).
Version = Callable[[Call[Any]], Awaitable[str | None]]
# A check of the request itself run once the key is known and before its body is read (a
# signed request's signature, fair.api.network): who may send comes before what they sent.
Guard = Callable[[Call[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Endpoint:
    """One endpoint's declaration: everything its route and its OpenAPI operation need."""

    method: str
    path: str  # below /api/v1, e.g. "/editions/{edition_id}/booths"
    name: str  # the route's name and the operation's id
    handler: Handler
    params: type[BaseModel]
    response: type[BaseModel]
    summary: str
    description: str = ""
    tags: tuple[str, ...] = ()
    scope: str | None = None  # None: public; else the partner key's scope it needs
    body: type[BaseModel] | None = None  # the JSON body of a write, validated
    status: int = 200  # the status of a success
    errors: tuple[int, ...] = (400, 404)  # documented error statuses
    version: Version | None = None  # the ETag before the handler runs (see `etag`)
    guard: Guard | None = None  # run after authentication, before the body is read

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(PATH_PARAM_RE.findall(self.path))


def endpoint(
    method: str,
    path: str,
    *,
    params: type[BaseModel],
    response: type[BaseModel],
    summary: str,
    description: str = "",
    tags: tuple[str, ...] = (),
    scope: str | None = None,
    body: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (400, 404),
    version: Version | None = None,
    guard: Guard | None = None,
) -> Callable[[Handler], Endpoint]:
    """Declare the decorated handler as an endpoint (see the module's docstring)."""

    def declare(handler: Handler) -> Endpoint:
        unknown = set(PATH_PARAM_RE.findall(path)) - set(params.model_fields)
        if unknown:
            raise TypeError(f"{path}: path parameters {unknown} are not fields of {params}")
        documented = tuple(sorted({*errors, *((401, 403) if scope else ())}))
        return Endpoint(
            method=method.upper(),
            path=path,
            name=handler.__name__,
            handler=handler,
            params=params,
            response=response,
            summary=summary,
            description=description or (handler.__doc__ or "").strip(),
            tags=tags,
            scope=scope,
            body=body,
            status=status,
            errors=documented,
            version=version,
            guard=guard,
        )

    return declare


class ApiError(FairError):
    """An API-only refusal (a parameter given twice, a path parameter in the query)."""


# --- Errors ---------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="A dotted code, e.g. input.invalid, fair.not_found.")
    message: str = Field(description="What went wrong, in the platform's language.")
    fields: dict[str, str] = Field(description="A message per refused parameter or field.")


class ErrorBody(BaseModel):
    """The one shape of every error the API answers."""

    error: ErrorDetail


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> Response:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, fields=fields or {}))
    headers = dict(CORS)
    if status == 405:
        headers["allow"] = "GET, HEAD, OPTIONS"
    return Response(
        body.model_dump_json().encode(), status_code=status, media_type=JSON, headers=headers
    )


def _fair_error(exc: FairError, method: str) -> Response:
    message = i18n.gettext(exc.message, **exc.params) if exc.message else MESSAGES[exc.status]
    fields = {name: i18n.gettext(text) for name, text in exc.fields.items()}
    # A read's refused input is a bad parameter: 400 (the pages' 422 is a form shown again).
    status = 400 if exc.status == 422 and method in SAFE else exc.status
    response = error_response(status, exc.code, message, fields)
    if exc.status == 429 and "retry_after" in exc.params:
        response.headers["retry-after"] = str(exc.params["retry_after"])
    return response


# Pydantic's refusals in the platform's words and language (its own are English only); by
# pydantic's error type, with its context's values. Others (fair.parse's, through
# fair.api.params) arrive translated already.
FIELD_MESSAGES = {
    "missing": N_("This parameter is required."),
    "extra_forbidden": N_("Unknown parameter."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "bool_parsing": N_("Enter true or false."),
    "bool_type": N_("Enter true or false."),
    "greater_than_equal": N_("Enter a number of at least %(ge)s."),
    "less_than_equal": N_("Enter a number of at most %(le)s."),
    "string_too_long": N_("Enter at most %(max_length)s characters."),
    "too_long": N_("Give at most %(max_length)s values."),
    "string_pattern_mismatch": N_("Choose one of the allowed values."),
    "enum": N_("Choose one of the allowed values."),
    "literal_error": N_("Choose one of the allowed values."),
}


def _field_message(error: Any) -> str:
    kind = error["type"]
    if kind == "too_long" and isinstance(error.get("input"), str):
        kind = "string_too_long"  # a constrained str's length refused as a sequence's
    message = FIELD_MESSAGES.get(kind)
    if message is None:
        return str(error["msg"])
    return i18n.gettext(message, **{k: v for k, v in error.get("ctx", {}).items()})


def _validation_error(exc: ValidationError, where: str) -> Response:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or where
        fields.setdefault(name, _field_message(error))
    code = "input.invalid" if where == "query" else "body.invalid"
    return error_response(400, code, i18n.gettext(MESSAGES[400]), fields)


# --- Reading the request --------------------------------------------------------------------


def _is_list(annotation: Any) -> bool:
    """Whether a field takes repeated query parameters (`?publics=a&publics=b`)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    return origin in (list, set, frozenset, tuple)


def read_params(declared: Endpoint, request: Request) -> BaseModel:
    """The path and query parameters, validated by the endpoint's model (ValidationError)."""
    raw: dict[str, Any] = {}
    fields = declared.params.model_fields
    for name, value in request.query_params.multi_items():
        if name in declared.path_params:
            raise ApiError(
                "This parameter belongs in the path.",
                code="input.invalid",
                fields={name: "Not a query parameter."},
            )
        if name in fields and _is_list(fields[name].annotation):
            raw.setdefault(name, []).append(value)
        elif name in raw:
            raise ApiError(
                "The request's parameters are not valid.",
                code="input.invalid",
                fields={name: "Give this parameter once."},
            )
        else:
            raw[name] = value
    raw.update(request.path_params)
    return declared.params.model_validate(raw)


async def _read_body(declared: Endpoint, request: Request) -> BaseModel | None:
    if declared.body is None:
        return None
    data = await request.body()
    return declared.body.model_validate_json(data or b"null")


async def _authenticate(
    declared: Endpoint, request: Request, session: AsyncSession, params: Any
) -> Any:
    """The partner key of a scoped endpoint (`Authorization: Bearer <key>`), checked by
    fair.api_keys.authenticate (401 when absent or unknown, 403 when out of scope)."""
    if declared.scope is None:
        return None
    kind, _, raw_key = request.headers.get("authorization", "").partition(" ")
    if kind.lower() != "bearer" or not raw_key.strip():
        raise Unauthenticated("A partner key is needed: send Authorization: Bearer <key>.")
    # Imported when first used: fair.api_keys is a domain module written beside this one, and
    # public endpoints must work without it.
    api_keys = importlib.import_module("fair.api_keys")
    edition_id = getattr(params, "edition_id", None)
    # Keys' requests are counted in Redis when BROADCAST_URL is (shared by every process).
    broadcast = app_state.of(request).broadcast
    key = await api_keys.authenticate(
        session,
        raw_key.strip(),
        scope=declared.scope,
        edition_id=edition_id,
        redis=broadcast.client(),
        namespace=broadcast.namespace,
    )
    if key is None:  # authenticate raises its own refusals; None is one too
        raise Forbidden("This partner key may not do this.", code="api.forbidden")
    return key


async def _authenticate_only(declared: Endpoint, request: Request, maker: Any) -> None:
    """The key of a scoped endpoint whose parameters were refused: checked first, so that a
    request without a valid key is a 401 whatever its parameters (the edition it names is the
    path's, when it reads as a number)."""
    raw = str(request.path_params.get("edition_id", ""))
    named = types.SimpleNamespace(edition_id=int(raw) if raw.isdigit() and len(raw) < 10 else None)
    async with maker() as session:
        try:
            await _authenticate(declared, request, session, named)
        finally:
            await unit_of_work.discard(session)


# --- Answering ------------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


# Changes with the code that shapes the bodies: an upgrade must not leave clients a 304 on a
# body it would now write differently (the response models' schemas follow their fields).
_CODE = "v1|" + metadata.version("fair")


@functools.cache
def _shape(declared: Endpoint) -> str:
    schema = json.dumps(declared.response.model_json_schema(), sort_keys=True)
    return hashlib.blake2b(schema.encode(), digest_size=8).hexdigest()


def etag(declared: Endpoint, request: Request, params: BaseModel, version: str) -> str:
    """The ETag of a body known by its inputs, not by its bytes: the data's `version`, the
    endpoint, its normalised parameters (validated: defaults filled in, `?limit=020` as 20),
    the API's code, the language and the URL the body's links are built from. Weak, as the
    body hash's: the same representation, whatever the transfer encoding (gzip)."""
    inputs = json.dumps(
        [
            _CODE,
            _shape(declared),
            declared.name,
            params.model_dump(mode="json"),
            str(request.base_url),
            i18n.current_locale.get(),
            version,
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    return etag_of(inputs.encode())


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _headers(declared: Endpoint, tag: str) -> dict[str, str]:
    headers = {
        **CORS,
        "etag": tag,
        "cache-control": PRIVATE_CACHE if declared.scope else PUBLIC_CACHE,
    }
    if declared.scope:
        headers["vary"] = "Authorization"
    return headers


def _known(declared: Endpoint, request: Request, tag: str) -> bool:
    """Whether the client holds the representation `tag` names (If-None-Match compares weakly)."""
    return declared.method in SAFE and _matches(request.headers.get("if-none-match", ""), tag)


def answer(
    declared: Endpoint, request: Request, result: BaseModel, tag: str | None = None
) -> Response:
    """The JSON response of a success, with its ETag (`tag`, else the body's hash; 304 when the
    client has it), caching and CORS headers, and a Link header for the next page of a list (its
    `next` field)."""
    body = result.model_dump_json(by_alias=True).encode()
    headers = _headers(declared, tag or etag_of(body))
    following = getattr(result, "next", None)
    if isinstance(following, str):
        headers["link"] = f'<{following}>; rel="next"'
    if _known(declared, request, headers["etag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=declared.status, media_type=JSON, headers=headers)


async def _run(declared: Endpoint, request: Request) -> Response:
    state = app_state.of(request)
    write = declared.method not in SAFE
    maker = state.write_sessions if write else state.read_sessions
    try:
        params = read_params(declared, request)
    except (ValidationError, ApiError) as exc:
        if declared.scope is not None:  # who may ask comes before what they asked (401 first)
            await _authenticate_only(declared, request, maker)
        if isinstance(exc, ApiError):
            raise
        return _validation_error(exc, "query")
    return await db.again(
        lambda: _answer(declared, request, params, maker),
        what=f"API {request.method} {request.url.path}",
        may=lambda: not write or not getattr(request.state, "handling", False),
    )


async def _answer(
    declared: Endpoint,
    request: Request,
    params: BaseModel,
    maker: async_sessionmaker[AsyncSession],
) -> Response:
    """The endpoint's answer in its own session (`_run`), asked again once by `db.again` when
    its connection was found lost before use: nothing it asked was done. The key is counted
    (`_authenticate`) only once its look-up, the session's first statement, was answered, so
    a request asked again was never counted; a write whose handler began is never asked
    again (`request.state.handling`)."""
    state = app_state.of(request)
    write = declared.method not in SAFE
    async with maker() as session:
        try:
            key = await _authenticate(declared, request, session, params)
            call = Call(request, session, params, key)
            if declared.guard is not None:
                await declared.guard(call)  # a refused signature is a 401, whatever the body
            call.body = await _read_body(declared, request)
            tag = None
            if declared.version is not None and not write:
                # Read before the data: a body newer than its version is only sent again.
                version = await declared.version(call)
                tag = None if version is None else etag(declared, request, params, version)
                if tag is not None and _known(declared, request, tag):
                    return Response(status_code=304, headers=_headers(declared, tag))
            request.state.handling = True
            result = await declared.handler(call)
            response = answer(declared, request, result, tag)
            if write:
                await unit_of_work.commit(session, state.broadcast)
            return response
        except BaseException:
            await unit_of_work.discard(session)
            raise


def error_of(exc: Exception, method: str) -> Response:
    """The API's answer to an exception: its JSON error shape, a 500 only for a fault."""
    if isinstance(exc, FairError):
        return _fair_error(exc, method)
    if isinstance(exc, ValidationError):
        return _validation_error(exc, "body")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = i18n.gettext(MESSAGES.get(status, MESSAGES[400]))
        return error_response(status, f"http.{status}", message)
    reason = db.report(log, exc, "API request")
    if reason is not None:  # the database out of reach or the pool all taken: come back soon
        response = error_response(503, reason, i18n.gettext(MESSAGES[503]))
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    return error_response(500, "server.error", i18n.gettext(MESSAGES[500]))


def route(declared: Endpoint) -> Route:
    """The Starlette route running one declared endpoint."""

    async def run(request: Request) -> Response:
        # Errors are answered here: Starlette would hand an endpoint's exceptions to the app's
        # handlers, which render the pages' errors.
        try:
            return await _run(declared, request)
        except Exception as exc:  # noqa: BLE001 (every error becomes the API's JSON shape)
            return error_of(exc, request.method)

    methods = ["GET", "HEAD"] if declared.method == "GET" else [declared.method]
    return Route(declared.path, run, methods=methods, name=f"api.{declared.name}")


def preflight() -> Response:
    """The CORS preflight of any API path: reads from any origin, without credentials."""
    return Response(
        status_code=204, headers={**PREFLIGHT, "access-control-allow-methods": "GET, HEAD, OPTIONS"}
    )


class Api:
    """The ASGI app mounted at /api/v1: the declared endpoints' routes, an OPTIONS preflight for
    every path, and every error (routing's 404 and 405, FairError, a refused body or parameter,
    an unexpected exception) answered in the API's one JSON shape."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.router = Router([*routes])

    @property
    def routes(self) -> list[BaseRoute]:
        """Its routes, so that the app's URL builder finds them through the Mount ("api:docs")."""
        return self.router.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.router(scope, receive, send)
            return
        request = Request(scope, receive)
        if request.method == "OPTIONS":
            known = any(
                r.matches({**scope, "method": "GET"})[0] != Match.NONE for r in self.router.routes
            )
            response = preflight() if known else error_of(HTTPException(404), "OPTIONS")
            await response(scope, receive, send)
            return
        wanted = accepted_locale(request)
        token = i18n.current_locale.set(wanted) if wanted else None
        try:
            await self.router(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 (every error becomes the API's JSON shape)
            response = error_of(exc, request.method)
            await response(scope, receive, send)
        finally:
            if token is not None:
                i18n.current_locale.reset(token)


def accepted_locale(request: Request) -> str | None:
    """The first language of Accept-Language the platform speaks, unless a `lang` cookie chose
    one (fair.web.middleware.Locale read it): partners' programs send no cookie."""
    if request.cookies.get("lang") in i18n.LOCALES:
        return None
    weighted = []
    for position, part in enumerate(request.headers.get("accept-language", "").split(",")[:20]):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        weighted.append((-weight, position, tag.split("-")[0].strip().lower()))
    return next((tag for _, _, tag in sorted(weighted) if tag in i18n.LOCALES), None)


def routes(endpoints: list[Endpoint], extra: list[BaseRoute] | None = None) -> list[BaseRoute]:
    """The routes of `endpoints` (and of `extra` pages such as the OpenAPI document)."""
    return [*(route(e) for e in endpoints), *(extra or [])]


def app(endpoints: list[Endpoint], extra: list[BaseRoute] | None = None) -> ASGIApp:
    return Api(routes(endpoints, extra))
