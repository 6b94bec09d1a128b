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


def same_document(a: Any, b: Any) -> bool:
    """Equal as JSON: unlike ``==``, ``true`` is not ``1`` and ``1`` is not ``1.0``."""
    return not differing_pointers(a, b)


def differing_pointers(old: Any, new: Any) -> list[str]:
    """JSON pointers of the leaves that differ between two documents, in document order."""
    out: list[str] = []
    _diff(old, new, [], out)
    return out


def _diff(old: Any, new: Any, path: list[int | str], out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*new, *old]):
            _diff(old.get(key), new.get(key), [*path, key], out)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            _diff(
                old[i] if i < len(old) else None,
                new[i] if i < len(new) else None,
                [*path, i],
                out,
            )
    elif old != new or type(old) is not type(new):
        out.append(pointer(path))
