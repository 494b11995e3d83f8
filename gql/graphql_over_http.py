"""GraphQL over HTTP (the GraphQL Foundation's specification): which media type an
answer has, and how a request the server can not take is answered.

A client that accepts `application/graphql-response+json` gets it: then a request
error (the document or the variables refused, nothing executed) is a 400 without
`data`, so that a proxy or a client can tell it from an answer. Others get
`application/json`, where such errors come with 200 as before the specification.
Either way a request that is not GraphQL at all (not JSON, `query` not a string,
`operationName` an object, ...) gets its 4xx status with an `errors` list in JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def media_type(scope: Scope) -> str:
    """The media type of the answer: `application/graphql-response+json` when the
    Accept header names it at least as high as `application/json`."""
    return _chosen(Headers(scope=scope).get("accept", ""))


# A client sends the same Accept header with every request: decided once (bounded).
@functools.lru_cache(maxsize=256)
def _chosen(accept: str) -> str:
    weights: dict[str, float] = {}
    for part in accept.split(","):
        name, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name.lower()] = max(weight, weights.get(name.lower(), 0.0))
    wanted = weights.get(GRAPHQL_RESPONSE, 0.0)
    if wanted > 0 and wanted >= weights.get(JSON, 0.0):
        return GRAPHQL_RESPONSE
    return JSON


def is_request_error(response: Mapping[str, Any]) -> bool:
    """Errors and no data, none of them at a field: nothing was executed."""
    errors = response.get("errors") or []
    return (
        response.get("data") is None
        and bool(errors)
        and not any(error.get("path") for error in errors)
    )


def request_error(status: int, message: str, media: str) -> Response:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]},
        status_code=status,
        media_type=media,
    )
