"""Persisted operations with the real tools a frontend uses (tests/node): Apollo Client's
persisted query link, the manifest @apollo/generate-persisted-query-manifest writes, and
graphql-codegen's persisted documents, against the running service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.callers import API_KEYS, KEYS
from tests.support.factories import create_timed_coupon
from tests.support.node import node_tools, run_node
from tests.support.persisted import allow_list_server, data, post
from tests.support.servers import REPO, ThreadServer, thread_server

# A storefront's two operations, as its source files hold them.
LOOKUP_FILE = """
query Lookup($code: String!) {
  couponByCode(code: $code) { code status discountValue }
}
"""
REDEEM_FILE = """
mutation Redeem($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) {
    usage { orderId discountApplied }
    discountAmount
    errors { code field message }
  }
}
"""
# One that no build listed.
UNLISTED_FILE = """
query Unlisted($code: String!) {
  couponByCode(code: $code) { code type }
}
"""
CODE = "CLIENT-5"


@pytest.fixture
def sources(gql, tmp_path: Path) -> Path:
    """The app's documents, one .graphql file each, and the coupon they ask for."""
    create_timed_coupon(gql, code=CODE, discountType="FIXED", discountValue="5")
    folder = tmp_path / "src"
    folder.mkdir()
    for name, text in (("lookup", LOOKUP_FILE), ("redeem", REDEEM_FILE)):
        (folder / f"{name}.graphql").write_text(text)
    (tmp_path / "unlisted.graphql").write_text(UNLISTED_FILE)
    return folder


def apollo_client(
    server: ThreadServer,
    link: str,
    steps: list[dict[str, Any]],
    role: str = "storefront",
    **config: Any,
) -> dict[str, Any]:
    """Runs tests/node/apollo-client.mjs: each step's answer, and the requests it sent."""
    node_tools("@apollo/client", "@apollo/persisted-query-lists")
    arguments = {
        "url": f"{server.base_url}/graphql",
        "key": KEYS[role],
        "link": link,
        "steps": steps,
    }
    printed = run_node("apollo-client.mjs", json.dumps({**arguments, **config}))
    answer: dict[str, Any] = json.loads(printed)
    return answer


def lookup(sources: Path) -> dict[str, Any]:
    return {
        "document": str(sources / "lookup.graphql"),
        "variables": {"code": CODE},
        "kind": "query",
    }


def redemption(sources: Path, order: str) -> dict[str, Any]:
    return {
        "document": str(sources / "redeem.graphql"),
        "variables": {
            "input": {"code": CODE, "userId": "u1", "orderId": order, "orderValue": "30"}
        },
        "kind": "mutation",
    }


LOOKED_UP = {
    "data": {
        "couponByCode": {
            "__typename": "Coupon",
            "code": CODE,
            "status": "ACTIVE",
            "discountValue": "5.00",
        }
    }
}


def redeemed(order: str) -> dict[str, Any]:
    return {
        "data": {
            "redeemCoupon": {
                "__typename": "RedeemCouponPayload",
                "usage": {"__typename": "Usage", "orderId": order, "discountApplied": "5.00"},
                "discountAmount": "5.00",
                "errors": [],
            }
        }
    }


def exchange(sent: dict[str, Any]) -> tuple[str, bool, int, list[str]]:
    """One request as the client sent it: method, whether it carried the document, the
    status, and the error codes of the answer."""
    body = sent["body"] or {}
    return sent["method"], "query" in body, sent["status"], sent["codes"]


@pytest.mark.parametrize("use_get", [False, True], ids=["POST", "GET for hashed queries"])
def test_apollo_client_sends_hashes_and_the_document_only_when_asked(
    sources, database_url, clean_db, use_get
):
    # given Apollo Client with its persisted query link, and a fresh worker
    steps = [
        lookup(sources),
        lookup(sources),
        redemption(sources, "ac-1"),
        redemption(sources, "ac-1"),
    ]
    with thread_server(database_url, api_keys=API_KEYS) as server:
        # when the app looks a coupon up twice, then redeems it, and retries the redemption
        ran = apollo_client(server, "apq", steps, useGET=use_get)
    # then every step answered
    assert ran["results"] == [LOOKED_UP, LOOKED_UP, redeemed("ac-1"), redeemed("ac-1")]
    # and the hash went alone, the document once after PERSISTED_QUERY_NOT_FOUND (by POST,
    # as the client always sends a document), then the hash alone ran it; a mutation by POST
    hashed = "GET" if use_get else "POST"
    assert [exchange(sent) for sent in ran["sent"]] == [
        (hashed, False, 200, ["PERSISTED_QUERY_NOT_FOUND"]),
        ("POST", True, 200, []),
        (hashed, False, 200, []),
        ("POST", False, 200, ["PERSISTED_QUERY_NOT_FOUND"]),
        ("POST", True, 200, []),
        ("POST", False, 200, []),
    ]
    assert clean_db.value("SELECT count(*) FROM coupon_usages") == 1


def test_the_manifest_apollos_tool_generates_is_the_allow_list(sources, database_url, clean_db):
    # given the manifest @apollo/generate-persisted-query-manifest makes of the app's sources
    tools = node_tools("@apollo/generate-persisted-query-manifest")
    manifest = sources.parent / "persisted-query-manifest.json"
    config = sources.parent / "persisted-query-manifest.config.json"
    config.write_text(json.dumps({"documents": [f"{sources}/*.graphql"], "output": str(manifest)}))
    cli = tools / "node_modules" / "@apollo" / "generate-persisted-query-manifest" / "cli.js"
    run_node(cli, "--config", str(config))
    with allow_list_server(database_url, manifest) as server:
        # when the app runs its operations by their manifest ids
        by_id = apollo_client(
            server,
            "manifest",
            [lookup(sources), redemption(sources, "ac-2")],
            manifest=str(manifest),
        )
        # and sends them as text, and sends a document no build listed
        unlisted = {
            "document": str(sources.parent / "unlisted.graphql"),
            "variables": {"code": CODE},
        }
        as_text = apollo_client(server, "text", [lookup(sources), {**unlisted, "kind": "query"}])
        as_admin = apollo_client(server, "text", [{**unlisted, "kind": "query"}], role="admin")
    # then the listed ones run, by id (no document ever sent) or as their text
    assert by_id["results"] == [LOOKED_UP, redeemed("ac-2")]
    assert all("query" not in sent["body"] for sent in by_id["sent"])
    assert as_text["results"][0] == LOOKED_UP
    # and the unlisted one is refused, but runs for an admin key
    assert as_text["results"][1] == {
        "error": "CombinedGraphQLErrors",
        "status": None,
        "codes": ["QUERY_NOT_IN_SAFELIST"],
    }
    assert as_text["sent"][1]["status"] == 403
    assert as_admin["results"] == [
        {"data": {"couponByCode": {"__typename": "Coupon", "code": CODE, "type": "TIME_SPECIFIC"}}}
    ]
    assert clean_db.value("SELECT count(*) FROM coupon_usages") == 1


def test_codegens_persisted_documents_are_the_allow_list(sources, database_url, clean_db):
    # given the persisted-documents.json graphql-codegen's client preset writes for the app
    node_tools("@graphql-codegen/cli", "@graphql-codegen/client-preset")
    output = sources.parent / "gql"
    printed = run_node(
        "codegen-persisted-documents.mjs",
        str(REPO / "schema.graphql"),
        f"{sources}/*.graphql",
        str(output),
    )
    manifest = Path(printed.strip())
    documents: dict[str, str] = json.loads(manifest.read_text())
    ids = {text.split("(")[0]: document_id for document_id, text in documents.items()}
    with allow_list_server(database_url, manifest) as server:
        # when the app sends each by its documentId, as codegen's documents carry it
        looked_up = post(server, {"documentId": ids["query Lookup"], "variables": {"code": CODE}})
        redemption_input = {"code": CODE, "userId": "u1", "orderId": "cg-1", "orderValue": "30"}
        redeemed_now = post(
            server, {"documentId": ids["mutation Redeem"], "variables": {"input": redemption_input}}
        )
        # and a document no build listed
        unlisted = post(server, {"query": UNLISTED_FILE, "variables": {"code": CODE}})
    # then the listed ones run and the other is refused
    assert data(looked_up) == {
        "couponByCode": {"code": CODE, "status": "ACTIVE", "discountValue": "5.00"}
    }
    assert data(redeemed_now)["redeemCoupon"]["usage"] == {
        "orderId": "cg-1",
        "discountApplied": "5.00",
    }
    assert unlisted.status_code == 403
    assert unlisted.json()["errors"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
    assert clean_db.value("SELECT count(*) FROM coupon_usages") == 1
