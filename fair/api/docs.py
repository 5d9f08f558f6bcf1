"""The API's documentation page, /api/v1/docs: the OpenAPI document (fair/api/openapi.py) read
back into plain rows and rendered server-side by templates/api/docs.html (no script, no CDN:
the strict Content-Security-Policy holds), in French or English (`?lang=en`, else the `lang`
cookie, else Accept-Language, else the platform's default).

Its own small Jinja environment: the API imports no other boundary, so not fair/web's."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import NoMatchFound

from fair import app_state, i18n, settings
from fair.api import openapi

METHOD_ORDER = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Row:
    name: str
    kind: str  # "integer", "string (date-time)", "array of Offer", "one of: a, b"
    description: str
    required: bool = False
    where: str = ""  # a parameter's place: path or query


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    scope: str | None
    parameters: list[Row]
    fields: list[Row]
    item: str  # the listed objects' schema, for a page
    errors: list[str]


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[1]


def kind(schema: dict[str, Any]) -> str:
    """A schema in a few words: its type and format, the values it allows, what it lists."""
    if "$ref" in schema:
        return _ref_name(schema)
    if "anyOf" in schema:
        kinds = [kind(s) for s in schema["anyOf"]]
        return " | ".join(kinds)
    if "enum" in schema:
        return "one of: " + ", ".join(repr(v) if v == "" else str(v) for v in schema["enum"])
    if schema.get("type") == "array":
        return "array of " + kind(schema.get("items", {}))
    if schema.get("type") == "object" and "additionalProperties" in schema:
        return "object of " + kind(schema["additionalProperties"])
    found = str(schema.get("type", "any"))
    return f"{found} ({schema['format']})" if "format" in schema else found


def _fields(schema: dict[str, Any]) -> list[Row]:
    required = set(schema.get("required", ()))
    return [
        Row(name, kind(prop), prop.get("description", ""), name in required)
        for name, prop in schema.get("properties", {}).items()
    ]


def _item_of(schema: dict[str, Any], components: dict[str, Any]) -> str:
    """The name of the objects a page lists (its `data` items), or ""."""
    data = schema.get("properties", {}).get("data", {})
    items = data.get("items", {})
    return _ref_name(items) if "$ref" in items else ""


def _operation(path: str, method: str, op: dict[str, Any], components: dict[str, Any]) -> Operation:
    success = next(r for status, r in op["responses"].items() if status.startswith("2"))
    schema = success["content"]["application/json"]["schema"]
    resolved = components[_ref_name(schema)] if "$ref" in schema else schema
    security = op.get("security", [])
    return Operation(
        method=method.upper(),
        path=openapi.BASE + path,
        anchor=op["operationId"],
        summary=op["summary"],
        description=op.get("description", ""),
        scope=next(iter(security[0].values()))[0] if security else None,
        parameters=[
            Row(p["name"], kind(p["schema"]), p.get("description", ""), p["required"], p["in"])
            for p in op["parameters"]
        ],
        fields=_fields(resolved),
        item=_item_of(resolved, components),
        errors=sorted(s for s in op["responses"] if s[0] in "45"),
    )


def outline(document: dict[str, Any]) -> tuple[list[Operation], dict[str, list[Row]]]:
    """The operations of `document` in its order, and the fields of every object schema."""
    components = document["components"]["schemas"]
    operations = [
        _operation(path, method, ops[method], components)
        for path, ops in document["paths"].items()
        for method in METHOD_ORDER
        if method in ops
    ]
    objects = {
        name: _fields(schema)
        for name, schema in components.items()
        if "properties" in schema and not name.startswith("Page_")
    }
    return operations, objects


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(settings.get().templates_dir)),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda m, **kw: i18n.gettext(m, **kw),
        lambda s, p, n, **kw: i18n.ngettext(s, p, n, **kw),
        newstyle=True,
    )
    return env


def _widget_url(request: Request) -> str | None:
    """The widget's documentation page (fair/web/embeds.py), when the app serves it: found by
    its route's name (the API imports no other boundary)."""
    try:
        return str(request.app.url_path_for("widget_docs"))
    except NoMatchFound:
        return None


def page(document: dict[str, Any]) -> Any:
    """The documentation page's endpoint for `document`."""
    operations, objects = outline(document)

    async def docs(request: Request) -> Response:
        wanted = request.query_params.get("lang", "")
        token = i18n.current_locale.set(wanted) if wanted in i18n.LOCALES else None
        try:
            html = (
                _env()
                .get_template("api/docs.html")
                .render(
                    locale=i18n.current_locale.get(),
                    static=app_state.of(request).assets.url,
                    info=document["info"],
                    openapi_url=f"{openapi.BASE}/openapi.json",
                    operations=operations,
                    objects=objects,
                    licence=openapi.DATA_LICENCE,
                    licence_url=openapi.DATA_LICENCE_URL,
                    other_lang="en" if i18n.current_locale.get() == "fr" else "fr",
                    widget_url=_widget_url(request),
                )
            )
        finally:
            if token is not None:
                i18n.current_locale.reset(token)
        headers = {"cache-control": "public, max-age=300", "vary": "Accept-Language, Cookie"}
        return HTMLResponse(html, headers=headers)

    return docs
