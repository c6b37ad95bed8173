"""The Prometheus endpoint of a real server: calls, refusals, publishes, subscribers, the log.

One server with `--metrics-listen 127.0.0.1:0` for the module; each test
scrapes /metrics before and after what it does and checks what moved.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from silkline.formats import dsse
from silkline.record_checks import RecordRefusedError
from silkline.v1 import admin_pb2, admin_pb2_grpc, records_pb2
from silkline_server.metrics import RECORD_REFUSAL_REASONS, REFUSAL_REASONS
from tests.conftest import DEV_CONFIG, ServerProcess, agency_files, channel_for, start_server
from tests.records.conftest import Agency, signed_record, signing_identity

PUBLISH = "/silkline.v1.RecordsService/Publish"
WHOAMI = "/silkline.v1.AdminService/WhoAmI"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start_server(tmp_path_factory.mktemp("metrics"), "--metrics-listen", "127.0.0.1:0")
    yield running
    if running.process.poll() is None:
        assert running.stop() == 0


@pytest.fixture(scope="module")
def metrics_port(server: ServerProcess) -> int:
    text = server.wait_for_log('"metrics endpoint serving"')
    (line,) = [line for line in text.splitlines() if '"metrics endpoint serving"' in line]
    port: int = json.loads(line)["port"]
    return port


@pytest.fixture(scope="module")
def ncb(server: ServerProcess) -> Iterator[Agency]:
    channel = channel_for(server.target, *agency_files("IN", "ncb"))
    yield Agency(server, signing_identity("IN", "ncb"), channel)
    channel.close()


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(port: int, name: str, at_least: float, **labels: str) -> Samples:
    """Scrape until `name{labels}` reaches `at_least` (some counts land on other threads)."""
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(port)
        if value(samples, name, **labels) >= at_least or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def test_the_endpoint_serves_every_family_with_the_log_read_from_the_database(
    metrics_port: int,
) -> None:
    samples = scrape(metrics_port)
    names = {name for name, _ in samples}
    for family in (
        "silkline_refusals_total",
        "silkline_publish_duration_seconds_count",
        "silkline_subscribers",
        "silkline_log_tree_size",
        "silkline_log_checkpoint_tree_size",
        "silkline_log_checkpoint_timestamp_seconds",
        "silkline_database_up",
        "process_start_time_seconds",
    ):
        assert family in names, family
    assert value(samples, "silkline_database_up") == 1
    # A server signs a checkpoint of the log as it finds it before serving.
    assert abs(value(samples, "silkline_log_checkpoint_timestamp_seconds") - time.time()) < 600
    assert {labels[0][1] for name, labels in samples if name == "silkline_refusals_total"} == set(
        REFUSAL_REASONS
    )


def test_calls_refusals_and_publishes_move_their_counters(
    server: ServerProcess, metrics_port: int, ncb: Agency
) -> None:
    before = scrape(metrics_port)

    with channel_for(server.target, *agency_files("IN", "ncb")) as channel:
        admin_pb2_grpc.AdminServiceStub(channel).WhoAmI(admin_pb2.WhoAmIRequest(), timeout=10)
    receipt = ncb.publish(ncb.seal())
    sealed = ncb.seal()
    payload = dsse.parse_envelope(sealed.envelope).payload
    impostor = signing_identity("IN", "dri").private_key
    forged = dsse.sign(dsse.RECORD_PAYLOAD_TYPE, payload, impostor, ncb.signer.keyid)
    refusal = ncb.refusal(
        signed_record(dsse.encode_envelope(forged), sealed.disclosures, ncb.signer.certificate_der)
    )
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    with (
        channel_for(server.target, *agency_files("bad", "kz-minted-by-in")) as channel,
        pytest.raises(grpc.RpcError) as unauthenticated,
    ):
        admin_pb2_grpc.AdminServiceStub(channel).WhoAmI(admin_pb2.WhoAmIRequest(), timeout=10)
    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]

    after = wait_for(metrics_port, "silkline_log_tree_size", receipt.log_index + 1)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("silkline_rpc_requests_total", method=WHOAMI, code="OK") == 1
    assert moved("silkline_rpc_requests_total", method=PUBLISH, code="OK") == 1
    assert moved("silkline_rpc_requests_total", method=PUBLISH, code="INVALID_ARGUMENT") == 1
    assert moved("silkline_rpc_requests_total", method=WHOAMI, code="UNAUTHENTICATED") == 1
    assert moved("silkline_refusals_total", reason="signature") == 1
    assert moved("silkline_refusals_total", reason="client_certificate") == 1
    for reason in set(REFUSAL_REASONS) - {"signature", "client_certificate", "tls_handshake"}:
        assert moved("silkline_refusals_total", reason=reason) == 0, reason
    # Only the accepted record is timed.
    assert moved("silkline_publish_duration_seconds_count") == 1
    assert moved("silkline_publish_duration_seconds_sum") > 0
    assert value(after, "silkline_log_tree_size") >= receipt.log_index + 1


def test_a_refused_tls_handshake_is_counted(server: ServerProcess, metrics_port: int) -> None:
    before = value(scrape(metrics_port), "silkline_refusals_total", reason="tls_handshake")
    with (
        channel_for(server.target, None, None) as channel,
        pytest.raises(grpc.RpcError),
    ):
        admin_pb2_grpc.AdminServiceStub(channel).WhoAmI(admin_pb2.WhoAmIRequest(), timeout=10)
    after = wait_for(metrics_port, "silkline_refusals_total", before + 1, reason="tls_handshake")
    assert value(after, "silkline_refusals_total", reason="tls_handshake") >= before + 1


def test_open_subscriptions_are_counted(metrics_port: int, ncb: Agency) -> None:
    assert value(scrape(metrics_port), "silkline_subscribers") == 0
    stream = ncb.stub.Subscribe(records_pb2.SubscribeRequest(cursor=0), timeout=30)
    try:
        next(stream)  # the first record (or heartbeat): the subscription is registered
        assert value(scrape(metrics_port), "silkline_subscribers") == 1
    finally:
        stream.cancel()
    assert value(wait_for_zero_subscribers(metrics_port), "silkline_subscribers") == 0


def wait_for_zero_subscribers(port: int) -> Samples:
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(port)
        if value(samples, "silkline_subscribers") == 0 or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def test_every_record_refusal_of_admission_has_a_reason() -> None:
    # silkline_server.metrics imports admission, so its own refusal classes are loaded.
    def subclasses(kind: type) -> set[type]:
        found = set(kind.__subclasses__())
        return found.union(*(subclasses(k) for k in found)) if found else found

    assert subclasses(RecordRefusedError) <= set(RECORD_REFUSAL_REASONS)


# ---------------------------------------------------------------- start-up refusals


def run_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "silkline_server", *args], capture_output=True, text=True, timeout=60
    )


def test_a_bad_metrics_listen_option_is_refused() -> None:
    result = run_server("--config", str(DEV_CONFIG), "--metrics-listen", "9464")
    assert result.returncode == 2
    assert "'9464' is not HOST:PORT" in result.stderr


def test_a_bad_metrics_listen_address_in_the_config_is_refused(tmp_path: Path) -> None:
    # Refused while parsing, before any file the config names is read.
    config = tmp_path / "server.toml"
    config.write_text(DEV_CONFIG.read_text() + '\n[metrics]\nlisten = "localhost"\n')
    result = run_server("--config", str(config))
    assert result.returncode == 2
    assert "[metrics] listen: 'localhost' is not HOST:PORT" in result.stderr


def test_a_metrics_port_in_use_stops_start_up_with_a_reason(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_server(
            "--config",
            str(DEV_CONFIG),
            "--listen",
            "127.0.0.1:0",
            "--database",
            f"sqlite:///{tmp_path / 'metrics.db'}",
            "--metrics-listen",
            f"127.0.0.1:{port}",
            "--log-format",
            "json",
        )
    assert result.returncode == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
