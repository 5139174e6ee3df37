"""coupon_redeem: the contract's redemption rules, run by PostgreSQL in one statement.

Contract, "Rules":
- Discount: PERCENTAGE is `orderValue * discountValue / 100`, rounded half-up to cents,
  capped at `maxDiscountAmount`; FIXED is `discountValue`. The discount never exceeds the
  order value; `finalAmount = orderValue - discount`.
- Redemption checks, in this order; the first that fails is the one error returned:
  2. the code exists and, for a USER_SPECIFIC coupon, belongs to `userId` (else NOT_FOUND)
  3. the `orderId` already has a usage: the same code, user and order value is a retry and
     returns that usage again, unchanged, with no new row and no count change; anything
     else is ORDER_ALREADY_USED
  4. INACTIVE; 5. NOT_YET_VALID / EXPIRED; 6. MIN_ORDER_VALUE_NOT_MET
  7. ALREADY_REDEEMED (USER_SPECIFIC) or USER_LIMIT_REACHED (TIME_SPECIFIC)
  8. EXHAUSTED
  9. the usage row (with ipAddress and userAgent), the count, and the EXHAUSTED status
     are written in one transaction.
- Status is EXHAUSTED once `currentTotalUses` reaches `maxTotalUses`.
- Guessing: NOT_FOUND answers are counted per userId and per client IP; past 10 in 60
  seconds, further attempts answer RATE_LIMITED until the window passes.

The function is called here as the service calls it, one autocommit statement per call;
a dry run is validateCoupon. Coupons and earlier usages are arranged with plain SQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from itertools import chain, combinations, count
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from graphql_api.services.guessing import subjects
from tests.support.database import Database, asyncpg_dsn

COUPON_COLUMNS = [
    "id",
    "code",
    "type",
    "discount_type",
    "discount_value",
    "max_discount_amount",
    "min_order_value",
    "description",
    "user_id",
    "valid_from",
    "valid_until",
    "max_uses_per_user",
    "max_total_uses",
    "current_total_uses",
    "status",
    "created_by",
    "created_at",
    "updated_at",
]
USAGE_COLUMNS = [
    "id",
    "user_id",
    "order_id",
    "order_value",
    "discount_applied",
    "final_amount",
    "used_at",
    "ip_address",
    "user_agent",
]
# The function answers whole rows (`coupon coupons`, `usage coupon_usages`); these tests
# read their columns flat: r_ for the answer, c_ for the coupon, u_ for the usage.
CALL = (  # this module's own column names, never outside input
    "SELECT r.outcome AS r_outcome, r.replayed AS r_replayed, r.discount AS r_discount,"  # noqa: S608
    " r.final_amount AS r_final_amount, "
    + ", ".join(f"(r.coupon).{name} AS c_{name}" for name in COUPON_COLUMNS)
    + ", "
    + ", ".join(f"(r.usage).{name} AS u_{name}" for name in USAGE_COLUMNS)
    + " FROM coupon_redeem($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL) AS r"
)
ORDER_VALUE = Decimal("50.00")
DAY = timedelta(days=1)
IP = "203.0.113.7"
OTHER_IP = "198.51.100.1"
USER_AGENT = "Shop/1.0"
GUESS_LIMIT = 10  # the contract's defaults
GUESS_WINDOW = timedelta(seconds=60)

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Enum values are sent as text: an enum parameter costs asyncpg a type lookup on every new
# connection, and `Database` opens one per call.
ENUM_COLUMNS = {"type": "coupon_type", "discount_type": "discount_type", "status": "coupon_status"}

_serial = count(1)


def new_code(prefix: str) -> str:
    """A code no other coupon of this run has: Hypothesis examples share one clean table."""
    return f"{prefix}-{next(_serial):06d}"


def insert_coupon(db: Database, *, earlier_uses_by_alice: int = 0, **columns: Any) -> str:
    """One row of `coupons`, exactly as given, and that many earlier usages of it by alice
    (the count column is left as given); its code. One statement: the checks' tests
    arrange a hundred coupons."""
    names = ", ".join(columns)
    placeholders = ", ".join(
        f"${n}::text::{ENUM_COLUMNS[name]}" if name in ENUM_COLUMNS else f"${n}"
        for n, name in enumerate(columns, start=2)
    )
    # The column names are this module's own keywords, never outside input.
    sql = f"""
        WITH coupon AS (
            INSERT INTO coupons ({names}) VALUES ({placeholders}) RETURNING id, code
        )
        INSERT INTO coupon_usages
            (coupon_id, user_id, order_id, order_value, discount_applied, final_amount)
        SELECT id, 'alice', code || '-earlier-' || n, 50.00, 5.00, 45.00
        FROM coupon, generate_series(1, $1::integer) AS n
    """  # noqa: S608
    db.execute(sql, earlier_uses_by_alice, *columns.values())
    code: str = columns["code"]
    return code


def insert_campaign(db: Database, **overrides: Any) -> str:
    """A TIME_SPECIFIC coupon, 10% off any order, open from yesterday to tomorrow."""
    now = datetime.now(UTC)
    columns: dict[str, Any] = {
        "code": new_code("CAMPAIGN"),
        "type": "TIME_SPECIFIC",
        "discount_type": "PERCENTAGE",
        "discount_value": Decimal("10.00"),
        "valid_from": now - DAY,
        "valid_until": now + DAY,
        "max_uses_per_user": 1,
    }
    return insert_coupon(db, **{**columns, **overrides})


def insert_user_coupon(db: Database, user: str = "alice", **overrides: Any) -> str:
    """An unused USER_SPECIFIC coupon of `user`'s, 10.00 off any order."""
    columns: dict[str, Any] = {
        "code": new_code("USER"),
        "type": "USER_SPECIFIC",
        "discount_type": "FIXED",
        "discount_value": Decimal("10.00"),
        "user_id": user,
        "max_uses_per_user": 1,
        "max_total_uses": 1,
    }
    return insert_coupon(db, **{**columns, **overrides})


def arguments(
    code: str,
    *,
    user: str,
    order_id: str | None,
    order_value: Decimal,
    ip: str | None,
    dry_run: bool,
) -> tuple[Any, ...]:
    """coupon_redeem's arguments, as the service passes them (less the hold's length)."""
    return (
        "VALIDATE" if dry_run else "REDEEM",
        code,
        user,
        order_id,
        order_value,
        ip,
        USER_AGENT,
        subjects(user, ip),
        GUESS_LIMIT,
        GUESS_WINDOW,
    )


def redeem(
    db: Database,
    code: str,
    *,
    order_id: str | None,
    user: str = "alice",
    order_value: Decimal = ORDER_VALUE,
    ip: str | None = IP,
    dry_run: bool = False,
) -> Any:
    """One call of coupon_redeem; its one row."""
    rows = db.fetch(
        CALL,
        *arguments(
            code, user=user, order_id=order_id, order_value=order_value, ip=ip, dry_run=dry_run
        ),
    )
    assert len(rows) == 1, rows
    return rows[0]


def validate(db: Database, code: str, *, order_id: str | None = None, **fields: Any) -> Any:
    """A dry run, as validateCoupon makes it."""
    return redeem(db, code, order_id=order_id, dry_run=True, **fields)


def coupon_state(db: Database, code: str) -> tuple[int, str, datetime]:
    row = db.fetch(
        "SELECT current_total_uses, status::text, updated_at FROM coupons WHERE code = $1", code
    )[0]
    return row["current_total_uses"], row["status"], row["updated_at"]


def usage_count(db: Database) -> int:
    number: int = db.value("SELECT count(*) FROM coupon_usages")
    return number


def guess_failures(db: Database, subject: str) -> int | None:
    number: int | None = db.value("SELECT failures FROM guess_counters WHERE subject = $1", subject)
    return number


def usage_columns(row: Any) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key.startswith("u_")}


def assert_refused(row: Any, code: str) -> None:
    """A refusal: the error code, no amounts and no usage."""
    assert row["r_outcome"] == code
    assert row["r_replayed"] is False
    assert row["r_discount"] is None
    assert row["r_final_amount"] is None
    assert set(usage_columns(row).values()) == {None}


# --- The discount -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("discount_type", "value", "cap", "order_value", "expected"),
    [
        # percentages, rounded half-up at the cent
        ("PERCENTAGE", "10", None, "80.00", "8.00"),
        ("PERCENTAGE", "10", None, "0.05", "0.01"),  # 0.005 rounds up
        ("PERCENTAGE", "10", None, "0.04", "0.00"),  # 0.004 rounds down
        ("PERCENTAGE", "12.5", None, "0.20", "0.03"),  # 0.025 rounds up
        ("PERCENTAGE", "12.5", None, "99.99", "12.50"),  # 12.49875
        ("PERCENTAGE", "33.33", None, "100.00", "33.33"),
        ("PERCENTAGE", "15", None, "33.33", "5.00"),  # 4.9995 rounds up
        ("PERCENTAGE", "0.01", None, "0.01", "0.00"),
        ("PERCENTAGE", "100", None, "59.99", "59.99"),  # the whole order
        ("PERCENTAGE", "100", None, "9999999999.99", "9999999999.99"),
        ("PERCENTAGE", "99.99", None, "9999999999.99", "9998999999.99"),  # 9998999999.990001
        # the cap
        ("PERCENTAGE", "50", "20.00", "100.00", "20.00"),
        ("PERCENTAGE", "50", "20.00", "30.00", "15.00"),  # under the cap
        ("PERCENTAGE", "50", "50.00", "100.00", "50.00"),  # exactly the cap
        ("PERCENTAGE", "100", "1000.00", "10.00", "10.00"),  # cap above the order
        # fixed amounts, never more than the order
        ("FIXED", "10.00", None, "80.00", "10.00"),
        ("FIXED", "10.00", None, "10.00", "10.00"),
        ("FIXED", "25.00", None, "19.99", "19.99"),
        ("FIXED", "9999999999.99", None, "0.01", "0.01"),
    ],
)
def test_a_dry_run_quotes_the_contract_discount(
    clean_db, discount_type, value, cap, order_value, expected
):
    # given
    code = insert_campaign(
        clean_db,
        discount_type=discount_type,
        discount_value=Decimal(value),
        max_discount_amount=None if cap is None else Decimal(cap),
    )
    # when
    row = validate(clean_db, code, order_value=Decimal(order_value))
    # then
    assert row["r_outcome"] == "OK"
    assert str(row["r_discount"]) == expected
    assert row["r_final_amount"] == Decimal(order_value) - Decimal(expected)
    assert row["r_final_amount"].as_tuple().exponent == -2


def test_a_user_coupon_worth_more_than_the_order_takes_the_whole_order(clean_db):
    # given 10.00 off
    code = insert_user_coupon(clean_db)
    # when
    row = validate(clean_db, code, order_value=Decimal("8.00"))
    # then
    assert (str(row["r_discount"]), str(row["r_final_amount"])) == ("8.00", "0.00")


cents = st.integers(min_value=1, max_value=999_999_999_999).map(lambda n: Decimal(n).scaleb(-2))
percentages = st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n).scaleb(-2))
# (discount_type, discount_value, max_discount_amount): a cap only on a percentage
any_terms = st.tuples(st.just("PERCENTAGE"), percentages, st.none() | cents) | st.tuples(
    st.just("FIXED"), cents, st.none()
)


def reference_discount(terms: tuple[str, Decimal, Decimal | None], order_value: Decimal) -> Decimal:
    """The contract's discount, in Python's decimal arithmetic."""
    discount_type, value, cap = terms
    if discount_type == "FIXED":
        return min(value, order_value)
    with localcontext() as context:
        context.prec = 40  # the exact product: at most 16 digits
        discount = (order_value * value / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cap is not None:
        discount = min(discount, cap)
    return min(discount, order_value)


def quote(db: Database, terms: tuple[str, Decimal, Decimal | None], order_value: Decimal) -> Any:
    """Insert a campaign with `terms` and dry-run an order of `order_value` with it."""
    discount_type, value, cap = terms
    code = insert_campaign(
        db, discount_type=discount_type, discount_value=value, max_discount_amount=cap
    )
    row = validate(db, code, order_value=order_value)
    assert row["r_outcome"] == "OK"
    return row


@PROPERTY_SETTINGS
@given(terms=any_terms, order_value=cents)
def test_a_discount_is_never_negative_nor_above_the_order_nor_above_its_cap(
    clean_db, terms, order_value
):
    # when
    discount = quote(clean_db, terms, order_value)["r_discount"]
    # then
    assert Decimal(0) <= discount <= order_value
    cap = terms[2]
    if cap is not None:
        assert discount <= cap


@PROPERTY_SETTINGS
@given(terms=any_terms, order_value=cents)
def test_a_discount_and_the_final_amount_are_in_cents_and_add_up_to_the_order(
    clean_db, terms, order_value
):
    # when
    row = quote(clean_db, terms, order_value)
    # then
    discount, final_amount = row["r_discount"], row["r_final_amount"]
    assert discount.as_tuple().exponent == -2
    assert final_amount.as_tuple().exponent == -2
    assert final_amount == order_value - discount


@PROPERTY_SETTINGS
@given(terms=any_terms, order_value=cents)
@example(terms=("PERCENTAGE", Decimal("15.00"), None), order_value=Decimal("33.33"))
@example(terms=("PERCENTAGE", Decimal("12.50"), None), order_value=Decimal("0.20"))
@example(terms=("PERCENTAGE", Decimal("100.00"), None), order_value=Decimal("9999999999.99"))
@example(terms=("FIXED", Decimal("9999999999.99"), None), order_value=Decimal("0.01"))
def test_a_discount_is_the_share_rounded_half_up_then_capped_then_at_most_the_order(
    clean_db, terms, order_value
):
    # when
    row = quote(clean_db, terms, order_value)
    # then
    assert row["r_discount"] == reference_discount(terms, order_value)


# --- The order of the checks --------------------------------------------------------------

# Each way a coupon can fail a check, and the error it alone causes. A row holds one stored
# status, and a window cannot be both ahead and behind.
CAMPAIGN_FAULTS = {
    "stored-inactive": "INACTIVE",
    "not-yet-open": "NOT_YET_VALID",
    "closed": "EXPIRED",
    "stored-expired": "EXPIRED",
    "below-minimum": "MIN_ORDER_VALUE_NOT_MET",
    "user-uses-spent": "USER_LIMIT_REACHED",
    "total-uses-spent": "EXHAUSTED",
    "stored-exhausted": "EXHAUSTED",
}
USER_COUPON_FAULTS = {
    "stored-inactive": "INACTIVE",
    "stored-expired": "EXPIRED",
    "below-minimum": "MIN_ORDER_VALUE_NOT_MET",
    "user-uses-spent": "ALREADY_REDEEMED",
    "total-uses-spent": "EXHAUSTED",
    "stored-exhausted": "EXHAUSTED",
}
CONTRACT_ORDER = [
    "INACTIVE",
    "NOT_YET_VALID",
    "EXPIRED",
    "MIN_ORDER_VALUE_NOT_MET",
    "ALREADY_REDEEMED",
    "USER_LIMIT_REACHED",
    "EXHAUSTED",
]


def first_in_contract_order(errors: Iterable[str]) -> str:
    return min(errors, key=CONTRACT_ORDER.index, default="OK")


def fault_sets(faults: Iterable[str]) -> list[frozenset[str]]:
    """Every combination of `faults` that one coupon row can have at once."""
    faults = list(faults)
    every = chain.from_iterable(combinations(faults, n) for n in range(len(faults) + 1))
    return [
        frozenset(chosen)
        for chosen in every
        if sum(fault.startswith("stored-") for fault in chosen) <= 1
        and not {"not-yet-open", "closed"} <= set(chosen)
    ]


def describe(faults: frozenset[str]) -> str:
    return "+".join(sorted(faults)) or "none"


def stored_status(faults: frozenset[str]) -> str:
    stored = [fault.removeprefix("stored-").upper() for fault in faults if "stored-" in fault]
    return stored[0] if stored else "ACTIVE"


def campaign_failing(db: Database, faults: frozenset[str]) -> str:
    """A campaign failing exactly `faults` for alice's order of 50.00; every other check
    passes at its boundary: the minimum is the order, one use left for alice and in all."""
    now = datetime.now(UTC)
    if "not-yet-open" in faults:
        window = (now + DAY, now + 2 * DAY)
    elif "closed" in faults:
        window = (now - 2 * DAY, now - timedelta(minutes=1))
    else:
        window = (now - DAY, now + DAY)
    return insert_campaign(
        db,
        status=stored_status(faults),
        valid_from=window[0],
        valid_until=window[1],
        min_order_value=Decimal("50.01") if "below-minimum" in faults else ORDER_VALUE,
        max_uses_per_user=2,
        max_total_uses=10,
        current_total_uses=10 if "total-uses-spent" in faults else 9,
        earlier_uses_by_alice=2 if "user-uses-spent" in faults else 1,
    )


def user_coupon_failing(db: Database, faults: frozenset[str]) -> str:
    """Alice's coupon failing exactly `faults` for her order of 50.00."""
    return insert_user_coupon(
        db,
        status=stored_status(faults),
        min_order_value=Decimal("50.01") if "below-minimum" in faults else ORDER_VALUE,
        current_total_uses=1 if "total-uses-spent" in faults else 0,
        earlier_uses_by_alice=1 if "user-uses-spent" in faults else 0,
    )


def outcomes_by_faults(
    db: Database, arrange: Callable[[Database, frozenset[str]], str], all_faults: dict[str, str]
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """For every combination of `all_faults`: what validateCoupon and redeemCoupon answer,
    and what the contract's order says they must answer."""
    answered, expected = {}, {}
    for faults in fault_sets(all_faults):
        code = arrange(db, faults)
        validated = validate(db, code, order_id=f"{code}-order")
        redeemed = redeem(db, code, order_id=f"{code}-order")
        first = first_in_contract_order(all_faults[fault] for fault in faults)
        for row in (validated, redeemed):
            if row["r_outcome"] != "OK":
                assert_refused(row, row["r_outcome"])
        answered[describe(faults)] = (validated["r_outcome"], redeemed["r_outcome"])
        expected[describe(faults)] = (first, first)
    return answered, expected


def new_usages_by_coupon(db: Database) -> dict[str, int]:
    """How many usages of each coupon are not one of its arranged earlier usages."""
    rows = db.fetch(
        """
        SELECT c.code, count(u.id) AS new FROM coupons c
        LEFT JOIN coupon_usages u ON u.coupon_id = c.id AND u.order_id NOT LIKE '%-earlier-%'
        GROUP BY c.code
        """
    )
    return {row["code"]: row["new"] for row in rows}


def test_a_campaign_failing_several_checks_reports_the_first_in_contract_order(clean_db):
    # given every combination of failing checks, one campaign each
    # when each is validated, then redeemed
    answered, expected = outcomes_by_faults(clean_db, campaign_failing, CAMPAIGN_FAULTS)
    # then
    assert answered == expected
    assert len(answered) == 4 * 3 * 2**3  # stored status x window x three more checks
    # and only the redeemable one got a usage
    assert sorted(new_usages_by_coupon(clean_db).values()) == [0] * (len(answered) - 1) + [1]


def test_a_user_coupon_failing_several_checks_reports_the_first_in_contract_order(clean_db):
    # given every combination of failing checks, one coupon of alice's each
    # when each is validated, then redeemed
    answered, expected = outcomes_by_faults(clean_db, user_coupon_failing, USER_COUPON_FAULTS)
    # then
    assert answered == expected
    assert len(answered) == 4 * 2**3  # stored status x three more checks
    # and only the redeemable one got a usage
    assert sorted(new_usages_by_coupon(clean_db).values()) == [0] * (len(answered) - 1) + [1]


async def test_the_window_is_open_from_valid_from_up_to_but_not_including_valid_until(
    clean_db, database_url
):
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        # now() stands still within a transaction: the window can start or end exactly at it
        async with connection.transaction():
            now = await connection.fetchval("SELECT now()")
            # given
            opening = insert_campaign(clean_db, valid_from=now, valid_until=now + DAY)
            closing = insert_campaign(clean_db, valid_from=now - DAY, valid_until=now)
            # when
            answers = [
                await connection.fetchval(
                    "SELECT outcome FROM coupon_redeem($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                    " NULL)",
                    *arguments(
                        code,
                        user="alice",
                        order_id=None,
                        order_value=ORDER_VALUE,
                        ip=IP,
                        dry_run=True,
                    ),
                )
                for code in (opening, closing)
            ]
    finally:
        await connection.close()
    # then
    assert answers == ["OK", "EXPIRED"]


def test_an_unknown_code_or_another_users_coupon_is_not_found_even_on_a_used_order(clean_db):
    # given order-1 carries a usage
    used = insert_campaign(clean_db)
    redeem(clean_db, used, order_id="order-1")
    bobs = insert_user_coupon(clean_db, user="bob")
    # when / then
    for code in ("NOPE-0001", bobs):
        for dry_run in (True, False):
            row = redeem(clean_db, code, order_id="order-1", dry_run=dry_run)
            assert_refused(row, "NOT_FOUND")
            assert row["c_id"] is None
    assert coupon_state(clean_db, bobs)[:2] == (0, "ACTIVE")
    assert usage_count(clean_db) == 1


def test_a_used_order_is_refused_before_the_coupons_own_checks(clean_db):
    # given order-1 carries a usage, and a coupon that fails every check of its own
    used = insert_campaign(clean_db)
    redeem(clean_db, used, order_id="order-1")
    failing = campaign_failing(clean_db, frozenset({"stored-inactive", "below-minimum"}))
    # when
    row = redeem(clean_db, failing, order_id="order-1")
    # then
    assert_refused(row, "ORDER_ALREADY_USED")


# --- Recording a redemption ---------------------------------------------------------------


def test_a_redemption_records_one_usage_with_the_request_and_counts_it(clean_db):
    # given
    code = insert_campaign(clean_db, discount_value=Decimal("15.00"), max_total_uses=3)
    _, _, updated_before = coupon_state(clean_db, code)
    # when
    row = redeem(clean_db, code, order_id="order-1", order_value=Decimal("33.33"))
    # then the answer
    assert (row["r_outcome"], row["r_replayed"]) == ("OK", False)
    assert (str(row["r_discount"]), str(row["r_final_amount"])) == ("5.00", "28.33")
    assert (row["c_current_total_uses"], row["c_status"]) == (1, "ACTIVE")
    # and the one usage, as answered
    usages = clean_db.fetch("SELECT * FROM coupon_usages")
    assert len(usages) == 1
    usage = usages[0]
    assert usage["id"] == row["u_id"]
    assert usage["coupon_id"] == row["c_id"]
    assert (usage["user_id"], usage["order_id"]) == ("alice", "order-1")
    assert (usage["order_value"], usage["discount_applied"], usage["final_amount"]) == (
        Decimal("33.33"),
        Decimal("5.00"),
        Decimal("28.33"),
    )
    assert (str(usage["ip_address"]), usage["user_agent"]) == (IP, USER_AGENT)
    assert {key: row[f"u_{key}"] for key in ("user_id", "order_id", "used_at")} == {
        "user_id": "alice",
        "order_id": "order-1",
        "used_at": usage["used_at"],
    }
    # and the count
    uses, status, updated_at = coupon_state(clean_db, code)
    assert (uses, status) == (1, "ACTIVE")
    assert updated_at > updated_before


@pytest.mark.parametrize("max_total_uses", [1, 3])
def test_the_use_that_reaches_max_total_uses_stores_exhausted(clean_db, max_total_uses):
    # given
    code = insert_campaign(clean_db, max_total_uses=max_total_uses, max_uses_per_user=5)
    for n in range(1, max_total_uses + 1):
        # when
        row = redeem(clean_db, code, order_id=f"order-{n}")
        # then
        assert row["r_outcome"] == "OK"
        status = "EXHAUSTED" if n == max_total_uses else "ACTIVE"
        assert (row["c_current_total_uses"], row["c_status"]) == (n, status)
        assert coupon_state(clean_db, code)[:2] == (n, status)
    # and no further use is taken
    assert_refused(redeem(clean_db, code, order_id="order-next"), "EXHAUSTED")
    assert coupon_state(clean_db, code)[:2] == (max_total_uses, "EXHAUSTED")
    assert usage_count(clean_db) == max_total_uses


def test_a_user_coupon_is_exhausted_by_its_one_use_and_then_already_redeemed(clean_db):
    # given
    code = insert_user_coupon(clean_db)
    # when
    row = redeem(clean_db, code, order_id="order-1")
    # then
    assert (row["r_outcome"], row["c_current_total_uses"], row["c_status"]) == (
        "OK",
        1,
        "EXHAUSTED",
    )
    assert_refused(redeem(clean_db, code, order_id="order-2"), "ALREADY_REDEEMED")
    assert usage_count(clean_db) == 1


def test_an_unlimited_coupon_counts_every_use_and_stays_active(clean_db):
    # given
    code = insert_campaign(clean_db, max_total_uses=None, current_total_uses=1_000_000)
    # when
    row = redeem(clean_db, code, order_id="order-1")
    # then
    assert row["r_outcome"] == "OK"
    assert coupon_state(clean_db, code)[:2] == (1_000_001, "ACTIVE")


# --- A retry of a recorded order ----------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True], ids=["redeem", "validate"])
@pytest.mark.parametrize("retried_value", ["50.00", "50", "50.000"])
def test_a_retry_of_a_recorded_order_returns_its_usage_and_writes_nothing(
    clean_db, dry_run, retried_value
):
    # given
    code = insert_campaign(clean_db, max_total_uses=5)
    first = redeem(clean_db, code, order_id="order-1")
    state_before = coupon_state(clean_db, code)
    # when
    retry = redeem(
        clean_db, code, order_id="order-1", order_value=Decimal(retried_value), dry_run=dry_run
    )
    # then the same usage, unchanged
    assert (retry["r_outcome"], retry["r_replayed"]) == ("OK", True)
    assert usage_columns(retry) == usage_columns(first)
    assert (retry["r_discount"], retry["r_final_amount"]) == (
        first["r_discount"],
        first["r_final_amount"],
    )
    # and no new row, no count change
    assert usage_count(clean_db) == 1
    assert coupon_state(clean_db, code) == state_before


def test_a_retry_is_answered_even_once_the_coupon_is_used_up_or_switched_off(clean_db):
    # given alice's one-use coupon, used by order-1
    code = insert_user_coupon(clean_db)
    first = redeem(clean_db, code, order_id="order-1")
    # when / then: exhausted and already redeemed
    assert redeem(clean_db, code, order_id="order-1")["u_id"] == first["u_id"]
    # and inactive as well
    clean_db.execute("UPDATE coupons SET status = 'INACTIVE' WHERE code = $1", code)
    retry = redeem(clean_db, code, order_id="order-1")
    assert (retry["r_outcome"], retry["r_replayed"], retry["u_id"]) == ("OK", True, first["u_id"])
    assert usage_count(clean_db) == 1


@pytest.mark.parametrize("dry_run", [False, True], ids=["redeem", "validate"])
@pytest.mark.parametrize(
    ("coupon", "user", "order_value"),
    [
        ("same", "bob", "50.00"),
        ("same", "ALICE", "50.00"),  # user ids are opaque: case matters
        ("same", "alice", "50.01"),
        ("other", "alice", "50.00"),
    ],
)
def test_a_different_redemption_of_a_used_order_is_already_used(
    clean_db, dry_run, coupon, user, order_value
):
    # given order-1 carries alice's usage of one campaign
    code = insert_campaign(clean_db, max_uses_per_user=5, max_total_uses=5)
    other = insert_campaign(clean_db)
    redeem(clean_db, code, order_id="order-1")
    states_before = [coupon_state(clean_db, c) for c in (code, other)]
    asked = code if coupon == "same" else other
    # when
    row = redeem(
        clean_db,
        asked,
        order_id="order-1",
        user=user,
        order_value=Decimal(order_value),
        dry_run=dry_run,
    )
    # then refused, without a look at the usage, and nothing written
    assert_refused(row, "ORDER_ALREADY_USED")
    assert row["c_code"] == asked
    assert usage_count(clean_db) == 1
    assert [coupon_state(clean_db, c) for c in (code, other)] == states_before


async def call_on(connection: Any, code: str, user: str, order_id: str) -> Any:
    row = await connection.fetchrow(
        CALL,
        *arguments(
            code, user=user, order_id=order_id, order_value=ORDER_VALUE, ip=IP, dry_run=False
        ),
    )
    return row


LOCK_WAIT_DEADLINE_SECONDS = 10


async def wait_until_blocked(
    observer: Any, waiter: asyncio.Task[Any], waiter_pid: int, holder_pid: int
) -> None:
    """Poll until the backend `waiter_pid` waits for a lock held by `holder_pid`, as
    PostgreSQL reports it; fail if the waiter answers first, or past the deadline."""
    deadline = time.monotonic() + LOCK_WAIT_DEADLINE_SECONDS
    while holder_pid not in await observer.fetchval("SELECT pg_blocking_pids($1)", waiter_pid):
        if waiter.done():
            raise AssertionError(f"answered without waiting for the lock: {waiter.result()}")
        assert time.monotonic() < deadline, "never waited for the other transaction's lock"
        await asyncio.sleep(0.01)


Redemption = tuple[str, str, str]  # code, user, order


async def redeem_behind_an_open_redemption(
    database_url: str, held: Redemption, waiting_one: Redemption
) -> tuple[Any, Any]:
    """`held` redeemed in a transaction left open; then `waiting_one` on a connection of its
    own, which must wait for a lock `held` holds (no sleep: PostgreSQL says so); then the
    commit. The two answers."""
    first = await asyncpg.connect(asyncpg_dsn(database_url))
    second = await asyncpg.connect(asyncpg_dsn(database_url))
    observer = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        transaction = first.transaction()
        await transaction.start()
        recorded = await call_on(first, *held)
        waiting = asyncio.create_task(call_on(second, *waiting_one))
        await wait_until_blocked(observer, waiting, second.get_server_pid(), first.get_server_pid())
        await transaction.commit()
        return recorded, await asyncio.wait_for(waiting, timeout=10)
    finally:
        await first.close()
        await second.close()
        await observer.close()


@pytest.mark.parametrize(
    ("second_coupon", "expected"),
    [("same", "OK"), ("other", "ORDER_ALREADY_USED")],
)
async def test_a_redemption_of_an_order_committed_while_another_waits_decides_the_other(
    clean_db, database_url, second_coupon, expected
):
    # given a redemption of order-1, not yet committed
    code = insert_campaign(clean_db, max_total_uses=5)
    other = insert_campaign(clean_db)
    # when the same order is redeemed meanwhile: it waits, on the coupon's row or the
    # order's unique index
    recorded, row = await redeem_behind_an_open_redemption(
        database_url,
        (code, "alice", "order-1"),
        (code if second_coupon == "same" else other, "alice", "order-1"),
    )
    # then the first redemption is the order's one usage
    assert row["r_outcome"] == expected
    if expected == "OK":
        assert (row["r_replayed"], row["u_id"]) == (True, recorded["u_id"])
    else:
        assert_refused(row, expected)
    assert usage_count(clean_db) == 1
    assert coupon_state(clean_db, code)[0] == 1
    assert coupon_state(clean_db, other)[0] == 0


@pytest.mark.parametrize(
    ("limit", "second_user", "expected"),
    [
        ("max_uses_per_user", "alice", "USER_LIMIT_REACHED"),
        ("max_total_uses", "bob", "EXHAUSTED"),
    ],
)
async def test_a_redemption_waits_for_the_coupons_row_and_then_sees_the_use_it_waited_for(
    clean_db, database_url, limit, second_user, expected
):
    # given a coupon with one use left (for alice, or in all), and alice's redemption of it
    # on order-1, not yet committed
    if limit == "max_uses_per_user":
        code = insert_campaign(clean_db, max_uses_per_user=1, max_total_uses=None)
    else:
        code = insert_campaign(clean_db, max_uses_per_user=5, max_total_uses=1)
    # when another order is redeemed meanwhile: no unique index is shared, so only the
    # coupon's row lock makes it wait
    recorded, row = await redeem_behind_an_open_redemption(
        database_url, (code, "alice", "order-1"), (code, second_user, "order-2")
    )
    assert recorded["r_outcome"] == "OK"
    # then it was checked against the committed use, and refused
    assert_refused(row, expected)
    # and the count is the one usage row
    assert usage_count(clean_db) == 1
    assert coupon_state(clean_db, code)[0] == 1


# --- Guessing -----------------------------------------------------------------------------


def test_an_unknown_code_is_counted_against_the_user_and_the_address(clean_db):
    # when
    redeemed = redeem(clean_db, "NOPE-0001", order_id="order-1")
    validated = validate(clean_db, "NOPE-0002")
    # then
    assert_refused(redeemed, "NOT_FOUND")
    assert_refused(validated, "NOT_FOUND")
    assert redeemed["c_id"] is None
    assert guess_failures(clean_db, "user:alice") == 2
    assert guess_failures(clean_db, f"ip:{IP}") == 2
    assert usage_count(clean_db) == 0


def test_another_users_coupon_is_counted_as_a_guess(clean_db):
    # given
    bobs = insert_user_coupon(clean_db, user="bob")
    # when
    row = redeem(clean_db, bobs, order_id="order-1")
    # then
    assert_refused(row, "NOT_FOUND")
    assert row["c_id"] is None  # nothing about bob's coupon
    assert guess_failures(clean_db, "user:alice") == 1
    assert guess_failures(clean_db, f"ip:{IP}") == 1


def test_a_found_code_is_not_counted(clean_db):
    # given
    code = insert_campaign(clean_db, status="INACTIVE")
    # when
    validate(clean_db, code)
    redeem(clean_db, code, order_id="order-1")
    # then
    assert clean_db.value("SELECT count(*) FROM guess_counters") == 0


def test_past_the_limit_every_attempt_of_each_subject_is_rate_limited(clean_db):
    # given alice has guessed wrong ten times from IP
    code = insert_campaign(clean_db)
    for attempt in range(GUESS_LIMIT):
        assert validate(clean_db, f"NOPE-{attempt:04d}")["r_outcome"] == "NOT_FOUND"
    # when / then: alice, whatever the code, from anywhere
    limited = redeem(clean_db, code, order_id="order-1")
    assert_refused(limited, "RATE_LIMITED")
    assert limited["c_id"] is None
    assert_refused(validate(clean_db, "NOPE-9999"), "RATE_LIMITED")
    assert_refused(validate(clean_db, code, ip=OTHER_IP), "RATE_LIMITED")
    # and anyone from IP
    assert_refused(validate(clean_db, code, user="bob"), "RATE_LIMITED")
    # but not bob from elsewhere
    assert redeem(clean_db, code, user="bob", ip=OTHER_IP, order_id="order-2")["r_outcome"] == "OK"
    assert usage_count(clean_db) == 1


def test_when_the_window_has_passed_guessing_starts_over(clean_db):
    # given alice is over the limit
    for attempt in range(GUESS_LIMIT):
        validate(clean_db, f"NOPE-{attempt:04d}")
    assert validate(clean_db, "NOPE-9999")["r_outcome"] == "RATE_LIMITED"
    # when the window runs out
    clean_db.execute(
        "UPDATE guess_counters SET window_started = window_started - $1::interval", GUESS_WINDOW
    )
    # then
    assert validate(clean_db, "NOPE-9999")["r_outcome"] == "NOT_FOUND"
    assert guess_failures(clean_db, "user:alice") == 1
    assert guess_failures(clean_db, f"ip:{IP}") == 1


async def test_guesses_that_passed_the_limit_check_together_learn_nothing_past_it(
    clean_db, database_url
):
    # given alice one failure short of the limit, and her tenth guess held uncommitted
    for attempt in range(GUESS_LIMIT - 1):
        validate(clean_db, f"NOPE-{attempt:04d}")
    # when an eleventh guess, which still sees nine failures, waits for the count
    tenth, eleventh = await redeem_behind_an_open_redemption(
        database_url, ("NOPE-0010", "alice", "order-10"), ("NOPE-0011", "alice", "order-11")
    )
    # then
    assert tenth["r_outcome"] == "NOT_FOUND"
    assert eleventh["r_outcome"] == "RATE_LIMITED"
    assert guess_failures(clean_db, "user:alice") == GUESS_LIMIT + 1


# --- Dry runs -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["campaign", "user coupon"])
def test_a_dry_run_writes_no_usage_no_count_and_no_status(clean_db, kind):
    # given a coupon with one use left
    if kind == "campaign":
        code = insert_campaign(clean_db, max_total_uses=1)
    else:
        code = insert_user_coupon(clean_db)
    state_before = coupon_state(clean_db, code)
    # when
    rows = [validate(clean_db, code, order_id="order-1") for _ in range(3)]
    # then
    for row in rows:
        assert (row["r_outcome"], row["r_replayed"]) == ("OK", False)
        assert row["r_discount"] is not None
        assert set(usage_columns(row).values()) == {None}
        assert (row["c_current_total_uses"], row["c_status"]) == (0, "ACTIVE")
    assert usage_count(clean_db) == 0
    assert coupon_state(clean_db, code) == state_before
    # and the order is still free for the real redemption
    assert redeem(clean_db, code, order_id="order-1")["r_replayed"] is False
