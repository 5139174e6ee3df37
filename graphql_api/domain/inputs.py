"""Input rules for creating and redeeming coupons, checked before any I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from graphql_api.domain.addresses import normalize_ip_address
from graphql_api.domain.codes import check_custom_code, read_code
from graphql_api.domain.coupons import DiscountTerms, DiscountType
from graphql_api.domain.errors import invalid
from graphql_api.domain.money import HUNDRED, check_amount
from graphql_api.domain.text import check_optional_text, check_text

MAX_ID_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
MAX_USER_AGENT_LENGTH = 500
MAX_USES = 2_147_483_647  # PostgreSQL integer
# The moments that survive a trip through the database unchanged: the driver writes
# datetime.max and datetime.min as infinity and -infinity (read back as other values), and
# years outside 1-9999 cannot be read back at all.
EARLIEST_MOMENT = datetime.min.replace(tzinfo=UTC) + timedelta(microseconds=1)
LATEST_MOMENT = datetime.max.replace(tzinfo=UTC) - timedelta(microseconds=1)


def check_identifier(value: str, field: str) -> str:
    """User and order ids: opaque to the service, 1-100 characters."""
    return check_text(value, field, max_length=MAX_ID_LENGTH)


def check_uses(value: int, field: str) -> int:
    if not 1 <= value <= MAX_USES:
        raise invalid(field, f"{field} must be between 1 and {MAX_USES}")
    return value


def as_utc(moment: datetime) -> datetime:
    """A moment without an offset is read as UTC. OverflowError past years 1-9999 in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_moment(moment: datetime, field: str) -> datetime:
    """`moment` in UTC, when the database stores and gives it back unchanged; else
    INVALID_INPUT on `field` (contract, "Inputs")."""
    try:
        in_utc = as_utc(moment)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST_MOMENT <= in_utc <= LATEST_MOMENT:
        raise invalid(
            field,
            f"{field} must lie between {EARLIEST_MOMENT.isoformat()} and "
            f"{LATEST_MOMENT.isoformat()}",
        )
    return in_utc


def check_terms(
    discount_type: DiscountType, discount_value: Decimal, max_discount_amount: Decimal | None
) -> DiscountTerms:
    value = check_amount(discount_value, "discountValue")
    if discount_type is DiscountType.PERCENTAGE and value > HUNDRED:
        raise invalid("discountValue", "A percentage discountValue must be at most 100")
    cap = None
    if max_discount_amount is not None:
        if discount_type is not DiscountType.PERCENTAGE:
            raise invalid("maxDiscountAmount", "maxDiscountAmount applies to PERCENTAGE only")
        cap = check_amount(max_discount_amount, "maxDiscountAmount")
    return DiscountTerms(discount_type, value, cap)


@dataclass(frozen=True, slots=True)
class NewUserCoupon:
    user_id: str
    terms: DiscountTerms
    min_order_value: Decimal
    description: str | None
    created_by: str | None


@dataclass(frozen=True, slots=True)
class NewTimedCoupon:
    code: str | None  # None: generate one
    terms: DiscountTerms
    min_order_value: Decimal
    description: str | None
    valid_from: datetime
    valid_until: datetime
    max_uses_per_user: int
    max_total_uses: int | None
    created_by: str | None


def new_user_coupon(
    *,
    user_id: str,
    discount_type: DiscountType,
    discount_value: Decimal,
    max_discount_amount: Decimal | None,
    min_order_value: Decimal | None,
    description: str | None,
    created_by: str | None,
) -> NewUserCoupon:
    """Check a CreateUserCouponInput, field by field in the order they are declared."""
    return NewUserCoupon(
        user_id=check_identifier(user_id, "userId"),
        terms=check_terms(discount_type, discount_value, max_discount_amount),
        min_order_value=_min_order_value(min_order_value),
        description=check_optional_text(
            description, "description", max_length=MAX_DESCRIPTION_LENGTH, multiline=True
        ),
        created_by=check_optional_text(created_by, "createdBy", max_length=MAX_ID_LENGTH),
    )


def new_timed_coupon(
    *,
    code: str | None,
    discount_type: DiscountType,
    discount_value: Decimal,
    max_discount_amount: Decimal | None,
    min_order_value: Decimal | None,
    description: str | None,
    valid_from: datetime,
    valid_until: datetime,
    max_uses_per_user: int,
    max_total_uses: int | None,
    created_by: str | None,
    now: datetime,
) -> NewTimedCoupon:
    """Check a CreateTimedCouponInput, field by field in the order they are declared."""
    checked_code = None if code is None else check_custom_code(code)
    terms = check_terms(discount_type, discount_value, max_discount_amount)
    minimum = _min_order_value(min_order_value)
    checked_description = check_optional_text(
        description, "description", max_length=MAX_DESCRIPTION_LENGTH, multiline=True
    )
    start, end = check_moment(valid_from, "validFrom"), check_moment(valid_until, "validUntil")
    if end <= start:
        raise invalid("validUntil", "validUntil must be after validFrom")
    if end <= now:
        raise invalid("validUntil", "validUntil must be in the future")
    per_user = check_uses(max_uses_per_user, "maxUsesPerUser")
    total = None if max_total_uses is None else check_uses(max_total_uses, "maxTotalUses")
    return NewTimedCoupon(
        code=checked_code,
        terms=terms,
        min_order_value=minimum,
        description=checked_description,
        valid_from=start,
        valid_until=end,
        max_uses_per_user=per_user,
        max_total_uses=total,
        created_by=check_optional_text(created_by, "createdBy", max_length=MAX_ID_LENGTH),
    )


def _min_order_value(value: Decimal | None) -> Decimal:
    if value is None:
        return Decimal("0.00")
    return check_amount(value, "minOrderValue", allow_zero=True)


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    """A checked redeemCoupon / validateCoupon input."""

    code: str
    user_id: str
    order_id: str | None
    order_value: Decimal
    ip_address: str | None
    user_agent: str | None


def redemption_request(
    *,
    code: str,
    user_id: str,
    order_id: str | None,
    order_value: Decimal,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> RedemptionRequest:
    """Check a RedeemCouponInput or ValidateCouponInput (step 1 of redemption)."""
    return RedemptionRequest(
        code=read_code(code),
        user_id=check_identifier(user_id, "userId"),
        order_id=None if order_id is None else check_identifier(order_id, "orderId"),
        order_value=check_amount(order_value, "orderValue"),
        ip_address=None if ip_address is None else check_ip_address(ip_address, "ipAddress"),
        user_agent=check_optional_text(user_agent, "userAgent", max_length=MAX_USER_AGENT_LENGTH),
    )


def with_client_defaults(
    request: RedemptionRequest, client_ip: str | None, client_agent: str | None
) -> RedemptionRequest:
    """Fill what a BFF did not forward from the HTTP request itself, trimmed to fit."""
    ip_address = request.ip_address
    if ip_address is None and client_ip is not None:
        # None for a peer without an IP address (a Unix socket): nothing to record.
        ip_address = normalize_ip_address(client_ip)
    user_agent = request.user_agent
    if user_agent is None and client_agent is not None:
        printable = "".join(ch for ch in client_agent if ch.isprintable())
        user_agent = printable[:MAX_USER_AGENT_LENGTH] or None
    return replace(request, ip_address=ip_address, user_agent=user_agent)


def check_uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise invalid(field, f"{field} must be a UUID") from None


def check_ip_address(value: str, field: str) -> str:
    """The address normalised (zone dropped, IPv4-mapped as IPv4), else INVALID_INPUT."""
    address = normalize_ip_address(value)
    if address is None:
        raise invalid(field, f"{field} must be an IPv4 or IPv6 address")
    return address


MIN_HOLD_SECONDS = 60
MAX_HOLD_SECONDS = 86_400
DEFAULT_HOLD_SECONDS = 900
MAX_REASON_LENGTH = 500


def check_hold_seconds(value: int, field: str = "ttlSeconds") -> timedelta:
    """How long a reservation holds its use: 60 to 86,400 seconds (contract)."""
    if not MIN_HOLD_SECONDS <= value <= MAX_HOLD_SECONDS:
        raise invalid(
            field, f"{field} must be between {MIN_HOLD_SECONDS} and {MAX_HOLD_SECONDS} seconds"
        )
    return timedelta(seconds=value)


def check_rollback_reason(value: str | None) -> str | None:
    """Free text for people, at most 500 characters; line breaks allowed."""
    return check_optional_text(value, "reason", max_length=MAX_REASON_LENGTH, multiline=True)
