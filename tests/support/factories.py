"""Coupons made through the public API, with defaults a test can override."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.database import Database
from tests.support.graphql import GraphQLClient

COUPON_FIELDS = """
    id code type discountType discountValue maxDiscountAmount minOrderValue description
    userId validFrom validUntil maxUsesPerUser maxTotalUses currentTotalUses status
    createdBy createdAt updatedAt
"""

CREATE_USER_COUPON = f"""
mutation CreateUserCoupon($input: CreateUserCouponInput!) {{
  createUserCoupon(input: $input) {{
    coupon {{ {COUPON_FIELDS} }}
    errors {{ code field message }}
  }}
}}
"""

CREATE_TIMED_COUPON = f"""
mutation CreateTimedCoupon($input: CreateTimedCouponInput!) {{
  createTimedCoupon(input: $input) {{
    coupon {{ {COUPON_FIELDS} }}
    errors {{ code field message }}
  }}
}}
"""

REDEEM_COUPON = """
mutation RedeemCoupon($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) {
    usage {
      id userId orderId orderValue discountApplied finalAmount usedAt ipAddress userAgent
      coupon { id code currentTotalUses status }
    }
    discountAmount
    finalAmount
    errors { code field message }
  }
}
"""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def now() -> datetime:
    return datetime.now(UTC)


def user_coupon_input(**overrides: Any) -> dict[str, Any]:
    return {"userId": "user-1", "discountType": "FIXED", "discountValue": "10.00", **overrides}


def timed_coupon_input(**overrides: Any) -> dict[str, Any]:
    return {
        "discountType": "PERCENTAGE",
        "discountValue": "10",
        "validFrom": iso(now() - timedelta(days=1)),
        "validUntil": iso(now() + timedelta(days=30)),
        "maxUsesPerUser": 1,
        **overrides,
    }


def create_user_coupon(gql: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    payload = gql(CREATE_USER_COUPON, {"input": user_coupon_input(**overrides)})["createUserCoupon"]
    assert payload["errors"] == [], payload["errors"]
    coupon: dict[str, Any] = payload["coupon"]
    return coupon


def create_timed_coupon(gql: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    payload = gql(CREATE_TIMED_COUPON, {"input": timed_coupon_input(**overrides)})[
        "createTimedCoupon"
    ]
    assert payload["errors"] == [], payload["errors"]
    coupon: dict[str, Any] = payload["coupon"]
    return coupon


def redeem(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = gql(REDEEM_COUPON, {"input": fields})["redeemCoupon"]
    return payload


CAMPAIGN_FIELDS = """
    id name description discountType discountValue maxDiscountAmount minOrderValue
    validFrom validUntil maxUsesPerCode maxUsesPerUser maxTotalUses maxTotalDiscount
    totalUses heldUses totalDiscount codeCount status createdAt updatedAt
"""

CREATE_CAMPAIGN = f"""
mutation CreateCampaign($input: CreateCampaignInput!) {{
  createCampaign(input: $input) {{
    campaign {{ {CAMPAIGN_FIELDS} }}
    errors {{ code field message }}
  }}
}}
"""

GENERATE_CODES = """
mutation GenerateCodes($input: GenerateCodesInput!) {
  generateCodes(input: $input) {
    job { id status requested generated error createdAt finishedAt campaign { id } }
    errors { code field message }
  }
}
"""

CODE_GENERATION_JOB = """
query Job($id: ID!) {
  codeGenerationJob(id: $id) { id status requested generated error finishedAt }
}
"""

CAMPAIGN_CODES = """
query Codes($id: ID!, $first: Int, $after: String) {
  campaign(id: $id) {
    codeCount
    codes(first: $first, after: $after) {
      edges { node { code type status currentTotalUses heldUses } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
}
"""

RESERVATION_FIELDS = """
    id userId orderId orderValue discountAmount finalAmount status expiresAt createdAt
    coupon { id code currentTotalUses heldUses status }
"""

RESERVE_COUPON = f"""
mutation ReserveCoupon($input: ReserveCouponInput!) {{
  reserveCoupon(input: $input) {{
    reservation {{ {RESERVATION_FIELDS} }}
    discountAmount
    finalAmount
    errors {{ code field message }}
  }}
}}
"""

RELEASE_RESERVATION = f"""
mutation ReleaseReservation($orderId: String!) {{
  releaseReservation(orderId: $orderId) {{
    reservation {{ {RESERVATION_FIELDS} }}
    discountAmount
    finalAmount
    errors {{ code field message }}
  }}
}}
"""

ROLLBACK_REDEMPTION = """
mutation RollbackRedemption($input: RollbackRedemptionInput!) {
  rollbackRedemption(input: $input) {
    usage {
      id orderId discountApplied status rolledBackAt rollbackReason
      coupon { id code currentTotalUses heldUses status }
    }
    discountAmount
    finalAmount
    errors { code field message }
  }
}
"""


def campaign_input(**overrides: Any) -> dict[str, Any]:
    return {"name": "Spring sale", "discountType": "FIXED", "discountValue": "5.00", **overrides}


def create_campaign(gql: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    payload = gql(CREATE_CAMPAIGN, {"input": campaign_input(**overrides)})["createCampaign"]
    assert payload["errors"] == [], payload["errors"]
    campaign: dict[str, Any] = payload["campaign"]
    return campaign


def generate_codes(
    gql: GraphQLClient, campaign_id: str, count: int, timeout: float = 60, **overrides: Any
) -> list[str]:
    """Start a job for `count` codes, wait until it SUCCEEDED, and answer the new codes."""
    variables = {"input": {"campaignId": campaign_id, "count": count, **overrides}}
    payload = gql(GENERATE_CODES, variables)["generateCodes"]
    assert payload["errors"] == [], payload["errors"]
    job_id = payload["job"]["id"]
    deadline = time.monotonic() + timeout
    while True:
        job = gql(CODE_GENERATION_JOB, {"id": job_id})["codeGenerationJob"]
        if job["status"] in ("SUCCEEDED", "FAILED"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["status"] == "SUCCEEDED", job
    codes: list[str] = []
    after = None
    while True:
        page = gql(CAMPAIGN_CODES, {"id": campaign_id, "first": 100, "after": after})["campaign"]
        codes += [edge["node"]["code"] for edge in page["codes"]["edges"]]
        if not page["codes"]["pageInfo"]["hasNextPage"]:
            return codes
        after = page["codes"]["pageInfo"]["endCursor"]


def reserve(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = gql(RESERVE_COUPON, {"input": fields})["reserveCoupon"]
    return payload


def release(gql: GraphQLClient, order_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = gql(RELEASE_RESERVATION, {"orderId": order_id})["releaseReservation"]
    return payload


def rollback(gql: GraphQLClient, order_id: str, reason: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"orderId": order_id}
    if reason is not None:
        fields["reason"] = reason
    payload: dict[str, Any] = gql(ROLLBACK_REDEMPTION, {"input": fields})["rollbackRedemption"]
    return payload


CODES_AS_THE_JOB_WRITES_THEM = """
INSERT INTO coupons (code, type, campaign_id, discount_type, discount_value,
                     max_discount_amount, min_order_value, description, valid_from, valid_until,
                     max_uses_per_user, max_total_uses)
SELECT drawn.code, 'CAMPAIGN', k.id, k.discount_type, k.discount_value, k.max_discount_amount,
       k.min_order_value, k.description, k.valid_from, k.valid_until, k.max_uses_per_code,
       k.max_uses_per_code
FROM unnest($2::text[]) AS drawn(code) CROSS JOIN campaigns k WHERE k.id = $1::uuid
"""


def campaign_with_codes(
    gql: GraphQLClient, db: Database, count: int, **terms: Any
) -> tuple[str, list[str]]:
    """A campaign and `count` codes, written as its generation job writes them (the
    statement of db/queries/campaigns.py, with codes of the test's own: the job is
    test_generate_codes' subject, and waiting for a worker here would only make this slow)."""
    campaign = create_campaign(gql, **terms)
    codes = [f"TEST-{secrets.token_hex(5).upper()}" for _ in range(count)]
    db.execute(CODES_AS_THE_JOB_WRITES_THEM, campaign["id"], codes)
    db.execute(
        "UPDATE campaigns SET code_count = code_count + $2 WHERE id = $1::uuid",
        campaign["id"],
        count,
    )
    return campaign["id"], codes


CREATE_ENDPOINT = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    webhookEndpoint { id url events enabled createdAt }
    secret
    errors { code field message }
  }
}
"""

FEED = """
query Feed($first: Int, $after: String, $types: [String!]) {
  events(first: $first, after: $after, types: $types) {
    edges { cursor node { id type occurredAt data } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def create_endpoint(gql: GraphQLClient, url: str, events: list[str]) -> dict[str, Any]:
    """createWebhookEndpoint's payload, errors and all."""
    payload: dict[str, Any] = gql(CREATE_ENDPOINT, {"input": {"url": url, "events": events}})[
        "createWebhookEndpoint"
    ]
    return payload


def all_events(gql: GraphQLClient, types: list[str] | None = None) -> list[dict[str, Any]]:
    """The whole feed, page by page, oldest first."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = gql(FEED, {"first": 100, "after": after, "types": types})["events"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]
