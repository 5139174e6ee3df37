"""What happened to a GraphQL request, for the access log and the metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql_api.access_log import record_graphql
from graphql_api.documents import root_fields

_ERROR_OUTCOMES = {
    "INTERNAL_SERVER_ERROR": "internal_error",
    "SERVICE_UNAVAILABLE": "unavailable",
    "FORBIDDEN": "forbidden",
}


class RequestOutcome(SchemaExtension):
    """Tells the access log what the request was. Root fields are named only once the
    document is valid: a made-up field name must not become a metric label (each would be
    a new time series); an invalid document is "invalid"."""

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        valid = not context.pre_execution_errors
        self._record(root_fields(context.graphql_document) if valid else "invalid", None)

    def on_operation(self) -> Iterator[None]:
        yield
        self._record(None, _outcome(self.execution_context.result))

    def _record(self, fields: str | None, outcome: str | None) -> None:
        context = self.execution_context
        request = getattr(context.context, "request", None)
        if request is not None:
            record_graphql(
                request.scope,
                operation_name=context.operation_name,
                root_fields=fields,
                outcome=outcome,
            )


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
