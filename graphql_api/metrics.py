"""Prometheus metrics. With several workers, each writes to PROMETHEUS_MULTIPROC_DIR and
/metrics adds them up (the CLI sets the directory up before the workers start)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter(
    "coupons_graphql_requests_total",
    "GraphQL requests by root field and outcome",
    ["operation", "outcome"],
)
LATENCY = Histogram(
    "coupons_graphql_request_duration_seconds",
    "GraphQL request latency by root field",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
REDEMPTIONS = Counter(
    "coupons_redemptions_total",
    "redeemCoupon answers by result: OK, REPLAYED (a retried order) or the error code",
    ["result"],
)
POOL_IN_USE = Gauge(
    "coupons_db_pool_connections_in_use",
    "Database connections checked out of the pool",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "coupons_db_pool_connections_open",
    "Database connections open in the pool",
    multiprocess_mode="livesum",
)


def render() -> tuple[bytes, str]:
    """The exposition text for this process, or for all workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
