"""Coupon codes: how they are read, checked and generated.

Every operation that takes a code reads it with `read_code` (contract, "Inputs"): the
surrounding whitespace is trimmed, then the letters are upper-cased. A code a create
accepted (`check_custom_code`) reads the same, so a lookup of the same string finds it.
"""

from __future__ import annotations

import re
import secrets
import string

from graphql_api.domain.errors import invalid
from graphql_api.domain.text import check_text

# No 0/O and 1/I/L: a code read aloud or off a receipt cannot be mistyped into another.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RANDOM_LENGTH = 12  # 31**12 ~ 2**59: not guessable at any rate the service lets through
USER_PREFIX = "USER-"
CAMPAIGN_PREFIX = "PROMO-"
MAX_CODE_LENGTH = 50
_CUSTOM_CODE = re.compile(r"[A-Za-z0-9_-]{4,50}", re.ASCII)
# ASCII letters only: str.upper() turns "ß" into "SS" and "ﬁ" into "FI", so a lookup of a
# string no create would accept could find a code nobody typed.
_UPPER_CASE = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def normalize_code(code: str) -> str:
    """Trimmed of surrounding whitespace (Python's str.strip), then a-z upper-cased."""
    return code.strip().translate(_UPPER_CASE)


def read_code(code: str, field: str = "code") -> str:
    """A code given to find a coupon (look up, validate, redeem), normalised.

    INVALID_INPUT on `field` when, trimmed, it is empty, longer than 50 characters, or
    holds control characters.
    """
    check_text(code.strip(), field, max_length=MAX_CODE_LENGTH)
    return normalize_code(code)


def check_custom_code(code: str) -> str:
    """A shop's own code, normalised: once trimmed, 4-50 of A-Z a-z 0-9 - _."""
    if not _CUSTOM_CODE.fullmatch(code.strip()):
        raise invalid("code", "code must be 4-50 characters of A-Z, 0-9, '-' and '_'")
    return normalize_code(code)


def generate_code(prefix: str) -> str:
    """A fresh code from the CSPRNG; uniqueness is the database's to check."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))


# Bytes at or above this are dropped and redrawn: 248 = 8 * 31, so every letter is equally
# likely. The mapping and the dropping are one bytes.translate, in C: drawing is then a
# small part of writing a code (bench/RESULTS.md).
_FAIR_BYTES = 256 - 256 % len(ALPHABET)
_LETTER_OF_BYTE = bytes(ord(ALPHABET[byte % len(ALPHABET)]) for byte in range(256))
_UNFAIR_BYTES = bytes(range(_FAIR_BYTES, 256))


def draw_codes(prefix: str, length: int, count: int) -> list[str]:
    """`count` fresh codes of `length` random characters after `prefix`, drawn from the
    CSPRNG in bulk (one call for many codes, each byte mapped to a letter without bias).
    They may collide with each other or with stored codes: uniqueness is the database's."""
    needed = length * count
    letters = bytearray()
    while len(letters) < needed:
        chunk = secrets.token_bytes((needed - len(letters)) * 9 // 8 + 16)
        letters += chunk.translate(_LETTER_OF_BYTE, _UNFAIR_BYTES)
    text = letters[:needed].decode("ascii")
    return [prefix + text[i : i + length] for i in range(0, needed, length)]
