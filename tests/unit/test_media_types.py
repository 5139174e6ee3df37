"""Which media type an answer is written in (GraphQL-over-HTTP, "Accept")."""

from __future__ import annotations

import pytest
from graphql import GraphQLError

from graphql_api.media_types import (
    GRAPHQL_RESPONSE,
    JSON,
    preferred_media_type,
    request_error_status,
)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        ("text/html", JSON),  # nothing acceptable: the default, not a 406
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json, */*", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.5", JSON),
        ("application/graphql-response+json;q=0", JSON),
        ("application/graphql-response+json;q=oops", JSON),
        ("application/graphql-response+json;q=0.4, */*;q=0.5", JSON),
        ("application/graphql-response+json;q=0.6, */*;q=0.5", GRAPHQL_RESPONSE),
        # The most specific range gives application/json its weight.
        ("application/graphql-response+json;q=0.5, application/json;q=0.1, */*", GRAPHQL_RESPONSE),
    ],
)
def test_the_client_s_preference_chooses_the_media_type(accept, chosen):
    assert preferred_media_type(accept) == chosen


def error(code: str | None = None, path: list[str] | None = None) -> GraphQLError:
    return GraphQLError("x", path=path, extensions={} if code is None else {"code": code})


@pytest.mark.parametrize(
    ("data", "errors", "status"),
    [
        (None, [error("GRAPHQL_PARSE_FAILED")], 400),
        (None, [error("GRAPHQL_VALIDATION_FAILED"), error("GRAPHQL_VALIDATION_FAILED")], 400),
        (None, [error("BAD_USER_INPUT")], 400),
        (None, [error()], 400),
        (None, [error("FORBIDDEN")], 403),
        (None, [error("SERVICE_UNAVAILABLE")], 503),
        (None, [error("INTERNAL_SERVER_ERROR")], 500),
        # Execution began: a field error has a path, and the answer keeps 200 and its data.
        (None, [error("INTERNAL_SERVER_ERROR", ["coupon"])], None),
        ({"coupon": None}, [error("FORBIDDEN", ["coupon", "usages"])], None),
        ({"coupon": None}, None, None),
    ],
)
def test_only_a_request_error_takes_a_4xx_or_5xx(data, errors, status):
    assert request_error_status(data, errors) == status
