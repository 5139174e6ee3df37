"""Input rules for campaigns and code generation, checked before any I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from graphql_api.domain.codes import ALPHABET, MAX_CODE_LENGTH, normalize_code
from graphql_api.domain.coupons import DiscountTerms, DiscountType
from graphql_api.domain.errors import invalid
from graphql_api.domain.inputs import (
    MAX_DESCRIPTION_LENGTH,
    MAX_ID_LENGTH,
    check_moment,
    check_terms,
    check_uses,
)
from graphql_api.domain.money import check_amount
from graphql_api.domain.text import check_optional_text, check_text

MAX_NAME_LENGTH = 100
MIN_GENERATE = 1
MAX_GENERATE = 1_000_000
MAX_PREFIX_LENGTH = 20
MIN_CODE_RANDOM = 6
MAX_CODE_RANDOM = 32
DEFAULT_CODE_RANDOM = 12
# A guess must stay hopeless: a campaign's codes are at most one in a million of the codes
# its length can spell (contract, "Generation").
SPARSENESS = 1_000_000
_PREFIX = re.compile(r"[A-Z0-9-]*")


@dataclass(frozen=True, slots=True)
class NewCampaign:
    name: str
    description: str | None
    terms: DiscountTerms
    min_order_value: Decimal
    valid_from: datetime | None
    valid_until: datetime | None
    max_uses_per_code: int
    max_uses_per_user: int | None
    max_total_uses: int | None
    max_total_discount: Decimal | None
    created_by: str | None


def new_campaign(
    *,
    name: str,
    description: str | None,
    discount_type: DiscountType,
    discount_value: Decimal,
    max_discount_amount: Decimal | None,
    min_order_value: Decimal | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
    max_uses_per_code: int,
    max_uses_per_user: int | None,
    max_total_uses: int | None,
    max_total_discount: Decimal | None,
    created_by: str | None,
    now: datetime,
) -> NewCampaign:
    """Check a CreateCampaignInput, field by field in the order they are declared; the
    rules are those of coupons (contract, "Campaigns and their codes")."""
    checked_name = check_text(name, "name", max_length=MAX_NAME_LENGTH)
    checked_description = check_optional_text(
        description, "description", max_length=MAX_DESCRIPTION_LENGTH, multiline=True
    )
    terms = check_terms(discount_type, discount_value, max_discount_amount)
    minimum = (
        Decimal("0.00")
        if min_order_value is None
        else check_amount(min_order_value, "minOrderValue", allow_zero=True)
    )
    start = None if valid_from is None else check_moment(valid_from, "validFrom")
    end = None if valid_until is None else check_moment(valid_until, "validUntil")
    if end is not None:
        if start is not None and end <= start:
            raise invalid("validUntil", "validUntil must be after validFrom")
        if end <= now:
            raise invalid("validUntil", "validUntil must be in the future")
    return NewCampaign(
        name=checked_name,
        description=checked_description,
        terms=terms,
        min_order_value=minimum,
        valid_from=start,
        valid_until=end,
        max_uses_per_code=check_uses(max_uses_per_code, "maxUsesPerCode"),
        max_uses_per_user=None
        if max_uses_per_user is None
        else check_uses(max_uses_per_user, "maxUsesPerUser"),
        max_total_uses=None
        if max_total_uses is None
        else check_uses(max_total_uses, "maxTotalUses"),
        max_total_discount=None
        if max_total_discount is None
        else check_amount(max_total_discount, "maxTotalDiscount"),
        created_by=check_optional_text(created_by, "createdBy", max_length=MAX_ID_LENGTH),
    )


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    count: int
    prefix: str
    length: int


def generation_request(*, count: int, prefix: str | None, length: int) -> GenerationRequest:
    """Check a GenerateCodesInput's own fields (the code-space rule needs the campaign's
    existing codes: `check_code_space`)."""
    if not MIN_GENERATE <= count <= MAX_GENERATE:
        raise invalid("count", f"count must be between {MIN_GENERATE} and {MAX_GENERATE:,}")
    checked_prefix = normalize_code(prefix or "")
    if len(checked_prefix) > MAX_PREFIX_LENGTH or not _PREFIX.fullmatch(checked_prefix):
        raise invalid("prefix", f"prefix must be 0-{MAX_PREFIX_LENGTH} of A-Z 0-9 -")
    if not MIN_CODE_RANDOM <= length <= MAX_CODE_RANDOM:
        raise invalid("length", f"length must be between {MIN_CODE_RANDOM} and {MAX_CODE_RANDOM}")
    if len(checked_prefix) + length > MAX_CODE_LENGTH:
        raise invalid(
            "length", f"prefix and length together must be at most {MAX_CODE_LENGTH} characters"
        )
    return GenerationRequest(count, checked_prefix, length)


def check_code_space(request: GenerationRequest, existing_codes: int) -> None:
    """INVALID_INPUT on `length` when the campaign's codes would be more than one in a
    million of the codes `length` random characters can spell."""
    allowed = len(ALPHABET) ** request.length // SPARSENESS
    if existing_codes + request.count > allowed:
        raise invalid(
            "length",
            f"a campaign may have at most {allowed:,} codes of {request.length} random "
            f"characters (one in a million of those possible, so that guessing stays "
            f"hopeless); it has {existing_codes:,} or will have once its jobs finish: use a "
            "longer length",
        )
