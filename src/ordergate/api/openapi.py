"""OpenAPI helpers: routes that read their body themselves (for speed and exact decimals)
still document it, and every response a route can give is documented: /v1 errors as problem
documents, a dialect's in its vendor's bodies (see each dialect's ``responses=``).

Some answers come from the middlewares, before any route runs, and keep the problem+json
form on every route, dialects included (docs/dialects.md): a NUL in the path or query (400),
and on POST and PATCH a malformed ``Idempotency-Key`` (400), one still in flight (409), one
reused for another request (422), or a body over the limit sent with one (413).
:func:`install` adds those to every operation, beside what the route itself answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from ordergate.api.reevoo import ReevooCustomerOrder
from ordergate.intake.idempotency import METHODS, OWN_KEYS
from ordergate.orders.model import Order

_REF = "#/components/schemas/{model}"
# Schemas of request bodies that are parsed by hand, added to the document's components.
BODY_MODELS: tuple[type[BaseModel], ...] = (Order, ReevooCustomerOrder)


class FieldErrorOut(BaseModel):
    pointer: str = Field(examples=["/items/0/sku"])
    code: str = Field(examples=["required"])
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["urn:ordergate:problem:validation_failed"])
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code (docs/errors.md)")
    errors: list[FieldErrorOut] | None = Field(
        default=None, description="Every invalid field (422) or parameter (400)"
    )


_DESCRIPTIONS = {
    400: "Malformed JSON or an invalid query parameter",
    401: "Missing or invalid credentials",
    403: "The API key lacks the scope this route needs",
    404: "Not found (or belongs to another organisation)",
    409: "Conflict",
    412: "If-Match does not match the current version",
    413: "Body too large",
    415: "Unsupported content type",
    422: "Invalid payload: every invalid field is listed",
    429: "Rate limited",
    503: "Not ready",
}

_PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}}
# What the middlewares answer (problem+json on every route; see the module docstring).
_ANY_ROUTE = {400: "A NUL character in the path or query string"}
_IDEMPOTENT_ROUTE = {
    400: "A malformed Idempotency-Key",
    409: "A request with this Idempotency-Key is still being processed",
    413: "Body too large (read by the Idempotency-Key check)",
    422: "The Idempotency-Key was used for a different request",
}
_IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Replays the first response to a retry (docs/api.md#idempotency-key)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {
            "model": Problem,
            "description": _DESCRIPTIONS[s],
            "content": {"application/problem+json": {}},
        }
        for s in statuses
    }


def _add_problem(op: dict[str, Any], status: int, description: str) -> None:
    """Document a problem+json answer for ``status``, beside what the route documents."""
    response = op["responses"].setdefault(str(status), {"description": description})
    if description not in response["description"]:
        response["description"] += f"; {description}"
    response.setdefault("content", {}).update(_PROBLEM_CONTENT)


_DIALECTS = ("/reevoo/", "/dropday/", "/parcellab/", "/pitneybowes/")
_TIMEOUT = "The request body did not arrive in time (ORDERGATE_BODY_TIMEOUT_SECONDS)"


def _add_middleware_answers(path: str, method: str, op: dict[str, Any]) -> None:
    for status, description in _ANY_ROUTE.items():
        _add_problem(op, status, description)
    if "requestBody" in op and "408" not in op["responses"]:
        # A slow body is cut off where the route reads it: a dialect answers in the shape of
        # its 413 (its other refusal of a body as such), /v1 with a problem document.
        too_large = op["responses"].get("413")
        if path.startswith(_DIALECTS) and too_large is not None:
            op["responses"]["408"] = {**too_large, "description": _TIMEOUT}
        else:
            _add_problem(op, 408, _TIMEOUT)
    if method.upper() not in METHODS or path in OWN_KEYS:
        return
    params = op.setdefault("parameters", [])
    if not any(p["in"] == "header" and p["name"].lower() == "idempotency-key" for p in params):
        params.append(_IDEMPOTENCY_HEADER)
    for status, description in _IDEMPOTENT_ROUTE.items():
        _add_problem(op, status, description)


def body_schema(model: str, media_types: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    schema = {"$ref": _REF.format(model=model)}
    return {
        "requestBody": {
            "required": True,
            "content": {m: {"schema": schema} for m in media_types},
        }
    }


# The nested models of inline bodies, for the document's components (a "#/$defs/..." reference
# inside an operation would point at the document's root, where there is no $defs).
_INLINE_DEFS: dict[str, Any] = {}


def inline_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a body that a route reads itself, schema inline."""
    schema = model.model_json_schema(ref_template=_REF)
    _INLINE_DEFS.update(schema.pop("$defs", {}))
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": required, "content": content}}


def merge_patch_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of an RFC 7386 merge patch of a ``schema`` object: every member optional,
    and ``null`` (remove it) allowed for each, and for a member the object does not have
    (removing it changes nothing)."""
    patch = {k: v for k, v in schema.items() if k not in ("required", "title")}
    if patch.get("additionalProperties") is False:
        patch["additionalProperties"] = {"type": "null"}
    patch["properties"] = {
        name: {"anyOf": [prop, {"type": "null"}]} for name, prop in schema["properties"].items()
    }
    return patch


def inline_patch_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a merge patch of ``model`` that a route reads itself."""
    body = inline_body(model)
    content = body["requestBody"]["content"]["application/json"]
    content["schema"] = merge_patch_schema(content["schema"])
    return body


def install(app: FastAPI) -> None:
    """Generate the document once, with the hand-parsed body schemas and shared 401/403."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in BODY_MODELS:
            schema = model.model_json_schema(ref_template=_REF, mode="validation")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        schemas["OrderPatch"] = merge_patch_schema(schemas["Order"])
        for name, schema in _INLINE_DEFS.items():
            schemas.setdefault(name, schema)
        schemas.setdefault("Problem", Problem.model_json_schema(ref_template=_REF))
        doc["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "api-key"},
        }
        auth_problems = problems(401, 403, 429)
        for path, item in doc.get("paths", {}).items():
            for method, op in item.items():
                _add_middleware_answers(path, method, op)
            if path in ("/healthz", "/readyz", "/metrics"):
                continue
            for op in item.values():
                op.setdefault("security", [{"bearer": []}, {"basic": []}, {"apiKey": []}])
                if path.startswith(("/reevoo/", "/dropday/", "/parcellab/", "/pitneybowes/")):
                    continue  # a dialect answers 401/403/429 in its vendor's own bodies
                for status, resp in auth_problems.items():
                    op["responses"].setdefault(
                        str(status),
                        {"description": resp["description"], "content": dict(_PROBLEM_CONTENT)},
                    )
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
