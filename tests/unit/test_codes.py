"""Codes: trimmed and upper-cased on the way in; custom codes are 4-50 of A-Z 0-9 - _;
generated codes are a prefix and at least 10 characters without look-alikes (0/O, 1/I/L)."""

from __future__ import annotations

import string
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_api.domain.codes import (
    ALPHABET,
    CAMPAIGN_PREFIX,
    USER_PREFIX,
    check_custom_code,
    draw_codes,
    generate_code,
    normalize_code,
    read_code,
)
from graphql_api.domain.errors import CouponError, ErrorCode

LOOK_ALIKES = "0O1IL"


def test_the_alphabet_has_no_look_alikes_and_no_repeats():
    assert not set(ALPHABET) & set(LOOK_ALIKES)
    assert len(set(ALPHABET)) == len(ALPHABET)
    assert set(ALPHABET) <= set(string.ascii_uppercase + string.digits)


@pytest.mark.parametrize("prefix", [USER_PREFIX, CAMPAIGN_PREFIX, ""])
def test_a_generated_code_is_the_prefix_and_at_least_ten_characters_of_the_alphabet(prefix):
    # when
    code = generate_code(prefix)
    # then
    assert code.startswith(prefix)
    drawn = code.removeprefix(prefix)
    assert len(drawn) >= 10
    assert set(drawn) <= set(ALPHABET)


def test_user_coupons_are_generated_with_the_user_prefix():
    assert USER_PREFIX == "USER-"


def test_generated_codes_are_distinct_and_use_the_whole_alphabet():
    # when
    codes = [generate_code(USER_PREFIX) for _ in range(2_000)]
    # then
    assert len(set(codes)) == len(codes)
    drawn = "".join(code.removeprefix(USER_PREFIX) for code in codes)
    assert not set(drawn) & set(LOOK_ALIKES)
    assert set(drawn) == set(ALPHABET)  # ~24,000 draws: every letter shows up


def test_a_generated_code_is_a_valid_custom_code():
    code = generate_code(CAMPAIGN_PREFIX)
    assert check_custom_code(code) == code


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("summer10", "SUMMER10"),
        ("  Summer10\t\n", "SUMMER10"),
        ("user-abcdefghjkmn", "USER-ABCDEFGHJKMN"),
        ("ALREADY", "ALREADY"),
    ],
)
def test_normalize_code_trims_and_upper_cases(raw, normalized):
    assert normalize_code(raw) == normalized


@given(st.text())
def test_normalizing_twice_changes_nothing(raw):
    once = normalize_code(raw)
    assert normalize_code(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABCD", "ABCD"),  # 4: the shortest
        ("A" * 50, "A" * 50),  # 50: the longest
        ("summer-10_x", "SUMMER-10_X"),
        ("  black_friday-2025  ", "BLACK_FRIDAY-2025"),  # trimmed before counting
        ("1234", "1234"),
        ("----", "----"),
    ],
)
def test_a_custom_code_is_accepted_normalized(raw, expected):
    assert check_custom_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "ABC",  # 3
        "A" * 51,  # 51
        "",
        "    ",
        "  AB  ",
        "SUM MER",
        "SALE!",
        "SALE.10",
        "SALE/10",
        "SALE+10",
        "10%OFF",
        "SALE\n10",
        "SALE\x0010",
        "CAF\u00c9",  # É
        "\u041a\u041e\u0414_1",  # Cyrillic letters that look like KOD_1
        "\uff21\uff22\uff23\uff24",  # fullwidth ABCD
        "\u0661\u0662\u0663\u0664",  # Arabic-Indic digits
        "SALE\u200b",  # zero-width space
    ],
)
def test_a_custom_code_outside_the_rule_is_refused_on_field_code(raw):
    # when
    with pytest.raises(CouponError) as refused:
        check_custom_code(raw)
    # then
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "code"


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
def test_a_custom_code_of_allowed_characters_is_accepted_by_length_alone(raw):
    if 4 <= len(raw) <= 50:
        assert check_custom_code(raw) == raw.upper()
    else:
        with pytest.raises(CouponError) as refused:
            check_custom_code(raw)
        assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "code")


# One reading of a code for every operation (contract, "Inputs")


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        ("\tPASTED-1\n", "PASTED-1"),  # pasted from a spreadsheet
        ("  pasted-1\r\n", "PASTED-1"),
        ("\u00a0Pasted-1\u2003", "PASTED-1"),  # no-break and em spaces around it
        ("x", "X"),  # a lookup may be shorter than a custom code
        ("stra\u00dfe", "STRA\u00dfE"),  # only a-z change case: no "SS" from a sharp s
        ("\ufb01rst", "\ufb01RST"),  # nor "FI" from a ligature
    ],
)
def test_read_code_trims_surrounding_whitespace_and_upper_cases_ascii_letters(raw, read):
    assert read_code(raw) == read


@pytest.mark.parametrize(
    "raw", ["", "   ", "\t\n", "C" * 51, " " + "C" * 51 + " ", "SUM\x00MER", "SUM\tMER", "\ud800"]
)
def test_read_code_refuses_an_empty_overlong_or_control_character_code(raw):
    # when
    with pytest.raises(CouponError) as refused:
        read_code(raw)
    # then
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "code")


def test_a_code_of_50_characters_with_whitespace_around_it_reads():
    assert read_code("\t" + "c" * 50 + "\n") == "C" * 50


@given(st.text())
def test_every_code_a_create_accepts_reads_the_same_for_a_lookup(raw):
    # given any string a createTimedCoupon accepted as its code
    try:
        created = check_custom_code(raw)
    except CouponError:
        return
    # then a lookup, a validation or a redemption of the same string finds that code
    assert read_code(raw) == created


@given(
    st.text(alphabet=st.sampled_from(" \t\n\r\u00a0\u2003")),
    st.from_regex(r"[A-Za-z0-9_-]{4,50}", fullmatch=True),
    st.text(alphabet=st.sampled_from(" \t\n\r\u00a0\u2003")),
)
def test_whitespace_around_a_custom_code_never_changes_what_it_reads_as(before, code, after):
    assert check_custom_code(before + code + after) == read_code(before + code + after)
    assert read_code(before + code + after) == code.upper()


@given(
    prefix=st.from_regex(r"[A-Z0-9-]{0,20}", fullmatch=True),
    length=st.integers(6, 32),
    count=st.integers(1, 300),
)
def test_drawn_codes_are_the_prefix_and_length_letters_of_the_alphabet(prefix, length, count):
    codes = draw_codes(prefix, length, count)
    assert len(codes) == count
    for code in codes:
        assert code.startswith(prefix)
        assert len(code) == len(prefix) + length
        assert set(code[len(prefix) :]) <= set(ALPHABET)


def test_drawn_letters_are_all_equally_likely():
    # 3,100,000 letters: each of the 31 is expected 100,000 times (sd ~310). A biased
    # mapping (bytes 248-255 kept, say) makes 8 letters 9% likelier: ~9,000 off.
    letters = Counter("".join(draw_codes("", 31, 100_000)))
    assert set(letters) == set(ALPHABET)
    assert max(abs(seen - 100_000) for seen in letters.values()) < 2_000
