"""Optional OpenTelemetry tracing of requests, GraphQL operations and resolvers, and SQL.

Imported only when COUPONS_TRACING is true: with it off, nothing of OpenTelemetry is
loaded and a request costs what it did. Where spans go, and how many are kept, is told
by OpenTelemetry's own environment variables (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_BSP_*, ...), which the SDK reads itself.
Spans leave over OTLP/HTTP with protobuf: the protocol OpenTelemetry's specification
makes the default, and an exporter built on `requests` rather than on grpcio.

One trace per request: the HTTP server span (the ASGI instrumentation), inside it the
GraphQL operation span (semantic conventions: named `query` or `mutation`, with
`graphql.operation.name` and `graphql.operation.type`, both also on the HTTP span), on
GraphQL execution a span per resolver that waits on something, and a span per SQL
statement (the asyncpg instrumentation, which sees both the SQLAlchemy engine's
statements and the hot pool's). The compiled paths (schema/compiled.py) make the same
operation span. Never in a span: variables' values, resolver arguments, the document
(its literals may be codes), SQL parameters, a GET's query string values, headers,
an exception's message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from inspect import isawaitable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from graphql import GraphQLObjectType, GraphQLResolveInfo
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.http import get_excluded_urls, sanitize_method
from starlette.middleware import Middleware
from starlette.types import Scope
from strawberry.extensions import LifecycleStep, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension
from strawberry.extensions.tracing.utils import should_skip_tracing
from strawberry.extensions.utils import get_path_from_info
from strawberry.types import ExecutionContext

from graphql_api.access_log import record_graphql
from graphql_api.request_id import current_request_id

log = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "coupons"
# The span name the conventions give an operation whose type is not known (yet).
UNKNOWN_OPERATION = "GraphQL Operation"
# As the access log cuts it: a name is the client's, and may be as long as the body.
MAX_OPERATION_NAME = 100
# Outcomes (graphql_api.access_log) that are the service's failure, as their error code.
FAILED_OUTCOMES = {"internal_error": "INTERNAL_SERVER_ERROR", "unavailable": "SERVICE_UNAVAILABLE"}
SUPPORTED = {
    "OTEL_TRACES_EXPORTER": ("otlp",),
    "OTEL_EXPORTER_OTLP_PROTOCOL": ("http/protobuf",),
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": ("http/protobuf",),
}


# Headers whose values are written "[REDACTED]" whatever an operator asks to capture.
SECRET_HEADERS = [".*authorization.*", "cookie", "set-cookie", ".*api-key.*", ".*token.*"]


def environment_problem() -> str | None:
    """What in the OTEL_* environment this service cannot honour, or None.

    It sends OTLP over HTTP/protobuf and nothing else: an operator who asked for gRPC or
    another exporter is told at start, rather than left looking for spans that never come.
    """
    for variable, accepted in SUPPORTED.items():
        value = os.environ.get(variable, "").strip().lower()
        if value and value not in accepted:
            return (
                f"{variable}={value} is not supported with COUPONS_TRACING: spans are sent as "
                "OTLP over HTTP/protobuf (unset it, or set it to "
                f"{' or '.join(accepted)})"
            )
    if os.environ.get("OTEL_PROPAGATORS", "").strip().lower() == "none":
        # The ASGI instrumentation then makes the request's context None, and every
        # request fails (opentelemetry-instrumentation-asgi 0.66b1).
        return (
            "OTEL_PROPAGATORS=none is not supported with COUPONS_TRACING: every request "
            "would fail in the ASGI instrumentation (unset it, or name propagators, such as "
            "tracecontext,baggage)"
        )
    return None


class Tracing:
    """This process's tracer provider and the hooks that feed it (see start_tracing)."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer(__name__, _service_version())

    def request_middleware(self) -> Middleware:
        """The HTTP server span of every request, named after its route: a path that is
        none of the app's routes is a name a client made up, so it gets the method alone."""
        routes: set[str] = set()

        def span_details(scope: Scope) -> tuple[str, dict[str, str]]:
            if not routes:  # the app (Starlette puts itself in the scope) is complete now
                routes.update(str(getattr(route, "path", "")) for route in scope["app"].routes)
            method = sanitize_method(scope.get("method", "").strip())
            method = "HTTP" if method == "_OTHER" else method
            path = scope.get("path", "")
            if path in routes:
                return f"{method} {path}", {"http.route": path}
            return method, {}

        return Middleware(
            OpenTelemetryMiddleware,
            default_span_details=span_details,
            server_request_hook=_request_described,
            tracer_provider=self.provider,
            # OTEL_PYTHON_EXCLUDED_URLS (or OTEL_PYTHON_ASGI_EXCLUDED_URLS): /health, say.
            excluded_urls=get_excluded_urls("ASGI"),
            # A span for each ASGI message would double the spans of a request for nothing.
            exclude_spans=["receive", "send"],
            # No header is recorded unless the operator names it (OTEL_INSTRUMENTATION_HTTP_
            # CAPTURE_HEADERS_SERVER_REQUEST); a key or a cookie never, even then.
            http_capture_headers_sanitize_fields=SECRET_HEADERS,
        )

    @contextmanager
    def compiled_operation(
        self, scope: Scope, operation_type: str, operation_name: str | None
    ) -> Iterator[None]:
        """The operation span of a request the compiled paths answer, current while they
        answer (so that its SQL spans are its children), as GraphQL execution makes it."""
        request_span = trace.get_current_span()
        if not request_span.is_recording():  # nor would this be: skip the sampler's cost
            yield
            return
        span = self.tracer.start_span(UNKNOWN_OPERATION, kind=SpanKind.SERVER)
        describe_operation(span, request_span, operation_type, operation_name)
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                yield
        finally:
            settle_operation(span, record_graphql(scope).get("outcome"))
            span.end()

    def stop(self) -> None:
        """Export what is pending and stop: the app's lifespan calls it at a worker's
        shutdown, after its last request."""
        global _started, _stopped
        _asyncpg_instrumentor().uninstrument()
        self.provider.shutdown()
        _started, _stopped = None, True


_started: Tracing | None = None
_stopped = False


def start_tracing() -> Tracing:
    """Tracing for this process: its provider (also OpenTelemetry's global one) and the
    asyncpg instrumentation. Called by create_app, so in each worker process `coupons
    serve --workers N` starts; once per process (the instrumentation patches asyncpg's
    classes, which every app in the process shares)."""
    global _started
    if _stopped:
        raise RuntimeError("tracing was stopped in this process: one traced app per process")
    if _started is None:
        problem = environment_problem()
        if problem is not None:
            raise RuntimeError(problem)
        # Shut down by the app's lifespan (Tracing.stop), not at exit: a worker process's
        # spans are all exported when its last request is answered.
        provider = TracerProvider(resource=_resource(), shutdown_on_exit=False)
        provider.add_span_processor(BatchSpanProcessor(MessagesWithheld(OTLPSpanExporter())))
        trace.set_tracer_provider(provider)
        # Only statements: AsyncPGInstrumentor never records parameters unless asked to.
        _asyncpg_instrumentor().instrument(tracer_provider=provider)
        _started = Tracing(provider)
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"
        )
        log.info("tracing on: spans go over OTLP/HTTP to %s", endpoint)
    return _started


class MessagesWithheld(SpanExporter):
    """Spans as recorded, less what an exception's text says: the asyncpg instrumentation
    records a failed statement's exception, and PostgreSQL's messages may quote a value
    (`invalid input syntax for type uuid: "..."`). The exception's type stays; its message
    is in the log line of its request id. In the exporting thread, off the requests' path.
    """

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([_withheld(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


WITHHELD = ("exception.message", "exception.stacktrace")


def _withheld(span: ReadableSpan) -> ReadableSpan:
    told = [event for event in span.events if event.name == "exception"]
    if not told and not span.status.description:
        return span  # nearly every span: nothing to withhold
    events = [
        Event(
            event.name,
            {k: v for k, v in (event.attributes or {}).items() if k not in WITHHELD},
            event.timestamp,
        )
        if event.name == "exception"
        else event
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _asyncpg_instrumentor() -> AsyncPGInstrumentor:
    # One instance per process (BaseInstrumentor is a singleton); its __init__ is untyped.
    return AsyncPGInstrumentor()  # type: ignore[no-untyped-call]


def _resource() -> Resource:
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win; the service's name otherwise.
    resource = Resource.create({SERVICE_VERSION: _service_version()})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


def _service_version() -> str:
    try:
        return version("coupons")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _request_described(span: Span, scope: Scope) -> None:
    """The ASGI instrumentation's hook, on every HTTP server span as it starts."""
    if not span.is_recording():
        return
    request_id = current_request_id()  # set by the one middleware outside this one
    if request_id is not None:
        span.set_attribute("coupons.request_id", request_id)
    if scope.get("query_string"):
        _hide_query_values(span, scope["query_string"])


def _hide_query_values(span: Span, query_string: bytes) -> None:
    """GraphQL over GET carries the document and its variables in the query string, which
    the instrumentation records whole: keep the parameters' names, never their values."""
    recorded: Any = getattr(span, "attributes", None) or {}
    names = [name for name, _ in parse_qsl(query_string.decode("latin-1"), True)]
    if "http.url" in recorded:  # the old HTTP conventions: the full URL
        span.set_attribute("http.url", str(recorded["http.url"]).split("?", 1)[0])
    if "http.target" in recorded:
        span.set_attribute("http.target", str(recorded["http.target"]).split("?", 1)[0])
    if "url.query" in recorded:  # OTEL_SEMCONV_STABILITY_OPT_IN=http
        span.set_attribute("url.query", urlencode([(name, "REDACTED") for name in names]))


def describe_operation(
    span: Span, request_span: Span, operation_type: str | None, operation_name: str | None
) -> None:
    """The semantic conventions' name and attributes of a GraphQL operation span, and the
    same attributes on its request's HTTP span, where a search by operation starts."""
    if operation_type is not None:
        span.update_name(operation_type)
    for target in (span, request_span):
        if operation_type is not None:
            target.set_attribute("graphql.operation.type", operation_type)
        if operation_name:
            target.set_attribute("graphql.operation.name", operation_name[:MAX_OPERATION_NAME])


def settle_operation(span: Span, outcome: str | None) -> None:
    """An error status for the outcomes that are the service's failure; a client's mistake
    (an invalid document, a refused redemption) is the operation working as it should."""
    code = FAILED_OUTCOMES.get(outcome or "")
    if code is not None:
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", code)


def graphql_tracing() -> SchemaExtension:
    """The schema's tracing extension for one request (build_schema's factory): when its
    HTTP span is not sampled, neither is anything in it, and a bare extension has no
    hooks at all, so the request pays nothing per field."""
    if trace.get_current_span().is_recording():
        return GraphQLTracing()
    return SchemaExtension()


class GraphQLTracing(OpenTelemetryExtension):
    """Strawberry's OpenTelemetry extension, told what the conventions and this service
    need: the operation span named and described as the compiled paths describe theirs,
    without the document; resolver spans without arguments; and a synchronous `resolve`.

    Strawberry's async `resolve` turns every field, the plain attribute reads too, into a
    coroutine, and its sync one ends a span before an async resolver has run. Here a field
    of an unsampled request, or with no resolver of its own, costs two checks, and a
    resolver's span stays open, and current, until what it awaits is done: its SQL spans
    are its children. Every resolver of this schema is async (each waits on a loader or a
    service), so each gets a span.
    First in the schema's extensions: it sees the outcome the others have recorded.
    """

    def on_operation(self) -> Generator[None, None, None]:
        request_span = trace.get_current_span()
        span = self._tracer.start_span(UNKNOWN_OPERATION, kind=SpanKind.SERVER)
        self._span_holder[LifecycleStep.OPERATION] = span
        try:
            yield
        finally:
            context = self.execution_context
            describe_operation(span, request_span, _operation_type(context), context.operation_name)
            request = getattr(context.context, "request", None)
            if request is not None:
                settle_operation(span, record_graphql(request.scope).get("outcome"))
            span.end()

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: str,
        **kwargs: Any,
    ) -> Any:
        operation = self._span_holder[LifecycleStep.OPERATION]
        if not operation.is_recording() or not _has_resolver(_next, info):
            return _next(root, info, *args, **kwargs)  # unsampled, or a plain read
        span = self._tracer.start_span(
            f"GraphQL Resolving: {info.field_name}",
            context=trace.set_span_in_context(operation),
            attributes={
                "graphql.parentType": info.parent_type.name,
                "graphql.path": ".".join(map(str, get_path_from_info(info))),
            },
        )
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                result = _next(root, info, *args, **kwargs)
        except Exception as error:
            _failed(span, error)
            span.end()
            raise
        if isawaitable(result):
            return _awaited(span, result)
        span.end()
        return result


# {(type, field): whether it has a resolver of its own}, for the schemas of this process.
_RESOLVERS: dict[tuple[GraphQLObjectType, str], bool] = {}


def _has_resolver(_next: Callable[..., Any], info: GraphQLResolveInfo[Any]) -> bool:
    """Strawberry's test, once per field: this runs for every field of every answer."""
    key = (info.parent_type, info.field_name)
    known = _RESOLVERS.get(key)
    if known is None:
        known = _RESOLVERS[key] = not should_skip_tracing(_next, info)
    return known


async def _awaited(span: Span, result: Any) -> Any:
    try:
        with trace.use_span(span, record_exception=False, set_status_on_exception=False):
            return await result
    except Exception as error:
        _failed(span, error)
        raise
    finally:
        span.end()


def _failed(span: Span, error: Exception) -> None:
    # The type only: a message may hold what the client sent.
    span.set_status(Status(StatusCode.ERROR))
    span.set_attribute("error.type", type(error).__qualname__)


def _operation_type(context: ExecutionContext) -> str | None:
    if context.graphql_document is None:
        return None  # the document did not parse
    try:
        return context.operation_type.value
    except RuntimeError:  # no operation of the name the client gave
        return None
