"""The server's Prometheus metrics: what is counted, and the endpoint that serves them.

Each server has its own `CollectorRegistry` (never the process-wide default),
so several servers in one process, as in tests, count apart. What is counted
comes from the places that decide it, through a few calls:

- every call's outcome, from the caller interceptor (`ServerMetrics.rpc_done`),
  which also counts the client certificates it refuses;
- TLS handshakes that gRPC core refuses (`core_log` tells the listeners);
- each record admission refuses, by the class of its `RecordRefusedError`
  (`count_refusal`, called where the servicer catches it), and each accepted
  publish's latency (`publish_started` and `observe_publish`);
- subscribers, the log's size and its latest checkpoint are read when scraped.

The module-level helpers find the server of the call being served through a
context variable that the interceptor sets, as `current_caller()` does; code
running outside a call (unit tests of a servicer) counts nothing.

Names and meanings are listed in docs/operations.md ("Monitoring"); a test
checks that the document and `ServerMetrics().registry` name the same metrics.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from silkline.record_checks import (
    DisclosureRefusedError,
    MalformedRecordError,
    RecordRefusedError,
    RecordSchemaError,
    RecordSignatureError,
    SensitiveFieldInClearError,
    SignerRefusedError,
    UnknownPayloadTypeError,
)
from silkline_server.admission import (
    EnvelopeTooLargeError,
    FutureRecordError,
    OriginatorMismatchError,
)
from silkline_server.config import parse_listen_address
from silkline_server.core_log import on_handshake_refused
from silkline_server.store import Store, StoreError

log = structlog.get_logger("silkline.metrics")

RECORD_REFUSAL_REASONS: Final[dict[type[RecordRefusedError], str]] = {
    EnvelopeTooLargeError: "size",
    MalformedRecordError: "malformed",
    UnknownPayloadTypeError: "malformed",
    SignerRefusedError: "signer",
    OriginatorMismatchError: "originator",
    RecordSignatureError: "signature",
    RecordSchemaError: "schema",
    SensitiveFieldInClearError: "policy",
    DisclosureRefusedError: "policy",
    FutureRecordError: "clock",
}
"""The `reason` label of each refusal by admission (admission.py decides them)."""

REFUSAL_REASONS: Final = (
    "tls_handshake",
    "client_certificate",
    *dict.fromkeys(RECORD_REFUSAL_REASONS.values()),
)
"""Every value of `silkline_refusals_total`'s `reason` label, each exported from the start."""

PUBLISH_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds, from a quiet group commit (about a millisecond) to a database under strain."""

_current: contextvars.ContextVar[ServerMetrics] = contextvars.ContextVar("silkline_metrics")


class ServerMetrics:
    """One server's metrics, in its own registry; `serve` starts the /metrics endpoint."""

    def __init__(self) -> None:
        # No `_created` series beside each counter: noise to every scraper we know.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "silkline_rpc_requests",
            "gRPC calls ended, by full method name and status code (calls refused at "
            "authentication included, UNAUTHENTICATED)",
            ["method", "code"],
            registry=self.registry,
        )
        self._refusals = Counter(
            "silkline_refusals",
            "Refusals by reason: a TLS handshake, a client certificate, or a record "
            "(Publish, or one item of PublishStream) refused by admission",
            ["reason"],
            registry=self.registry,
        )
        for reason in REFUSAL_REASONS:
            self._refusals.labels(reason)
        self._publish = Histogram(
            "silkline_publish_duration_seconds",
            "Accepted records (Publish and PublishStream items): seconds from admission "
            "to the receipt, the commit included",
            buckets=PUBLISH_BUCKETS,
            registry=self.registry,
        )
        self._subscribers = Gauge(
            "silkline_subscribers",
            "Subscribe streams open on this replica",
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self._endpoint: tuple[WSGIServer, threading.Thread] | None = None
        self._closers: list[Callable[[], None]] = []

    # --------------------------------------------------------------- what is counted

    def rpc_done(self, method: str, code: str) -> None:
        self._requests.labels(method, code).inc()

    def refused(self, reason: str) -> None:
        self._refusals.labels(reason).inc()

    def publish_observed(self, seconds: float) -> None:
        self._publish.observe(seconds)

    def track(self, store: Store, subscribers: Callable[[], int]) -> None:
        """Follow what is read rather than counted: at each scrape the log's size and
        latest checkpoint from `store`, the number of subscribers from `subscribers()`;
        and count the TLS handshakes gRPC core refuses from now on."""
        self.registry.register(_LogCollector(store))
        self._subscribers.set_function(subscribers)
        self._closers.append(on_handshake_refused(lambda: self.refused("tls_handshake")))

    def bind(self) -> None:
        """Make these the metrics of the call being served (the interceptor calls this)."""
        _current.set(self)

    # ------------------------------------------------------------------ the endpoint

    def serve(self, listen: str) -> int:
        """Serve /metrics over plain HTTP on `listen` (HOST:PORT); the bound port.

        Raises OSError when the address cannot be bound.
        """
        host, port = parse_listen_address(listen, "metrics listen")
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._endpoint = (server, thread)
        bound: int = server.server_port
        log.info("metrics endpoint serving", listen=listen, port=bound, path="/metrics")
        return bound

    def close(self) -> None:
        """Stop the endpoint (waits for a scrape in progress) and drop the listeners."""
        for closer in self._closers:
            closer()
        self._closers.clear()
        if self._endpoint is not None:
            server, thread = self._endpoint
            self._endpoint = None
            server.shutdown()
            server.server_close()
            thread.join()


def count_refusal(exc: RecordRefusedError) -> None:
    """Count a record refused by admission, under the reason of its class."""
    metrics = _current.get(None)
    if metrics is not None:
        metrics.refused(refusal_reason(exc))


def refusal_reason(exc: RecordRefusedError) -> str:
    """The `reason` label of a record refusal: that of its class, or of the nearest base."""
    for kind in type(exc).__mro__:
        reason = RECORD_REFUSAL_REASONS.get(kind)
        if reason is not None:
            return reason
    return "malformed"


def publish_started() -> float:
    """A start time for `observe_publish`."""
    return time.perf_counter()


def observe_publish(started: float) -> None:
    """Observe an accepted publish that began at `started` (from `publish_started`)."""
    metrics = _current.get(None)
    if metrics is not None:
        metrics.publish_observed(time.perf_counter() - started)


class _LogCollector(Collector):
    """The log's size, its latest checkpoint, and whether the database answered, per scrape.

    Read from the database, so every replica of one database reports the same log.
    Runs on the endpoint's thread; the store is thread-safe.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def describe(self) -> Iterable[Metric]:
        # Without describe() the registry would call collect() (a query) on registration.
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        size, checkpoint_size, checkpoint_time, up = self._families()
        try:
            size.add_metric([], self._store.tree_size())
            latest = self._store.latest_checkpoint()
        except StoreError as exc:
            log.warning("metrics: the log cannot be read", error=str(exc))
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        if latest is None:
            return [size, up]
        checkpoint_size.add_metric([], latest.tree_size)
        checkpoint_time.add_metric([], latest.created_at.timestamp())
        return [size, checkpoint_size, checkpoint_time, up]

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("silkline_log_tree_size", "Entries in the Merkle log"),
            GaugeMetricFamily(
                "silkline_log_checkpoint_tree_size", "Tree size of the latest signed checkpoint"
            ),
            GaugeMetricFamily(
                "silkline_log_checkpoint_timestamp_seconds",
                "When the latest checkpoint was signed, in Unix seconds",
            ),
            GaugeMetricFamily(
                "silkline_database_up", "1 if the database answered this scrape's reads, else 0"
            ),
        )
