"""Persisted operations as clients send them: documents, their hashes, and requests naming
them over POST and GET, with a role's key."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from graphql_api.schema.compiled import CompiledOperations, Plan
from tests.support.callers import API_KEYS, KEYS
from tests.support.servers import ThreadServer, thread_server

LOOKUP = """
query PersistedLookup($code: String!) {
  couponByCode(code: $code) { code status discountValue }
}
"""
REDEEM = """
mutation PersistedRedeem($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) {
    usage { id orderId discountApplied finalAmount usedAt coupon { code currentTotalUses } }
    discountAmount
    finalAmount
    errors { code field message }
  }
}
"""
NO_CACHE = "private, no-cache, must-revalidate"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - codegen's ids, not security


def by_hash(sha256_hash: str, version: object = 1) -> dict[str, Any]:
    """The APQ extension, as Apollo Client sends it."""
    return {"extensions": {"persistedQuery": {"version": version, "sha256Hash": sha256_hash}}}


def headers_of(role: str | None) -> dict[str, str]:
    return {} if role is None else {"Authorization": f"Bearer {KEYS.get(role, role)}"}


def post(
    server: ThreadServer, body: dict[str, Any], role: str | None = "storefront", **headers: str
) -> httpx.Response:
    """POST /graphql with `role`'s key (a role name, or any other text as a made-up key)."""
    return httpx.post(
        f"{server.base_url}/graphql", json=body, headers={**headers_of(role), **headers}
    )


def get(
    server: ThreadServer, params: dict[str, Any], role: str | None = "storefront", **headers: str
) -> httpx.Response:
    """GET /graphql, `variables` and `extensions` encoded as JSON as clients encode them."""
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return httpx.get(
        f"{server.base_url}/graphql", params=encoded, headers={**headers_of(role), **headers}
    )


def data(response: httpx.Response) -> dict[str, Any]:
    """The data of an answer that must have no errors."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]
    return found


def compiled_plans(server: ThreadServer) -> OrderedDict[str, Plan | None]:
    """The plans the server's compiled paths made, by document text: a document that got
    a Plan was answered there (the app's middleware stack is built by its first request)."""
    layer: Any = server.app.middleware_stack
    while layer is not None and not isinstance(layer, CompiledOperations):
        layer = getattr(layer, "app", None)
    assert layer is not None, "the compiled paths are off on this server"
    return layer.plans


def samples(server: ThreadServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{server.base_url}/metrics", timeout=10)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_counted(server: ThreadServer, outcome: str) -> float:
    """coupons_graphql_requests_total of a refusal before GraphQL (operation "none")."""
    key = (
        "coupons_graphql_requests_total",
        (("operation", "none"), ("outcome", outcome)),
    )
    return samples(server).get(key, 0.0)


@contextmanager
def allow_list_server(database_url: str, manifest: Path) -> Iterator[ThreadServer]:
    """The app in allow-list mode on `manifest`, with the admin and storefront keys."""
    with thread_server(
        database_url,
        api_keys=API_KEYS,
        persisted_operations=manifest,
        persisted_operations_only=True,
    ) as server:
        yield server
