"""Operations on JSON documents: RFC 7386 merge patch and the pointers where two differ."""

from __future__ import annotations

from typing import Any

from ordergate.orders.model import pointer


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def changes(old: Any, new: Any) -> list[dict[str, Any]]:
    """``[{"pointer", "old", "new"}]`` for every leaf that differs (``None`` where absent)."""
    out: list[dict[str, Any]] = []
    _diff(old, new, [], out, with_values=True)
    return out


def same_document(a: Any, b: Any) -> bool:
    """Equal as JSON: unlike ``==``, ``true`` is not ``1`` and ``1`` is not ``1.0``."""
    return not differing_pointers(a, b)


def differing_pointers(old: Any, new: Any) -> list[str]:
    """JSON pointers of the leaves that differ between two documents, in document order."""
    out: list[Any] = []
    _diff(old, new, [], out, with_values=False)
    return out


def _diff(old: Any, new: Any, path: list[int | str], out: list[Any], *, with_values: bool) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*new, *old]):
            _diff(old.get(key), new.get(key), [*path, key], out, with_values=with_values)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            _diff(
                old[i] if i < len(old) else None,
                new[i] if i < len(new) else None,
                [*path, i],
                out,
                with_values=with_values,
            )
    elif old != new or type(old) is not type(new):
        ptr = pointer(path)
        out.append({"pointer": ptr, "old": old, "new": new} if with_values else ptr)
