"""COUPONS_TRACING sends OTLP over HTTP/protobuf: an OTEL_* variable asking for anything
else (or for what would break requests) is refused in one line when the settings load,
not left to lose spans, or answers, quietly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from graphql_api.cli import settings_problem
from graphql_api.settings import Settings

OTEL_CHOICES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_PROPAGATORS",
)


@pytest.fixture
def no_otel_choices(monkeypatch):
    for name in (*OTEL_CHOICES, "COUPONS_TRACING"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        # The ASGI instrumentation would fail every request (a None context).
        ("OTEL_PROPAGATORS", "none"),
    ],
)
def test_what_the_service_cannot_honour_is_refused_in_one_line(
    no_otel_choices, monkeypatch, variable, value
):
    # given
    monkeypatch.setenv(variable, value)
    # when
    with pytest.raises(ValidationError) as refused:
        Settings(tracing=True)
    # then
    [problem] = [settings_problem(error) for error in refused.value.errors()]
    assert problem.startswith(f"{variable}={value} is not supported with COUPONS_TRACING"), problem
    assert "\n" not in problem


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_PROPAGATORS", "tracecontext"),
    ],
)
def test_what_the_service_sends_may_be_named(no_otel_choices, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    assert Settings(tracing=True).tracing


def test_off_the_otel_variables_are_not_the_service_s_business(no_otel_choices, monkeypatch):
    # given variables another process on the host may be configured by
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    # then a service without tracing starts as ever
    assert Settings().tracing is False
