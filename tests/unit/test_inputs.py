"""Input rules of CreateUserCouponInput, CreateTimedCouponInput and RedeemCouponInput,
checked before any I/O; a broken rule is INVALID_INPUT naming the camelCase field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from graphql_api.domain.coupons import DiscountTerms, DiscountType
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.inputs import (
    MAX_USES,
    check_moment,
    new_timed_coupon,
    new_user_coupon,
    redemption_request,
    with_client_defaults,
)
from graphql_api.domain.text import check_text

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PERCENTAGE = DiscountType.PERCENTAGE
FIXED = DiscountType.FIXED


def invalid_field(call: Any, **kwargs: Any) -> str | None:
    """The field named by the INVALID_INPUT error `call(**kwargs)` raises."""
    with pytest.raises(CouponError) as refused:
        call(**kwargs)
    assert refused.value.code is ErrorCode.INVALID_INPUT
    return refused.value.field


# check_text


@pytest.mark.parametrize("value", ["a", "x" * 100, "alice@example.com", "caf\u00e9 \u2713", " a "])
def test_text_of_1_to_max_length_characters_is_accepted_as_is(value):
    assert check_text(value, "userId", max_length=100) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 101,
        "x" * 10_000,
        " ",
        "   ",
        "a\x00b",  # NUL: PostgreSQL text cannot hold it
        "\x00",
        "a\x01",
        "a\x1b[31m",  # ANSI escape
        "a\x7f",  # DEL
        "a\nb",  # single-line: no line breaks
        "a\rb",
        "a\tb",
    ],
)
def test_text_breaking_the_rule_is_refused_naming_the_field(value):
    assert invalid_field(check_text, value=value, field="orderId", max_length=100) == "orderId"


@pytest.mark.parametrize("value", ["a\x85b", "a\x9b31m"])
def test_c1_control_characters_are_refused_too(value):
    assert invalid_field(check_text, value=value, field="userAgent", max_length=500) == "userAgent"


def test_multiline_text_may_hold_line_breaks_and_tabs_but_no_other_control_character():
    text = "Summer sale\r\n\t10% off\nall shoes"
    assert check_text(text, "description", max_length=500, multiline=True) == text
    assert (
        invalid_field(
            check_text, value="a\n\x00", field="description", max_length=500, multiline=True
        )
        == "description"
    )


def test_optional_text_may_be_empty():
    assert check_text("", "description", max_length=500, min_length=0) == ""


# createUserCoupon


def user_coupon(**overrides: Any):
    fields: dict[str, Any] = {
        "user_id": "alice",
        "discount_type": FIXED,
        "discount_value": Decimal("10"),
        "max_discount_amount": None,
        "min_order_value": None,
        "description": None,
        "created_by": None,
    }
    return new_user_coupon(**{**fields, **overrides})


def test_a_user_coupon_input_is_checked_into_cents():
    # when
    coupon = user_coupon(
        discount_type=PERCENTAGE,
        discount_value=Decimal("12.5"),
        max_discount_amount=Decimal("20"),
        description="Sorry about\nyour order",
        created_by="support-7",
    )
    # then
    assert coupon.user_id == "alice"
    assert coupon.terms == DiscountTerms(PERCENTAGE, Decimal("12.50"), Decimal("20.00"))
    assert coupon.min_order_value == Decimal("0.00")
    assert coupon.description == "Sorry about\nyour order"
    assert coupon.created_by == "support-7"


@pytest.mark.parametrize("value", ["100", "100.00", "0.01", "33.33"])
def test_a_percentage_of_at_most_100_is_accepted(value):
    coupon = user_coupon(discount_type=PERCENTAGE, discount_value=Decimal(value))
    assert coupon.terms.discount_value == Decimal(value)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"user_id": ""}, "userId"),
        ({"user_id": "   "}, "userId"),
        ({"user_id": "u" * 101}, "userId"),
        ({"user_id": "alice\x00"}, "userId"),
        ({"discount_type": PERCENTAGE, "discount_value": Decimal("100.01")}, "discountValue"),
        ({"discount_type": PERCENTAGE, "discount_value": Decimal("0")}, "discountValue"),
        ({"discount_value": Decimal("0")}, "discountValue"),
        ({"discount_value": Decimal("-5")}, "discountValue"),
        ({"discount_value": Decimal("10.001")}, "discountValue"),
        ({"discount_value": Decimal("NaN")}, "discountValue"),
        ({"discount_value": Decimal("10000000000")}, "discountValue"),
        ({"max_discount_amount": Decimal("5")}, "maxDiscountAmount"),  # FIXED has no cap
        ({"discount_type": PERCENTAGE, "max_discount_amount": Decimal("0")}, "maxDiscountAmount"),
        ({"discount_type": PERCENTAGE, "max_discount_amount": Decimal("-1")}, "maxDiscountAmount"),
        ({"min_order_value": Decimal("-0.01")}, "minOrderValue"),
        ({"min_order_value": Decimal("0.001")}, "minOrderValue"),
        ({"description": "d" * 501}, "description"),
        ({"description": "a\x00"}, "description"),
        ({"created_by": "c" * 101}, "createdBy"),
        ({"created_by": "a\nb"}, "createdBy"),
    ],
)
def test_a_user_coupon_input_breaking_a_rule_names_the_field(overrides, field):
    assert invalid_field(user_coupon, **overrides) == field


def test_a_user_coupon_may_have_a_zero_minimum_and_a_500_character_description():
    coupon = user_coupon(min_order_value=Decimal("0"), description="d" * 500, created_by="c" * 100)
    assert coupon.min_order_value == Decimal("0.00")
    assert coupon.description == "d" * 500


def test_the_first_field_in_declaration_order_is_reported():
    assert invalid_field(user_coupon, user_id="", discount_value=Decimal("0")) == "userId"


# createTimedCoupon


def timed_coupon(**overrides: Any):
    fields: dict[str, Any] = {
        "code": None,
        "discount_type": PERCENTAGE,
        "discount_value": Decimal("10"),
        "max_discount_amount": None,
        "min_order_value": None,
        "description": None,
        "valid_from": NOW - DAY,
        "valid_until": NOW + 30 * DAY,
        "max_uses_per_user": 1,
        "max_total_uses": None,
        "created_by": None,
        "now": NOW,
    }
    return new_timed_coupon(**{**fields, **overrides})


def test_a_timed_coupon_input_is_checked_and_normalized():
    # when
    coupon = timed_coupon(
        code=" summer-10_x ",
        max_discount_amount=Decimal("25"),
        min_order_value=Decimal("50"),
        max_uses_per_user=3,
        max_total_uses=1000,
    )
    # then
    assert coupon.code == "SUMMER-10_X"
    assert coupon.terms == DiscountTerms(PERCENTAGE, Decimal("10.00"), Decimal("25.00"))
    assert coupon.min_order_value == Decimal("50.00")
    assert (coupon.valid_from, coupon.valid_until) == (NOW - DAY, NOW + 30 * DAY)
    assert (coupon.max_uses_per_user, coupon.max_total_uses) == (3, 1000)


def test_without_a_code_one_is_generated_later():
    assert timed_coupon(code=None).code is None


def test_naive_moments_are_read_as_utc():
    # given moments without an offset
    start = datetime.fromisoformat("2025-06-01T00:00:00")
    end = datetime.fromisoformat("2025-07-01T00:00:00")
    # when
    coupon = timed_coupon(valid_from=start, valid_until=end, now=datetime(2025, 6, 1, tzinfo=UTC))
    # then
    assert coupon.valid_from == datetime(2025, 6, 1, tzinfo=UTC)
    assert coupon.valid_until == datetime(2025, 7, 1, tzinfo=UTC)
    assert coupon.valid_from.utcoffset() == timedelta(0)


def test_moments_with_an_offset_are_converted_to_utc():
    # given
    paris_summer = timezone(timedelta(hours=2))
    start = datetime(2025, 6, 1, 2, 0, tzinfo=paris_summer)
    # when
    coupon = timed_coupon(valid_from=start, now=start)
    # then
    assert coupon.valid_from == datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
    assert coupon.valid_from.tzinfo is UTC


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "ABC"}, "code"),
        ({"code": "SUM MER"}, "code"),
        ({"discount_value": Decimal("100.01")}, "discountValue"),
        ({"discount_type": FIXED, "max_discount_amount": Decimal("5")}, "maxDiscountAmount"),
        ({"min_order_value": Decimal("-1")}, "minOrderValue"),
        ({"description": "d" * 501}, "description"),
        ({"valid_from": NOW + DAY, "valid_until": NOW + DAY}, "validUntil"),  # equal
        ({"valid_from": NOW + 2 * DAY, "valid_until": NOW + DAY}, "validUntil"),  # before
        ({"valid_from": NOW - 2 * DAY, "valid_until": NOW - DAY}, "validUntil"),  # in the past
        ({"valid_until": NOW}, "validUntil"),  # ends now
        ({"max_uses_per_user": 0}, "maxUsesPerUser"),
        ({"max_uses_per_user": -1}, "maxUsesPerUser"),
        ({"max_uses_per_user": MAX_USES + 1}, "maxUsesPerUser"),
        ({"max_total_uses": 0}, "maxTotalUses"),
        ({"max_total_uses": -5}, "maxTotalUses"),
        ({"max_total_uses": MAX_USES + 1}, "maxTotalUses"),
        ({"created_by": "c" * 101}, "createdBy"),
    ],
)
def test_a_timed_coupon_input_breaking_a_rule_names_the_field(overrides, field):
    assert invalid_field(timed_coupon, **overrides) == field


def test_valid_until_is_compared_in_utc_whatever_the_offsets():
    # given 02:00+02:00 is midnight UTC, so 01:00 UTC is after it
    start = datetime(2025, 7, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    assert timed_coupon(valid_from=start, valid_until=datetime(2025, 7, 1, 1, 0, tzinfo=UTC))
    # and 23:00 UTC the day before is not
    before = datetime.fromisoformat("2025-06-30T23:00:00")
    assert invalid_field(timed_coupon, valid_from=start, valid_until=before) == "validUntil"


def test_use_limits_run_from_1_to_the_largest_database_integer():
    coupon = timed_coupon(max_uses_per_user=1, max_total_uses=1)
    assert (coupon.max_uses_per_user, coupon.max_total_uses) == (1, 1)
    coupon = timed_coupon(max_uses_per_user=MAX_USES, max_total_uses=MAX_USES)
    assert (coupon.max_uses_per_user, coupon.max_total_uses) == (MAX_USES, MAX_USES)
    assert MAX_USES == 2**31 - 1


def test_a_coupon_that_starts_in_the_future_is_accepted():
    coupon = timed_coupon(valid_from=NOW + DAY, valid_until=NOW + 2 * DAY)
    assert coupon.valid_from == NOW + DAY


# redeemCoupon / validateCoupon


def redemption(**overrides: Any):
    fields: dict[str, Any] = {
        "code": "SUMMER10",
        "user_id": "alice",
        "order_id": "order-1",
        "order_value": Decimal("50"),
    }
    return redemption_request(**{**fields, **overrides})


def test_a_redemption_request_is_checked_and_normalized():
    # when
    request = redemption(
        code="  summer10 ",
        order_value=Decimal("99.9"),
        ip_address="2001:DB8:0:0::1",
        user_agent="u" * 500,
    )
    # then
    assert request.code == "SUMMER10"
    assert request.order_value == Decimal("99.90")
    assert str(request.order_value) == "99.90"
    assert request.ip_address == "2001:db8::1"
    assert request.user_agent == "u" * 500


def test_a_validation_may_have_no_order_id():
    assert redemption(order_id=None).order_id is None


@pytest.mark.parametrize("address", ["203.0.113.7", "::1", "fe80::1", " 10.0.0.1 "])
def test_an_ip_address_is_accepted(address):
    assert redemption(ip_address=address).ip_address == address.strip()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "   "}, "code"),
        ({"code": "C" * 51}, "code"),
        ({"code": "SUMMER\x00"}, "code"),
        ({"user_id": ""}, "userId"),
        ({"user_id": "u" * 101}, "userId"),
        ({"order_id": ""}, "orderId"),
        ({"order_id": "o" * 101}, "orderId"),
        ({"order_id": "order\n1"}, "orderId"),
        ({"order_value": Decimal("0")}, "orderValue"),
        ({"order_value": Decimal("-1")}, "orderValue"),
        ({"order_value": Decimal("1.255")}, "orderValue"),
        ({"order_value": Decimal("Infinity")}, "orderValue"),
        ({"order_value": Decimal("1E+400")}, "orderValue"),
        ({"ip_address": "not-an-ip"}, "ipAddress"),
        ({"ip_address": ""}, "ipAddress"),
        ({"ip_address": "256.0.0.1"}, "ipAddress"),
        ({"ip_address": "203.0.113.7, 10.0.0.1"}, "ipAddress"),  # a header, not an address
        ({"ip_address": "1" * 10_000}, "ipAddress"),
        ({"user_agent": "u" * 501}, "userAgent"),
        ({"user_agent": "Shop\x00/1.0"}, "userAgent"),
    ],
)
def test_a_redemption_request_breaking_a_rule_names_the_field(overrides, field):
    assert invalid_field(redemption, **overrides) == field


def test_a_code_of_1_to_50_characters_may_be_looked_up():
    assert redemption(code="x").code == "X"
    assert redemption(code="c" * 50).code == "C" * 50


# what a BFF did not forward comes from the HTTP request


def test_client_defaults_fill_a_missing_address_and_user_agent():
    # given
    request = redemption()
    # when
    filled = with_client_defaults(request, "127.0.0.1", "BFF-agent/2")
    # then
    assert (filled.ip_address, filled.user_agent) == ("127.0.0.1", "BFF-agent/2")
    assert (filled.code, filled.user_id, filled.order_value) == (
        "SUMMER10",
        "alice",
        Decimal("50.00"),
    )


def test_client_defaults_never_replace_what_was_forwarded():
    # given
    request = redemption(ip_address="203.0.113.7", user_agent="Shop/1.0")
    # when
    filled = with_client_defaults(request, "10.0.0.1", "BFF-agent/2")
    # then
    assert (filled.ip_address, filled.user_agent) == ("203.0.113.7", "Shop/1.0")


@pytest.mark.parametrize("client_ip", ["testclient", "unix:/run/coupons.sock", "", None])
def test_a_client_address_that_is_not_an_ip_is_not_recorded(client_ip):
    assert with_client_defaults(redemption(), client_ip, None).ip_address is None


def test_a_client_user_agent_loses_control_characters_and_is_cut_to_500():
    # when
    filled = with_client_defaults(redemption(), None, "Bot\x00/1\x1b" + "x" * 600)
    # then
    assert filled.user_agent == ("Bot/1" + "x" * 600)[:500]
    assert filled.ip_address is None


def test_a_client_user_agent_of_only_control_characters_is_not_recorded():
    assert with_client_defaults(redemption(), None, "\x00\x01\x7f").user_agent is None
    assert with_client_defaults(redemption(), None, "").user_agent is None


# moments that cannot make the trip through the database (contract, "Inputs")

STORABLE_EDGES = [
    "0001-01-01T00:00:00.000001+00:00",
    "9999-12-31T23:59:59.999998+00:00",
    "9999-12-31T23:59:59.999998",  # no offset: UTC
]
UNSTORABLE = [
    "9999-12-31T23:59:59.999999+00:00",  # the driver writes it as infinity
    "9999-12-31T23:59:59.999999",
    "0001-01-01T00:00:00+00:00",  # ... and this as -infinity
    "0001-01-01T00:00:00+01:00",  # year 0 in UTC
    "0001-01-01T00:59:59+01:00",
    "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
    "9999-12-31T23:00:00-14:00",
]


def moment(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@pytest.mark.parametrize("text", STORABLE_EDGES)
def test_a_moment_inside_the_storable_range_is_kept_in_utc(text):
    checked = check_moment(moment(text), "validUntil")
    assert checked == moment(text)
    assert checked.tzinfo is UTC


@pytest.mark.parametrize("text", UNSTORABLE)
def test_a_moment_the_database_would_change_or_cannot_read_is_invalid_input(text):
    assert invalid_field(check_moment, moment=moment(text), field="validUntil") == "validUntil"


@pytest.mark.parametrize("text", UNSTORABLE)
def test_a_timed_coupon_ending_at_an_unstorable_moment_is_refused_on_valid_until(text):
    assert invalid_field(timed_coupon, valid_until=moment(text)) == "validUntil"


@pytest.mark.parametrize("text", UNSTORABLE)
def test_a_timed_coupon_starting_at_an_unstorable_moment_is_refused_on_valid_from(text):
    assert invalid_field(timed_coupon, valid_from=moment(text)) == "validFrom"


# one client address, however it is spelled


@pytest.mark.parametrize(
    ("spelled", "address"),
    [
        ("fe80::1%eth0", "fe80::1"),
        ("fe80::1%\x00", "fe80::1"),  # a zone no database would store
        ("fe80::7%" + "z" * 300, "fe80::7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: the IPv4 address
        ("::FFFF:203.0.113.7%2", "203.0.113.7"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        (" 10.0.0.1 ", "10.0.0.1"),
    ],
)
def test_a_forwarded_ip_address_is_normalized(spelled, address):
    assert redemption(ip_address=spelled).ip_address == address


@pytest.mark.parametrize("client_ip", ["fe80::1%lo", "::ffff:127.0.0.1"])
def test_a_client_address_is_normalized_too(client_ip):
    expected = "fe80::1" if client_ip.startswith("fe80") else "127.0.0.1"
    assert with_client_defaults(redemption(), client_ip, None).ip_address == expected


@pytest.mark.parametrize("spelled", ["fe80::1%", "1.2.3.4%eth0", "%eth0"])
def test_a_zone_on_something_that_is_not_an_ipv6_address_is_invalid(spelled):
    assert invalid_field(redemption, ip_address=spelled) == "ipAddress"
