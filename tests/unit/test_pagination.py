"""Pages: `first` is 1 to 100; a cursor the service did not issue for this list is an error."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.pagination import (
    MAX_PAGE_SIZE,
    CursorKind,
    PageRequest,
    Position,
    decode_cursor,
    encode_cursor,
    page_request,
)

POSITION = Position(
    at=datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC),
    id=UUID("0b6f3c1e-8a59-4a47-9a0e-0d6a3f2c9b11"),
)


def raw_cursor(text: str) -> str:
    """A cursor written by hand, encoded the way the service encodes its own."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def refused_after(cursor: str, kind: CursorKind = CursorKind.COUPON) -> CouponError:
    with pytest.raises(CouponError) as refused:
        decode_cursor(kind, cursor)
    return refused.value


@pytest.mark.parametrize("kind", list(CursorKind))
def test_a_cursor_decodes_to_the_position_it_was_made_from(kind):
    # when
    cursor = encode_cursor(kind, POSITION)
    # then
    assert decode_cursor(kind, cursor) == POSITION


def test_a_cursor_is_url_safe_and_unpadded():
    cursor = encode_cursor(CursorKind.USAGE, POSITION)
    assert "=" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(
    kind=st.sampled_from(CursorKind),
    at=st.datetimes(timezones=st.just(UTC)),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    ident=st.uuids(),
)
def test_any_position_survives_a_round_trip(kind, at, offset_minutes, ident):
    # given a moment in any offset
    moment = at.astimezone(timezone(timedelta(minutes=offset_minutes)))
    position = Position(at=moment, id=ident)
    # when
    decoded = decode_cursor(kind, encode_cursor(kind, position))
    # then
    assert decoded == position
    assert decoded.at.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize(
    ("issued_for", "used_for"),
    [(CursorKind.COUPON, CursorKind.USAGE), (CursorKind.USAGE, CursorKind.COUPON)],
)
def test_a_cursor_of_the_other_list_is_refused(issued_for, used_for):
    # given
    cursor = encode_cursor(issued_for, POSITION)
    # when
    error = refused_after(cursor, used_for)
    # then
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


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
        base64.urlsafe_b64encode(b"c|\xff\xfe|\x80").decode(),  # not UTF-8
        encode_cursor(CursorKind.COUPON, POSITION)[:-4],  # cut short
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
    error = refused_after(base64.urlsafe_b64encode(data).decode().rstrip("="), CursorKind.USAGE)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@given(
    tag=st.just("c") | st.text(max_size=3),
    at=st.text(max_size=40) | st.datetimes().map(datetime.isoformat),
    ident=st.text(max_size=40) | st.uuids().map(str),
)
def test_any_made_up_three_part_cursor_is_invalid_input_never_a_crash(tag, at, ident):
    # given a cursor shaped like ours, but another list's, a naive moment or a made-up one
    cursor = raw_cursor(f"{tag}|{at}|{ident}")
    # when
    error = refused_after(cursor)
    # then
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "after")


@pytest.mark.parametrize("first", [1, 20, MAX_PAGE_SIZE])
def test_a_page_of_1_to_100_is_accepted(first):
    assert page_request(first, None, CursorKind.COUPON) == PageRequest(first=first, after=None)


@pytest.mark.parametrize("first", [0, -1, 101, 10_000, None])
def test_a_page_size_outside_1_to_100_is_refused_on_field_first(first):
    # when
    with pytest.raises(CouponError) as refused:
        page_request(first, None, CursorKind.COUPON)
    # then
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "first")


def test_a_page_request_carries_the_decoded_cursor():
    # given
    cursor = encode_cursor(CursorKind.USAGE, POSITION)
    # when
    request = page_request(5, cursor, CursorKind.USAGE)
    # then
    assert request == PageRequest(first=5, after=POSITION)


def test_a_page_request_refuses_a_cursor_of_the_other_list():
    # given
    cursor = encode_cursor(CursorKind.USAGE, POSITION)
    # when
    with pytest.raises(CouponError) as refused:
        page_request(5, cursor, CursorKind.COUPON)
    # then
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "after")
