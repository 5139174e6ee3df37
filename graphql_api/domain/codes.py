"""Coupon codes: how they are written, checked and generated."""

from __future__ import annotations

import re
import secrets

from graphql_api.domain.errors import invalid

# No 0/O and 1/I/L: a code read aloud or off a receipt cannot be mistyped into another.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RANDOM_LENGTH = 12  # 31**12 ~ 2**59: not guessable at any rate the service lets through
USER_PREFIX = "USER-"
CAMPAIGN_PREFIX = "PROMO-"
MAX_CODE_LENGTH = 50
_CUSTOM_CODE = re.compile(r"[A-Za-z0-9_-]{4,50}", re.ASCII)


def normalize_code(code: str) -> str:
    """Codes are trimmed and upper-cased on the way in, so matching ignores case."""
    return code.strip().upper()


def check_custom_code(code: str) -> str:
    """A shop's own code, normalised: 4-50 of A-Z 0-9 - _."""
    # Checked before upper-casing: str.upper() turns some non-ASCII letters into ASCII ones.
    trimmed = code.strip()
    if not _CUSTOM_CODE.fullmatch(trimmed):
        raise invalid("code", "code must be 4-50 characters of A-Z, 0-9, '-' and '_'")
    return normalize_code(trimmed)


def generate_code(prefix: str) -> str:
    """A fresh code from the CSPRNG; uniqueness is the database's to check."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
