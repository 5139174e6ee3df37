"""Optional arguments are declared UNSET, not null, so the SDL shows no `= null` defaults."""

from __future__ import annotations

from typing import TypeVar

import strawberry

T = TypeVar("T")


def given(value: T | None) -> T | None:
    """An optional argument or input field that was left out reads as None."""
    return None if value is strawberry.UNSET else value
