"""Callers: `role:key` pairs in COUPONS_API_KEYS, sent as `Authorization: Bearer <key>`."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from graphql_api.app import create_app
from graphql_api.auth import authenticate
from graphql_api.settings import Settings, UnsafeSettingsError
from tests.support.database import Database
from tests.support.factories import (
    CREATE_TIMED_COUPON,
    CREATE_USER_COUPON,
    create_timed_coupon,
    create_user_coupon,
    redeem,
    timed_coupon_input,
    user_coupon_input,
)
from tests.support.graphql import GraphQLClient, assert_error_answer
from tests.support.servers import REPO, ThreadServer, free_port, thread_server

COUPON_BY_CODE = """
query CouponByCode($code: String!) { couponByCode(code: $code) { id code } }
"""

COUPON = """
query Coupon($id: ID!) { coupon(id: $id) { id code } }
"""

USER_COUPONS = """
query UserCoupons($userId: String!) {
  userCoupons(userId: $userId) { totalCount edges { node { code } } }
}
"""

ACTIVE_CAMPAIGNS = """
query ActiveCampaigns { activeCampaigns { totalCount edges { node { code } } } }
"""

USER_USAGES = """
query UserUsages($userId: String!) {
  userUsages(userId: $userId) { totalCount edges { node { orderId coupon { code } } } }
}
"""

VALIDATE_COUPON = """
query ValidateCoupon($input: ValidateCouponInput!) {
  validateCoupon(input: $input) { valid discountAmount errors { code } }
}
"""

COUPON_USAGES = """
query CouponUsages($code: String!) { couponByCode(code: $code) { code usages { totalCount } } }
"""

DEACTIVATE_COUPON = """
mutation DeactivateCoupon($id: ID!) {
  deactivateCoupon(id: $id) { coupon { status } errors { code } }
}
"""

ACTIVATE_COUPON = """
mutation ActivateCoupon($id: ID!) {
  activateCoupon(id: $id) { coupon { status } errors { code } }
}
"""

TYPENAME = {"query": "{ __typename }"}

ADMIN_KEY = "admin-key-4f9c2a71d0"
STOREFRONT_KEY = "storefront-key-8b3e6d15c2"
API_KEYS = f"admin:{ADMIN_KEY},storefront:{STOREFRONT_KEY}"


@pytest.fixture(scope="module")
def keyed_server(database_url: str) -> Iterator[ThreadServer]:
    with thread_server(database_url, api_keys=API_KEYS) as running:
        yield running


def client_with_key(server: ThreadServer, key: str | None) -> GraphQLClient:
    client = GraphQLClient(server.base_url)
    if key is not None:
        client.http.headers["Authorization"] = f"Bearer {key}"
    return client


@pytest.fixture
def admin(keyed_server: ThreadServer, clean_db: Database) -> Iterator[GraphQLClient]:
    client = client_with_key(keyed_server, ADMIN_KEY)
    yield client
    client.close()


@pytest.fixture
def storefront(keyed_server: ThreadServer, clean_db: Database) -> Iterator[GraphQLClient]:
    client = client_with_key(keyed_server, STOREFRONT_KEY)
    yield client
    client.close()


@pytest.fixture
def anonymous(keyed_server: ThreadServer) -> Iterator[GraphQLClient]:
    client = client_with_key(keyed_server, None)
    yield client
    client.close()


def assert_unauthenticated(response: httpx.Response) -> None:
    assert_error_answer(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == 'Bearer realm="coupons"'


def assert_forbidden(response: httpx.Response, path: list[str]) -> dict[str, Any]:
    """The body of a response whose only error is FORBIDDEN on `path`."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert [error["extensions"]["code"] for error in body.get("errors", [])] == ["FORBIDDEN"], body
    assert body["errors"][0]["path"] == path
    return body


def coupon_count(db: Database) -> int:
    count: int = db.value("select count(*) from coupons")
    return count


def raw_post(base_url: str, authorization: str) -> tuple[int, bytes]:
    """POST with an Authorization header sent byte for byte (httpx refuses trailing spaces)."""
    url = httpx.URL(base_url)
    assert url.host
    assert url.port
    body = b'{"query": "{ __typename }"}'
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
        f"Authorization: {authorization}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), payload


# --- who may call at all ---


def test_no_authorization_header_is_a_401_with_a_graphql_error_body(anonymous):
    # when
    response = anonymous.http.post("/graphql", json=TYPENAME)

    # then
    assert_unauthenticated(response)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-key",
        "Bearer",
        "Basic xyz",
        f"Basic {ADMIN_KEY}",
        f"Bearer {ADMIN_KEY[:-1]}X",  # one character off
        f"Bearer {STOREFRONT_KEY[:-1]}",  # a prefix
        f"Bearer {ADMIN_KEY}0",  # one character more
        f"Bearer admin:{ADMIN_KEY}",  # the whole role:key pair
        ADMIN_KEY,  # no scheme
    ],
)
def test_a_wrong_key_is_a_401(anonymous, authorization):
    # when
    response = anonymous.http.post(
        "/graphql", json=TYPENAME, headers={"Authorization": authorization}
    )

    # then
    assert_unauthenticated(response)


def test_bearer_with_an_empty_key_is_a_401(keyed_server):
    # when
    status, payload = raw_post(keyed_server.base_url, "Bearer ")

    # then
    assert status == 401
    assert b"UNAUTHENTICATED" in payload


def test_a_query_over_get_needs_a_key_even_from_a_browser(anonymous):
    # when: GET carrying a query is not the GraphiQL page, whatever Accept says
    response = anonymous.http.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/html"}
    )

    # then
    assert_unauthenticated(response)


def test_health_needs_no_key(anonymous):
    # when
    response = anonymous.http.get("/health")

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_the_graphiql_page_needs_no_key_in_development(anonymous):
    # when
    response = anonymous.http.get("/graphql", headers={"Accept": "text/html"})

    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_the_scheme_is_case_insensitive(anonymous):
    # when
    response = anonymous.http.post(
        "/graphql", json=TYPENAME, headers={"Authorization": f"bearer {STOREFRONT_KEY}"}
    )

    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# --- every path that answers requests is behind the key check ---

# Every document shape some path answers: the compiled lookup and redemption (variables
# and literals), GraphQL execution for queries and mutations, introspection, and requests
# that are refused before execution.
REDEEM_DOCUMENT = """
mutation Redeem($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) { usage { orderId } discountAmount errors { code } }
}
"""
REDEEM_INPUT = {"code": "GUARDED", "userId": "u", "orderId": "o-guarded", "orderValue": "20"}
DOCUMENT_SHAPES: list[tuple[str, Any]] = [
    ("compiled lookup", {"query": COUPON_BY_CODE, "variables": {"code": "GUARDED"}}),
    ("compiled literal lookup", {"query": '{ couponByCode(code: "GUARDED") { code } }'}),
    ("compiled redemption", {"query": REDEEM_DOCUMENT, "variables": {"input": REDEEM_INPUT}}),
    (
        "executed redemption",
        {
            "query": REDEEM_DOCUMENT + "query Other { __typename }",
            "operationName": "Redeem",
            "variables": {"input": REDEEM_INPUT},
        },
    ),
    ("executed query", {"query": USER_COUPONS, "variables": {"userId": "alice"}}),
    ("mutation", {"query": CREATE_USER_COUPON, "variables": {"input": user_coupon_input()}}),
    ("typename", TYPENAME),
    ("introspection", {"query": "{ __schema { queryType { name } } }"}),
    ("two operations", {"query": "query A { a: __typename } query B { b: __typename }"}),
    ("batch", [TYPENAME]),
    ("not an object", None),
]
BAD_CREDENTIALS = [
    None,
    "Bearer not-a-key",
    f"Basic {ADMIN_KEY}",  # a real key in the wrong scheme
    f"Token {STOREFRONT_KEY}",
    ADMIN_KEY,  # no scheme
]


@pytest.fixture(scope="module")
def keyed_servers(keyed_server: ThreadServer, database_url: str) -> Iterator[dict[str, str]]:
    """Keyed servers with the compiled path on and off."""
    with thread_server(database_url, api_keys=API_KEYS, compiled_operations=False) as executed:
        yield {"compiled": keyed_server.base_url, "executed": executed.base_url}


@pytest.mark.parametrize("path", ["compiled", "executed"])
@pytest.mark.parametrize("authorization", BAD_CREDENTIALS)
@pytest.mark.parametrize(("shape", "body"), DOCUMENT_SHAPES, ids=[s for s, _ in DOCUMENT_SHAPES])
def test_no_document_shape_runs_without_a_valid_key(
    keyed_servers, admin, db, path, authorization, shape, body
):
    # given a campaign a redemption could use, made with the admin key
    create_timed_coupon(admin, code="GUARDED")
    coupons_before = coupon_count(db)
    headers = {} if authorization is None else {"Authorization": authorization}
    # when
    response = httpx.post(
        f"{keyed_servers[path]}/graphql",
        content=json.dumps(body).encode(),
        headers={**headers, "content-type": "application/json"},
    )
    # then refused before anything ran, whichever path would have answered it
    assert_unauthenticated(response)
    assert db.value("select count(*) from coupon_usages") == 0
    assert db.value("select current_total_uses from coupons where code = 'GUARDED'") == 0
    assert coupon_count(db) == coupons_before


# --- what a storefront may do ---


def test_storefront_can_look_up_a_coupon_by_code(admin, storefront):
    # given
    coupon = create_user_coupon(admin, userId="alice")

    # when
    data = storefront(COUPON_BY_CODE, {"code": coupon["code"]})

    # then
    assert data["couponByCode"] == {"id": coupon["id"], "code": coupon["code"]}


def test_storefront_can_look_up_a_coupon_by_id(admin, storefront):
    # given
    coupon = create_user_coupon(admin, userId="alice")

    # when
    data = storefront(COUPON, {"id": coupon["id"]})

    # then
    assert data["coupon"] == {"id": coupon["id"], "code": coupon["code"]}


def test_storefront_can_list_a_users_coupons(admin, storefront):
    # given
    coupon = create_user_coupon(admin, userId="alice")

    # when
    data = storefront(USER_COUPONS, {"userId": "alice"})

    # then
    assert data["userCoupons"]["totalCount"] == 1
    assert data["userCoupons"]["edges"] == [{"node": {"code": coupon["code"]}}]


def test_storefront_can_list_active_campaigns(admin, storefront):
    # given
    coupon = create_timed_coupon(admin, code="CAMPAIGN-1")

    # when
    data = storefront(ACTIVE_CAMPAIGNS)

    # then
    assert data["activeCampaigns"]["totalCount"] == 1
    assert data["activeCampaigns"]["edges"] == [{"node": {"code": coupon["code"]}}]


def test_storefront_can_validate_a_coupon(admin, storefront):
    # given
    coupon = create_user_coupon(admin, userId="alice", discountValue="5")

    # when
    data = storefront(
        VALIDATE_COUPON, {"input": {"code": coupon["code"], "userId": "alice", "orderValue": "20"}}
    )

    # then
    assert data["validateCoupon"] == {"valid": True, "discountAmount": "5.00", "errors": []}


def test_storefront_can_redeem_a_coupon(admin, storefront, db):
    # given
    coupon = create_user_coupon(admin, userId="alice", discountValue="5")

    # when
    payload = redeem(
        storefront, code=coupon["code"], userId="alice", orderId="o-1", orderValue="20"
    )

    # then
    assert payload["errors"] == []
    assert payload["usage"]["orderId"] == "o-1"
    assert db.value("select count(*) from coupon_usages") == 1


def test_storefront_can_list_a_users_usages(admin, storefront):
    # given
    coupon = create_user_coupon(admin, userId="alice")
    redeem(admin, code=coupon["code"], userId="alice", orderId="o-1", orderValue="20")

    # when
    data = storefront(USER_USAGES, {"userId": "alice"})

    # then
    assert data["userUsages"]["totalCount"] == 1
    assert data["userUsages"]["edges"] == [
        {"node": {"orderId": "o-1", "coupon": {"code": coupon["code"]}}}
    ]


# --- what a storefront may not do ---


def test_storefront_may_not_create_user_coupons(storefront, db):
    # when
    response = storefront.post(CREATE_USER_COUPON, {"input": user_coupon_input()})

    # then
    assert_forbidden(response, ["createUserCoupon"])
    assert coupon_count(db) == 0


def test_storefront_may_not_create_timed_coupons(storefront, db):
    # when
    response = storefront.post(CREATE_TIMED_COUPON, {"input": timed_coupon_input(code="MINE-1")})

    # then
    assert_forbidden(response, ["createTimedCoupon"])
    assert coupon_count(db) == 0


def test_storefront_may_not_deactivate_a_coupon(admin, storefront, db):
    # given
    coupon = create_user_coupon(admin, userId="alice")

    # when
    response = storefront.post(DEACTIVATE_COUPON, {"id": coupon["id"]})

    # then
    assert_forbidden(response, ["deactivateCoupon"])
    assert db.value("select status from coupons") == "ACTIVE"


def test_storefront_may_not_activate_a_coupon(admin, storefront, db):
    # given
    coupon = create_user_coupon(admin, userId="alice")
    admin(DEACTIVATE_COUPON, {"id": coupon["id"]})
    updated_at = db.value("select updated_at from coupons")

    # when
    response = storefront.post(ACTIVATE_COUPON, {"id": coupon["id"]})

    # then
    assert_forbidden(response, ["activateCoupon"])
    assert db.value("select status from coupons") == "INACTIVE"
    assert db.value("select updated_at from coupons") == updated_at


def test_storefront_may_not_read_a_coupons_usages(admin, storefront):
    # given
    coupon = create_user_coupon(admin, userId="alice")
    redeem(admin, code=coupon["code"], userId="alice", orderId="o-1", orderValue="20")

    # when
    response = storefront.post(COUPON_USAGES, {"code": coupon["code"]})

    # then
    body = assert_forbidden(response, ["couponByCode", "usages"])
    assert body["data"] == {"couponByCode": None}
    assert "o-1" not in response.text


# --- what an admin may do ---


def test_admin_can_create_manage_redeem_and_read_usages(admin, db):
    # given
    user_coupon = create_user_coupon(admin, userId="alice")
    timed_coupon = create_timed_coupon(admin, code="ADMIN-1")
    redeem(admin, code=user_coupon["code"], userId="alice", orderId="o-1", orderValue="20")

    # when
    deactivated = admin(DEACTIVATE_COUPON, {"id": timed_coupon["id"]})["deactivateCoupon"]
    activated = admin(ACTIVATE_COUPON, {"id": timed_coupon["id"]})["activateCoupon"]
    usages = admin(COUPON_USAGES, {"code": user_coupon["code"]})["couponByCode"]["usages"]

    # then
    assert deactivated == {"coupon": {"status": "INACTIVE"}, "errors": []}
    assert activated == {"coupon": {"status": "ACTIVE"}, "errors": []}
    assert usages == {"totalCount": 1}
    assert coupon_count(db) == 2


def test_admin_can_run_every_storefront_operation(admin):
    # given
    coupon = create_user_coupon(admin, userId="alice")

    # when
    found = admin(COUPON_BY_CODE, {"code": coupon["code"]})["couponByCode"]
    listed = admin(USER_COUPONS, {"userId": "alice"})["userCoupons"]
    campaigns = admin(ACTIVE_CAMPAIGNS)["activeCampaigns"]
    validation = admin(
        VALIDATE_COUPON, {"input": {"code": coupon["code"], "userId": "alice", "orderValue": "20"}}
    )["validateCoupon"]
    usages = admin(USER_USAGES, {"userId": "alice"})["userUsages"]

    # then
    assert found["id"] == coupon["id"]
    assert listed["totalCount"] == 1
    assert campaigns["totalCount"] == 0
    assert validation["valid"] is True
    assert usages["totalCount"] == 0


# --- no keys: development, every caller is admin ---


def test_without_keys_every_caller_is_admin(gql, db):
    # given: the default server has no COUPONS_API_KEYS, and no Authorization is sent
    coupon = create_user_coupon(gql, userId="alice")
    redeem(gql, code=coupon["code"], userId="alice", orderId="o-1", orderValue="20")

    # when
    usages = gql(COUPON_USAGES, {"code": coupon["code"]})["couponByCode"]["usages"]
    deactivated = gql(DEACTIVATE_COUPON, {"id": coupon["id"]})["deactivateCoupon"]

    # then
    assert usages == {"totalCount": 1}
    assert deactivated == {"coupon": {"status": "INACTIVE"}, "errors": []}
    assert coupon_count(db) == 1


def test_without_keys_the_service_warns_at_start(database_url, caplog):
    # when
    with caplog.at_level(logging.WARNING), thread_server(database_url):
        pass

    # then
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("COUPONS_API_KEYS" in record.getMessage() for record in warnings), warnings


def test_with_keys_the_service_does_not_warn(database_url, caplog):
    # when
    with caplog.at_level(logging.WARNING):
        create_app(Settings(database_url=database_url, api_keys=API_KEYS))

    # then
    assert not any("COUPONS_API_KEYS" in record.getMessage() for record in caplog.records)


# --- authenticate, unit level ---

KEYS: list[tuple[Any, str]] = [("admin", "k-admin"), ("storefront", "k-shop"), ("admin", "k-ops")]


@pytest.mark.parametrize(
    ("authorization", "role"),
    [
        ("Bearer k-admin", "admin"),
        ("Bearer k-shop", "storefront"),
        ("Bearer k-ops", "admin"),
        ("bearer k-shop", "storefront"),
        ("BEARER k-shop", "storefront"),
        ("BeArEr k-admin", "admin"),
    ],
)
def test_authenticate_picks_the_role_of_the_key_presented(authorization, role):
    # when
    caller = authenticate(KEYS, authorization)

    # then
    assert caller is not None
    assert caller.role == role
    assert caller.is_admin is (role == "admin")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer   ",
        "Basic k-admin",
        "k-admin",
        "Bearer k-admi",
        "Bearer k-admin2",
        "Bearer K-ADMIN",
        "Bearer admin:k-admin",
    ],
)
def test_authenticate_refuses_anything_else(authorization):
    assert authenticate(KEYS, authorization) is None


# --- settings: keys and production ---


@pytest.fixture
def no_coupons_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COUPONS_API_KEYS", "COUPONS_ENV"):
        monkeypatch.delenv(name, raising=False)


def test_production_without_keys_is_unsafe_to_start(no_coupons_env):
    # given
    settings = Settings(env="production")

    # when / then
    with pytest.raises(UnsafeSettingsError, match="COUPONS_API_KEYS"):
        settings.check_safe_to_start()


def test_production_with_keys_and_development_without_are_safe(no_coupons_env):
    Settings(env="production", api_keys=API_KEYS).check_safe_to_start()
    Settings(env="development").check_safe_to_start()


def test_create_app_refuses_production_without_keys(no_coupons_env, database_url):
    with pytest.raises(UnsafeSettingsError):
        create_app(Settings(database_url=database_url, env="production"))


@pytest.mark.parametrize(
    "api_keys",
    ["root:x", "admin", "admin:", ":x", "Admin:x", "admin:a,guest:b", "", " , "],
)
def test_keys_must_be_admin_or_storefront_pairs(no_coupons_env, api_keys):
    with pytest.raises(ValidationError):
        Settings(api_keys=api_keys)


@pytest.mark.parametrize(
    "api_keys", ["admin:k1,storefront:k1", "storefront:k1,admin:k1", "admin:k1,admin:k1"]
)
def test_one_key_under_two_entries_is_refused_whichever_comes_first(no_coupons_env, api_keys):
    with pytest.raises(ValidationError, match="same key twice"):
        Settings(api_keys=api_keys)


def test_keys_are_a_secret(no_coupons_env):
    # when
    settings = Settings(api_keys=API_KEYS)

    # then
    assert ADMIN_KEY not in repr(settings)
    assert STOREFRONT_KEY not in str(settings.model_dump())
    assert settings.keys == [("admin", ADMIN_KEY), ("storefront", STOREFRONT_KEY)]


def serve_once(database_url: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    """`coupons serve` with these COUPONS_* settings, expected to exit by itself."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COUPONS_")},
        "DATABASE_URL": database_url,
        **env,
    }
    return subprocess.run(  # noqa: S603  # our own command line
        [sys.executable, "-m", "graphql_api", "serve", "--port", str(free_port())],
        cwd=REPO,
        env=environment,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_a_malformed_key_list_is_not_echoed_when_serve_refuses_it(database_url):
    # when
    finished = serve_once(database_url, COUPONS_API_KEYS=f"admn:{ADMIN_KEY}")

    # then
    assert finished.returncode != 0
    assert ADMIN_KEY not in (finished.stdout + finished.stderr).decode(errors="replace")


def test_serve_refuses_to_start_in_production_without_keys(database_url):
    # given
    started = time.monotonic()

    # when
    finished = serve_once(database_url, COUPONS_ENV="production")

    # then
    output = (finished.stdout + finished.stderr).decode(errors="replace")
    assert finished.returncode == 2, output
    assert time.monotonic() - started < 30
    assert "COUPONS_API_KEYS" in output
