"""Code guessing: NOT_FOUND answers are counted per userId and per client IP.

Contract: "a caller's failed redeemCoupon / validateCoupon attempts with NOT_FOUND are
counted per userId and per client IP (the forwarded ipAddress when a storefront sends
one); past 10 in 60 seconds, further attempts answer the error code RATE_LIMITED until
the window passes; both figures are settings; the count is shared by all replicas."

And "client IP: the TCP peer's address, unless that peer is listed in
COUPONS_TRUSTED_PROXIES, in which case the last untrusted address of X-Forwarded-For".

Every request of these tests comes from 127.0.0.1; tests that must tell the user's count
from the address's forward distinct `ipAddress` values, as a storefront's backend would.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.support.factories import REDEEM_COUPON, create_timed_coupon, create_user_coupon, redeem
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer, process_server, thread_server

VALIDATE_COUPON = """
query ValidateCoupon($input: ValidateCouponInput!) {
  validateCoupon(input: $input) {
    valid
    coupon { code }
    discountAmount
    errors { code field message }
  }
}
"""

LIMIT = 10  # the contract's default


def validate(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = gql(VALIDATE_COUPON, {"input": fields})["validateCoupon"]
    return payload


def error_code(payload: dict[str, Any]) -> str:
    """The one error of a refused payload, or OK."""
    if not payload["errors"]:
        return "OK"
    assert len(payload["errors"]) == 1, payload["errors"]
    code: str = payload["errors"][0]["code"]
    return code


def guess(gql: GraphQLClient, user: str, attempt: int, **fields: Any) -> str:
    """Redeem a code that does not exist; the answer's error code."""
    return error_code(
        redeem(
            gql,
            code=f"NOPE-{attempt:04d}",
            userId=user,
            orderId=f"{user}-guess-{attempt}",
            orderValue="10",
            **fields,
        )
    )


def guess_by_validating(gql: GraphQLClient, user: str, attempt: int, **fields: Any) -> str:
    return error_code(
        validate(gql, code=f"NOPE-{attempt:04d}", userId=user, orderValue="10", **fields)
    )


def failures(db: Any, subject: str) -> int | None:
    value: int | None = db.value("select failures from guess_counters where subject = $1", subject)
    return value


def assert_rate_limited(payload: dict[str, Any]) -> None:
    assert payload["usage"] is None
    assert payload["discountAmount"] is None
    assert payload["finalAmount"] is None
    assert [error["code"] for error in payload["errors"]] == ["RATE_LIMITED"]
    assert payload["errors"][0]["message"]


def assert_nothing_redeemed(db: Any) -> None:
    assert db.value("select count(*) from coupon_usages") == 0
    assert db.value("select coalesce(sum(current_total_uses), 0) from coupons") == 0


@contextmanager
def client_of(running: ThreadServer) -> Iterator[GraphQLClient]:
    client = GraphQLClient(running.base_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def short_window(database_url: str, clean_db: Any) -> Iterator[GraphQLClient]:
    """A server with a 3-guess limit in a 2-second window.

    Function-scoped on purpose: its sweeper deletes counters older than 2 seconds from the
    shared database, which must not happen while other tests count to 10.
    """
    with (
        thread_server(database_url, guess_limit=3, guess_window_seconds=2) as running,
        client_of(running) as client,
    ):
        yield client


@pytest.fixture
def behind_proxy(database_url: str, clean_db: Any) -> Iterator[GraphQLClient]:
    """A server that trusts 127.0.0.1, where every test request comes from, as a proxy."""
    with (
        thread_server(database_url, trusted_proxies="127.0.0.1") as running,
        client_of(running) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def workers_url(database_url: str) -> Iterator[str]:
    """`coupons serve` with four worker processes that share nothing but the database."""
    with process_server({"DATABASE_URL": database_url}, "--workers", "4") as running:
        yield running.base_url


# --- the limit -------------------------------------------------------------------------------


def test_ten_unknown_codes_are_not_found_then_every_attempt_is_rate_limited(gql, db):
    # given a real campaign code, and a user who has guessed wrong ten times
    create_timed_coupon(gql, code="REAL-CODE")
    answers = [guess(gql, "guesser", n) for n in range(LIMIT)]
    assert answers == ["NOT_FOUND"] * LIMIT
    # when
    eleventh = redeem(
        gql, code="NOPE-0011", userId="guesser", orderId="guesser-11", orderValue="10"
    )
    real = redeem(gql, code="REAL-CODE", userId="guesser", orderId="guesser-12", orderValue="10")
    # then even the real code learns nothing and redeems nothing
    assert_rate_limited(eleventh)
    assert_rate_limited(real)
    assert_nothing_redeemed(db)


def test_the_count_lives_in_the_database_per_user_and_per_address(gql, db):
    # given no failures yet
    assert db.value("select count(*) from guess_counters") == 0
    # when a user guesses wrong three times, without forwarding an address
    for n in range(3):
        assert guess(gql, "counted", n) == "NOT_FOUND"
    # then
    assert failures(db, "user:counted") == 3
    assert failures(db, "ip:127.0.0.1") == 3


def test_attempts_refused_as_rate_limited_are_not_counted_again(gql, db):
    # given a user at the limit
    for n in range(LIMIT):
        guess(gql, "guesser", n, ipAddress=f"203.0.113.{n + 1}")
    # when
    for n in range(5):
        assert guess(gql, "guesser", LIMIT + n, ipAddress="203.0.113.200") == "RATE_LIMITED"
    # then
    assert failures(db, "user:guesser") == LIMIT
    assert failures(db, "ip:203.0.113.200") is None


# --- per user and per client IP -------------------------------------------------------------


def test_a_user_is_limited_whatever_address_they_guess_from(gql, db):
    # given a user who guesses from a new address each time
    create_timed_coupon(gql, code="REAL-CODE")
    answers = [guess(gql, "roamer", n, ipAddress=f"203.0.113.{n + 1}") for n in range(LIMIT)]
    assert answers == ["NOT_FOUND"] * LIMIT
    # when
    from_a_fresh_address = guess(gql, "roamer", LIMIT, ipAddress="203.0.113.99")
    with_the_real_code = redeem(
        gql,
        code="REAL-CODE",
        userId="roamer",
        orderId="roamer-real",
        orderValue="10",
        ipAddress="203.0.113.98",
    )
    # then
    assert from_a_fresh_address == "RATE_LIMITED"
    assert_rate_limited(with_the_real_code)
    assert_nothing_redeemed(db)


def test_another_user_from_the_same_address_is_still_served(gql, db):
    # given a user at the limit, guessing from addresses of which none is at the limit
    create_timed_coupon(gql, code="REAL-CODE")
    for n in range(LIMIT):
        assert guess(gql, "roamer", n, ipAddress=f"203.0.113.{n + 1}") == "NOT_FOUND"
    assert guess(gql, "roamer", LIMIT, ipAddress="203.0.113.1") == "RATE_LIMITED"
    # when another user comes from one of those addresses
    unknown = guess(gql, "neighbour", 0, ipAddress="203.0.113.1")
    real = redeem(
        gql,
        code="REAL-CODE",
        userId="neighbour",
        orderId="neighbour-1",
        orderValue="10",
        ipAddress="203.0.113.1",
    )
    # then
    assert unknown == "NOT_FOUND"
    assert real["errors"] == []
    assert real["usage"]["ipAddress"] == "203.0.113.1"


@pytest.mark.parametrize("forwarded", [True, False], ids=["forwarded-ipAddress", "tcp-peer"])
def test_an_address_is_limited_whatever_user_names_it_sends(gql, db, forwarded):
    # given ten users guessing wrong once each, all from one address
    address = "198.51.100.7" if forwarded else "127.0.0.1"
    fields = {"ipAddress": address} if forwarded else {}
    create_timed_coupon(gql, code="REAL-CODE")
    answers = [guess(gql, f"sock-{n}", n, **fields) for n in range(LIMIT)]
    assert answers == ["NOT_FOUND"] * LIMIT
    # when an eleventh user name tries from the same address
    eleventh = guess(gql, "sock-10", LIMIT, **fields)
    real = redeem(
        gql, code="REAL-CODE", userId="sock-11", orderId="sock-11", orderValue="10", **fields
    )
    # then
    assert eleventh == "RATE_LIMITED"
    assert_rate_limited(real)
    assert_nothing_redeemed(db)
    assert failures(db, f"ip:{address}") == LIMIT


def test_a_different_address_is_not_limited_by_another_address_count(gql, db):
    # given an address at the limit
    create_timed_coupon(gql, code="REAL-CODE")
    for n in range(LIMIT):
        assert guess(gql, f"sock-{n}", n, ipAddress="198.51.100.7") == "NOT_FOUND"
    assert guess(gql, "sock-10", LIMIT, ipAddress="198.51.100.7") == "RATE_LIMITED"
    # when a new user comes from another address
    unknown = guess(gql, "honest", 0, ipAddress="198.51.100.8")
    real = redeem(
        gql,
        code="REAL-CODE",
        userId="honest",
        orderId="honest-1",
        orderValue="10",
        ipAddress="198.51.100.8",
    )
    # then
    assert unknown == "NOT_FOUND"
    assert real["errors"] == []


def test_one_address_written_in_different_ways_is_counted_once(gql, db):
    # given the same IPv6 address spelled four ways
    spellings = ["2001:db8::1", "2001:DB8::1", "2001:0db8:0:0:0:0:0:0001", " 2001:db8::0:1 "]
    # when
    answers = [
        guess(gql, f"spelling-{n}", n, ipAddress=spellings[n % len(spellings)])
        for n in range(LIMIT + 1)
    ]
    # then
    assert answers == ["NOT_FOUND"] * LIMIT + ["RATE_LIMITED"]
    assert failures(db, "ip:2001:db8::1") == LIMIT


# --- what counts -----------------------------------------------------------------------------


def test_failed_validations_count_together_with_failed_redemptions(gql, db):
    # given five unknown codes validated and five redeemed, in turns
    create_timed_coupon(gql, code="REAL-CODE")
    answers = [
        (guess_by_validating if n % 2 else guess)(gql, "mixer", n, ipAddress=f"203.0.113.{n + 1}")
        for n in range(LIMIT)
    ]
    assert answers == ["NOT_FOUND"] * LIMIT
    # when
    validated = validate(
        gql, code="REAL-CODE", userId="mixer", orderValue="10", ipAddress="203.0.113.50"
    )
    redeemed = guess(gql, "mixer", LIMIT, ipAddress="203.0.113.51")
    # then
    assert validated["valid"] is False
    assert validated["coupon"] is None
    assert validated["discountAmount"] is None
    assert [error["code"] for error in validated["errors"]] == ["RATE_LIMITED"]
    assert redeemed == "RATE_LIMITED"
    assert failures(db, "user:mixer") == LIMIT


def test_ten_failed_validations_alone_reach_the_limit_for_redemptions(gql, db):
    # given
    create_timed_coupon(gql, code="REAL-CODE")
    for n in range(LIMIT):
        assert guess_by_validating(gql, "checker", n) == "NOT_FOUND"
    # when
    real = redeem(gql, code="REAL-CODE", userId="checker", orderId="checker-1", orderValue="10")
    # then
    assert_rate_limited(real)
    assert_nothing_redeemed(db)


def test_codes_of_other_users_count_as_guesses(gql, db):
    # given a user coupon of alice, which is NOT_FOUND for anyone else
    coupon = create_user_coupon(gql, userId="alice")
    # when mallory tries it again and again
    answers = [
        error_code(
            redeem(gql, code=coupon["code"], userId="mallory", orderId=f"m-{n}", orderValue="50")
        )
        for n in range(LIMIT + 1)
    ]
    # then
    assert answers == ["NOT_FOUND"] * LIMIT + ["RATE_LIMITED"]
    assert failures(db, "user:mallory") == LIMIT


def arrange_refusal(gql: GraphQLClient, db: Any, refusal: str) -> dict[str, Any]:
    """A coupon the user `spender` is refused with `refusal`; the input fields to try it."""
    if refusal == "INVALID_INPUT":
        return {"code": "X" * 51}
    if refusal == "INACTIVE":
        create_timed_coupon(gql, code="PAUSED")
        db.execute("update coupons set status = 'INACTIVE'")
        return {"code": "PAUSED"}
    if refusal == "EXPIRED":
        create_timed_coupon(gql, code="GONE")
        db.execute("update coupons set valid_until = now() - interval '1 second'")
        return {"code": "GONE"}
    if refusal == "MIN_ORDER_VALUE_NOT_MET":
        create_timed_coupon(gql, code="MIN50", minOrderValue="50")
        return {"code": "MIN50"}
    if refusal == "ALREADY_REDEEMED":
        coupon = create_user_coupon(gql, userId="spender")
        first = redeem(gql, code=coupon["code"], userId="spender", orderId="first", orderValue="10")
        assert first["errors"] == []
        return {"code": coupon["code"]}
    if refusal == "ORDER_ALREADY_USED":
        create_timed_coupon(gql, code="FIRST", maxUsesPerUser=100)
        create_timed_coupon(gql, code="SECOND", maxUsesPerUser=100)
        first = redeem(gql, code="FIRST", userId="spender", orderId="taken", orderValue="10")
        assert first["errors"] == []
        return {"code": "SECOND", "orderId": "taken"}
    raise AssertionError(refusal)


@pytest.mark.parametrize(
    "refusal",
    [
        "INVALID_INPUT",
        "INACTIVE",
        "EXPIRED",
        "MIN_ORDER_VALUE_NOT_MET",
        "ALREADY_REDEEMED",
        "ORDER_ALREADY_USED",
    ],
)
def test_refusals_other_than_not_found_are_not_counted(gql, db, refusal):
    # given
    fields = arrange_refusal(gql, db, refusal)
    # when the user is refused well past the limit, by redeeming and by validating
    redeemed = [
        error_code(
            redeem(
                gql,
                **{"userId": "spender", "orderId": f"order-{n}", "orderValue": "10", **fields},
            )
        )
        for n in range(LIMIT + 2)
    ]
    validated = [
        error_code(validate(gql, **{"userId": "spender", "orderValue": "10", **fields}))
        for _ in range(LIMIT + 2)
    ]
    # then
    assert set(redeemed) == {refusal}
    assert set(validated) == {refusal}
    assert db.value("select count(*) from guess_counters") == 0
    assert guess(gql, "spender", 0) == "NOT_FOUND"


def test_successful_redemptions_and_validations_are_not_counted(gql, db):
    # given
    create_timed_coupon(gql, code="MANY", maxUsesPerUser=100)
    # when
    for n in range(LIMIT + 2):
        assert validate(gql, code="MANY", userId="regular", orderValue="10")["valid"] is True
        assert (
            redeem(gql, code="MANY", userId="regular", orderId=f"r-{n}", orderValue="10")["errors"]
            == []
        )
    # then
    assert db.value("select count(*) from guess_counters") == 0


# --- several attempts in one request ---------------------------------------------------------


def aliased(operation: str, field: str, input_type: str, count: int, selection: str) -> str:
    variables = ", ".join(f"$i{n}: {input_type}!" for n in range(count))
    fields = "\n".join(f"  g{n}: {field}(input: $i{n}) {selection}" for n in range(count))
    return f"{operation} Guesses({variables}) {{\n{fields}\n}}"


def test_aliased_redemptions_in_one_request_are_counted_one_by_one(gql, db):
    # given one mutation document with twelve redemptions of unknown codes
    document = aliased(
        "mutation", "redeemCoupon", "RedeemCouponInput", 12, "{ usage { id } errors { code } }"
    )
    variables = {
        f"i{n}": {"code": f"NOPE-{n}", "userId": "batcher", "orderId": f"b-{n}", "orderValue": "1"}
        for n in range(12)
    }
    # when
    data = gql(document, variables)
    # then mutations run in order: ten are answered, the rest refused
    answers = [error_code(data[f"g{n}"]) for n in range(12)]
    assert answers == ["NOT_FOUND"] * LIMIT + ["RATE_LIMITED"] * 2
    assert failures(db, "user:batcher") == LIMIT


def test_aliased_validations_running_together_learn_no_more_than_the_limit(gql, db):
    # given one query document with fifteen validations of unknown codes, which run at once
    document = aliased(
        "query", "validateCoupon", "ValidateCouponInput", 15, "{ valid errors { code } }"
    )
    variables = {
        f"i{n}": {"code": f"NOPE-{n}", "userId": "batcher", "orderValue": "1"} for n in range(15)
    }
    # when
    data = gql(document, variables)
    # then exactly ten learn that their code does not exist: each attempt is either counted
    # as a failure (the first ten counted answer NOT_FOUND, any later one RATE_LIMITED) or
    # refused because the count had reached the limit
    answers = Counter(error_code(data[f"g{n}"]) for n in range(15))
    assert answers == {"NOT_FOUND": LIMIT, "RATE_LIMITED": 15 - LIMIT}
    assert LIMIT <= (failures(db, "user:batcher") or 0) <= 15
    assert guess(gql, "batcher", 99) == "RATE_LIMITED"


# --- the window ------------------------------------------------------------------------------


def test_attempts_are_served_again_once_the_window_has_passed(short_window, db):
    # given a user at the limit of 3 in a 2-second window
    gql = short_window
    create_timed_coupon(gql, code="REAL-CODE")
    answers = [guess(gql, "patient", n, ipAddress=f"203.0.113.{n + 1}") for n in range(4)]
    assert answers == ["NOT_FOUND"] * 3 + ["RATE_LIMITED"]
    limited = redeem(
        gql,
        code="REAL-CODE",
        userId="patient",
        orderId="p-1",
        orderValue="10",
        ipAddress="203.0.113.9",
    )
    assert_rate_limited(limited)
    # when
    time.sleep(2.5)
    real = redeem(
        gql,
        code="REAL-CODE",
        userId="patient",
        orderId="p-2",
        orderValue="10",
        ipAddress="203.0.113.9",
    )
    unknown = guess(gql, "patient", 5, ipAddress="203.0.113.9")
    # then
    assert real["errors"] == []
    assert real["usage"]["userId"] == "patient"
    assert unknown == "NOT_FOUND"
    assert failures(db, "user:patient") == 1  # a new window, started by this failure


# --- across worker processes -----------------------------------------------------------------


async def post_all(base_url: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send every request at once, each on its own connection; the `data` of each."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(*(client.post("/graphql", json=b) for b in bodies))
    assert [r.status_code for r in responses] == [200] * len(bodies), [r.text for r in responses]
    payloads = [r.json() for r in responses]
    assert all("errors" not in p for p in payloads), payloads
    return [p["data"] for p in payloads]


def guess_body(user: str, attempt: int) -> dict[str, Any]:
    fields = {
        "code": f"NOPE-{attempt}",
        "userId": user,
        "orderId": f"w-{attempt}",
        "orderValue": "1",
    }
    return {"query": REDEEM_COUPON, "variables": {"input": fields}}


@pytest.mark.race
async def test_the_count_is_shared_by_all_worker_processes(workers_url, clean_db):
    # given four workers, and forty guesses by one user arriving at once
    concurrent = [guess_body("swarm", n) for n in range(40)]
    # when
    together = await post_all(workers_url, concurrent)
    later = await post_all(workers_url, [guess_body("swarm", 100)])
    later += await post_all(workers_url, [guess_body("swarm", 101)])
    later += await post_all(workers_url, [guess_body("swarm", 102)])
    # then exactly ten of the forty learn that their code does not exist (see above), and
    # every later attempt is refused
    answers = Counter(error_code(data["redeemCoupon"]) for data in together)
    assert answers == {"NOT_FOUND": LIMIT, "RATE_LIMITED": 40 - LIMIT}
    assert [error_code(data["redeemCoupon"]) for data in later] == ["RATE_LIMITED"] * 3
    assert LIMIT <= (failures(clean_db, "user:swarm") or 0) <= 40


# --- the client IP ---------------------------------------------------------------------------

FORWARDED = {"X-Forwarded-For": "198.51.100.9, 127.0.0.1"}


def redeem_with_headers(
    gql: GraphQLClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = gql(REDEEM_COUPON, {"input": fields}, headers=headers)["redeemCoupon"]
    return payload


def test_behind_a_trusted_proxy_the_forwarded_client_is_recorded_and_counted(behind_proxy, db):
    # given
    gql = behind_proxy
    create_timed_coupon(gql, code="REAL-CODE")
    # when
    real = redeem_with_headers(
        gql, FORWARDED, code="REAL-CODE", userId="shopper", orderId="s-1", orderValue="10"
    )
    unknown = redeem_with_headers(
        gql, FORWARDED, code="NOPE", userId="shopper", orderId="s-2", orderValue="10"
    )
    # then
    assert real["errors"] == []
    assert real["usage"]["ipAddress"] == "198.51.100.9"
    assert error_code(unknown) == "NOT_FOUND"
    assert failures(db, "ip:198.51.100.9") == 1
    assert failures(db, "ip:127.0.0.1") is None


def test_behind_a_trusted_proxy_what_the_client_wrote_itself_is_ignored(behind_proxy, db):
    # given a client that sent its own X-Forwarded-For, which the proxy appended to
    gql = behind_proxy
    create_timed_coupon(gql, code="REAL-CODE")
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.9, 127.0.0.1"}
    # when
    real = redeem_with_headers(
        gql, headers, code="REAL-CODE", userId="shopper", orderId="s-1", orderValue="10"
    )
    # then
    assert real["usage"]["ipAddress"] == "198.51.100.9"


def test_behind_a_trusted_proxy_a_forwarded_ip_address_still_wins(behind_proxy, db):
    # given a storefront backend that forwards its end user's address
    gql = behind_proxy
    create_timed_coupon(gql, code="REAL-CODE")
    # when
    real = redeem_with_headers(
        gql,
        FORWARDED,
        code="REAL-CODE",
        userId="shopper",
        orderId="s-1",
        orderValue="10",
        ipAddress="203.0.113.5",
    )
    # then
    assert real["usage"]["ipAddress"] == "203.0.113.5"


def test_without_trusted_proxies_x_forwarded_for_is_ignored(gql, db):
    # given the default server, which trusts no proxy, and a caller that claims another address
    create_timed_coupon(gql, code="REAL-CODE")
    # when
    real = redeem_with_headers(
        gql, FORWARDED, code="REAL-CODE", userId="shopper", orderId="s-1", orderValue="10"
    )
    unknown = redeem_with_headers(
        gql, FORWARDED, code="NOPE", userId="shopper", orderId="s-2", orderValue="10"
    )
    # then the TCP peer is the client
    assert real["usage"]["ipAddress"] == "127.0.0.1"
    assert error_code(unknown) == "NOT_FOUND"
    assert failures(db, "ip:127.0.0.1") == 1
    assert failures(db, "ip:198.51.100.9") is None


def test_a_caller_cannot_escape_the_address_limit_by_claiming_other_addresses(gql, db):
    # given a caller on the default server (no trusted proxies) sending a new
    # X-Forwarded-For with every guess
    answers = [
        error_code(
            redeem_with_headers(
                gql,
                {"X-Forwarded-For": f"198.51.100.{n + 1}"},
                code=f"NOPE-{n}",
                userId=f"sock-{n}",
                orderId=f"x-{n}",
                orderValue="10",
            )
        )
        for n in range(LIMIT + 1)
    ]
    # then all its guesses are counted against its one real address
    assert answers == ["NOT_FOUND"] * LIMIT + ["RATE_LIMITED"]


async def test_coupons_serve_without_trusted_proxies_ignores_x_forwarded_for(
    workers_url, clean_db, gql
):
    # given `coupons serve` as deployed, with COUPONS_TRUSTED_PROXIES unset
    create_timed_coupon(gql, code="REAL-CODE")
    body = {
        "query": REDEEM_COUPON,
        "variables": {
            "input": {"code": "REAL-CODE", "userId": "shopper", "orderId": "s-1", "orderValue": "1"}
        },
    }
    # when
    async with httpx.AsyncClient(base_url=workers_url, timeout=30) as client:
        response = await client.post("/graphql", json=body, headers=FORWARDED)
    # then
    payload = response.json()["data"]["redeemCoupon"]
    assert payload["usage"]["ipAddress"] == "127.0.0.1"


# A proxy at 127.0.0.2: uvicorn trusts only 127.0.0.1 and ::1 on its own, so only the
# service's COUPONS_TRUSTED_PROXIES decides what this peer's X-Forwarded-For is worth.
PROXY_ADDRESS = "127.0.0.2"


@pytest.fixture
def from_proxy(database_url: str, clean_db: Any) -> Iterator[httpx.Client]:
    """A client at 127.0.0.2 talking to a server that trusts 127.0.0.0/29 as its proxies."""
    with thread_server(database_url, trusted_proxies="127.0.0.0/29") as running:
        transport = httpx.HTTPTransport(local_address=PROXY_ADDRESS)
        with httpx.Client(base_url=running.base_url, transport=transport, timeout=60) as client:
            yield client


def redeem_via(
    client: httpx.Client, headers: list[tuple[str, str]], **fields: Any
) -> dict[str, Any]:
    response = client.post(
        "/graphql", json={"query": REDEEM_COUPON, "variables": {"input": fields}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"]["redeemCoupon"]
    return payload


def test_proxies_in_a_trusted_range_are_skipped_to_the_client(gql, from_proxy):
    # given a chain client -> 127.0.0.3 -> 127.0.0.2, both proxies in the trusted range
    create_timed_coupon(gql, code="REAL-CODE")
    headers = [("X-Forwarded-For", "6.6.6.6, 198.51.100.9, 127.0.0.3")]
    # when
    real = redeem_via(
        from_proxy, headers, code="REAL-CODE", userId="shopper", orderId="s-1", orderValue="10"
    )
    # then
    assert real["usage"]["ipAddress"] == "198.51.100.9"


def test_x_forwarded_for_over_several_header_lines_is_one_list(gql, db, from_proxy):
    # given a client that sent its own X-Forwarded-For line, and a trusted proxy that added
    # another line rather than appending to it (as HAProxy's `option forwardfor` does)
    create_timed_coupon(gql, code="REAL-CODE")
    headers = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.9")]
    # when
    real = redeem_via(
        from_proxy, headers, code="REAL-CODE", userId="shopper", orderId="s-1", orderValue="10"
    )
    # then
    assert real["usage"]["ipAddress"] == "198.51.100.9"
