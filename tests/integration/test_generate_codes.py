"""generateCodes: a background job that adds exactly `count` new unique codes to a campaign,
followed with codeGenerationJob(id); refused when the codes would become guessable."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from tests.support.database import Database
from tests.support.factories import (
    CODE_GENERATION_JOB,
    GENERATE_CODES,
    create_campaign,
    generate_codes,
    iso,
    now,
)
from tests.support.graphql import GraphQLClient

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

CAMPAIGN = """
query Campaign($id: ID!) {
  campaign(id: $id) { codeCount codes(first: 100) { totalCount edges { node { type } } } }
}
"""

JOB = """
query Job($id: ID!) {
  codeGenerationJob(id: $id) {
    id status requested generated error createdAt finishedAt campaign { id codeCount }
  }
}
"""


def start(gql: GraphQLClient, campaign_id: str, count: int, **fields: Any) -> dict[str, Any]:
    variables = {"input": {"campaignId": campaign_id, "count": count, **fields}}
    payload: dict[str, Any] = gql(GENERATE_CODES, variables)["generateCodes"]
    return payload


def refusal(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    assert payload["job"] is None
    return [(error["code"], error["field"]) for error in payload["errors"]]


def jobs(db: Database) -> int:
    count: int = db.value("SELECT count(*) FROM code_generation_jobs")
    return count


def wait_for(gql: GraphQLClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = gql(JOB, {"id": job_id})["codeGenerationJob"]
        if job["status"] in ("SUCCEEDED", "FAILED"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_a_thousand_codes(gql, db):
    # given
    campaign = create_campaign(gql)
    # when
    payload = start(gql, campaign["id"], 1000, prefix="spring-", length=8)
    # then the job is answered at once
    assert payload["errors"] == []
    job = payload["job"]
    assert job["requested"] == 1000
    assert job["status"] in ("PENDING", "RUNNING", "SUCCEEDED")
    assert job["campaign"] == {"id": campaign["id"]}
    # and ends with exactly the codes asked for
    finished = wait_for(gql, job["id"])
    assert finished["status"] == "SUCCEEDED"
    assert finished["generated"] == finished["requested"] == 1000
    assert finished["error"] is None
    assert finished["finishedAt"] is not None
    assert finished["campaign"] == {"id": campaign["id"], "codeCount": 1000}
    rows = db.fetch("SELECT code, type::text AS type FROM coupons")
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)) == 1000
    assert {row["type"] for row in rows} == {"CAMPAIGN"}
    shape = re.compile(f"SPRING-[{ALPHABET}]{{8}}")
    assert [code for code in codes if not shape.fullmatch(code)] == []
    page = gql(CAMPAIGN, {"id": campaign["id"]})["campaign"]
    assert page["codeCount"] == page["codes"]["totalCount"] == 1000
    assert {edge["node"]["type"] for edge in page["codes"]["edges"]} == {"CAMPAIGN"}


def test_the_default_length_is_12_without_a_prefix(gql):
    campaign = create_campaign(gql)
    codes = generate_codes(gql, campaign["id"], 5)
    assert len(codes) == 5
    assert all(re.fullmatch(f"[{ALPHABET}]{{12}}", code) for code in codes), codes


def test_a_lower_case_prefix_is_upper_cased(gql):
    campaign = create_campaign(gql)
    codes = generate_codes(gql, campaign["id"], 3, prefix=" vip-2025 ", length=6)
    assert all(re.fullmatch(f"VIP-2025[{ALPHABET}]{{6}}", code) for code in codes), codes


def test_codes_add_up_across_jobs(gql):
    campaign = create_campaign(gql)
    first = generate_codes(gql, campaign["id"], 3)
    second = generate_codes(gql, campaign["id"], 4)
    assert len(second) == 7
    assert set(first) <= set(second)


BAD_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("count", {"count": 0}),
    ("count", {"count": -1}),
    ("count", {"count": 1_000_001}),
    ("prefix", {"prefix": "BAD_PREFIX"}),
    ("prefix", {"prefix": "A" * 21}),
    ("prefix", {"prefix": "NO SPACE"}),
    ("prefix", {"prefix": "ÄÖ"}),
    ("length", {"length": 5}),
    ("length", {"length": 33}),
    ("length", {"length": 0}),
    ("length", {"prefix": "A" * 20, "length": 31}),
]


def test_every_bad_input_is_invalid_input_naming_the_field_and_writes_nothing(gql, db):
    campaign = create_campaign(gql)
    for field, change in BAD_REQUESTS:
        payload = start(gql, campaign["id"], **{"count": 10, **change})
        assert refusal(payload) == [("INVALID_INPUT", field)], change
    assert jobs(db) == 0


def test_limits_at_their_edges_are_accepted(gql, db):
    campaign = create_campaign(gql)
    payload = start(gql, campaign["id"], 1, prefix="A" * 20, length=30)
    assert payload["errors"] == []
    assert wait_for(gql, payload["job"]["id"])["status"] == "SUCCEEDED"
    [code] = [row["code"] for row in db.fetch("SELECT code FROM coupons")]
    assert len(code) == 50


def test_the_code_space_rule(gql, db):
    # given length 6: 31**6 = 887,503,681 possible codes, so at most 887 at one in a million
    campaign = create_campaign(gql)
    # when 888 are asked for, they are refused on length
    assert refusal(start(gql, campaign["id"], 888, length=6)) == [("INVALID_INPUT", "length")]
    assert jobs(db) == 0
    # and 887 are accepted
    accepted = start(gql, campaign["id"], 887, length=6)
    assert accepted["errors"] == []
    assert wait_for(gql, accepted["job"]["id"])["status"] == "SUCCEEDED"
    # and then not one more of that length, but longer ones still
    assert refusal(start(gql, campaign["id"], 1, length=6)) == [("INVALID_INPUT", "length")]
    longer = start(gql, campaign["id"], 1, length=7)
    assert longer["errors"] == []
    assert wait_for(gql, longer["job"]["id"])["status"] == "SUCCEEDED"


def test_pending_jobs_count_toward_the_code_space(gql, db):
    # given a job of 500 codes still to be written
    campaign = create_campaign(gql)
    db.execute(
        "INSERT INTO code_generation_jobs (campaign_id, requested, generated, length, status)"
        " VALUES ($1::uuid, 500, 0, 6, 'PENDING')",
        campaign["id"],
    )
    # then 388 more make 888 and are refused, 387 make 887 and are accepted
    assert refusal(start(gql, campaign["id"], 388, length=6)) == [("INVALID_INPUT", "length")]
    accepted = start(gql, campaign["id"], 387, length=6)
    assert accepted["errors"] == []
    assert wait_for(gql, accepted["job"]["id"])["status"] == "SUCCEEDED"


def test_a_running_jobs_remaining_codes_count_toward_the_code_space(gql, db):
    campaign = create_campaign(gql)
    db.execute(
        "INSERT INTO code_generation_jobs (campaign_id, requested, generated, length, status,"
        " started_at) VALUES ($1::uuid, 500, 200, 6, 'RUNNING', now())",
        campaign["id"],
    )
    db.execute("UPDATE campaigns SET code_count = 200")
    assert refusal(start(gql, campaign["id"], 388, length=6)) == [("INVALID_INPUT", "length")]
    accepted = start(gql, campaign["id"], 387, length=6)
    assert accepted["errors"] == []
    assert wait_for(gql, accepted["job"]["id"])["status"] == "SUCCEEDED"


def test_an_unknown_campaign_is_not_found(gql, db):
    payload = start(gql, "00000000-0000-0000-0000-000000000000", 10)
    assert refusal(payload) == [("NOT_FOUND", "campaignId")]
    assert refusal(start(gql, "not-a-uuid", 10)) == [("INVALID_INPUT", "campaignId")]
    assert jobs(db) == 0


def test_an_inactive_campaign_is_refused(gql, db):
    campaign = create_campaign(gql)
    gql(
        "mutation D($id: ID!) { deactivateCampaign(id: $id) { errors { code } } }",
        {"id": campaign["id"]},
    )
    assert refusal(start(gql, campaign["id"], 10)) == [("INACTIVE", "campaignId")]
    assert jobs(db) == 0


def test_a_campaign_past_its_window_is_refused(gql, db):
    campaign = create_campaign(gql)
    db.execute("UPDATE campaigns SET valid_until = now() - interval '1 second'")
    assert refusal(start(gql, campaign["id"], 10)) == [("EXPIRED", "campaignId")]
    assert jobs(db) == 0


def test_the_campaign_is_checked_before_the_code_space(gql, db):
    campaign = create_campaign(gql)
    unknown = start(gql, "00000000-0000-0000-0000-000000000000", 888, length=6)
    assert refusal(unknown) == [("NOT_FOUND", "campaignId")]
    gql(
        "mutation D($id: ID!) { deactivateCampaign(id: $id) { errors { code } } }",
        {"id": campaign["id"]},
    )
    assert refusal(start(gql, campaign["id"], 888, length=6)) == [("INACTIVE", "campaignId")]


def test_a_spent_or_not_yet_open_campaign_takes_codes(gql, db):
    spent = create_campaign(gql, maxTotalUses=1)
    db.execute("UPDATE campaigns SET total_uses = 1 WHERE id = $1::uuid", spent["id"])
    later = create_campaign(
        gql, validFrom=iso(now() + timedelta(days=1)), validUntil=iso(now() + timedelta(days=2))
    )
    for campaign_id in (spent["id"], later["id"]):
        payload = start(gql, campaign_id, 1)
        assert payload["errors"] == [], campaign_id
        assert wait_for(gql, payload["job"]["id"])["status"] == "SUCCEEDED"


def test_an_unknown_job_is_null_and_a_malformed_id_an_error(gql):
    unknown = gql(CODE_GENERATION_JOB, {"id": "00000000-0000-0000-0000-000000000000"})
    assert unknown["codeGenerationJob"] is None
    errors = gql.errors(CODE_GENERATION_JOB, {"id": "not-a-uuid"})
    assert [error["extensions"] for error in errors] == [{"code": "INVALID_INPUT", "field": "id"}]
