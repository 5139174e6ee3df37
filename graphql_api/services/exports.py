"""Exports: a campaign's codes, or usages, as CSV read from one snapshot in constant memory.

The one streamer behind `GET /exports/*.csv` and `coupons export`: both write the same bytes.
An export is opened first (`open_export`: the snapshot begun, the campaign or coupon found)
and only then read, so that a refusal is a whole answer before any CSV byte is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.queries import exports
from graphql_api.domain.errors import CouponError, ErrorCode, invalid
from graphql_api.domain.inputs import as_utc, check_uuid
from graphql_api.domain.money import format_amount
from graphql_api.services.records import to_usage

# Rows fetched from the cursor, and encoded, at a time: one chunk of the answer. Memory is
# this many rows, whatever the size of the export; each fetch is one short statement.
CHUNK_ROWS = 1000

CODES_COLUMNS = ("code", "status", "user_id", "uses", "max_uses", "created_at")
USAGES_COLUMNS = (
    "usage_id",
    "code",
    "coupon_id",
    "campaign_id",
    "user_id",
    "order_id",
    "order_value",
    "discount_applied",
    "final_amount",
    "status",
    "ip_address",
    "user_agent",
    "used_at",
    "rolled_back_at",
    "rollback_reason",
)

# Called with the number of rows in each chunk once it is handed on (a progress display).
OnRows = Callable[[int], None]


class ExportKind(StrEnum):
    CODES = "codes"
    USAGES = "usages"


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export: a campaign's codes, or the usages of a campaign or of one coupon."""

    kind: ExportKind
    campaign_id: UUID | None = None
    coupon_id: UUID | None = None

    @property
    def filename(self) -> str:
        """codes-<campaign id>.csv, usages-campaign-<id>.csv or usages-coupon-<id>.csv."""
        if self.kind is ExportKind.CODES:
            return f"codes-{self.campaign_id}.csv"
        if self.coupon_id is not None:
            return f"usages-coupon-{self.coupon_id}.csv"
        return f"usages-campaign-{self.campaign_id}.csv"


def export_request(
    kind: ExportKind,
    campaign_id: str | None,
    coupon_id: str | None,
    *,
    names: tuple[str, str] = ("campaignId", "couponId"),
) -> ExportRequest:
    """The request checked, or INVALID_INPUT naming the parameter at fault.

    Codes take a campaign; usages a campaign or a coupon, exactly one. `names` are what the
    caller calls the two parameters (query parameters, command-line options), for messages.
    """
    campaign_name, coupon_name = names
    if kind is ExportKind.CODES:
        if coupon_id is not None:
            raise invalid(coupon_name, f"codes are exported by campaign: drop {coupon_name}")
        if campaign_id is None:
            raise invalid(campaign_name, f"{campaign_name} is required")
    elif (campaign_id is None) == (coupon_id is None):
        raise invalid(
            campaign_name, f"usages need exactly one of {campaign_name} and {coupon_name}"
        )
    return ExportRequest(
        kind,
        campaign_id=None if campaign_id is None else check_uuid(campaign_id, campaign_name),
        coupon_id=None if coupon_id is None else check_uuid(coupon_id, coupon_name),
    )


async def open_export(db: Database, request: ExportRequest) -> Export:
    """The export, its snapshot begun and its campaign (or coupon) found; else NOT_FOUND.

    Nothing is read but that: the rows come from `Export.chunks`. Use the export as an async
    context manager (`async with await open_export(...) as export`): leaving it ends the
    snapshot and gives the connection back, whether or not every chunk was read.
    """
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(db.snapshot())
        await _check_found(session, request)
        await exports.stream_in_index_order(session)
        return Export(request, session, stack.pop_all())
    # mypy cannot tell that this stack never swallows an exception.
    raise AssertionError("unreachable")


async def _check_found(session: AsyncSession, request: ExportRequest) -> None:
    if request.coupon_id is not None:
        found = await exports.coupon_exists(session, request.coupon_id)
        what, field, wanted = "coupon", "couponId", request.coupon_id
    elif request.campaign_id is not None:
        found = await exports.campaign_exists(session, request.campaign_id)
        what, field, wanted = "campaign", "campaignId", request.campaign_id
    else:
        raise ValueError("an export names a campaign or a coupon")  # export_request does
    if not found:
        raise CouponError(ErrorCode.NOT_FOUND, f"No {what} with id {wanted}", field)


class Export:
    """An opened export: its CSV is `chunks()`, read once, inside `async with`."""

    def __init__(self, request: ExportRequest, session: AsyncSession, stack: AsyncExitStack):
        self.request = request
        self._session = session
        self._stack = stack

    async def __aenter__(self) -> Export:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        # The snapshot ends as a transaction ends: rolled back when an error left it.
        return await self._stack.__aexit__(kind, error, traceback)

    async def chunks(self, on_rows: OnRows | None = None) -> AsyncGenerator[bytes, None]:
        """UTF-8 CSV (RFC 4180: CRLF line ends, quotes only where needed): the header row,
        then up to CHUNK_ROWS rows per chunk. Empty fields are NULLs; amounts are plain
        decimals with two places, moments ISO 8601 in UTC. `on_rows(n)` is called after
        each chunk of n rows has been handed on."""
        columns, statement, to_fields = _shape(self.request)
        yield _encode([columns])
        result = await self._session.stream(statement.execution_options(yield_per=CHUNK_ROWS))
        async for rows in result.partitions():
            yield _encode(to_fields(row._mapping) for row in rows)
            if on_rows is not None:
                on_rows(len(rows))


Fields = Sequence[object]


def _shape(
    request: ExportRequest,
) -> tuple[Sequence[str], Select[Any], Callable[[Mapping[str, Any]], Fields]]:
    if request.kind is ExportKind.CODES:
        if request.campaign_id is None:
            raise ValueError("codes are exported by campaign")  # export_request refuses it
        return CODES_COLUMNS, exports.campaign_codes_oldest_first(request.campaign_id), _code
    statement = exports.usages_oldest_first(
        campaign_id=request.campaign_id, coupon_id=request.coupon_id
    )
    return USAGES_COLUMNS, statement, _usage


def _code(row: Mapping[str, Any]) -> Fields:
    return (
        row["code"],
        row["effective_status"],
        row["user_id"],
        row["current_total_uses"],
        row["max_total_uses"],
        _moment(row["created_at"]),
    )


def _usage(row: Mapping[str, Any]) -> Fields:
    usage = to_usage(row)  # the usage's status is the domain's rule
    return (
        usage.id,
        row["code"],
        usage.coupon_id,
        usage.campaign_id,
        usage.user_id,
        usage.order_id,
        format_amount(usage.order_value),
        format_amount(usage.discount_applied),
        format_amount(usage.final_amount),
        usage.status.value,
        usage.ip_address,
        usage.user_agent,
        _moment(usage.used_at),
        _moment(usage.rolled_back_at),
        usage.rollback_reason,
    )


def _moment(value: datetime | None) -> str | None:
    # As the DateTime scalar writes it: 2025-06-01T00:00:00+00:00.
    return None if value is None else as_utc(value).isoformat()


def _encode(rows: Any) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # None is written as an empty field
    return buffer.getvalue().encode()
