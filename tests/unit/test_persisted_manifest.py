"""A persisted query manifest that will not do stops the settings loading, in one line naming
the file and the entry; one that will is read in either format."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from pydantic import ValidationError

from graphql_api.cli import settings_problem
from graphql_api.limits import MAX_TOKENS
from graphql_api.persisted_manifest import APOLLO_FORMAT, load_manifest
from graphql_api.settings import Settings

LOOKUP = "query Lookup($code: String!) { couponByCode(code: $code) { code status } }"
REDEEM = (
    "mutation Redeem($input: RedeemCouponInput!) "
    "{ redeemCoupon(input: $input) { errors { code } } }"
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - codegen's id, not security


def apollo(*operations: dict[str, object]) -> dict[str, object]:
    return {"format": APOLLO_FORMAT, "version": 1, "operations": list(operations)}


def operation(document: str, **fields: object) -> dict[str, object]:
    """An entry as @apollo/generate-persisted-query-manifest writes it, `fields` changed."""
    name, kind = ("Redeem", "mutation") if document.startswith("mutation") else ("Lookup", "query")
    return {"id": sha256(document), "name": name, "type": kind, "body": document, **fields}


@pytest.fixture
def no_settings_env(monkeypatch):
    for name in ("DATABASE_URL", "COUPONS_API_KEYS", "COUPONS_ENV", "COUPONS_PERSISTED_OPERATIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("COUPONS_PERSISTED_OPERATIONS_ONLY", raising=False)


def refusal(**settings: Any) -> str:
    """The one line `coupons serve` prints for these settings."""
    with pytest.raises(ValidationError) as refused:
        Settings(**settings)
    [problem] = [settings_problem(error) for error in refused.value.errors()]
    assert "\n" not in problem
    return problem


BAD_MANIFESTS = [
    ("not JSON", b'{"format": ', "manifest.json: is not JSON"),
    ("a list", b"[]", "manifest.json: is not a persisted query manifest"),
    (
        "another format",
        json.dumps({"format": "relay", "version": 1, "operations": []}).encode(),
        "manifest.json: is not an apollo-persisted-query-manifest of version 1 (format 'relay'",
    ),
    (
        "version 2",
        json.dumps({"format": APOLLO_FORMAT, "version": 2, "operations": []}).encode(),
        "manifest.json: is not an apollo-persisted-query-manifest of version 1",
    ),
    (
        "operations not a list",
        json.dumps({"format": APOLLO_FORMAT, "version": 1, "operations": {}}).encode(),
        "manifest.json: `operations` is not a list",
    ),
    (
        "no body",
        json.dumps(apollo(operation(LOOKUP), operation(REDEEM, body=None))).encode(),
        f"manifest.json: operations[1] (id '{sha256(REDEEM)}', name 'Redeem'): `body` is not",
    ),
    (
        "another type",
        json.dumps(apollo(operation(LOOKUP, type="select"))).encode(),
        f"manifest.json: operations[0] (id '{sha256(LOOKUP)}', name 'Lookup'): `type` is "
        "'select', not one of query, mutation, subscription",
    ),
    (
        "a document that does not parse",
        json.dumps(apollo(operation("query Lookup {", id="x-1"))).encode(),
        "manifest.json: operations[0] (id 'x-1', name 'Lookup'): the document does not parse: "
        "Syntax Error",
    ),
    (
        "over the token limit",
        json.dumps(
            apollo(operation("query Lookup { " + "a " * MAX_TOKENS + "}", id="x-long"))
        ).encode(),
        "manifest.json: operations[0] (id 'x-long', name 'Lookup'): the document does not parse",
    ),
    (
        "a type definition",
        json.dumps(apollo(operation(LOOKUP + " type T { a: Int }", id="x-2"))).encode(),
        "manifest.json: operations[0] (id 'x-2', name 'Lookup'): the document must hold "
        "operations and fragments only",
    ),
    (
        "an id that is not the SHA-256",
        json.dumps(apollo(operation(LOOKUP, id=sha256(REDEEM)))).encode(),
        f"manifest.json: operations[0] (id '{sha256(REDEEM)}', name 'Lookup'): the id is not "
        f"the SHA256 of the document (that is {sha256(LOOKUP)})",
    ),
    (
        "a name the document lacks",
        json.dumps(apollo(operation(LOOKUP, name="Other"))).encode(),
        f"manifest.json: operations[0] (id '{sha256(LOOKUP)}', name 'Other'): the document "
        "holds no query named 'Other'",
    ),
    (
        "one id, two documents",
        json.dumps(apollo(operation(LOOKUP, id="x-3"), operation(REDEEM, id="x-3"))).encode(),
        "manifest.json: operations[1] (id 'x-3', name 'Redeem'): the id is also another document's",
    ),
    ("no operations", json.dumps(apollo()).encode(), "manifest.json: holds no operations"),
    (
        "codegen: an id that is not the SHA-1",
        json.dumps({sha1(REDEEM): LOOKUP}).encode(),
        f"manifest.json: entry '{sha1(REDEEM)}': the id is not the SHA1 of the document",
    ),
    (
        "codegen: a document that is not a string",
        json.dumps({sha1(LOOKUP): {"query": LOOKUP}}).encode(),
        f"manifest.json: entry '{sha1(LOOKUP)}': is not a document",
    ),
    ("codegen: empty", b"{}", "manifest.json: holds no operations"),
]


@pytest.mark.parametrize(
    ("content", "says"),
    [case[1:] for case in BAD_MANIFESTS],
    ids=[case[0] for case in BAD_MANIFESTS],
)
def test_a_manifest_that_will_not_do_is_refused_naming_the_file_and_entry(
    no_settings_env, tmp_path, content, says
):
    # given
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(content)
    # when
    problem = refusal(persisted_operations=manifest)
    # then
    assert problem.startswith(f"COUPONS_PERSISTED_OPERATIONS: {tmp_path}/{says}"), problem


def test_a_missing_or_unreadable_manifest_is_refused(no_settings_env, tmp_path):
    missing = tmp_path / "missing.json"
    assert refusal(persisted_operations=missing) == (
        f"COUPONS_PERSISTED_OPERATIONS: {missing}: cannot be read: No such file or directory"
    )
    assert refusal(persisted_operations=tmp_path) == (
        f"COUPONS_PERSISTED_OPERATIONS: {tmp_path}: cannot be read: Is a directory"
    )


def test_allow_list_mode_needs_a_manifest(no_settings_env):
    assert refusal(persisted_operations_only=True).startswith(
        "COUPONS_PERSISTED_OPERATIONS_ONLY needs COUPONS_PERSISTED_OPERATIONS"
    )


def test_either_format_is_read_by_id_by_hash_and_by_text(tmp_path):
    # given the same two documents in Apollo's manifest and in codegen's map
    fragment = "fragment F on Coupon { code }"
    spread = 'query Spread { couponByCode(code: "A") { ...F } } ' + fragment
    apollo_manifest = tmp_path / "persisted-query-manifest.json"
    apollo_manifest.write_text(
        json.dumps(apollo(operation(LOOKUP), operation(spread, name="Spread", id="custom-id")))
    )
    codegen_manifest = tmp_path / "persisted-documents.json"
    codegen_manifest.write_text(json.dumps({sha1(LOOKUP): LOOKUP, "custom-id": spread}))
    for path, lookup_id in ((apollo_manifest, sha256(LOOKUP)), (codegen_manifest, sha1(LOOKUP))):
        # when
        documents = load_manifest(path)
        # then an id, the SHA-256 as such and as a GraphQL-over-HTTP documentId find it
        assert documents.find(lookup_id) == LOOKUP
        assert documents.find(sha256(LOOKUP)) == LOOKUP
        assert documents.find(f"sha256:{sha256(LOOKUP)}") == LOOKUP
        assert documents.find("custom-id") == spread
        assert documents.find(sha256(REDEEM)) is None
        # and its text is held however it is spelled, but not with another selection
        assert documents.holds(LOOKUP)
        assert documents.holds(
            "# a comment\nquery Lookup($code:String!){couponByCode(code:$code){code,status}}"
        )
        assert documents.holds(
            fragment + "\n" + 'query Spread { couponByCode(code: "A") { ...F } }'
        )
        assert not documents.holds(LOOKUP.replace("code status", "status code"))
        assert not documents.holds(REDEEM)
        assert not documents.holds("query {")
