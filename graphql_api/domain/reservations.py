"""Reservations: a use of a coupon held for an order while the customer pays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID


class ReservationStatus(StrEnum):
    HELD = "HELD"
    REDEEMED = "REDEEMED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class Reservation:
    """A hold, with the status the database gave it at the read: EXPIRED from `expires_at`
    on, whether or not the row has been rewritten (db/sql/reservation_status.sql)."""

    id: UUID
    coupon_id: UUID
    campaign_id: UUID | None
    user_id: str
    order_id: str
    order_value: Decimal
    discount_amount: Decimal
    final_amount: Decimal
    status: ReservationStatus
    expires_at: datetime
    created_at: datetime
    ip_address: str | None
    user_agent: str | None
