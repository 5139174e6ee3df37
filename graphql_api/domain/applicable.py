"""The input rules of applicableCoupons: whose coupons, for what order, how many."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from graphql_api.domain.inputs import check_identifier
from graphql_api.domain.money import check_amount
from graphql_api.domain.pagination import check_page_size


@dataclass(frozen=True, slots=True)
class ApplicableRequest:
    """A checked applicableCoupons call."""

    user_id: str
    order_value: Decimal
    first: int


def applicable_request(
    *, user_id: str, order_value: Decimal, first: int | None
) -> ApplicableRequest:
    """Check the arguments in the order they are declared, each as validateCoupon and the
    lists read it: INVALID_INPUT naming the first at fault."""
    return ApplicableRequest(
        user_id=check_identifier(user_id, "userId"),
        order_value=check_amount(order_value, "orderValue"),
        first=check_page_size(first),
    )
