"""Allow-list mode (COUPONS_PERSISTED_OPERATIONS_ONLY) over real HTTP, with a manifest in each
format a frontend build writes: only its documents run, named by id or sent as their text;
everything else is refused before anything runs. An admin key may send any document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from graphql_api.persisted_manifest import APOLLO_FORMAT
from graphql_api.schema.compiled import Plan
from tests.support.factories import CREATE_TIMED_COUPON, create_timed_coupon, timed_coupon_input
from tests.support.graphql import assert_error_answer
from tests.support.persisted import (
    LOOKUP,
    NO_CACHE,
    REDEEM,
    allow_list_server,
    by_hash,
    compiled_plans,
    data,
    get,
    headers_of,
    post,
    requests_counted,
    sha1,
    sha256,
)
from tests.support.servers import ThreadServer, free_port, run_coupons, thread_server

CODE = "ALLOW-5"
VARIABLES = {"code": CODE}
EXPECTED = {"couponByCode": {"code": CODE, "status": "ACTIVE", "discountValue": "5.00"}}
# Not in the manifest: the same lookup asking for one more field, and a redemption.
UNLISTED_LOOKUP = LOOKUP.replace("discountValue", "discountValue type")
UNLISTED_REDEEM = (
    "mutation ($input: RedeemCouponInput!) { redeemCoupon(input: $input) { discountAmount } }"
)


def write_manifest(path: Path, kind: str, documents: list[str]) -> dict[str, str]:
    """A manifest as @apollo/generate-persisted-query-manifest ("apollo") or codegen's client
    preset ("codegen", its default SHA-1 ids) writes it; the id of each document."""
    if kind == "codegen":
        ids = {document: sha1(document) for document in documents}
        path.write_text(json.dumps({ids[document]: document for document in documents}))
        return ids
    operations = []
    for document in documents:
        [operation] = [
            d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)
        ]
        assert operation.name is not None
        operations.append(
            {
                "id": sha256(document),
                "name": operation.name.value,
                "type": operation.operation.value,
                "body": document,
            }
        )
    path.write_text(json.dumps({"format": APOLLO_FORMAT, "version": 1, "operations": operations}))
    return {document: sha256(document) for document in documents}


@dataclass
class AllowList:
    server: ThreadServer
    kind: str
    ids: dict[str, str]

    def named(self, document: str) -> dict[str, Any]:
        """A request naming `document` by its id, as that format's clients send it: Apollo
        Client in the APQ extension, codegen's clients as GraphQL-over-HTTP's documentId."""
        if self.kind == "apollo":
            return by_hash(self.ids[document])
        return {"documentId": self.ids[document]}


@pytest.fixture(params=["apollo", "codegen"])
def allow_list(request, database_url: str, tmp_path: Path) -> Iterator[AllowList]:
    manifest = tmp_path / "manifest.json"
    ids = write_manifest(manifest, request.param, [LOOKUP, REDEEM])
    with allow_list_server(database_url, manifest) as server:
        yield AllowList(server, request.param, ids)


@pytest.fixture
def coupon(gql) -> dict[str, Any]:
    return create_timed_coupon(gql, code=CODE, discountType="FIXED", discountValue="5")


def test_a_listed_document_runs_by_its_id(coupon, allow_list):
    # given
    server = allow_list.server
    named = {"variables": VARIABLES, **allow_list.named(LOOKUP)}
    # when it is named over POST, over GET, and by the SHA-256 of its text (documentId)
    answers = [
        post(server, named),
        get(server, named),
        post(server, {"variables": VARIABLES, "documentId": f"sha256:{sha256(LOOKUP)}"}),
        get(server, {"variables": VARIABLES, "documentId": f"sha256:{sha256(LOOKUP)}"}),
    ]
    # then it runs each time
    assert [data(answer) for answer in answers] == [EXPECTED] * 4


def test_a_listed_document_runs_when_sent_as_its_text(coupon, allow_list):
    # given the text as listed, and as another client spells it (comments, white space)
    respelled = "# the checkout's lookup\n" + " ".join(LOOKUP.split()).replace(" {", "{")
    for text in (LOOKUP, respelled):
        # when / then
        assert data(post(allow_list.server, {"query": text, "variables": VARIABLES})) == EXPECTED
        assert data(get(allow_list.server, {"query": text, "variables": VARIABLES})) == EXPECTED


def test_any_other_document_is_refused_and_nothing_is_written(coupon, allow_list, clean_db):
    # given
    server = allow_list.server
    redemption = {"input": {"code": CODE, "userId": "u1", "orderId": "al-1", "orderValue": "20"}}
    refused_before = requests_counted(server, "not_in_allow_list")
    # when a redemption that is not listed is sent as text, over POST
    unlisted = post(server, {"query": UNLISTED_REDEEM, "variables": redemption})
    # then it is refused, never cached, and nothing is written
    assert_error_answer(unlisted, 403, "QUERY_NOT_IN_SAFELIST")
    assert unlisted.headers["cache-control"] == NO_CACHE
    assert clean_db.value("SELECT count(*) FROM coupon_usages") == 0
    # when an unlisted query comes over GET, or with its hash to register it (APQ)
    over_get = get(server, {"query": UNLISTED_LOOKUP, "variables": VARIABLES})
    hashed = {"variables": VARIABLES, **by_hash(sha256(UNLISTED_LOOKUP))}
    registering = post(server, {**hashed, "query": UNLISTED_LOOKUP})
    # then both are refused, and the hash names nothing afterwards
    assert_error_answer(over_get, 403, "QUERY_NOT_IN_SAFELIST")
    assert_error_answer(registering, 403, "QUERY_NOT_IN_SAFELIST")
    assert_error_answer(post(server, hashed), 404, "PERSISTED_QUERY_NOT_IN_LIST")
    # and every refusal is counted
    assert requests_counted(server, "not_in_allow_list") == refused_before + 4


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_body_that_is_not_json_as_the_service_reads_it_is_refused_too(
    coupon, allow_list, clean_db, constant
):
    # given unlisted documents of the two shapes the compiled paths answer, in bodies that
    # Python's json reads but the service does not (JSON has no NaN): one reading of a body
    # for every layer, or a layer that read it more leniently would answer what the
    # allow-list refused
    redemption = {"input": {"code": CODE, "userId": "u1", "orderId": "al-nan", "orderValue": "20"}}
    bodies = [
        {"query": UNLISTED_REDEEM, "variables": redemption},
        {"query": UNLISTED_LOOKUP, "variables": VARIABLES},
    ]
    for body in bodies:
        raw = json.dumps(body)[:-1] + f', "extensions": {{"z": {constant}}}}}'
        # when
        answer = httpx.post(
            f"{allow_list.server.base_url}/graphql",
            content=raw.encode(),
            headers={**headers_of("storefront"), "content-type": "application/json"},
        )
        # then
        assert_error_answer(answer, 400, "BAD_REQUEST")
    assert clean_db.value("SELECT count(*) FROM coupon_usages") == 0


def test_an_id_that_is_not_listed_is_refused(allow_list):
    # given ids the manifest does not hold, in each way clients send them
    unknown = sha256(UNLISTED_LOOKUP)
    requests = [
        by_hash(unknown),
        {"documentId": unknown},
        {"documentId": f"sha256:{unknown}"},
        {"documentId": "x-made-up"},
    ]
    for named in requests:
        # when / then: not found, and not the APQ answer that would make a client send text
        for answer in (post(allow_list.server, named), get(allow_list.server, named)):
            error = assert_error_answer(answer, 404, "PERSISTED_QUERY_NOT_IN_LIST")
            assert "allow-list" in error["message"]
            assert answer.headers["cache-control"] == NO_CACHE


def test_a_listed_redemption_named_by_id_is_written_once_on_the_compiled_path(
    coupon, allow_list, clean_db
):
    # given
    server = allow_list.server
    redemption = {"input": {"code": CODE, "userId": "u1", "orderId": "al-2", "orderValue": "20"}}
    named = {"variables": redemption, **allow_list.named(REDEEM)}
    plans = compiled_plans(server)
    # when it is sent, then retried
    first, retry = data(post(server, named)), data(post(server, named))
    # then one usage is written, and the compiled path answered both
    assert first["redeemCoupon"]["errors"] == []
    assert first["redeemCoupon"]["discountAmount"] == "5.00"
    assert retry == first
    assert clean_db.value("SELECT count(*) FROM coupon_usages") == 1
    assert isinstance(plans.get(REDEEM), Plan)
    # and over GET it is refused as any mutation is
    assert_error_answer(get(server, named), 405, "METHOD_NOT_ALLOWED")


def test_an_admin_key_may_send_any_document(gql, allow_list):
    # given an operator's own document, in no manifest
    create = {
        "query": CREATE_TIMED_COUPON,
        "variables": {"input": timed_coupon_input(code="OPS-1")},
    }
    # when an admin sends it, and a storefront
    as_admin = post(allow_list.server, create, role="admin")
    as_storefront = post(allow_list.server, create, role="storefront")
    # then the admin's runs, the storefront's is refused before its permission check
    assert data(as_admin)["createTimedCoupon"]["coupon"]["code"] == "OPS-1"
    assert_error_answer(as_storefront, 403, "QUERY_NOT_IN_SAFELIST")
    # and an id that names nothing names nothing for an admin either
    answer = post(allow_list.server, by_hash(sha256(UNLISTED_LOOKUP)), role="admin")
    assert_error_answer(answer, 404, "PERSISTED_QUERY_NOT_IN_LIST")


def test_without_api_keys_the_list_binds_every_caller(coupon, database_url, tmp_path):
    # given development without keys, where every caller is admin
    manifest = tmp_path / "persisted-documents.json"
    write_manifest(manifest, "codegen", [LOOKUP])
    with thread_server(
        database_url, persisted_operations=manifest, persisted_operations_only=True
    ) as server:
        # when
        listed = post(server, {"query": LOOKUP, "variables": VARIABLES}, role=None)
        unlisted = post(server, {"query": UNLISTED_LOOKUP, "variables": VARIABLES}, role=None)
    # then no one sent an admin key: only the list runs
    assert data(listed) == EXPECTED
    assert_error_answer(unlisted, 403, "QUERY_NOT_IN_SAFELIST")


def test_serve_refuses_to_start_with_a_manifest_that_will_not_do(database_url, tmp_path):
    # given a manifest whose second document was cut short
    manifest = tmp_path / "persisted-query-manifest.json"
    write_manifest(manifest, "apollo", [LOOKUP, REDEEM])
    content = json.loads(manifest.read_text())
    content["operations"][1]["body"] = "mutation PersistedRedeem {"
    manifest.write_text(json.dumps(content))
    env = {
        "DATABASE_URL": database_url,
        "COUPONS_PERSISTED_OPERATIONS": str(manifest),
        "COUPONS_PERSISTED_OPERATIONS_ONLY": "true",
    }
    # when
    refused = run_coupons(env, "serve", "--port", str(free_port()))
    # then it exits at once with one line naming the file and the entry
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"Error: invalid settings: COUPONS_PERSISTED_OPERATIONS: {manifest}: operations[1] "
        f"(id '{sha256(REDEEM)}', name 'PersistedRedeem'): the document does not parse: "
        "Syntax Error: Expected Name, found <EOF>."
    ]
