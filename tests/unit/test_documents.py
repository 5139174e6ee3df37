"""Which operation a request runs (GraphQL-over-HTTP), read from the document once."""

from __future__ import annotations

import pytest
from graphql import OperationType, parse

from graphql_api.documents import CACHED_TEXT_LENGTH, _cached_shape, document_shape, root_fields

TWO = "query A { a: __typename } mutation B { createUserCoupon { errors { code } } }"


def test_one_anonymous_operation_is_chosen_without_a_name():
    shape = document_shape("{ __typename }")
    assert shape is not None
    chosen = shape.selected(None)
    assert chosen is not None
    assert (chosen.name, chosen.type) == (None, OperationType.QUERY)


@pytest.mark.parametrize(
    ("name", "expected"), [("A", OperationType.QUERY), ("B", OperationType.MUTATION)]
)
def test_a_named_operation_of_several_is_chosen_by_its_name(name, expected):
    shape = document_shape(TWO)
    assert shape is not None
    chosen = shape.selected(name)
    assert chosen is not None
    assert chosen.type is expected


@pytest.mark.parametrize("name", [None, "C", "a", ""])
def test_several_operations_without_their_name_choose_none(name):
    shape = document_shape(TWO)
    assert shape is not None
    assert shape.selected(name) is None


def test_text_that_does_not_parse_has_no_shape():
    assert document_shape("query {") is None


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('{ couponByCode(code: "X") { code } }', "couponByCode"),
        ("{ __schema { types { name } } }", "introspection"),
        (TWO, "multiple"),
    ],
)
def test_root_fields_name_the_request_for_metrics(document, expected):
    assert root_fields(parse(document)) == expected


def test_large_texts_are_read_but_never_kept():
    # given a document padded past what the cache keeps (a comment costs no tokens)
    large = "{ __typename }\n#" + "x" * CACHED_TEXT_LENGTH
    kept = _cached_shape.cache_info().currsize
    # when
    shape = document_shape(large)
    # then it is read, and the cache holds no more texts than before
    assert shape is not None
    assert shape.selected(None) is not None
    assert _cached_shape.cache_info().currsize == kept
