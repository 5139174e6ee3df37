"""Campaigns: the rules and shared budgets of many codes, and the jobs that make codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from graphql_api.domain.coupons import DiscountTerms


class CampaignStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    EXPIRED = "EXPIRED"
    EXHAUSTED = "EXHAUSTED"


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Campaign:
    """A stored campaign with its counters and, as the database said at the read, its
    effective `status` (db/sql/campaign_status.sql) and live holds."""

    id: UUID
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
    total_uses: int
    total_discount: Decimal
    code_count: int
    status: CampaignStatus
    held_uses: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CodeGenerationJob:
    """`requested` new codes for a campaign; `generated` of them written so far."""

    id: UUID
    campaign_id: UUID
    status: JobStatus
    requested: int
    generated: int
    prefix: str
    length: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
