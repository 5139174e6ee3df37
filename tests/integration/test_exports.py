"""GET /exports/codes.csv and /exports/usages.csv, and `coupons export`: a campaign's codes or
usages as CSV, with a header row, streamed; every refusal a JSON answer before any CSV byte.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest

from graphql_api.services.exports import CODES_COLUMNS, USAGES_COLUMNS
from tests.support.callers import KEYS
from tests.support.database import Database
from tests.support.factories import campaign_with_codes, create_user_coupon, redeem, rollback
from tests.support.graphql import GraphQLClient
from tests.support.servers import REPO, ThreadServer, environment, free_port

CODES = "/exports/codes.csv"
USAGES = "/exports/usages.csv"
CSV_TYPE = "text/csv; charset=utf-8"


def export(base_url: str, path: str, key: str | None = None, **params: str) -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return httpx.get(f"{base_url}{path}", params=params, headers=headers, timeout=60)


def rows_of(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(), newline="")))


def iso(moment: Any) -> str:
    return "" if moment is None else str(moment.isoformat())


def run_export(database_url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`coupons export ...` as a process; its output as bytes (CSV's CRLF left alone)."""
    return subprocess.run(  # noqa: S603  # our own command line
        [sys.executable, "-m", "graphql_api", "export", *args],
        cwd=REPO,
        env=environment({"DATABASE_URL": database_url}),
        capture_output=True,
        timeout=60,
        check=False,
    )


def assert_refused(response: httpx.Response, status: int, code: str) -> str:
    """A whole JSON answer in the GraphQL error shape: no CSV byte was sent."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert errors[0]["extensions"]["code"] == code
    message: str = errors[0]["message"]
    return message


# --- codes.csv ------------------------------------------------------------------------------


def test_codes_are_a_header_and_every_code_oldest_first(
    server: ThreadServer, gql: GraphQLClient, db: Database
) -> None:
    # given 2,500 codes written in one transaction (one created_at: the ids order them,
    # across chunks of 1,000), one of them handed to a user, one redeemed
    campaign_id, codes = campaign_with_codes(gql, db, 2500)
    db.execute("UPDATE coupons SET user_id = 'user-7' WHERE code = $1", codes[10])
    assert redeem(gql, code=codes[20], userId="user-8", orderId="o-1", orderValue="50")["usage"]
    stored = db.fetch(
        "SELECT code, user_id, created_at FROM coupons WHERE campaign_id = $1::uuid ORDER BY id",
        campaign_id,
    )
    assert len({row["created_at"] for row in stored}) == 1

    # when
    response = export(server.base_url, CODES, campaignId=campaign_id)

    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_TYPE
    assert (
        response.headers["content-disposition"] == f'attachment; filename="codes-{campaign_id}.csv"'
    )
    rows = rows_of(response.content)
    assert rows[0] == list(CODES_COLUMNS)
    assert response.content.startswith(b"code,status,user_id,uses,max_uses,created_at\r\n")
    expected = [
        [
            row["code"],
            "EXHAUSTED" if row["code"] == codes[20] else "ACTIVE",
            row["user_id"] or "",
            "1" if row["code"] == codes[20] else "0",
            "1",
            iso(row["created_at"]),
        ]
        for row in stored
    ]
    assert rows[1:] == expected


def test_codes_of_a_campaign_without_codes_are_the_header_alone(
    server: ThreadServer, gql: GraphQLClient, db: Database
) -> None:
    # given
    campaign_id, _ = campaign_with_codes(gql, db, 0)

    # when
    response = export(server.base_url, CODES, campaignId=campaign_id)

    # then
    assert response.status_code == 200
    assert response.content == b"code,status,user_id,uses,max_uses,created_at\r\n"


# --- usages.csv -----------------------------------------------------------------------------


def test_usages_of_a_campaign_are_every_usage_oldest_first_rolled_back_ones_too(
    server: ThreadServer, gql: GraphQLClient, db: Database
) -> None:
    # given two redemptions on a campaign's codes, the first rolled back, and one elsewhere
    campaign_id, codes = campaign_with_codes(gql, db, 3)
    first = redeem(
        gql,
        code=codes[0],
        userId="user-1",
        orderId="order-1",
        orderValue="100",
        ipAddress="203.0.113.7",
        userAgent='Shop "BFF", v2',
    )["usage"]
    second = redeem(gql, code=codes[1], userId="user-2", orderId="order-2", orderValue="3.5")[
        "usage"
    ]
    assert rollback(gql, "order-1", reason="refunded")["errors"] == []
    other = create_user_coupon(gql, userId="user-3")
    assert redeem(gql, code=other["code"], userId="user-3", orderId="order-3", orderValue="20")[
        "usage"
    ]
    stored = {
        str(row["id"]): row
        for row in db.fetch("SELECT id, used_at, rolled_back_at FROM coupon_usages")
    }

    # when
    response = export(server.base_url, USAGES, campaignId=campaign_id)

    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_TYPE
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="usages-campaign-{campaign_id}.csv"'
    )
    rows = rows_of(response.content)
    assert rows[0] == list(USAGES_COLUMNS)
    assert rows[1:] == [
        [
            first["id"],
            codes[0],
            first["coupon"]["id"],
            campaign_id,
            "user-1",
            "order-1",
            "100.00",
            "5.00",
            "95.00",
            "ROLLED_BACK",
            "203.0.113.7",
            'Shop "BFF", v2',
            iso(stored[first["id"]]["used_at"]),
            iso(stored[first["id"]]["rolled_back_at"]),
            "refunded",
        ],
        [
            second["id"],
            codes[1],
            second["coupon"]["id"],
            campaign_id,
            "user-2",
            "order-2",
            "3.50",
            "3.50",
            "0.00",
            "REDEEMED",
            "127.0.0.1",  # the request's own address, as redeemCoupon records it
            "python-httpx/" + httpx.__version__,
            iso(stored[second["id"]]["used_at"]),
            "",
            "",
        ],
    ]
    assert b'"Shop ""BFF"", v2"' in response.content  # quoted as RFC 4180 says


def test_usages_of_one_coupon(server: ThreadServer, gql: GraphQLClient, db: Database) -> None:
    # given a coupon outside any campaign with a usage, and a campaign code with another
    coupon = create_user_coupon(gql, userId="user-3")
    usage = redeem(gql, code=coupon["code"], userId="user-3", orderId="o-3", orderValue="20")[
        "usage"
    ]
    _, codes = campaign_with_codes(gql, db, 1)
    assert redeem(gql, code=codes[0], userId="user-4", orderId="o-4", orderValue="20")["usage"]

    # when
    response = export(server.base_url, USAGES, couponId=coupon["id"])

    # then
    assert response.status_code == 200
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="usages-coupon-{coupon["id"]}.csv"'
    )
    rows = rows_of(response.content)
    assert [row[:4] for row in rows[1:]] == [[usage["id"], coupon["code"], coupon["id"], ""]]


def test_usages_written_together_are_ordered_by_id_across_chunks(
    server: ThreadServer, gql: GraphQLClient, db: Database
) -> None:
    # given 2,345 usages written by one statement: they share used_at
    campaign_id, codes = campaign_with_codes(gql, db, 1)
    db.execute(
        "INSERT INTO coupon_usages (coupon_id, campaign_id, user_id, order_id, order_value,"
        " discount_applied, final_amount)"
        " SELECT c.id, c.campaign_id, 'user-' || n, 'order-' || n, 10, 1, 9"
        " FROM coupons c CROSS JOIN generate_series(1, 2345) AS n WHERE c.code = $1",
        codes[0],
    )
    expected = [str(row["id"]) for row in db.fetch("SELECT id FROM coupon_usages ORDER BY id")]

    # when
    response = export(server.base_url, USAGES, campaignId=campaign_id)

    # then
    rows = rows_of(response.content)
    assert [row[0] for row in rows[1:]] == expected


# --- refusals -------------------------------------------------------------------------------

EXPORTS = [(CODES, "campaignId"), (USAGES, "campaignId"), (USAGES, "couponId")]


@pytest.mark.parametrize(("path", "parameter"), EXPORTS)
@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        (None, 401, "UNAUTHENTICATED"),
        ("not-a-key", 401, "UNAUTHENTICATED"),
        (KEYS["storefront"], 403, "FORBIDDEN"),
    ],
    ids=["no key", "wrong key", "storefront key"],
)
def test_only_an_admin_key_exports(
    keyed_servers: dict[str, ThreadServer],
    gql: GraphQLClient,
    db: Database,
    path: str,
    parameter: str,
    key: str | None,
    status: int,
    code: str,
) -> None:
    # given a campaign with a code that has a usage
    campaign_id, codes = campaign_with_codes(gql, db, 1)
    usage = redeem(gql, code=codes[0], userId="user-1", orderId="o-1", orderValue="20")["usage"]
    wanted = campaign_id if parameter == "campaignId" else usage["coupon"]["id"]
    base_url = keyed_servers["executed"].base_url

    # when
    response = export(base_url, path, key, **{parameter: wanted})

    # then
    assert_refused(response, status, code)
    if status == 401:
        assert response.headers["www-authenticate"] == 'Bearer realm="coupons"'
    assert export(base_url, path, KEYS["admin"], **{parameter: wanted}).status_code == 200


def test_a_browser_without_a_key_gets_no_page_and_no_rows(
    keyed_servers: dict[str, ThreadServer], gql: GraphQLClient, db: Database
) -> None:
    # given (GET /graphql without a key shows GraphiQL to a browser: an export has no page)
    campaign_id, _ = campaign_with_codes(gql, db, 1)

    # when
    response = httpx.get(
        f"{keyed_servers['executed'].base_url}{CODES}",
        params={"campaignId": campaign_id},
        headers={"Accept": "text/html"},
    )

    # then
    assert_refused(response, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "says"),
    [
        (CODES, {}, 400, "INVALID_INPUT", "campaignId is required"),
        (CODES, {"campaignId": "not-a-uuid"}, 400, "INVALID_INPUT", "campaignId must be a UUID"),
        (CODES, {"campaignId": str(uuid.uuid4())}, 404, "NOT_FOUND", "No campaign with id"),
        (CODES, {"couponId": str(uuid.uuid4())}, 400, "INVALID_INPUT", "takes campaignId"),
        (CODES, {"campaign_id": str(uuid.uuid4())}, 400, "INVALID_INPUT", "'campaign_id'"),
        (USAGES, {}, 400, "INVALID_INPUT", "exactly one of campaignId and couponId"),
        (
            USAGES,
            {"campaignId": str(uuid.uuid4()), "couponId": str(uuid.uuid4())},
            400,
            "INVALID_INPUT",
            "exactly one of campaignId and couponId",
        ),
        (USAGES, {"couponId": "12345"}, 400, "INVALID_INPUT", "couponId must be a UUID"),
        (USAGES, {"campaignId": str(uuid.uuid4())}, 404, "NOT_FOUND", "No campaign with id"),
        (USAGES, {"couponId": str(uuid.uuid4())}, 404, "NOT_FOUND", "No coupon with id"),
    ],
)
def test_bad_parameters_are_refused_with_json(
    server: ThreadServer,
    clean_db: Database,
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
    says: str,
) -> None:
    # when
    response = export(server.base_url, path, **params)

    # then
    assert says in assert_refused(response, status, code)


def test_a_parameter_given_twice_is_refused(server: ThreadServer, clean_db: Database) -> None:
    # when
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    response = httpx.get(f"{server.base_url}{CODES}", params={"campaignId": ids})

    # then
    assert "more than once" in assert_refused(response, 400, "INVALID_INPUT")


def test_an_export_is_got_not_posted(server: ThreadServer, clean_db: Database) -> None:
    # when
    response = httpx.post(f"{server.base_url}{CODES}", params={"campaignId": str(uuid.uuid4())})

    # then
    assert_refused(response, 405, "METHOD_NOT_ALLOWED")


def test_head_answers_the_headers_without_rows(
    server: ThreadServer, gql: GraphQLClient, db: Database
) -> None:
    # given
    campaign_id, _ = campaign_with_codes(gql, db, 3)

    # when
    response = httpx.head(f"{server.base_url}{CODES}", params={"campaignId": campaign_id})

    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_TYPE
    assert response.content == b""


# --- streaming ------------------------------------------------------------------------------

MANY = 200_000


def test_a_large_export_streams_from_its_first_row_in_constant_memory(
    server: ThreadServer, gql: GraphQLClient, db: Database
) -> None:
    # given 200,000 codes, written by one statement
    campaign_id, _ = campaign_with_codes(gql, db, 0)
    db.execute(
        "INSERT INTO coupons (code, type, campaign_id, discount_type, discount_value,"
        " max_uses_per_user, max_total_uses)"
        " SELECT 'BULK-' || lpad(n::text, 8, '0'), 'CAMPAIGN', $1::uuid, 'FIXED', 5, 1, 1"
        " FROM generate_series(1, $2::int) AS n",
        campaign_id,
        MANY,
    )
    snapshot_open = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND xact_start IS NOT NULL"
        " AND query LIKE '%ORDER BY coupons.created_at, coupons.id%'"
    )

    # when the first line has arrived
    with httpx.stream(
        "GET", f"{server.base_url}{CODES}", params={"campaignId": campaign_id}, timeout=60
    ) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        header = next(lines)
        # then the server is still reading: its snapshot is open, waiting on this reader
        time.sleep(0.3)
        assert db.value(snapshot_open) == 1
        # and every row arrives, once
        count = sum(1 for line in lines if line)

    assert header == ",".join(CODES_COLUMNS)
    assert count == MANY
    # and the snapshot ended with the answer
    assert db.value(snapshot_open) == 0


# --- coupons export -------------------------------------------------------------------------


def test_the_command_writes_what_the_endpoint_answers(
    server: ThreadServer, gql: GraphQLClient, db: Database, database_url: str
) -> None:
    # given a campaign with codes, one redeemed and then rolled back
    campaign_id, codes = campaign_with_codes(gql, db, 1500)
    usage = redeem(gql, code=codes[0], userId="user-1", orderId="o-1", orderValue="20")["usage"]
    assert rollback(gql, "o-1")["errors"] == []

    for what, option, wanted, path in [
        ("codes", "--campaign", campaign_id, CODES),
        ("usages", "--campaign", campaign_id, USAGES),
        ("usages", "--coupon", usage["coupon"]["id"], USAGES),
    ]:
        # when
        finished = run_export(database_url, what, option, wanted)

        # then
        parameter = "campaignId" if option == "--campaign" else "couponId"
        answered = export(server.base_url, path, **{parameter: wanted})
        assert finished.returncode == 0, finished.stderr
        assert finished.stdout == answered.content
        # stderr is no terminal here: no bar, only the summary
        assert finished.stderr.decode().startswith("exported ")
        assert "\r" not in finished.stderr.decode()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("codes", "--campaign", "00000000-0000-0000-0000-000000000000"), "No campaign with id"),
        (("usages", "--coupon", "00000000-0000-0000-0000-000000000000"), "No coupon with id"),
        (("codes", "--campaign", "nope"), "--campaign must be a UUID"),
        (("codes",), "--campaign is required"),
        (("usages",), "exactly one of --campaign and --coupon"),
        (("codes", "--coupon", str(uuid.uuid4())), "drop --coupon"),
    ],
)
def test_the_command_refuses_in_one_line_with_status_2(
    database_url: str, clean_db: Database, args: tuple[str, ...], says: str
) -> None:
    # when
    finished = run_export(database_url, *args)

    # then
    stderr = finished.stderr.decode()
    assert finished.returncode == 2, stderr
    assert finished.stdout == b""
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert says in stderr


def test_the_command_says_when_the_database_fails_with_status_1() -> None:
    # given nothing listens there
    url = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/shop"

    # when
    finished = run_export(url, "codes", "--campaign", str(uuid.uuid4()))

    # then
    stderr = finished.stderr.decode()
    assert finished.returncode == 1, stderr
    assert finished.stdout == b""
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "cannot connect to the database at postgresql://app:***@127.0.0.1" in stderr
    assert "s3cret" not in stderr
