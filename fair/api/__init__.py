"""The public JSON API, /api/v1: a boundary beside web/ and live/, importing neither.

Import order inside the package: `core` (declarations, routes, errors, ETag, CORS) <- `params`
(parameter types, cursor pagination) <- `openapi` (the document, from the declarations) <-
`docs` (the documentation page, from the document) <- `schemas` (response models) <- `reads`
(the public read endpoints), `partners` (the endpoints needing a partner key's scope), `rome`
(ROME suggestion in ROMEO's shape), `network` (the partner instances' endpoints of the
network of territories) <- this
module, which gathers the endpoints and mounts them with the OpenAPI document and its page.

To add an endpoint: declare it with `core.endpoint(...)` in a module of this package, and add
it to `ENDPOINTS` below; its route and its OpenAPI operation follow.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from fair.api import core, docs, network, openapi, partners, reads, rome

ENDPOINTS: list[core.Endpoint] = [
    *reads.ENDPOINTS,
    *partners.ENDPOINTS,
    *rome.ENDPOINTS,
    *network.ENDPOINTS,
]
DOCUMENT = openapi.document(ENDPOINTS)


async def openapi_json(request: Request) -> Response:
    return JSONResponse(DOCUMENT, headers={**core.CORS, "cache-control": core.PUBLIC_CACHE})


mount = Mount(
    openapi.BASE,
    app=core.app(
        ENDPOINTS,
        [
            Route("/openapi.json", openapi_json, name="openapi"),
            Route("/docs", docs.page(DOCUMENT), name="docs"),
        ],
    ),
    name="api",
)
