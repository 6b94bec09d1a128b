"""JSON document operations: RFC 7386 merge patch and the pointers where two documents differ."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ordergate.orders.documents import differing_pointers, merge_patch

# --- merge_patch ----------------------------------------------------------------------------------

# RFC 7386 Appendix A, every example: (original, patch, result).
RFC_7386_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(
    ("original", "patch", "result"), RFC_7386_EXAMPLES, ids=[str(i) for i in range(15)]
)
def test_merge_patch_matches_every_rfc_7386_example(original: Any, patch: Any, result: Any) -> None:
    assert merge_patch(original, patch) == result


def test_merge_patch_replaces_a_field() -> None:
    assert merge_patch({"channel": "web", "source": "x"}, {"channel": "pos"}) == {
        "channel": "pos",
        "source": "x",
    }


def test_merge_patch_null_removes_a_field() -> None:
    assert merge_patch({"channel": "web", "source": "x"}, {"channel": None}) == {"source": "x"}


def test_merge_patch_null_for_an_absent_field_changes_nothing() -> None:
    assert merge_patch({"source": "x"}, {"channel": None}) == {"source": "x"}


def test_merge_patch_merges_nested_objects_recursively() -> None:
    target = {"customer": {"email": "a@example.com", "first_name": "Jo"}}
    patch = {"customer": {"first_name": "Joanna", "last_name": "Brown"}}
    assert merge_patch(target, patch) == {
        "customer": {"email": "a@example.com", "first_name": "Joanna", "last_name": "Brown"}
    }


def test_merge_patch_replaces_lists_whole() -> None:
    assert merge_patch({"tags": ["a", "b", "c"]}, {"tags": ["d"]}) == {"tags": ["d"]}


def test_merge_patch_keeps_nulls_inside_a_list_value() -> None:
    assert merge_patch({}, {"a": [None, {"b": None}]}) == {"a": [None, {"b": None}]}


def test_merge_patch_object_over_a_scalar_drops_its_nulls() -> None:
    assert merge_patch({"a": 1}, {"a": {"b": 2, "c": None}}) == {"a": {"b": 2}}


def test_merge_patch_empty_object_changes_nothing() -> None:
    assert merge_patch({"a": {"b": 1}}, {}) == {"a": {"b": 1}}


def test_merge_patch_leaves_the_target_and_patch_unchanged() -> None:
    target = {"customer": {"email": "a@example.com", "phone": "1"}, "tags": ["x"]}
    patch = {"customer": {"phone": None, "title": "Dr"}, "tags": ["y"]}
    target_before, patch_before = copy.deepcopy(target), copy.deepcopy(patch)
    merge_patch(target, patch)
    assert (target, patch) == (target_before, patch_before)


# --- differing_pointers ---------------------------------------------------------------------------


def test_identical_documents_have_no_differences() -> None:
    doc = {"a": 1, "b": {"c": [1, {"d": "x"}]}, "e": None}
    assert differing_pointers(doc, copy.deepcopy(doc)) == []


def test_changed_top_level_value_is_reported_at_its_pointer() -> None:
    assert differing_pointers({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ["/b"]


def test_changed_nested_value_is_reported_at_the_leaf() -> None:
    old = {"customer": {"email": "a@example.com", "country": "GB"}}
    new = {"customer": {"email": "b@example.com", "country": "GB"}}
    assert differing_pointers(old, new) == ["/customer/email"]


def test_changed_list_element_is_reported_by_index() -> None:
    old = {"items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]}
    new = {"items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}]}
    assert differing_pointers(old, new) == ["/items/1/quantity"]


def test_added_list_element_is_reported_at_its_index() -> None:
    assert differing_pointers({"tags": ["a"]}, {"tags": ["a", "b"]}) == ["/tags/1"]


def test_removed_list_element_is_reported_at_its_index() -> None:
    assert differing_pointers({"tags": ["a", "b", "c"]}, {"tags": ["a"]}) == ["/tags/1", "/tags/2"]


def test_added_key_is_reported() -> None:
    assert differing_pointers({"a": 1}, {"a": 1, "b": 2}) == ["/b"]


def test_removed_key_is_reported() -> None:
    assert differing_pointers({"a": 1, "b": 2}, {"a": 1}) == ["/b"]


def test_object_replaced_by_a_scalar_is_reported_once_at_its_pointer() -> None:
    assert differing_pointers({"a": {"b": 1, "c": 2}}, {"a": 5}) == ["/a"]


def test_values_equal_in_python_but_of_different_json_types_differ() -> None:
    assert differing_pointers({"a": 1, "b": 1}, {"a": True, "b": 1.0}) == ["/a", "/b"]


def test_a_string_and_a_number_with_the_same_text_differ() -> None:
    assert differing_pointers({"quantity": 2}, {"quantity": "2"}) == ["/quantity"]


def test_differences_are_listed_in_document_order() -> None:
    old = {"order_ref": "R", "currency": "GBP", "items": [{"sku": "A"}], "tags": ["x"]}
    new = {"order_ref": "R", "currency": "EUR", "items": [{"sku": "B"}], "tags": ["y"]}
    assert differing_pointers(old, new) == ["/currency", "/items/0/sku", "/tags/0"]


def test_keys_only_in_the_old_document_come_after_those_of_the_new() -> None:
    assert differing_pointers({"gone": 1, "a": 1}, {"a": 2, "new": 1}) == ["/a", "/new", "/gone"]


def test_pointer_tokens_are_escaped() -> None:
    old = {"metadata": {"a/b": 1, "m~n": 1}}
    new = {"metadata": {"a/b": 2, "m~n": 2}}
    assert differing_pointers(old, new) == ["/metadata/a~1b", "/metadata/m~0n"]


def test_every_differing_leaf_is_listed() -> None:
    old = {"customer": {"email": "a@example.com"}, "items": [{"sku": "A", "quantity": 1}]}
    new = {"customer": {"email": "b@example.com"}, "items": [{"sku": "B", "quantity": 2}]}
    assert differing_pointers(old, new) == [
        "/customer/email",
        "/items/0/sku",
        "/items/0/quantity",
    ]


def test_whole_documents_that_differ_are_the_empty_pointer() -> None:
    assert differing_pointers(1, 2) == [""]
