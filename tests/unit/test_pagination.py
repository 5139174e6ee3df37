"""Pages: `first` is 1 to 100; a cursor is valid only for the list and the arguments that
issued it, and only with a moment the database can take (contract, "Inputs")."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.inputs import EARLIEST_MOMENT, LATEST_MOMENT
from graphql_api.domain.pagination import (
    MAX_PAGE_SIZE,
    ListScope,
    PageRequest,
    Position,
    decode_cursor,
    encode_cursor,
    page_request,
)

USER_COUPONS = ListScope("Query.userCoupons", ("user-1",))
ACTIVE_CAMPAIGNS = ListScope("Query.activeCampaigns")
USER_USAGES = ListScope("Query.userUsages", ("user-1",))
COUPON_USAGES = ListScope("Coupon.usages", (str(uuid4()),))
SCOPES = [USER_COUPONS, ACTIVE_CAMPAIGNS, USER_USAGES, COUPON_USAGES]
OTHER_ARGUMENTS = [
    (USER_COUPONS, ListScope("Query.userCoupons", ("user-2",))),
    (USER_USAGES, ListScope("Query.userUsages", ("user-2",))),
    (USER_COUPONS, ListScope("Query.userCoupons", ("USER-1",))),
    (COUPON_USAGES, ListScope("Coupon.usages", (str(uuid4()),))),
    (USER_COUPONS, ListScope("Query.userCoupons", ("user-1", ""))),
]

POSITION = Position(
    at=datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC),
    id=UUID("0b6f3c1e-8a59-4a47-9a0e-0d6a3f2c9b11"),
)


def raw_cursor(text: str) -> str:
    """A cursor written by hand, encoded the way the service encodes its own."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def refused_after(cursor: str, scope: ListScope = USER_COUPONS) -> CouponError:
    with pytest.raises(CouponError) as refused:
        decode_cursor(scope, cursor)
    return refused.value


@pytest.mark.parametrize("scope", SCOPES)
def test_a_cursor_decodes_to_the_position_it_was_made_from(scope):
    # when
    cursor = encode_cursor(scope, POSITION)
    # then
    assert decode_cursor(scope, cursor) == POSITION


def test_a_cursor_is_url_safe_and_unpadded():
    cursor = encode_cursor(USER_USAGES, POSITION)
    assert "=" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(
    scope=st.sampled_from(SCOPES),
    at=st.datetimes(
        min_value=EARLIEST_MOMENT.replace(tzinfo=None),
        max_value=LATEST_MOMENT.replace(tzinfo=None),
        timezones=st.just(UTC),
    ),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    ident=st.uuids(),
)
def test_any_storable_position_survives_a_round_trip(scope, at, offset_minutes, ident):
    # given a moment the database can take, written in any offset it fits in
    try:
        moment = at.astimezone(timezone(timedelta(minutes=offset_minutes)))
    except OverflowError:
        moment = at
    position = Position(at=moment, id=ident)
    # when
    decoded = decode_cursor(scope, encode_cursor(scope, position))
    # then the same instant and row, in UTC
    assert decoded == position
    assert decoded.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC
        "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
        "0001-01-01T00:00:00+00:00",  # the driver's -infinity
        "9999-12-31T23:59:59.999999+00:00",  # the driver's infinity
    ],
)
def test_a_cursor_with_a_moment_the_database_cannot_take_is_refused(at):
    # given a cursor of the right list whose moment leaves years 1-9999 or is a sentinel
    cursor = raw_cursor(f"1|{USER_COUPONS.field}|{USER_COUPONS.digest()}|{at}|{uuid4()}")
    # when
    error = refused_after(cursor, USER_COUPONS)
    # then
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@pytest.mark.parametrize(
    ("issued_for", "used_for"),
    [(a, b) for a in SCOPES for b in SCOPES if a.field != b.field],
)
def test_a_cursor_of_another_list_is_refused(issued_for, used_for):
    # given
    cursor = encode_cursor(issued_for, POSITION)
    # when
    error = refused_after(cursor, used_for)
    # then
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@pytest.mark.parametrize(("issued_for", "used_for"), OTHER_ARGUMENTS)
def test_a_cursor_of_the_same_list_with_other_arguments_is_refused(issued_for, used_for):
    # given
    cursor = encode_cursor(issued_for, POSITION)
    # when
    error = refused_after(cursor, used_for)
    # then
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@pytest.mark.parametrize(("issued_for", "used_for"), OTHER_ARGUMENTS)
def test_a_look_before_the_arguments_are_known_checks_the_list_only(issued_for, used_for):
    cursor = encode_cursor(issued_for, POSITION)
    assert decode_cursor(used_for, cursor, check_chosen_by=False) == POSITION


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "a",  # not base64: one character cannot be
        "abc$",
        "!!!!",
        "not a cursor",
        "\u00e9t\u00e9",  # not ASCII
        "Y3wyMDI1",  # "c|2025"
        raw_cursor(""),
        raw_cursor("c"),
        raw_cursor("c|2025-06-01T12:00:00+00:00"),  # no id
        raw_cursor(f"c|2025-06-01T12:00:00+00:00|{uuid4()}|extra"),
        raw_cursor(f"c|yesterday|{uuid4()}"),
        raw_cursor("c|2025-06-01T12:00:00+00:00|not-a-uuid"),
        raw_cursor(f"x|2025-06-01T12:00:00+00:00|{uuid4()}"),  # no such list
        raw_cursor(f"C|2025-06-01T12:00:00+00:00|{uuid4()}"),
        raw_cursor(f"c|2025-06-01T12:00:00|{uuid4()}"),  # a naive timestamp
        # the present format, but naive, another version, no digest, no field
        raw_cursor(f"1|Query.userCoupons|{USER_COUPONS.digest()}|2025-06-01T12:00:00|{uuid4()}"),
        raw_cursor(f"2|Query.userCoupons|{USER_COUPONS.digest()}|2025-06-01T12:00:00Z|{uuid4()}"),
        raw_cursor(f"1|Query.userCoupons||2025-06-01T12:00:00Z|{uuid4()}"),
        raw_cursor(f"1||{USER_COUPONS.digest()}|2025-06-01T12:00:00Z|{uuid4()}"),
        base64.urlsafe_b64encode(b"c|\xff\xfe|\x80").decode(),  # not UTF-8
        encode_cursor(USER_COUPONS, POSITION)[:-4],  # cut short
    ],
)
def test_a_cursor_the_service_did_not_issue_is_refused_on_field_after(cursor):
    error = refused_after(cursor)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@given(cursor=st.text())
def test_any_made_up_text_is_invalid_input_never_a_crash(cursor):
    error = refused_after(cursor)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@given(data=st.binary())
def test_any_made_up_bytes_behind_base64_are_invalid_input_never_a_crash(data):
    error = refused_after(base64.urlsafe_b64encode(data).decode().rstrip("="), USER_USAGES)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@given(
    version=st.just("1") | st.text(max_size=3),
    field=st.sampled_from([s.field for s in SCOPES]) | st.text(max_size=20),
    digest=st.sampled_from([s.digest() for s in SCOPES[1:]]) | st.text(max_size=20),
    at=st.text(max_size=40) | st.datetimes().map(datetime.isoformat),
    ident=st.text(max_size=40) | st.uuids().map(str),
)
def test_any_made_up_cursor_is_invalid_input_never_a_crash(version, field, digest, at, ident):
    # given a cursor shaped like ours, but another list's or arguments', a naive moment or a
    # made-up one (never all of this list's own parts with an aware moment and a UUID)
    cursor = raw_cursor(f"{version}|{field}|{digest}|{at}|{ident}")
    # when
    error = refused_after(cursor)
    # then
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@pytest.mark.parametrize("first", [1, 20, MAX_PAGE_SIZE])
def test_a_page_of_1_to_100_is_accepted(first):
    assert page_request(first, None, USER_COUPONS) == PageRequest(first=first, after=None)


@pytest.mark.parametrize("first", [0, -1, 101, 10_000, None])
def test_a_page_size_outside_1_to_100_is_refused_on_field_first(first):
    # when
    with pytest.raises(CouponError) as refused:
        page_request(first, None, USER_COUPONS)
    # then
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "first")


def test_a_page_request_carries_the_decoded_cursor():
    # given
    cursor = encode_cursor(USER_USAGES, POSITION)
    # when
    request = page_request(5, cursor, USER_USAGES)
    # then
    assert request == PageRequest(first=5, after=POSITION)


def test_a_page_request_refuses_a_cursor_of_another_list():
    # given
    cursor = encode_cursor(USER_USAGES, POSITION)
    # when
    with pytest.raises(CouponError) as refused:
        page_request(5, cursor, USER_COUPONS)
    # then
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "after")
