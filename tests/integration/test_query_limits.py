"""Query limits: depth 10, 20 aliases, 2,000 tokens, 100 per page, 1 MiB bodies, refused before
they run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import cycle, islice
from typing import Any

from graphql.language import Lexer, Source, TokenKind

from graphql_api.limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from graphql_api.settings import Settings
from tests.support.database import Database
from tests.support.factories import create_user_coupon, redeem
from tests.support.graphql import GraphQLClient, top_errors

# The operations below are built to an exact size around these pieces.

CREATE_USER_COUPON = (
    'createUserCoupon(input: {userId: "limits", discountType: FIXED, discountValue: "5"})'
)

CREATE_MUTATION = f"mutation {{ {CREATE_USER_COUPON} {{ coupon {{ code }} errors {{ code }} }} }}"

USER_USAGES = 'userUsages(userId: "u")'

# userUsages -> edges -> node -> coupon -> usages -> edges -> node -> coupon -> ...
USAGE_LOOP = ["edges", "node", "coupon", "usages"]

# A leaf that is valid under each field of the loop.
LEAF_UNDER = {
    "userUsages": "totalCount",
    "usages": "totalCount",
    "edges": "cursor",
    "node": "id",
    "coupon": "code",
}

COUPON_FIELDS = [
    "id", "code", "type", "discountType", "discountValue", "maxDiscountAmount", "minOrderValue",
    "description", "userId", "validFrom", "validUntil", "maxUsesPerUser", "maxTotalUses",
    "currentTotalUses", "status", "createdBy", "createdAt", "updatedAt", "__typename",
]  # fmt: skip

ACTIVE_CAMPAIGNS = "query Campaigns($first: Int) { activeCampaigns(first: $first) { totalCount } }"

MAX_BODY_BYTES: int = Settings.model_fields["max_body_bytes"].default


def nest(fields: list[str]) -> str:
    """`a { b { c { leaf } } }`: the leaf lies len(fields) levels below the first field."""
    selection = LEAF_UNDER[fields[-1].split("(")[0]]
    for field in reversed(fields):
        selection = f"{field} {{ {selection} }}"
    return selection


def usage_chain(depth: int) -> list[str]:
    """userUsages and what follows it, so that the leaf is `depth` levels down."""
    return [USER_USAGES, *islice(cycle(USAGE_LOOP), depth - 1)]


def deep_query(depth: int) -> str:
    """A query whose deepest field is `depth` levels below its top-level field, as strawberry's
    QueryDepthLimiter counts (the top-level field is level 0)."""
    return "{ " + nest(usage_chain(depth)) + " }"


def aliases(count: int) -> str:
    return " ".join(f"a{i}: __typename" for i in range(count))


def token_count(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def with_tokens(template: str, tokens: int) -> str:
    """`template` with FIELDS replaced by Coupon fields so that it has exactly `tokens` tokens.

    The fields cycle through all of Coupon's: two thousand copies of one name would trip
    graphql-core's overlapping-fields budget first and muddle what is being tested."""
    missing = tokens - token_count(template.replace("FIELDS", ""))
    document = template.replace("FIELDS", " ".join(islice(cycle(COUPON_FIELDS), missing)))
    assert token_count(document) == tokens
    return document


def refused(gql: GraphQLClient, query: str, variables: dict[str, Any] | None = None) -> str:
    """The error messages of a query that was not run at all: no data, only errors."""
    response = gql.post(query, variables)
    assert response.status_code == 200, response.text
    assert response.json().get("data") is None, response.text
    return " | ".join(error["message"] for error in top_errors(response))


def coupon_count(db: Database) -> int:
    count: int = db.value("select count(*) from coupons")
    return count


def chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """A generator body: httpx sends it with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def body_of_size(size: int, query: str = "{ __typename }") -> bytes:
    """A JSON request body padded with trailing whitespace to exactly `size` bytes."""
    body = json.dumps({"query": query}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def post_body(gql: GraphQLClient, body: bytes | Iterator[bytes]) -> Any:
    return gql.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})


def test_the_limits_are_the_contracts():
    assert (MAX_DEPTH, MAX_ALIASES, MAX_TOKENS, MAX_BODY_BYTES) == (10, 20, 2000, 1024 * 1024)


# --- depth ---


def test_a_query_10_deep_runs(gql):
    # given: a usage, so that every level resolves
    coupon = create_user_coupon(gql, userId="u")
    redeem(gql, code=coupon["code"], userId="u", orderId="o-1", orderValue="20")
    query = deep_query(10)

    # when
    data = gql(query)

    # then: userUsages.edges.node.coupon.usages.edges.node.coupon.usages.edges.cursor
    level = data["userUsages"]
    for field in usage_chain(10)[1:]:
        level = level[field][0] if field == "edges" else level[field]
    assert isinstance(level["cursor"], str)


def test_a_query_11_deep_is_refused(gql):
    # when
    messages = refused(gql, deep_query(11))

    # then
    assert "exceeds maximum operation depth of 10" in messages


def test_depth_hidden_in_a_fragment_still_counts(gql):
    # given: the same 11 levels, ten of them inside a fragment
    inner = nest([*islice(cycle(USAGE_LOOP), 10)])
    query = (
        f"query {{ {USER_USAGES} {{ ...Deep }} }} fragment Deep on UsageConnection {{ {inner} }}"
    )

    # when
    messages = refused(gql, query)

    # then
    assert "exceeds maximum operation depth of 10" in messages


def test_depth_hidden_in_inline_fragments_still_counts(gql):
    # given
    chain = usage_chain(11)
    query = "{ " + nest([chain[0], "... on UsageConnection", *chain[1:]]) + " }"

    # when
    messages = refused(gql, query)

    # then
    assert "exceeds maximum operation depth of 10" in messages


def test_a_mutation_11_deep_is_refused_before_it_writes(gql, db):
    # given: createUserCoupon -> coupon -> usages -> edges -> node -> coupon -> ... 11 deep
    fields = [
        CREATE_USER_COUPON,
        "coupon",
        *islice(cycle(["usages", "edges", "node", "coupon"]), 9),
    ]
    mutation = "mutation { " + nest(fields) + " }"

    # when
    messages = refused(gql, mutation)

    # then
    assert "exceeds maximum operation depth of 10" in messages
    assert coupon_count(db) == 0


# --- aliases ---


def test_20_aliases_run(gql):
    # when
    data = gql("{ " + aliases(20) + " }")

    # then
    assert len(data) == 20


def test_21_aliases_are_refused(gql):
    # when
    messages = refused(gql, "{ " + aliases(21) + " }")

    # then
    assert "21 aliases found" in messages


def test_aliases_in_a_fragment_count_each_time_it_is_spread(gql):
    # given: five aliases, spread four times (20) and five times (25)
    fragment = f"fragment Five on Query {{ {aliases(5)} }}"

    # when
    allowed = gql("query { ...Five ...Five ...Five ...Five } " + fragment)
    messages = refused(gql, "query { ...Five ...Five ...Five ...Five ...Five } " + fragment)

    # then
    assert len(allowed) == 5
    assert "25 aliases found" in messages


def test_aliases_in_nested_fragments_multiply(gql):
    # given: Twice spreads Five twice; Twice spread three times is 30 aliases
    fragments = (
        f"fragment Five on Query {{ {aliases(5)} }} fragment Twice on Query {{ ...Five ...Five }}"
    )

    # when
    messages = refused(gql, "query { ...Twice ...Twice ...Twice } " + fragments)

    # then
    assert "30 aliases found" in messages


def test_a_mutation_with_21_aliases_is_refused_before_it_writes(gql, db):
    # given
    mutation = f"mutation {{ {CREATE_USER_COUPON} {{ errors {{ code }} }} {aliases(21)} }}"

    # when
    messages = refused(gql, mutation)

    # then
    assert "21 aliases found" in messages
    assert coupon_count(db) == 0


# --- tokens ---


def test_a_document_of_2000_tokens_runs(gql):
    # given
    query = with_tokens('{ couponByCode(code: "X") { FIELDS } }', 2000)

    # when
    data = gql(query)

    # then
    assert data == {"couponByCode": None}


def test_a_document_of_2001_tokens_is_refused(gql):
    # given
    query = with_tokens('{ couponByCode(code: "X") { FIELDS } }', 2001)

    # when
    messages = refused(gql, query)

    # then
    assert "more than 2000 tokens" in messages


def test_a_mutation_of_2001_tokens_is_refused_before_it_writes(gql, db):
    # given
    mutation = with_tokens(
        f"mutation {{ {CREATE_USER_COUPON} {{ coupon {{ FIELDS }} errors {{ code }} }} }}", 2001
    )

    # when
    messages = refused(gql, mutation)

    # then
    assert "more than 2000 tokens" in messages
    assert coupon_count(db) == 0


# --- page size ---


def test_first_is_at_most_100(gql):
    # when
    allowed = gql(ACTIVE_CAMPAIGNS, {"first": 100})
    errors = gql.errors(ACTIVE_CAMPAIGNS, {"first": 101})

    # then
    assert allowed == {"activeCampaigns": {"totalCount": 0}}
    assert errors[0]["extensions"] == {"code": "INVALID_INPUT", "field": "first"}


def test_a_mutation_asking_for_101_per_page_is_refused_before_it_writes(gql, db):
    # given
    mutation = (
        f"mutation {{ {CREATE_USER_COUPON} "
        "{ coupon { code usages(first: 101) { totalCount } } errors { code } } }"
    )

    # when
    response = gql.post(mutation)

    # then
    assert response.json()["errors"]
    assert coupon_count(db) == 0


# --- request bodies ---


def test_a_body_of_exactly_1_mib_is_served(gql):
    # when
    response = post_body(gql, body_of_size(MAX_BODY_BYTES))

    # then
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_chunked_body_of_exactly_1_mib_is_served(gql):
    # when
    response = post_body(gql, chunks(body_of_size(MAX_BODY_BYTES)))

    # then
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_body_one_byte_over_1_mib_is_a_413(gql, db):
    # given
    body = body_of_size(MAX_BODY_BYTES + 1, CREATE_MUTATION)

    # when
    response = post_body(gql, body)

    # then
    assert response.status_code == 413
    assert coupon_count(db) == 0


def test_a_chunked_body_one_byte_over_1_mib_is_a_413(gql, db):
    # given: no Content-Length to refuse on; the bytes must be counted as they come
    body = body_of_size(MAX_BODY_BYTES + 1, CREATE_MUTATION)

    # when
    response = post_body(gql, chunks(body))

    # then
    assert response.status_code == 413
    assert coupon_count(db) == 0


def test_a_much_larger_chunked_body_is_a_413(gql):
    # when
    response = post_body(gql, chunks(body_of_size(5 * MAX_BODY_BYTES)))

    # then
    assert response.status_code == 413


# --- batches and GET ---


def test_a_batched_request_is_a_400(gql, db):
    # when
    response = gql.http.post(
        "/graphql", json=[{"query": CREATE_MUTATION}, {"query": "{ __typename }"}]
    )

    # then
    assert response.status_code == 400
    assert coupon_count(db) == 0


def test_a_mutation_over_get_is_refused(gql, db):
    # when
    response = gql.http.get("/graphql", params={"query": CREATE_MUTATION})

    # then
    assert 400 <= response.status_code < 500
    assert coupon_count(db) == 0


def test_a_mutation_chosen_by_operation_name_over_get_is_refused(gql, db):
    # given: a harmless query first, the mutation picked by name
    document = "query Harmless { __typename } " + CREATE_MUTATION.replace(
        "mutation {", "mutation Create {", 1
    )

    # when
    response = gql.http.get("/graphql", params={"query": document, "operationName": "Create"})

    # then
    assert 400 <= response.status_code < 500
    assert coupon_count(db) == 0


def test_the_refused_mutations_are_real_ones(gql, db):
    # given: the mutation the refusals above carry, within every limit
    # when
    data = gql(CREATE_MUTATION)

    # then
    assert data["createUserCoupon"]["errors"] == []
    assert coupon_count(db) == 1
