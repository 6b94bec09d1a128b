"""Vendor wire formats (see docs/dialects.md): what every dialect shares."""

from __future__ import annotations

from typing import Any

import jiter

from ordergate.web import nul_pointers


def blank(value: Any) -> bool:
    """Absent, as vendors mean it: missing, null, or text of spaces only."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_leniently(raw: bytes) -> tuple[Any, list[str]]:
    """A vendor's body: its value (None when empty or not JSON: vendors answer that as "no
    data") and the pointers of its text that contains NUL, which no order may hold. Unlike
    ``web.parse_json`` it raises nothing, so that a dialect answers in its vendor's words."""
    if not raw.strip():
        return None, []
    try:
        value = jiter.from_json(raw, float_mode="decimal")
    except ValueError:
        return None, []
    return value, list(nul_pointers(value))
