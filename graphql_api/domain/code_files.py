"""Reading a file of codes to import: one code a line, or a CSV with a `code` column.

The format is the first non-blank line's: when one of its comma-separated fields is
`code` (any case), the file is a CSV with that header and each later line's field in that
column is its code; otherwise every line is one code. Codes are read as a shop's own codes
are (`check_custom_code`: trimmed, upper-cased, 4-50 of A-Z 0-9 - _). Blank lines are
skipped without a word. A CSV field may be quoted, but may not span lines. A first line
with a comma but no `code` column is refused (INVALID_INPUT on `file`): no code holds a
comma, so it can only be a header, and every line after it would be invalid.

The file is read a line at a time, in constant memory whatever its size: a line longer
than `MAX_LINE_BYTES` is skipped to its end and reported, never held whole. A file that
is not UTF-8 text (a byte sequence UTF-8 cannot decode, or a NUL byte) stops the reading
with `NotTextError` naming the line, before anything is written.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from graphql_api.domain.codes import check_custom_code
from graphql_api.domain.errors import CouponError, invalid

MAX_LINE_BYTES = 64 * 1024
SHOWN = 40  # characters of a refused value quoted in a report
_BOM = b"\xef\xbb\xbf"
# Bytes that continue a UTF-8 character: where a piece of an overlong line starts.
_CONTINUATION = bytes(range(0x80, 0xC0))


class NotTextError(Exception):
    """The file is not UTF-8 text; `line` is the first line that shows it (1-based)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CodeLine:
    """One line that names a code: the code as stored, or why it cannot be one."""

    number: int
    code: str | None
    problem: str | None = None


def read_code_lines(stream: BinaryIO) -> Iterator[CodeLine]:
    """The file's codes, line by line (header and blank lines left out).

    Raises NotTextError at the first line that is not UTF-8 text.
    """
    column: int | None = None
    header_seen = False
    for number, text in _text_lines(stream):
        if text is None:
            yield CodeLine(number, None, f"longer than {MAX_LINE_BYTES:,} bytes")
            continue
        if not text.strip():
            continue
        if not header_seen:
            header_seen = True
            column = _code_column(text)
            if column is not None:
                continue
        yield _code_line(number, text, column)


def _code_line(number: int, text: str, column: int | None) -> CodeLine:
    if column is None:
        raw = text
    else:
        try:
            fields = next(csv.reader([text], strict=True), [])
        except csv.Error:
            return CodeLine(number, None, "a quoted field does not end on its line")
        if column >= len(fields):
            return CodeLine(number, None, "no value in the code column")
        raw = fields[column]
    try:
        return CodeLine(number, check_custom_code(raw))
    except CouponError as error:
        return CodeLine(number, None, f"{shown(raw)} is not a code: {error.message}")


def shown(raw: str) -> str:
    """A value as a report quotes it: trimmed, cut to 40 characters, escapes visible."""
    value = raw.strip()
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "…")


def _code_column(first_line: str) -> int | None:
    """The index of the `code` column when the first line is a CSV header, else None.

    A first line with a comma is a header (no code holds a comma): one without a `code`
    column is refused (INVALID_INPUT on `file`), as every line after it would be invalid.
    """
    if "," not in first_line and first_line.strip().lower() != "code":
        return None
    try:
        fields = [f.strip().lower() for f in next(csv.reader([first_line], strict=True), [])]
    except csv.Error:
        fields = []
    if "code" not in fields:
        raise invalid(
            "file",
            f"line 1 ({shown(first_line)}) looks like a CSV header but has no column named "
            "code: name the column of codes `code`, or give one code a line",
        )
    return fields.index("code")


def _text_lines(stream: BinaryIO) -> Iterator[tuple[int, str | None]]:
    """(number, text without its line ending), or (number, None) for an overlong line."""
    number = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        if not chunk:
            return
        number += 1
        if number == 1 and chunk.startswith(_BOM):
            chunk = chunk[len(_BOM) :]
        if len(chunk) >= MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            # Every piece is still checked, each from a fresh decoder: a piece may end, or
            # the next begin, inside a character; bytes that can never be UTF-8 still show.
            while True:
                _decode(number, chunk, whole=False)
                if not chunk or chunk.endswith(b"\n"):
                    break
                chunk = stream.readline(MAX_LINE_BYTES)
            yield number, None
            continue
        yield number, _decode(number, chunk, whole=True).rstrip("\r\n")


def _decode(number: int, chunk: bytes, *, whole: bool) -> str:
    if b"\x00" in chunk:
        raise NotTextError(number, "a NUL byte")
    try:
        if whole:
            return chunk.decode("utf-8")
        return codecs.getincrementaldecoder("utf-8")().decode(chunk.lstrip(_CONTINUATION))
    except UnicodeDecodeError:
        raise NotTextError(number, "bytes that are not UTF-8") from None
