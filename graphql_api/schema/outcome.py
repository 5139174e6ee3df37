"""What happened to a GraphQL request, for the access log and the metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql_api.documents import root_fields

_ERROR_OUTCOMES = {
    "INTERNAL_SERVER_ERROR": "internal_error",
    "SERVICE_UNAVAILABLE": "unavailable",
    "FORBIDDEN": "forbidden",
}


class RequestOutcome(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        request = getattr(context.context, "request", None)
        if request is None:
            return
        request.scope.setdefault("state", {})["graphql"] = {
            "operation_name": (context.operation_name or "")[:100] or None,
            "root_fields": root_fields(context.graphql_document),
            "outcome": _outcome(context.result),
        }


def _outcome(result: Any) -> str:
    if result is None:
        return "invalid_request"
    if result.errors:
        codes = {(error.extensions or {}).get("code") for error in result.errors}
        for code, outcome in _ERROR_OUTCOMES.items():
            if code in codes:
                return outcome
        return "invalid_request"
    payload_errors = [
        error
        for value in (result.data or {}).values()
        if isinstance(value, dict)
        for error in value.get("errors") or ()
    ]
    if any(error.get("code") == "RATE_LIMITED" for error in payload_errors):
        return "rate_limited"
    return "refused" if payload_errors else "ok"
