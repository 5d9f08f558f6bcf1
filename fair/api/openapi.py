"""The OpenAPI 3.1 document, generated from the endpoints' declarations (fair/api/core.py): the
same pydantic models that validate the parameters and shape the responses give the schemas
(JSON Schema 2020-12, the dialect of OpenAPI 3.1), gathered under components/schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from fair.api.core import MESSAGES, Endpoint, ErrorBody

VERSION = "1.0.0"
BASE = "/api/v1"
REF = "#/components/schemas/{model}"
DATA_LICENCE = "Licence Ouverte / Etalab 2.0"
DATA_LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
DESCRIPTION = (
    "The public data of fair's job fairs: editions, booths, offers, webconferences and interview "
    "availability. Lists are paged by an opaque cursor (`next`); every answer carries an ETag "
    f"(send it back in If-None-Match: 304). The data is published under the {DATA_LICENCE}; "
    "the code is free software under the AGPL-3.0-or-later."
)
SECURITY_SCHEME = "partnerKey"


def _schemas(endpoints: list[Endpoint]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """The schema (a $ref or inline) of every model, and the components they share."""
    models: list[tuple[type[BaseModel], Any]] = [(ErrorBody, "serialization")]
    for declared in endpoints:
        models.append((declared.params, "validation"))
        models.append((declared.response, "serialization"))
        if declared.body is not None:
            models.append((declared.body, "validation"))
    unique = list(dict.fromkeys(models))
    refs, shared = models_json_schema(unique, ref_template=REF)
    return refs, shared.get("$defs", {})


def _name(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[1]


def _parameters(declared: Endpoint, schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    found = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        in_path = name in declared.path_params
        parameter: dict[str, Any] = {
            "name": name,
            "in": "path" if in_path else "query",
            "required": in_path or name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        found.append(parameter)
    return found


def _error(status: int) -> dict[str, Any]:
    return {
        "description": MESSAGES.get(status, MESSAGES[400]),
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}},
    }


def _operation(
    declared: Endpoint, refs: dict[Any, Any], components: dict[str, Any]
) -> dict[str, Any]:
    params_schema = refs[(declared.params, "validation")]
    if "$ref" in params_schema:
        params_schema = components[_name(params_schema)]
    success: dict[str, Any] = {
        "description": declared.summary,
        "headers": {
            "ETag": {"description": "A weak validator of this body.", "schema": {"type": "string"}},
            "Cache-Control": {"schema": {"type": "string"}},
        },
        "content": {"application/json": {"schema": refs[(declared.response, "serialization")]}},
    }
    if "next" in declared.response.model_fields:
        success["headers"]["Link"] = {
            "description": 'The next page: <url>; rel="next".',
            "schema": {"type": "string"},
        }
    responses: dict[str, Any] = {str(declared.status): success}
    if declared.method == "GET":
        responses["304"] = {"description": "Not modified: the If-None-Match ETag still holds."}
    for status in declared.errors:
        responses[str(status)] = _error(status)
    operation: dict[str, Any] = {
        "operationId": declared.name,
        "summary": declared.summary,
        "tags": list(declared.tags),
        "parameters": _parameters(declared, params_schema),
        "responses": responses,
    }
    if declared.description:
        operation["description"] = declared.description
    if declared.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(declared.body, "validation")]}},
        }
    if declared.scope is not None:
        operation["security"] = [{SECURITY_SCHEME: [declared.scope]}]
    return operation


def document(endpoints: list[Endpoint], *, title: str = "fair") -> dict[str, Any]:
    """The OpenAPI 3.1 document of `endpoints`."""
    refs, components = _schemas(endpoints)
    paths: dict[str, dict[str, Any]] = {}
    for declared in endpoints:
        operation = _operation(declared, refs, components)
        paths.setdefault(declared.path, {})[declared.method.lower()] = operation
    for declared in endpoints:  # parameters are listed one by one, not as a component
        ref = refs[(declared.params, "validation")]
        if "$ref" in ref:
            components.pop(_name(ref), None)
    tags = sorted({tag for declared in endpoints for tag in declared.tags})
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": f"{title} public API",
            "version": VERSION,
            "description": DESCRIPTION,
            "license": {"name": DATA_LICENCE, "url": DATA_LICENCE_URL},
        },
        "servers": [{"url": BASE}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A partner key an organiser created for an edition.",
                }
            },
        },
    }
