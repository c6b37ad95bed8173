"""Assembles the gRPC server from a ServerConfig and runs it until told to stop."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from silkline.indicators.rates import load_rate_table
from silkline.policy.rules import RulesError
from silkline.trust import ParticipantTrust, TrustStore
from silkline.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    indicators_pb2,
    indicators_pb2_grpc,
    records_pb2,
    records_pb2_grpc,
)
from silkline_server.access import AccessControl
from silkline_server.admission import Admission
from silkline_server.authentication import CallerAuthenticator
from silkline_server.caller import AuthenticatingInterceptor
from silkline_server.config import ServerConfig
from silkline_server.database_probe import DatabaseProbe
from silkline_server.fanout import RecordFanout
from silkline_server.log.checkpointer import Checkpointer
from silkline_server.log.checkpoints import CheckpointPublisher
from silkline_server.metrics import ServerMetrics
from silkline_server.receipts import ReceiptSigner, load_log_signer
from silkline_server.retention import RetentionJob
from silkline_server.services.admin import AdminServicer
from silkline_server.services.audit import AuditServicer
from silkline_server.services.indicators import IndicatorsServicer
from silkline_server.services.records import RecordsServicer, StreamSettings
from silkline_server.store import GroupCommitter, Store, StoreError
from silkline_server.store.notifications import RecordsAppendedListener

log = structlog.get_logger("silkline.server")

SERVICE_NAMES = (
    records_pb2.DESCRIPTOR.services_by_name["RecordsService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    indicators_pb2.DESCRIPTOR.services_by_name["IndicatorsService"].full_name,
)


class StartupError(Exception):
    """The server cannot start with this configuration; the message says why."""


@dataclass
class RunningServer:
    server: grpc.aio.Server
    health: HealthServicer
    store: Store
    committer: GroupCommitter
    checkpointer: Checkpointer
    access: AccessControl
    port: int
    fanout: RecordFanout
    retention: RetentionJob
    database_probe: DatabaseProbe | None = None
    # PostgreSQL only: wake-ups for records other replicas append.
    listener: RecordsAppendedListener | None = None
    metrics: ServerMetrics | None = None

    async def drain(self, grace_period_s: float) -> None:
        """Stop accepting calls, let in-flight calls finish within the grace period."""
        log.info("draining", grace_period_s=grace_period_s)
        await self.health.enter_graceful_shutdown()
        # Subscriptions never end on their own: end them now, with their resume cursors.
        self.fanout.close()
        for background in (self.database_probe, self.listener):
            if background is not None:
                await background.stop()
        await self.server.stop(grace_period_s)
        await self.retention.stop()
        # In-flight publishes have been answered or cancelled: nothing is left to commit.
        await self.committer.stop()
        # Last: a checkpoint covering every entry committed above.
        await self.checkpointer.stop()
        if self.metrics is not None:
            # Last before the store closes: a scrape during the drain still reads the log.
            await asyncio.to_thread(self.metrics.close)
        self.store.close()
        log.info("stopped")


def load_trust(config: ServerConfig) -> TrustStore:
    return TrustStore(
        {p.code: ParticipantTrust.load(p.code, p.ca, p.crl) for p in config.participants}
    )


def server_credentials(config: ServerConfig) -> grpc.ServerCredentials:
    try:
        certificate = config.server_certificate.read_bytes()
        private_key = config.server_private_key.read_bytes()
        bundle = b"".join(p.ca.read_bytes() for p in config.participants)
    except OSError as exc:
        raise StartupError(f"cannot read TLS material: {exc}") from exc
    # Only participants' CAs: the hub's own CA is not a client trust anchor, so
    # its server certificate can never be used to call in.
    return grpc.ssl_server_credentials(
        [(private_key, certificate)], root_certificates=bundle, require_client_auth=True
    )


async def start_server(config: ServerConfig) -> RunningServer:
    """Open the store, bind the TLS port and start serving."""
    trust = load_trust(config)
    authenticator = CallerAuthenticator(trust)
    log_signer = load_log_signer(config.log.origin, config.log.private_key)
    receipts = ReceiptSigner(log_signer)
    store = Store.open(config.database)
    store.migrate()
    try:
        access = AccessControl(config.rules, store)
    except RulesError as exc:
        store.close()
        raise StartupError(f"access rules refused:\n{exc}") from exc
    checkpointer = Checkpointer(store, CheckpointPublisher(store, log_signer))
    try:
        await checkpointer.start()
    except StoreError as exc:
        store.close()
        raise StartupError(f"cannot sign the log's first checkpoint: {exc}") from exc
    committer = GroupCommitter(store)
    await committer.start()
    metrics = ServerMetrics()
    server = grpc.aio.server(
        interceptors=[AuthenticatingInterceptor(authenticator, metrics)],
        options=[
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    admission = Admission(trust, max_envelope_bytes=config.max_envelope_bytes)
    fanout = RecordFanout(max_lag=config.subscriber_max_lag)
    metrics.track(store, lambda: fanout.subscribers)
    records_pb2_grpc.add_RecordsServiceServicer_to_server(  # type: ignore[no-untyped-call]
        RecordsServicer(
            admission,
            committer,
            store,
            receipts,
            access,
            fanout=fanout,
            streams=StreamSettings(
                heartbeat_interval_s=config.heartbeat_interval_s,
                write_timeout_s=config.subscriber_write_timeout_s,
            ),
        ),
        server,
    )
    audit_pb2_grpc.add_AuditServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AuditServicer(store, access, log_signer.verifier, config.witnesses), server
    )
    admin_pb2_grpc.add_AdminServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AdminServicer(access), server
    )
    indicators_pb2_grpc.add_IndicatorsServiceServicer_to_server(  # type: ignore[no-untyped-call]
        IndicatorsServicer(store, access, load_rate_table()), server
    )
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    try:
        port = server.add_secure_port(config.listen, server_credentials(config))
    except RuntimeError as exc:
        await committer.stop()
        await checkpointer.stop()
        store.close()
        raise StartupError(f"cannot listen on {config.listen}: {exc}") from exc
    if config.metrics_listen is not None:
        try:
            metrics.serve(config.metrics_listen)
        except OSError as exc:
            metrics.close()
            await committer.stop()
            await checkpointer.stop()
            store.close()
            raise StartupError(f"cannot serve metrics on {config.metrics_listen}: {exc}") from exc
    await server.start()
    retention = RetentionJob(store, access)
    await retention.start()
    for name in ("", *SERVICE_NAMES):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    database_probe = DatabaseProbe(store, health, ("", *SERVICE_NAMES))
    await database_probe.start()
    listener = None
    if store.backend == "postgresql":
        # Once connected it wakes every subscriber: nothing committed before is missed.
        listener = RecordsAppendedListener(store, fanout.appended_elsewhere)
        await listener.start()
    log.info(
        "serving",
        listen=config.listen,
        port=port,
        database=_redact(config.database),
        participants=list(authenticator.participants),
        rules_sha256=access.rules.sha256,
        witnesses=[w.vkey for w in config.witnesses],
    )
    return RunningServer(
        server,
        health,
        store,
        committer,
        checkpointer,
        access,
        port,
        fanout=fanout,
        retention=retention,
        database_probe=database_probe,
        listener=listener,
        metrics=metrics,
    )


async def run(config: ServerConfig, *, port_file: Path | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then drain and return the exit status."""
    running = await start_server(config)
    if port_file is not None:
        _write_atomically(port_file, f"{running.port}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload_rules(running.access))
    await stop.wait()
    await running.drain(config.grace_period_s)
    return 0


def _reload_rules(access: AccessControl) -> None:
    try:
        access.reload()
    except RulesError as exc:
        log.error("new rules refused; the rules in force stay", problems=str(exc))


def _write_atomically(path: Path, text: str) -> None:
    # Readers poll for this file: it must never be seen half-written.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _redact(url: str) -> str:
    """A database URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
