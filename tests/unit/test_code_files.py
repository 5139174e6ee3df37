"""Reading a file of codes: formats, line numbers, and what is not text."""

from __future__ import annotations

import io
import os

import pytest

from graphql_api.domain.code_files import (
    MAX_LINE_BYTES,
    CodeLine,
    NotTextError,
    read_code_lines,
)
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.progress import Progress

RULE = "code must be 4-50 characters of A-Z, 0-9, '-' and '_'"


def read(content: bytes) -> list[CodeLine]:
    return list(read_code_lines(io.BytesIO(content)))


def test_one_code_a_line_is_read_trimmed_and_upper_cased_with_line_numbers():
    assert read(b"\xef\xbb\xbfabcd-1\r\n\n  efgh_2 \nab\n") == [
        CodeLine(1, "ABCD-1"),
        CodeLine(3, "EFGH_2"),
        CodeLine(4, None, f"'ab' is not a code: {RULE}"),
    ]


def test_a_last_line_without_an_ending_is_read():
    assert read(b"ABCD-1\nEFGH-2") == [CodeLine(1, "ABCD-1"), CodeLine(2, "EFGH-2")]


@pytest.mark.parametrize("header", [b"code", b"Code", b"id,code", b'"name","CODE",note'])
def test_a_first_line_naming_a_code_column_makes_the_file_a_csv(header):
    column = [field.strip(b'"').lower() for field in header.split(b",")].index(b"code")
    row = [b"x"] * len(header.split(b","))
    row[column] = b"spring-1"
    assert read(header + b"\n" + b",".join(row) + b"\n") == [CodeLine(2, "SPRING-1")]


@pytest.mark.parametrize("first_line", [b"ab,cd", b"coupon_code,partner", b'"code,x'])
def test_a_first_line_with_a_comma_but_no_code_column_is_refused(first_line):
    with pytest.raises(CouponError) as raised:
        read(first_line + b"\nSPRING-1\n")
    assert raised.value.code is ErrorCode.INVALID_INPUT
    assert raised.value.field == "file"
    assert "no column named code" in raised.value.message


def test_a_quoted_field_that_does_not_end_on_its_line_is_invalid():
    assert read(b'code,x\n"QUOTE-0001\n",1\nGOOD-0001,2\n') == [
        CodeLine(2, None, "a quoted field does not end on its line"),
        CodeLine(3, None, "a quoted field does not end on its line"),
        CodeLine(4, "GOOD-0001"),
    ]


def test_a_csv_line_without_the_code_column_is_invalid():
    assert read(b"id,code\n7\n") == [CodeLine(2, None, "no value in the code column")]


@pytest.mark.parametrize("tail", ["", "é" * 40_000, "x" * (MAX_LINE_BYTES - 1) + "é"])
def test_an_overlong_line_is_reported_without_being_held_and_the_next_is_read(tail):
    content = ("x" * MAX_LINE_BYTES + tail + "\nSPRING-1\n").encode()
    assert read(content) == [
        CodeLine(1, None, f"longer than {MAX_LINE_BYTES:,} bytes"),
        CodeLine(2, "SPRING-1"),
    ]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"SPRING-1\nSUM\x00MER\n", 2),
        (b"SPRING-1\n\xff\xfe\n", 2),
        (b"caf\xe9\n", 1),
        (b"x" * MAX_LINE_BYTES + b"\xff" + b"\n", 1),  # inside an overlong line too
    ],
)
def test_what_is_not_utf8_text_stops_the_reading_at_its_line(content, line):
    with pytest.raises(NotTextError) as raised:
        read(content)
    assert raised.value.line == line


def test_progress_off_a_terminal_writes_plain_lines_and_no_carriage_returns(monkeypatch):
    monkeypatch.setattr("graphql_api.progress.PLAIN_EVERY_SECONDS", 0.0)
    out = io.StringIO()
    with Progress(200, "codes", "writing", stream=out, bar=False) as progress:
        progress.update_to(50)
        progress.advance(150)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("writing: 50 of 200 codes (25%), ")
    assert lines[1].startswith("writing: 200 of 200 codes (100%), ")
    assert "\r" not in out.getvalue()


def test_progress_on_a_terminal_draws_a_bar():
    out = io.StringIO()
    with Progress(200, "codes", "writing", stream=out, bar=True) as progress:
        progress.update_to(200)
    assert "\r" in out.getvalue()
    assert "200/200" in out.getvalue()


def test_progress_on_a_terminal_that_reports_no_width_still_draws_a_bar():
    # a fresh pseudo-terminal reports 0 columns, as `script` and some CI runners do
    controller, terminal = os.openpty()
    with os.fdopen(terminal, "w") as stream:
        assert os.get_terminal_size(terminal).columns == 0
        with Progress(100, "codes", "writing", stream=stream) as progress:
            progress.update_to(100)
    drawn = read_all(controller)
    assert "100/100" in drawn
    assert "█" in drawn or "#" in drawn


def read_all(controller: int) -> str:
    """Everything written to a closed pseudo-terminal (Linux answers EIO at its end)."""
    chunks = []
    try:
        while chunk := os.read(controller, 65536):
            chunks.append(chunk)
    except OSError:
        pass
    finally:
        os.close(controller)
    return b"".join(chunks).decode()
