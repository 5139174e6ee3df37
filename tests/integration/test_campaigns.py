"""Campaigns: createCampaign, campaign(id), campaigns, activate/deactivate, and redeeming their
codes under the campaign's shared limits and money budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.support.database import Database
from tests.support.factories import (
    CAMPAIGN_FIELDS,
    CREATE_CAMPAIGN,
    campaign_input,
    campaign_with_codes,
    create_campaign,
    create_timed_coupon,
    create_user_coupon,
    generate_codes,
    iso,
    now,
    redeem,
    reserve,
)
from tests.support.graphql import GraphQLClient, top_errors
from tests.support.servers import ThreadServer, thread_server

PAUSE_COUPON = """
mutation Pause($id: ID!) { deactivateCoupon(id: $id) { coupon { status } errors { code } } }
"""
RESUME_COUPON = """
mutation Resume($id: ID!) { activateCoupon(id: $id) { coupon { status } errors { code } } }
"""

CAMPAIGN = f"""
query Campaign($id: ID!) {{ campaign(id: $id) {{ {CAMPAIGN_FIELDS} }} }}
"""

CAMPAIGNS = """
query Campaigns($first: Int, $after: String) {
  campaigns(first: $first, after: $after) {
    edges { cursor node { id name } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""

CODES = """
query Codes($id: ID!, $redeemed: Boolean, $assigned: Boolean) {
  campaign(id: $id) {
    codes(first: 100, redeemed: $redeemed, assigned: $assigned) {
      edges { node { code userId } }
      totalCount
    }
  }
}
"""

CODE = """
query Code($code: String!) {
  couponByCode(code: $code) {
    code type status description createdBy discountType discountValue maxDiscountAmount
    minOrderValue
    validFrom validUntil maxUsesPerUser maxTotalUses currentTotalUses heldUses userId
    campaign { id name }
  }
}
"""

DEACTIVATE = f"""
mutation Deactivate($id: ID!) {{
  deactivateCampaign(id: $id) {{ campaign {{ {CAMPAIGN_FIELDS} }} errors {{ code field }} }}
}}
"""

ACTIVATE = f"""
mutation Activate($id: ID!) {{
  activateCampaign(id: $id) {{ campaign {{ {CAMPAIGN_FIELDS} }} errors {{ code field }} }}
}}
"""

JOB_STATUS = """
query JobStatus($id: ID!) { codeGenerationJob(id: $id) { status } }
"""

VALIDATE_COUPON = """
query ValidateCoupon($input: ValidateCouponInput!) {
  validateCoupon(input: $input) { valid errors { code } }
}
"""


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def campaign_of(gql: GraphQLClient, campaign_id: str) -> dict[str, Any]:
    campaign: dict[str, Any] = gql(CAMPAIGN, {"id": campaign_id})["campaign"]
    return campaign


def code_of(gql: GraphQLClient, code: str) -> dict[str, Any]:
    coupon: dict[str, Any] = gql(CODE, {"code": code})["couponByCode"]
    return coupon


def redeems(gql: GraphQLClient, code: str, user: str, order: str, value: str = "50") -> list[str]:
    return error_codes(redeem(gql, code=code, userId=user, orderId=order, orderValue=value))


# --- createCampaign --------------------------------------------------------------------------


def test_create_campaign_answers_every_field(gql, db):
    # given
    start = now() - timedelta(hours=1)
    end = now() + timedelta(days=30)
    # when
    payload = gql(
        CREATE_CAMPAIGN,
        {
            "input": {
                "name": "Black Friday",
                "description": "Twenty percent off",
                "discountType": "PERCENTAGE",
                "discountValue": "20",
                "maxDiscountAmount": "15",
                "minOrderValue": "30",
                "validFrom": iso(start),
                "validUntil": iso(end),
                "maxUsesPerCode": 3,
                "maxUsesPerUser": 2,
                "maxTotalUses": 100,
                "maxTotalDiscount": "1000.5",
                "createdBy": "marketing",
            }
        },
    )["createCampaign"]
    # then
    assert payload["errors"] == []
    campaign = payload["campaign"]
    assert {
        key: campaign[key] for key in campaign if key not in ("id", "createdAt", "updatedAt")
    } == {
        "name": "Black Friday",
        "description": "Twenty percent off",
        "discountType": "PERCENTAGE",
        "discountValue": "20.00",
        "maxDiscountAmount": "15.00",
        "minOrderValue": "30.00",
        "validFrom": iso(start),
        "validUntil": iso(end),
        "maxUsesPerCode": 3,
        "maxUsesPerUser": 2,
        "maxTotalUses": 100,
        "maxTotalDiscount": "1000.50",
        "totalUses": 0,
        "heldUses": 0,
        "totalDiscount": "0.00",
        "codeCount": 0,
        "status": "ACTIVE",
    }
    assert campaign["createdAt"].endswith("+00:00")
    assert campaign_of(gql, campaign["id"]) == campaign
    assert db.value("SELECT created_by FROM campaigns") == "marketing"


def test_create_campaign_defaults(gql):
    payload = gql(CREATE_CAMPAIGN, {"input": campaign_input()})["createCampaign"]
    assert payload["errors"] == []
    campaign = payload["campaign"]
    assert campaign["description"] is None
    assert campaign["maxDiscountAmount"] is None
    assert campaign["minOrderValue"] == "0.00"
    assert campaign["validFrom"] is None
    assert campaign["validUntil"] is None
    assert campaign["maxUsesPerCode"] == 1
    assert campaign["maxUsesPerUser"] is None
    assert campaign["maxTotalUses"] is None
    assert campaign["maxTotalDiscount"] is None
    assert campaign["status"] == "ACTIVE"


LATER = now() + timedelta(days=2)
BAD_CAMPAIGNS: list[tuple[str, dict[str, Any]]] = [
    ("name", {"name": ""}),
    ("name", {"name": "   "}),
    ("name", {"name": "n" * 101}),
    ("description", {"description": "d" * 501}),
    ("discountValue", {"discountValue": "0"}),
    ("discountValue", {"discountValue": "5.001"}),
    ("discountValue", {"discountType": "PERCENTAGE", "discountValue": "100.01"}),
    ("maxDiscountAmount", {"discountType": "FIXED", "maxDiscountAmount": "5"}),
    ("maxDiscountAmount", {"discountType": "PERCENTAGE", "maxDiscountAmount": "0"}),
    ("minOrderValue", {"minOrderValue": "-1"}),
    ("validUntil", {"validFrom": iso(LATER), "validUntil": iso(LATER - timedelta(days=1))}),
    ("validUntil", {"validFrom": iso(LATER), "validUntil": iso(LATER)}),
    ("validUntil", {"validUntil": iso(now() - timedelta(minutes=1))}),
    ("validFrom", {"validFrom": "0001-01-01T00:00:00+01:00"}),
    ("maxUsesPerCode", {"maxUsesPerCode": 0}),
    ("maxUsesPerUser", {"maxUsesPerUser": 0}),
    ("maxTotalUses", {"maxTotalUses": -1}),
    ("maxTotalDiscount", {"maxTotalDiscount": "0"}),
    ("maxTotalDiscount", {"maxTotalDiscount": "-5"}),
    ("maxTotalDiscount", {"maxTotalDiscount": "10.001"}),
    ("maxTotalDiscount", {"maxTotalDiscount": "10000000000.00"}),
    ("createdBy", {"createdBy": "c" * 101}),
]


def test_every_bad_input_is_invalid_input_naming_the_field_and_writes_nothing(gql, db):
    for field, change in BAD_CAMPAIGNS:
        # when
        payload = gql(CREATE_CAMPAIGN, {"input": campaign_input(**change)})["createCampaign"]
        # then
        assert payload["campaign"] is None, change
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)], (
            change
        )
    assert db.value("SELECT count(*) FROM campaigns") == 0


# --- reading campaigns -----------------------------------------------------------------------


def test_campaign_by_id_is_null_when_absent_and_invalid_when_malformed(gql):
    assert gql(CAMPAIGN, {"id": "00000000-0000-0000-0000-000000000000"})["campaign"] is None
    errors = gql.errors(CAMPAIGN, {"id": "not-a-uuid"})
    assert [error["extensions"] for error in errors] == [{"code": "INVALID_INPUT", "field": "id"}]


def test_campaigns_page_newest_first(gql):
    # given three campaigns
    names = ["first", "second", "third"]
    ids = [create_campaign(gql, name=name)["id"] for name in names]
    # when they are read two at a time
    page = gql(CAMPAIGNS, {"first": 2})["campaigns"]
    rest = gql(CAMPAIGNS, {"first": 2, "after": page["pageInfo"]["endCursor"]})["campaigns"]
    # then newest first, the cursor continuing where the first page stopped
    assert [edge["node"]["id"] for edge in page["edges"]] == [ids[2], ids[1]]
    assert page["pageInfo"] == {"hasNextPage": True, "endCursor": page["edges"][-1]["cursor"]}
    assert [edge["node"]["name"] for edge in rest["edges"]] == ["first"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert page["totalCount"] == rest["totalCount"] == 3


def test_campaigns_page_of_one_moment_by_id(gql, db):
    for name in ("a", "b", "c"):
        create_campaign(gql, name=name)
    db.execute("UPDATE campaigns SET created_at = '2025-06-01T00:00:00+00:00'")
    expected = [row["id"] for row in db.fetch("SELECT id::text FROM campaigns ORDER BY id DESC")]
    seen: list[str] = []
    after = None
    for _ in range(3):
        page = gql(CAMPAIGNS, {"first": 1, "after": after})["campaigns"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
    assert seen == expected


def test_campaigns_refuse_a_cursor_of_another_list(gql):
    create_timed_coupon(gql, code="TIMED1")
    create_timed_coupon(gql, code="TIMED2")
    other = gql("query { activeCampaigns(first: 1) { pageInfo { endCursor } } }")[
        "activeCampaigns"
    ]["pageInfo"]["endCursor"]
    errors = gql.errors(CAMPAIGNS, {"first": 1, "after": other})
    assert [error["extensions"] for error in errors] == [
        {"code": "INVALID_INPUT", "field": "after"}
    ]


# --- activate / deactivate -------------------------------------------------------------------


def test_a_deactivated_campaigns_codes_answer_inactive(gql, db):
    # given
    campaign_id, codes = campaign_with_codes(gql, db, 2, maxUsesPerCode=5)
    # when
    payload = gql(DEACTIVATE, {"id": campaign_id})["deactivateCampaign"]
    # then
    assert payload["errors"] == []
    assert payload["campaign"]["status"] == "INACTIVE"
    assert code_of(gql, codes[0])["status"] == "INACTIVE"
    assert redeems(gql, codes[0], "alice", "o-1") == ["INACTIVE"]
    assert error_codes(
        reserve(gql, code=codes[1], userId="alice", orderId="o-2", orderValue="50")
    ) == ["INACTIVE"]
    assert error_codes(
        gql(VALIDATE_COUPON, {"input": {"code": codes[0], "userId": "u", "orderValue": "50"}})[
            "validateCoupon"
        ]
    ) == ["INACTIVE"]
    # when it is activated again
    again = gql(ACTIVATE, {"id": campaign_id})["activateCampaign"]
    # then
    assert again["campaign"]["status"] == "ACTIVE"
    assert code_of(gql, codes[0])["status"] == "ACTIVE"
    assert redeems(gql, codes[0], "alice", "o-3") == []


def test_activating_keeps_a_spent_campaign_exhausted(gql, db):
    campaign_id, [code] = campaign_with_codes(gql, db, 1, maxTotalUses=1, maxUsesPerCode=2)
    assert redeems(gql, code, "alice", "o-1") == []
    gql(DEACTIVATE, {"id": campaign_id})
    assert gql(ACTIVATE, {"id": campaign_id})["activateCampaign"]["campaign"]["status"] == (
        "EXHAUSTED"
    )
    assert redeems(gql, code, "bob", "o-2") == ["EXHAUSTED"]


def test_a_code_paused_on_its_own_stays_paused(gql, db):
    campaign_id, codes = campaign_with_codes(gql, db, 2)
    pause = "mutation P($id: ID!) { deactivateCoupon(id: $id) { errors { code } } }"
    code_id = gql("query C($c: String!) { couponByCode(code: $c) { id } }", {"c": codes[0]})
    gql(pause, {"id": code_id["couponByCode"]["id"]})
    gql(DEACTIVATE, {"id": campaign_id})
    again = gql(DEACTIVATE, {"id": campaign_id})["deactivateCampaign"]
    assert again["campaign"]["status"] == "INACTIVE"
    gql(ACTIVATE, {"id": campaign_id})
    assert code_of(gql, codes[0])["status"] == "INACTIVE"
    assert code_of(gql, codes[1])["status"] == "ACTIVE"


def test_activate_and_deactivate_an_unknown_or_malformed_campaign(gql):
    for operation, field in ((DEACTIVATE, "deactivateCampaign"), (ACTIVATE, "activateCampaign")):
        unknown = gql(operation, {"id": "00000000-0000-0000-0000-000000000000"})[field]
        assert unknown["campaign"] is None
        assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"]
        malformed = gql(operation, {"id": "nope"})[field]
        assert [(e["code"], e["field"]) for e in malformed["errors"]] == [("INVALID_INPUT", "id")]


def test_a_campaign_past_its_window_is_expired(gql, db):
    campaign_id, [code] = campaign_with_codes(gql, db, 1)
    db.execute("UPDATE campaigns SET valid_until = now() - interval '1 second'")
    assert campaign_of(gql, campaign_id)["status"] == "EXPIRED"
    assert code_of(gql, code)["status"] == "EXPIRED"
    assert redeems(gql, code, "alice", "o-1") == ["EXPIRED"]


def test_a_code_of_a_campaign_not_yet_started_is_not_yet_valid(gql, db):
    campaign_id, [code] = campaign_with_codes(
        gql,
        db,
        1,
        validFrom=iso(now() + timedelta(days=1)),
        validUntil=iso(now() + timedelta(days=2)),
    )
    assert campaign_of(gql, campaign_id)["status"] == "ACTIVE"
    assert redeems(gql, code, "alice", "o-1") == ["NOT_YET_VALID"]
    assert error_codes(reserve(gql, code=code, userId="alice", orderId="o-2", orderValue="50")) == [
        "NOT_YET_VALID"
    ]


# --- redeeming campaign codes ----------------------------------------------------------------


def test_a_campaign_code_carries_the_campaigns_terms(gql):
    # given
    start = now() - timedelta(hours=1)
    end = now() + timedelta(days=10)
    campaign = create_campaign(
        gql,
        name="Terms",
        description="Twenty off",
        discountType="PERCENTAGE",
        discountValue="20",
        maxDiscountAmount="15",
        minOrderValue="30",
        validFrom=iso(start),
        validUntil=iso(end),
        maxUsesPerCode=3,
    )
    [code] = generate_codes(gql, campaign["id"], 1)
    # then
    assert code_of(gql, code) == {
        "code": code,
        "type": "CAMPAIGN",
        "status": "ACTIVE",
        "description": "Twenty off",
        "createdBy": None,
        "discountType": "PERCENTAGE",
        "discountValue": "20.00",
        "maxDiscountAmount": "15.00",
        "minOrderValue": "30.00",
        "validFrom": iso(start),
        "validUntil": iso(end),
        "maxUsesPerUser": 3,
        "maxTotalUses": 3,
        "currentTotalUses": 0,
        "heldUses": 0,
        "userId": None,
        "campaign": {"id": campaign["id"], "name": "Terms"},
    }
    payload = redeem(gql, code=code.lower(), userId="alice", orderId="o-1", orderValue="100")
    assert payload["discountAmount"] == "15.00"
    assert redeems(gql, code, "bob", "o-2", "29.99") == ["MIN_ORDER_VALUE_NOT_MET"]


def test_other_coupons_have_no_campaign(gql):
    create_timed_coupon(gql, code="PLAIN")
    assert code_of(gql, "PLAIN")["campaign"] is None


def test_coupons_made_beside_campaign_codes_answer_their_own_status(gql, db):
    # given a paused campaign with several codes
    campaign_id, codes = campaign_with_codes(gql, db, 3)
    gql(DEACTIVATE, {"id": campaign_id})
    # when a user coupon and a timed coupon are made, and a code is paused on its own
    user_coupon = create_user_coupon(gql)
    timed = create_timed_coupon(gql, code="BESIDE")
    ids = {row["code"]: str(row["id"]) for row in db.fetch("SELECT code, id FROM coupons")}
    paused = gql(PAUSE_COUPON, {"id": ids[codes[0]]})["deactivateCoupon"]
    resumed = gql(RESUME_COUPON, {"id": ids[codes[1]]})["activateCoupon"]
    # then each answers its own status: none takes another coupon's campaign
    assert (user_coupon["status"], timed["status"]) == ("ACTIVE", "ACTIVE")
    assert paused["coupon"]["status"] == "INACTIVE"
    # and a code resumed on its own still answers its paused campaign's status
    assert resumed["coupon"]["status"] == "INACTIVE"


def test_a_code_is_used_up_at_max_uses_per_code(gql, db):
    campaign_id, codes = campaign_with_codes(gql, db, 2, maxUsesPerCode=2)
    assert redeems(gql, codes[0], "alice", "o-1") == []
    assert redeems(gql, codes[0], "bob", "o-2") == []
    assert redeems(gql, codes[0], "carol", "o-3") == ["EXHAUSTED"]
    assert code_of(gql, codes[0])["status"] == "EXHAUSTED"
    assert code_of(gql, codes[1])["status"] == "ACTIVE"
    assert redeems(gql, codes[1], "carol", "o-4") == []
    assert campaign_of(gql, campaign_id)["totalUses"] == 3


def test_a_user_is_limited_across_the_campaigns_codes(gql, db):
    _, codes = campaign_with_codes(gql, db, 3, maxUsesPerUser=2)
    assert redeems(gql, codes[0], "alice", "o-1") == []
    assert redeems(gql, codes[1], "alice", "o-2") == []
    assert redeems(gql, codes[2], "alice", "o-3") == ["USER_LIMIT_REACHED"]
    assert redeems(gql, codes[2], "bob", "o-4") == []


def test_the_campaigns_total_uses_are_shared_by_its_codes(gql, db):
    campaign_id, codes = campaign_with_codes(gql, db, 3, maxTotalUses=2)
    assert redeems(gql, codes[0], "alice", "o-1") == []
    assert redeems(gql, codes[1], "bob", "o-2") == []
    assert redeems(gql, codes[2], "carol", "o-3") == ["EXHAUSTED"]
    campaign = campaign_of(gql, campaign_id)
    assert (campaign["totalUses"], campaign["status"]) == (2, "EXHAUSTED")
    assert code_of(gql, codes[2])["status"] == "EXHAUSTED"


def test_the_money_budget_is_exact(gql, db):
    # given a 12.00 budget and 5.00 off per code: two fit
    campaign_id, codes = campaign_with_codes(gql, db, 4, maxTotalDiscount="12.00")
    assert redeems(gql, codes[0], "alice", "o-1") == []
    assert redeems(gql, codes[1], "bob", "o-2") == []
    # when a third would take it to 15.00
    assert redeems(gql, codes[2], "carol", "o-3") == ["EXHAUSTED"]
    # then the campaign is not spent yet: 2.00 off a 2.00 order still fits, exactly
    campaign = campaign_of(gql, campaign_id)
    assert (campaign["totalDiscount"], campaign["status"]) == ("10.00", "ACTIVE")
    payload = redeem(gql, code=codes[2], userId="carol", orderId="o-4", orderValue="2.00")
    assert payload["errors"] == []
    assert payload["discountAmount"] == "2.00"
    campaign = campaign_of(gql, campaign_id)
    assert (campaign["totalDiscount"], campaign["status"]) == ("12.00", "EXHAUSTED")
    assert redeems(gql, codes[3], "dave", "o-5", "0.01") == ["EXHAUSTED"]


def test_codes_filter_redeemed_and_assigned(gql, db):
    # given four codes: one redeemed, one assigned to bob, one assigned and redeemed by carol
    campaign_id, codes = campaign_with_codes(gql, db, 4)
    db.execute("UPDATE coupons SET user_id = 'bob' WHERE code = $1", codes[1])
    db.execute("UPDATE coupons SET user_id = 'carol' WHERE code = $1", codes[2])
    assert redeems(gql, codes[0], "alice", "o-1") == []
    assert redeems(gql, codes[2], "carol", "o-2") == []

    def listed(**filters: Any) -> tuple[set[str], int]:
        page = gql(CODES, {"id": campaign_id, **filters})["campaign"]["codes"]
        return {edge["node"]["code"] for edge in page["edges"]}, page["totalCount"]

    # then
    assert listed() == (set(codes), 4)
    assert listed(redeemed=True) == ({codes[0], codes[2]}, 2)
    assert listed(redeemed=False) == ({codes[1], codes[3]}, 2)
    assert listed(assigned=True) == ({codes[1], codes[2]}, 2)
    assert listed(assigned=False) == ({codes[0], codes[3]}, 2)
    assert listed(redeemed=False, assigned=True) == ({codes[1]}, 1)


def test_an_assigned_code_is_not_found_for_another_user(gql, db):
    # given a code assigned to bob
    _, [code] = campaign_with_codes(gql, db, 1)
    db.execute("UPDATE coupons SET user_id = 'bob' WHERE code = $1", code)
    # then it does not exist for anyone else
    assert redeems(gql, code, "mallory", "o-1") == ["NOT_FOUND"]
    assert error_codes(
        reserve(gql, code=code, userId="mallory", orderId="o-2", orderValue="50")
    ) == ["NOT_FOUND"]
    # and it is bob's
    assert code_of(gql, code)["userId"] == "bob"
    assert redeems(gql, code, "bob", "o-3") == []


# --- roles -----------------------------------------------------------------------------------

ADMIN_KEY = "admin-key-campaigns-7a1f"
STOREFRONT_KEY = "storefront-key-campaigns-3c9e"


@pytest.fixture(scope="module")
def keyed_server(database_url: str, server: ThreadServer) -> Iterator[ThreadServer]:
    """A server with keys; `server` brings the worker that runs generation jobs."""
    keys = f"admin:{ADMIN_KEY},storefront:{STOREFRONT_KEY}"
    with thread_server(database_url, api_keys=keys) as running:
        yield running


@pytest.fixture
def admin(keyed_server: ThreadServer, clean_db: Database) -> Iterator[GraphQLClient]:
    client = GraphQLClient(keyed_server.base_url)
    client.http.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
    yield client
    client.close()


@pytest.fixture
def storefront(keyed_server: ThreadServer, clean_db: Database) -> Iterator[GraphQLClient]:
    client = GraphQLClient(keyed_server.base_url)
    client.http.headers["Authorization"] = f"Bearer {STOREFRONT_KEY}"
    yield client
    client.close()


def forbidden_paths(client: GraphQLClient, query: str, variables: dict[str, Any]) -> list[list]:
    response = client.post(query, variables)
    assert response.status_code == 200, response.text
    errors = top_errors(response)
    assert {error["extensions"]["code"] for error in errors} == {"FORBIDDEN"}, errors
    return [error["path"] for error in errors]


def test_storefront_may_not_manage_or_read_campaigns(admin, storefront, db):
    # given a campaign with a code, made by an admin
    campaign = create_campaign(admin)
    [code] = generate_codes(admin, campaign["id"], 1)
    # then a storefront is refused every campaign operation, and writes nothing
    assert forbidden_paths(storefront, CAMPAIGNS, {}) == [["campaigns"]]
    assert forbidden_paths(storefront, CAMPAIGN, {"id": campaign["id"]}) == [["campaign"]]
    assert forbidden_paths(storefront, CREATE_CAMPAIGN, {"input": campaign_input()}) == [
        ["createCampaign"]
    ]
    assert forbidden_paths(storefront, DEACTIVATE, {"id": campaign["id"]}) == [
        ["deactivateCampaign"]
    ]
    generate = (
        "mutation G($input: GenerateCodesInput!) { generateCodes(input: $input) { job { id } } }"
    )
    assert forbidden_paths(
        storefront, generate, {"input": {"campaignId": campaign["id"], "count": 1}}
    ) == [["generateCodes"]]
    assert forbidden_paths(storefront, CODE, {"code": code}) == [["couponByCode", "campaign"]]
    assert db.value("SELECT count(*) FROM campaigns") == 1
    assert db.value("SELECT count(*) FROM code_generation_jobs") == 1
    assert db.value("SELECT status::text FROM campaigns") == "ACTIVE"


def test_storefront_may_run_the_lifecycle(admin, storefront):
    # given
    campaign = create_campaign(admin, maxUsesPerCode=5)
    [code] = generate_codes(admin, campaign["id"], 1)
    listed = admin("query { campaigns { edges { node { id } } } }")["campaigns"]
    assert [edge["node"]["id"] for edge in listed["edges"]] == [campaign["id"]]
    # then a storefront reserves, reads, releases, redeems and rolls back
    assert (
        reserve(storefront, code=code, userId="u", orderId="o-1", orderValue="50")["errors"] == []
    )
    found = storefront(
        "query R($o: String!) { reservation(orderId: $o) { status } }", {"o": "o-1"}
    )["reservation"]
    assert found == {"status": "HELD"}
    release = storefront(
        "mutation R($o: String!) { releaseReservation(orderId: $o) { errors { code } } }",
        {"o": "o-1"},
    )["releaseReservation"]
    assert release["errors"] == []
    assert redeem(storefront, code=code, userId="u", orderId="o-2", orderValue="50")["errors"] == []
    rolled_back = storefront(
        "mutation B($o: String!) { rollbackRedemption(input: {orderId: $o}) "
        "{ usage { status } errors { code } } }",
        {"o": "o-2"},
    )["rollbackRedemption"]
    assert rolled_back == {"usage": {"status": "ROLLED_BACK"}, "errors": []}


def test_storefront_may_follow_a_code_generation_job(admin, storefront):
    campaign = create_campaign(admin)
    job = admin(
        "mutation G($input: GenerateCodesInput!) { generateCodes(input: $input) { job { id } } }",
        {"input": {"campaignId": campaign["id"], "count": 3}},
    )["generateCodes"]["job"]
    found = storefront(
        "query J($id: ID!) { codeGenerationJob(id: $id) { id requested } }", {"id": job["id"]}
    )["codeGenerationJob"]
    assert found == {"id": job["id"], "requested": 3}
    wait_until_done(storefront, job["id"])


def wait_until_done(client: GraphQLClient, job_id: str) -> None:
    deadline = time.monotonic() + 30
    while client(JOB_STATUS, {"id": job_id})["codeGenerationJob"]["status"] != "SUCCEEDED":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_storefront_may_not_read_the_campaign_through_its_job(admin, storefront):
    # given a job of a campaign with a money budget
    campaign = create_campaign(admin, maxTotalDiscount="1000.00")
    job = admin(
        "mutation G($input: GenerateCodesInput!) { generateCodes(input: $input) { job { id } } }",
        {"input": {"campaignId": campaign["id"], "count": 1}},
    )["generateCodes"]["job"]
    wait_until_done(admin, job["id"])
    # when a storefront follows the job and asks for its campaign
    query = "query J($id: ID!) { codeGenerationJob(id: $id) { campaign { maxTotalDiscount } } }"
    # then the campaign is refused as it is everywhere else (campaign(id), Coupon.campaign)
    assert forbidden_paths(storefront, query, {"id": job["id"]}) == [
        ["codeGenerationJob", "campaign"]
    ]
