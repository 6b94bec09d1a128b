"""The ``parcellab`` dialect: parcelLab's Trackings/Orders API v4, in the vendor's shapes.

parcelLab runs on Django REST framework with standardised errors: every 4xx body is
``{"type": "client_error", "errors": [{"code", "detail", "attr"}]}``, ``attr`` a dotted path
with list indices (``articles_order.0.quantity``), and ``detail`` DRF's own sentences.

- :mod:`.body`: a PUT/POST body → what it changes on the canonical order (a merge patch, so
  that only the fields sent change), its mutations, and DRF errors for every bad field.
- :mod:`.render`: a stored order → parcelLab's order object.
"""

from __future__ import annotations

from typing import Any

VIA = "parcellab"


class Errors:
    """DRF's standardised error list, in the order the fields were checked."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, attr: str | None, code: str, detail: str) -> None:
        error = {"code": code, "detail": detail, "attr": attr}
        if error not in self.items:
            self.items.append(error)

    def has(self, attr: str) -> bool:
        return any(
            e["attr"] == attr or (e["attr"] or "").startswith(attr + ".") for e in self.items
        )

    def __bool__(self) -> bool:
        return bool(self.items)

    def body(self) -> dict[str, Any]:
        return {"type": "client_error", "errors": self.items}


def error_body(code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    """The body of a single error: 401, 403, 404, 413, 415, 429 and parse errors."""
    errors = Errors()
    errors.add(attr, code, detail)
    return errors.body()
