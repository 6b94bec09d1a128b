"""OpenAPI helpers: routes that read their body themselves (for speed and exact decimals)
still document it, and every error response is documented as a problem document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from ordergate.api.reevoo import ReevooCustomerOrder
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


def body_schema(model: str, media_types: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    schema = {"$ref": _REF.format(model=model)}
    return {
        "requestBody": {
            "required": True,
            "content": {m: {"schema": schema} for m in media_types},
        }
    }


def inline_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a body that a route reads itself, schema inline."""
    content = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": required, "content": content}}


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
        schemas.setdefault("Problem", Problem.model_json_schema(ref_template=_REF))
        doc["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "api-key"},
        }
        auth_problems = problems(401, 403, 429)
        for path, item in doc.get("paths", {}).items():
            if path in ("/healthz", "/readyz", "/metrics"):
                continue
            for op in item.values():
                op.setdefault("security", [{"bearer": []}, {"basic": []}, {"apiKey": []}])
                if path.startswith(("/reevoo/", "/dropday/", "/parcellab/", "/pitneybowes/")):
                    continue  # a dialect answers 401/403/429 in its vendor's own bodies
                for status, resp in auth_problems.items():
                    op["responses"].setdefault(
                        str(status),
                        {
                            "description": resp["description"],
                            "content": {
                                "application/problem+json": {
                                    "schema": {"$ref": _REF.format(model="Problem")}
                                }
                            },
                        },
                    )
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
