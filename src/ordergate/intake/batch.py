"""Many orders in one go: ``POST /v1/orders/batch`` and each chunk of an import.

Entries are validated one by one (an invalid entry has its own errors and does not stop the
others), then written set-based: a handful of statements whatever the count.

Repeated ``order_ref`` within one call (per organisation), deterministically: the first valid
entry with that ref is applied; a later one is not. It is ``duplicate`` when its content is
the same as the first's, else ``conflict`` (code ``duplicate_order_ref``, naming the first
entry). Either way its ``id`` is the first entry's order, when that has one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.errors import FieldError, ValidationFailed
from ordergate.orders import service
from ordergate.orders.documents import same_document
from ordergate.orders.errors import OrderRefConflict
from ordergate.orders.model import Order, to_document, validate_order
from ordergate.tenancy.auth import Principal

Mode = Literal["create", "upsert"]
EntryOutcome = Literal["created", "updated", "unchanged", "duplicate", "conflict", "invalid"]
FAILED: frozenset[str] = frozenset({"conflict", "invalid"})


@dataclass(slots=True)
class EntryResult:
    index: int  # the entry's position in the batch, or its line number in an import
    outcome: EntryOutcome
    id: UUID | None = None
    errors: list[FieldError] = field(default_factory=list)

    def as_dict(self, index_name: str = "index") -> dict[str, Any]:
        out: dict[str, Any] = {index_name: self.index, "outcome": self.outcome}
        if self.id is not None:
            out["id"] = str(self.id)
        if self.errors:
            out["errors"] = [e.as_dict() for e in self.errors]
        return out


def validate(index: int, raw: Any) -> Order | EntryResult:
    """The entry's order, or its ``invalid`` result with every error (pointers into it)."""
    try:
        return validate_order(raw)
    except ValidationFailed as exc:
        return EntryResult(index, "invalid", errors=list(exc.errors))


async def apply(
    conn: AsyncConnection,
    principal: Principal,
    entries: Sequence[tuple[int, Order | dict[str, Any]]],
    *,
    mode: Mode,
    submission_id: UUID | None,
    via: str,
) -> list[EntryResult]:
    """Write valid entries (in the caller's transaction); one result per entry, in order."""
    firsts: list[tuple[int, service.NewOrder]] = []
    first_by_ref: dict[str, tuple[int, dict[str, Any]]] = {}
    repeats: list[tuple[int, str, bool]] = []  # (index, ref, same content as the first)
    for index, entry in entries:
        order, doc = (None, entry) if isinstance(entry, dict) else (entry, to_document(entry))
        ref = doc["order_ref"]
        earlier = first_by_ref.get(ref)
        if earlier is None:
            first_by_ref[ref] = (index, doc)
            firsts.append((index, service.NewOrder(principal, order, submission_id, via, doc)))
        else:
            repeats.append((index, ref, same_document(earlier[1], doc)))

    requests = [r for _, r in firsts]
    results: dict[int, EntryResult] = {}
    if mode == "create":
        for (index, _), created in zip(
            firsts, await service.create_many(conn, requests), strict=True
        ):
            results[index] = _create_result(index, created)
    else:
        for (index, _), upserted in zip(
            firsts, await service.upsert_many(conn, requests), strict=True
        ):
            results[index] = _upsert_result(index, upserted)

    for index, ref, same in repeats:
        first_index = first_by_ref[ref][0]
        first_id = results[first_index].id
        if same:
            results[index] = EntryResult(index, "duplicate", first_id)
        else:
            detail = f"Entry {first_index} has the same order_ref with different content"
            error = FieldError("/order_ref", "duplicate_order_ref", detail)
            results[index] = EntryResult(index, "conflict", first_id, [error])
    return [results[index] for index, _ in entries]


async def apply_in_order(
    conn: AsyncConnection,
    principal: Principal,
    entries: Sequence[tuple[int, Order | dict[str, Any]]],
    *,
    mode: Mode,
    submission_id: UUID | None,
    via: str,
) -> list[EntryResult]:
    """Like :func:`apply`, but entries apply one after another, as if sent in turn: an entry
    repeating an earlier entry's order_ref is applied after it (in upsert mode, the later one
    wins). Entries are written in rounds, the k-th of each order_ref in round k, so each round
    holds an order_ref at most once and sees the rounds before it."""
    results: list[EntryResult] = []
    for round_ in rounds(entries, _ref_of):
        results += await apply(
            conn, principal, round_, mode=mode, submission_id=submission_id, via=via
        )
    return sorted(results, key=lambda r: r.index)


Entry = TypeVar("Entry")


def rounds(
    entries: Sequence[tuple[int, Entry]], ref_of: Callable[[Entry], str]
) -> list[list[tuple[int, Entry]]]:
    """Entries in rounds: the k-th entry of each order_ref in round k, in input order."""
    out: list[list[tuple[int, Entry]]] = []
    seen: dict[str, int] = {}
    for index, entry in entries:
        ref = ref_of(entry)
        k = seen.get(ref, 0)
        seen[ref] = k + 1
        if k == len(out):
            out.append([])
        out[k].append((index, entry))
    return out


def _ref_of(entry: Order | dict[str, Any]) -> str:
    return entry["order_ref"] if isinstance(entry, dict) else entry.order_ref


def _create_result(index: int, outcome: service.Result | OrderRefConflict) -> EntryResult:
    if isinstance(outcome, OrderRefConflict):
        detail = "Differs from the stored order with this order_ref"
        errors = [FieldError(p, "order_ref_conflict", detail) for p in outcome.differences]
        return EntryResult(index, "conflict", outcome.existing_id, errors)
    if outcome.outcome == "existing":
        return EntryResult(index, "duplicate", outcome.order.id)
    return EntryResult(index, "created", outcome.order.id)


def _upsert_result(index: int, outcome: service.Result | service.Refused) -> EntryResult:
    if isinstance(outcome, service.Refused):
        error = FieldError("", outcome.error.code, outcome.error.detail)
        return EntryResult(index, "conflict", outcome.order_id, [error])
    kind = "unchanged" if outcome.outcome == "existing" else outcome.outcome
    return EntryResult(index, kind, outcome.order.id)
