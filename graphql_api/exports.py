"""GET /exports/codes.csv and /exports/usages.csv: a campaign's codes, or usages, streamed.

Admin keys only. Every refusal (the key, the query parameters, an unknown campaign or
coupon, a database that does not answer) is decided before the first CSV byte, so it is a
whole JSON answer in the GraphQL error shape, like every other refusal of the service.

The request deadline (COUPONS_REQUEST_TIMEOUT) bounds that part only: checking the key,
opening the snapshot and finding the campaign. The stream itself has no deadline (a
million rows take longer than 4 s); each fetch from its cursor is one statement of
CHUNK_ROWS rows, under the connection's statement timeout like any other.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from db.engine import Database
from graphql_api.auth import CHALLENGE, UNAUTHENTICATED_MESSAGE, Caller
from graphql_api.deadline import within_deadline
from graphql_api.domain.errors import CouponError, ErrorCode, invalid
from graphql_api.json_response import error_response
from graphql_api.services.exports import (
    Export,
    ExportKind,
    ExportRequest,
    export_request,
    open_export,
)

log = logging.getLogger(__name__)

PATHS = {ExportKind.CODES: "/exports/codes.csv", ExportKind.USAGES: "/exports/usages.csv"}
# The query parameters each export takes: anything else is a mistake worth saying.
PARAMETERS = {ExportKind.CODES: ("campaignId",), ExportKind.USAGES: ("campaignId", "couponId")}
CSV_TYPE = "text/csv; charset=utf-8"
FORBIDDEN_MESSAGE = "Exports need an admin API key"
STATUS = {ErrorCode.INVALID_INPUT: 400, ErrorCode.NOT_FOUND: 404}


def export_routes(db: Database, request_timeout: float) -> list[Route]:
    """The two routes; their paths need ApiKeyMiddleware in front (`PATHS`)."""

    def endpoint(kind: ExportKind) -> Route:
        async def answer(request: Request) -> Response:
            return await _answer(request, kind, db, request_timeout)

        return Route(PATHS[kind], answer, methods=["GET"], name=f"export_{kind.value}")

    return [endpoint(ExportKind.CODES), endpoint(ExportKind.USAGES)]


async def _answer(
    request: Request, kind: ExportKind, db: Database, request_timeout: float
) -> Response:
    caller: Caller | None = request.scope.get("state", {}).get("caller")
    if caller is None:  # ApiKeyMiddleware answers first; this is its second line
        return error_response(401, UNAUTHENTICATED_MESSAGE, {"www-authenticate": CHALLENGE})
    if not caller.is_admin:
        return error_response(403, FORBIDDEN_MESSAGE, code="FORBIDDEN")
    try:
        wanted = _request_of(kind, request)
        # A database that hangs here is a 503 within the deadline (UnhandledErrorMiddleware).
        export = await within_deadline(open_export(db, wanted), request_timeout)
    except CouponError as refusal:
        return error_response(STATUS[refusal.code], refusal.message, code=refusal.code)
    if request.method == "HEAD":  # Starlette routes HEAD to GET: the headers, no rows read
        async with export:
            return Response(headers=_headers(wanted), media_type=CSV_TYPE)
    return CsvExportResponse(export)


def _request_of(kind: ExportKind, request: Request) -> ExportRequest:
    query = request.query_params
    for name in query:
        if name not in PARAMETERS[kind]:
            expected = " or ".join(PARAMETERS[kind])
            raise invalid(
                name, f"Unknown query parameter {name!r}: {kind.value}.csv takes {expected}"
            )
        if len(query.getlist(name)) > 1:
            raise invalid(name, f"{name} is given more than once")
    return export_request(kind, query.get("campaignId"), query.get("couponId"))


def _headers(wanted: ExportRequest) -> dict[str, str]:
    return {
        "content-disposition": f'attachment; filename="{wanted.filename}"',
        # A snapshot of live data: not for shared caches, and worth asking for again.
        "cache-control": "no-store",
    }


class CsvExportResponse(StreamingResponse):
    """The export's CSV, chunk by chunk; the snapshot ends when the answer does, also when
    the client goes away first.

    A database failure after the first byte cannot become a JSON answer: the connection is
    closed without the chunked body's last chunk, so the client sees a cut answer, never a
    short CSV that looks complete (and the failure is logged by UnhandledErrorMiddleware).
    """

    media_type = CSV_TYPE

    def __init__(self, export: Export) -> None:
        self.export = export
        self.rows = 0
        self._chunks: AsyncGenerator[bytes, None] = export.chunks(on_rows=self._count)
        super().__init__(self._chunks, headers=_headers(export.request))

    def _count(self, rows: int) -> None:
        self.rows += rows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with self.export:
                try:
                    await super().__call__(scope, receive, send)
                finally:
                    await self._chunks.aclose()  # its cursor closes before its snapshot
        except ClientDisconnect:
            # Not our failure: the reader went away (a closed tab, a cancelled curl).
            log.info("export left unfinished by the client after %d rows", self.rows)
