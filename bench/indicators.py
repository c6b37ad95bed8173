"""How long the indicators take over 100,000 records, in the three places they are computed.

    .venv/bin/python bench/indicators.py [--records 100000] [--json OUT] [--keep DIR]

The records are seizure alerts of the India sample (silkline.indicators.sample),
many seeds of it, re-originated by IN/NCB, TLP GREEN, each with its suspects
concealed as disclosures and signed with certs/example/IN/ncb.signing.key.
They are sealed with schema validation patched out (``unittest.mock.patch``,
for this build only; the sample's validity is a test), so that building them
takes seconds rather than minutes. Every measurement is the wall clock of one
run, next to a baseline measured in the same run on the same records:

==========================  ========================================  ==========================
measurement                 what runs                                 baseline
==========================  ========================================  ==========================
aggregate in process        json.loads of each signed payload, then   json.loads of each payload
                            IndicatorAccumulator.add (4 groupings:
                            the table and the 3 chart views)
offline, export             indicators_offline(verify=False) on an    reading entries.jsonl and
                            export folder of the records              parsing every record entry
offline, export, verified   indicators_offline(verify=True, jobs=     verify_export alone
                            CPUs): `silkline audit verify` first      (`silkline audit verify`)
server RPC                  GetIndicators over mutual TLS as          List, pages of 1,000, over
                            CARICC/ANALYSIS (analyst, reader): every  every record, as the same
                            record judged by the access rules, one    reader (what a reader would
                            access-log event per record used          do without the RPC)
rendering                   html_report + png_report of the result    -
==========================  ========================================  ==========================

The server runs as a subprocess on SQLite in a temporary folder, filled
directly through Store.append_records (the admission path is measured by
bench/sign_verify.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import grpc

from silkline.authoring import SealedRecord, build_payload, load_signing_identity, seal_record
from silkline.formats import dsse
from silkline.formats.checkpoint import Checkpoint, encode_checkpoint
from silkline.formats.log_entry import RecordEntry, encode_record_entry, parse_entry
from silkline.formats.merkle import leaf_hash
from silkline.formats.merkle_frontier import MerkleFrontier
from silkline.formats.note import sign_note
from silkline.indicators.aggregate import IndicatorAccumulator, IndicatorQuery
from silkline.indicators.charts import CHART_GROUPINGS, chart_data, png_report
from silkline.indicators.html import html_report
from silkline.indicators.offline import indicators_offline
from silkline.indicators.rates import load_rate_table
from silkline.indicators.render import ReportContext
from silkline.indicators.sample import india_seizures
from silkline.indicators.wire import indicators_of, request_of
from silkline.log_export import ExportWriter, participant_cas, read_entries
from silkline.log_verification import verify_export
from silkline.v1 import indicators_pb2_grpc, records_pb2, records_pb2_grpc
from silkline_server.receipts import load_log_signer
from silkline_server.store import NewDisclosure, NewRecord, Store

REPO = Path(__file__).resolve().parents[1]
CERTS = REPO / "certs" / "example"
LOG_ORIGIN = "silkline.example/log"
QUERY = IndicatorQuery(date(2021, 1, 1), date(2024, 12, 31), (("year", "drug"), *CHART_GROUPINGS))


def sealed_records(count: int) -> Iterator[SealedRecord]:
    """``count`` signed seizure alerts of IN/NCB from the sample, seed after seed."""
    signer = load_signing_identity(
        CERTS / "IN" / "ncb.signing.key", CERTS / "IN" / "ncb.signing.crt"
    )
    made = 0
    seed = 0
    with mock.patch("silkline.authoring.validate_payload"):
        while made < count:
            for body in india_seizures(seed):
                if made == count:
                    return
                document = build_payload(
                    "seizure-alert", body, originator=signer.identity, tlp="GREEN"
                )
                yield seal_record(document, signer)
                made += 1
            seed += 1


def timed(label: str, action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"  {label:<44} {elapsed:8.2f} s", flush=True)
    return elapsed, result


def aggregate_payloads(payloads: list[bytes]) -> int:
    accumulator = IndicatorAccumulator(QUERY, load_rate_table())
    for payload in payloads:
        accumulator.add(json.loads(payload))
    return accumulator.result().records_used


def parse_payloads(payloads: list[bytes]) -> int:
    return sum(1 for payload in payloads if json.loads(payload))


def read_export(folder: Path) -> int:
    count = 0
    for exported in read_entries(folder):
        entry = parse_entry(exported.leaf)
        if isinstance(entry, RecordEntry):
            json.loads(dsse.parse_envelope(entry.envelope).payload)
            count += 1
    return count


class ExportBuilder:
    def __init__(self, folder: Path) -> None:
        self.writer = ExportWriter(folder)
        self.frontier = MerkleFrontier()
        self.previous: bytes | None = None
        self.index = 0
        self.accepted = datetime.now(UTC).replace(microsecond=0)

    def add(self, record: SealedRecord) -> None:
        leaf = encode_record_entry(
            self.index,
            self.previous,
            record_id=record.record_id,
            accepted_at=self.accepted,
            envelope=record.envelope,
            signer_certificate=record.signer_certificate_der,
        )
        self.writer.add_entry(self.index, leaf)
        self.previous = leaf_hash(leaf)
        self.frontier.append(self.previous)
        self.index += 1

    def close(self) -> None:
        signer = load_log_signer(LOG_ORIGIN, CERTS / "hub" / "log.key")
        self.writer.write_checkpoint(
            sign_note(
                encode_checkpoint(Checkpoint(LOG_ORIGIN, self.index, self.frontier.root())),
                [signer],
            )
        )
        self.writer.write_log_key(signer.verifier)
        for participant, path in participant_cas(CERTS).items():
            self.writer.write_participant_ca(participant, path.read_bytes())
        self.writer.close()


def new_record(record: SealedRecord) -> NewRecord:
    return NewRecord(
        record_id=record.record_id,
        record_type="seizure-alert",
        originator_participant="IN",
        originator_agency="NCB",
        created_at=datetime.now(UTC),
        envelope=record.envelope,
        envelope_sha256=record.envelope_sha256,
        signer_certificate=record.signer_certificate_der,
        tlp="GREEN",
        handling="",
        disclosures=tuple(NewDisclosure("personal_data", d) for d in record.disclosures),
    )


def start_server(workdir: Path, database: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = workdir / "port"
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "silkline-server"),
            "--config",
            str(REPO / "deploy" / "dev" / "server.toml"),
            "--listen",
            "127.0.0.1:0",
            "--database",
            f"sqlite:///{database}",
            "--port-file",
            str(port_file),
            "--log-format",
            "json",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"server did not start; see {workdir / 'server.log'}")
        time.sleep(0.05)
    return process, int(port_file.read_text())


def analyst_channel(port: int) -> grpc.Channel:
    folder = CERTS / "CARICC"
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(CERTS / "hub" / "ca.crt").read_bytes(),
        private_key=(folder / "analysis.key").read_bytes(),
        certificate_chain=(folder / "analysis.crt").read_bytes(),
    )
    return grpc.secure_channel(
        f"127.0.0.1:{port}", credentials, options=[("grpc.max_receive_message_length", 64 << 20)]
    )


def list_everything(port: int) -> int:
    seen = 0
    token = ""
    with analyst_channel(port) as channel:
        stub = records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]
        while True:
            reply = stub.List(
                records_pb2.ListRequest(page_size=1000, page_token=token), timeout=3600
            )
            seen += len(reply.records)
            token = reply.next_page_token
            if not token:
                return seen


def ask_indicators(port: int) -> Any:
    with analyst_channel(port) as channel:
        stub = indicators_pb2_grpc.IndicatorsServiceStub(channel)  # type: ignore[no-untyped-call]
        return indicators_of(stub.GetIndicators(request_of(QUERY), timeout=3600), QUERY)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="Write the numbers as JSON here.")
    parser.add_argument("--keep", type=Path, help="Keep the export and database in this folder.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="silkline-bench-indicators-"))
    results: dict[str, Any] = {
        "records": args.records,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": os.getloadavg()[0],
        },
    }
    try:
        print(f"building {args.records} signed records (export, database) in {workdir}", flush=True)
        started = time.perf_counter()
        export = ExportBuilder(workdir / "export")
        store = Store.open(f"sqlite:///{workdir / 'silkline.db'}")
        store.migrate()
        payloads: list[bytes] = []
        batch: list[NewRecord] = []
        for record in sealed_records(args.records):
            payloads.append(dsse.parse_envelope(record.envelope).payload)
            export.add(record)
            batch.append(new_record(record))
            if len(batch) == 1000:
                store.append_records(batch, datetime.now(UTC))
                batch = []
        if batch:
            store.append_records(batch, datetime.now(UTC))
        export.close()
        store.close()
        results["build_s"] = round(time.perf_counter() - started, 1)
        print(f"  built in {results['build_s']} s\n", flush=True)

        print("in process", flush=True)
        results["parse_s"], _ = timed(
            "baseline: json.loads of every payload", lambda: parse_payloads(payloads)
        )
        results["aggregate_s"], used = timed(
            "parse + aggregate (4 groupings)", lambda: aggregate_payloads(payloads)
        )
        assert used == args.records, used

        print("offline, on the audit export", flush=True)
        folder = workdir / "export"
        results["export_read_s"], _ = timed(
            "baseline: read and parse every entry", lambda: read_export(folder)
        )
        results["offline_s"], (found, _) = timed(
            "indicators_offline, --no-verify",
            lambda: indicators_offline(folder, QUERY, load_rate_table(), verify=False),
        )
        jobs = os.cpu_count() or 1
        results["verify_jobs"] = jobs
        results["verify_s"], _ = timed(
            f"baseline: verify_export, {jobs} jobs", lambda: verify_export(folder, jobs=jobs)
        )
        results["offline_verified_s"], _ = timed(
            f"indicators_offline, verified, {jobs} jobs",
            lambda: indicators_offline(folder, QUERY, load_rate_table(), verify=True, jobs=jobs),
        )
        context = ReportContext("bench", "", "")
        results["html_s"], html = timed(
            "html_report (3 SVG charts + tables)",
            lambda: html_report(found, context, chart_data(found, 1)),
        )
        results["png_s"], _ = timed("png_report", lambda: png_report(chart_data(found, 1)))
        results["html_bytes"] = len(html)

        print("server, over mutual TLS, as CARICC/ANALYSIS", flush=True)
        process, port = start_server(workdir, workdir / "silkline.db")
        try:
            results["list_s"], listed = timed(
                "baseline: List every record (pages of 1,000)", lambda: list_everything(port)
            )
            assert listed == args.records, listed
            results["rpc_s"], answer = timed(
                "GetIndicators (4 groupings)", lambda: ask_indicators(port)
            )
            assert answer.records_used == args.records, answer.records_used
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    finally:
        if args.keep:
            shutil.copytree(workdir, args.keep, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)

    results["ratios"] = {
        "aggregate_vs_parse": round(results["aggregate_s"] / results["parse_s"], 2),
        "offline_vs_export_read": round(results["offline_s"] / results["export_read_s"], 2),
        "offline_verified_vs_verify": round(results["offline_verified_s"] / results["verify_s"], 2),
        "rpc_vs_list": round(results["rpc_s"] / results["list_s"], 2),
    }
    print("\nratios (lower is cheaper):")
    for name, ratio in results["ratios"].items():
        print(f"  {name:<32} {ratio}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
