"""The tamper-evident log: proof time at 1,000,000 entries, and the audit-verify rate (issue 6).

    .venv/bin/python bench/log.py [--entries N] [--records N] [--proofs N] [--jobs N]
                                  [--repeats N] [--json OUT]

Proofs. A temporary SQLite database gets the store's schema (Store.migrate),
then N synthetic leaves and every perfect-subtree hash above them, written
in bulk with sqlite3 (the fill is set-up, not what is measured). Inclusion
proofs for random indices and consistency proofs for random earlier sizes
are then made by the store's own code (Store.inclusion_proof and
Store.consistency_proof: tree size, one query of leaf hashes, one of node
hashes), each checked against the root with RFC 9162 verification outside
the timing. Reported: median and 99th percentile milliseconds per proof.

Audit verification. An export folder as `silkline audit export` writes it
holds a rules entry and R records signed by IN/NCB, KZ/MVD and UZ/NCDC with
their example record-signing keys (real DSSE envelopes over the Mundra port
seizure payload, each with its own id), with every participant's CA and
revocation list. `verify_export` (what `silkline audit verify` runs) checks
it, in one process and in --jobs worker processes (default: every CPU, as
the CLI does for large exports). The Ed25519 verify rate of one core is
measured in the same run over the PAE bytes of those records. Every rate is
the median of --repeats runs, in wall-clock time and again in CPU time,
which other programs on a shared machine do not lower (with workers: this
process's CPU time plus the workers' shared among the --jobs cores, see
`audit_rates_parallel`).

Audit verification uses every core by default (`silkline audit verify` does
for large exports): record signatures are independent, so worker processes
check them on byte ranges of entries.jsonl while one process keeps the
in-order checks and the tree. The Ed25519 baseline is ONE core. So
`audit_ratio` (= `audit_ratio_all_cores`) compares audit verify on all
--jobs cores with Ed25519 on one core; `audit_ratio_one_process` compares
one core with one core. Both are printed and written, with the load average:
the wall-clock all-cores rate only means something on an otherwise idle
machine; `audit_ratio_all_cores_cpu_time` holds on a busy one too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from silkline.authoring import build_payload, load_signing_identity, seal_record
from silkline.formats import dsse
from silkline.formats.checkpoint import Checkpoint, encode_checkpoint
from silkline.formats.log_entry import encode_record_entry, encode_rules_entry
from silkline.formats.merkle import (
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from silkline.formats.merkle_frontier import MerkleFrontier
from silkline.formats.note import sign_note
from silkline.log_export import ExportWriter, participant_cas, participant_crls
from silkline.log_verification import verify_export
from silkline.uuid7 import uuid7
from silkline_server.receipts import load_log_signer
from silkline_server.store import Store

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "certs" / "example"
SEIZURE = REPO / "schemas" / "seizure-alert" / "examples" / "mundra-port-heroin-2021-09.json"
SIGNERS = (("IN", "ncb"), ("KZ", "mvd"), ("UZ", "ncdc"))
ORIGIN = "silkline.example/log"
FILL_BATCH = 50_000


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p99_ms: float


# --------------------------------------------------------------------------- proofs


def fill_log(path: Path, entries: int) -> tuple[bytes, float]:
    """A migrated store of `entries` synthetic leaves and their nodes: its root, fill seconds."""
    started = time.perf_counter()
    url = f"sqlite:///{path}"
    with Store.open(url) as store:
        store.migrate()
    frontier = MerkleFrontier()
    with closing(sqlite3.connect(path)) as db:
        # Set-up only: the product's appends keep synchronous=FULL.
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        leaves: list[tuple[int, bytes, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        for index in range(entries):
            leaf = b'{"index":%d,"type":"bench"}' % index
            hashed = leaf_hash(leaf)
            leaves.append((index, leaf, hashed))
            _, *completed = frontier.append(hashed)
            nodes.extend(completed)
            if len(leaves) == FILL_BATCH:
                db.executemany("INSERT INTO log_leaves VALUES (?, ?, ?)", leaves)
                db.executemany("INSERT INTO log_nodes VALUES (?, ?, ?)", nodes)
                leaves, nodes = [], []
        db.executemany("INSERT INTO log_leaves VALUES (?, ?, ?)", leaves)
        db.executemany("INSERT INTO log_nodes VALUES (?, ?, ?)", nodes)
        db.execute("COMMIT")
    return frontier.root(), time.perf_counter() - started


def timed_ms(operation: Callable[[], object]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = operation()
    return (time.perf_counter() - started) * 1000, result


def summary(samples: list[float]) -> Timing:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return Timing(round(statistics.median(ordered), 3), round(p99, 3))


def measure_proofs(path: Path, entries: int, root: bytes, proofs: int) -> dict[str, Any]:
    chooser = random.Random(6962)  # noqa: S311 - reproducible choice of indices, not secrets
    indices = [chooser.randrange(entries) for _ in range(proofs)]
    inclusion: list[float] = []
    consistency: list[float] = []
    with Store.open(f"sqlite:///{path}") as store:
        with closing(sqlite3.connect(path)) as db:
            hashes = {
                index: bytes(
                    db.execute(
                        "SELECT leaf_hash FROM log_leaves WHERE leaf_index = ?", (index,)
                    ).fetchone()[0]
                )
                for index in set(indices)
            }
        store.inclusion_proof(0, entries)  # warm the connection pool and the page cache
        for index in indices:
            elapsed, path_hashes = timed_ms(lambda i=index: store.inclusion_proof(i, entries))
            inclusion.append(elapsed)
            verify_inclusion(hashes[index], index, entries, path_hashes, root)
        for _ in range(proofs):
            first = chooser.randrange(1, entries)
            elapsed, proof = timed_ms(lambda m=first: store.consistency_proof(m, entries))
            consistency.append(elapsed)
            verify_consistency(first, entries, proof, store.root_at(first), root)
    return {"inclusion": summary(inclusion), "consistency": summary(consistency)}


# --------------------------------------------------------------------------- audit verify


def signed_records(count: int) -> list[tuple[str, bytes, bytes]]:
    """(record id, envelope, signer certificate DER) of `count` records, each its own id."""
    body = json.loads(SEIZURE.read_text(encoding="utf-8"))["body"]
    templates = []
    for participant, name in SIGNERS:
        folder = EXAMPLE / participant
        signer = load_signing_identity(
            folder / f"{name}.signing.key", folder / f"{name}.signing.crt"
        )
        sealed = seal_record(
            build_payload(
                "seizure-alert",
                body,
                originator=signer.identity,
                tlp="AMBER",
                recipients=[participant],
            ),
            signer,
        )
        payload = json.loads(dsse.parse_envelope(sealed.envelope).payload)
        templates.append((signer, payload, sealed.signer_certificate_der))
    records = []
    for number in range(count):
        signer, payload, certificate = templates[number % len(templates)]
        record_id = str(uuid7())
        payload = {**payload, "id": record_id}
        body_bytes = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        envelope = dsse.sign(dsse.RECORD_PAYLOAD_TYPE, body_bytes, signer.private_key, signer.keyid)
        records.append((record_id, dsse.encode_envelope(envelope), certificate))
    return records


def write_export(folder: Path, records: list[tuple[str, bytes, bytes]]) -> list[bytes]:
    """The export of a log of a rules entry and `records`; returns the PAE bytes signed."""
    accepted_at = datetime.now(UTC)
    leaves = [
        encode_rules_entry(
            0, None, sha256="0" * 64, source="deploy/rules/network.toml", loaded_at=accepted_at
        )
    ]
    messages = []
    for record_id, envelope, certificate in records:
        index = len(leaves)
        leaves.append(
            encode_record_entry(
                index,
                leaf_hash(leaves[-1]),
                record_id=record_id,
                accepted_at=accepted_at,
                envelope=envelope,
                signer_certificate=certificate,
            )
        )
        parsed = dsse.parse_envelope(envelope)
        messages.append(dsse.pae(parsed.payload_type, parsed.payload))
    frontier = MerkleFrontier()
    for leaf in leaves:
        frontier.append(leaf_hash(leaf))
    signer = load_log_signer(ORIGIN, EXAMPLE / "hub" / "log.key")
    writer = ExportWriter(folder)
    writer.write_checkpoint(
        sign_note(encode_checkpoint(Checkpoint(ORIGIN, len(leaves), frontier.root())), [signer])
    )
    writer.write_log_key(signer.verifier)
    for participant, path in participant_cas(EXAMPLE).items():
        writer.write_participant_ca(participant, path.read_bytes())
    for participant, path in participant_crls(EXAMPLE).items():
        writer.write_participant_crl(participant, path.read_bytes())
    for index, leaf in enumerate(leaves):
        writer.add_entry(index, leaf)
    writer.close()
    return messages


def ed25519_rate(
    messages: list[bytes], records: list[tuple[str, bytes, bytes]], clock: Callable[[], float]
) -> float:
    """Ed25519 verifications per second on one core, over the records' PAE bytes."""
    keys = {}
    for _, _, certificate in records[: len(SIGNERS)]:
        keys[certificate] = x509.load_der_x509_certificate(certificate).public_key()
    pairs = [
        (keys[certificate], dsse.parse_envelope(envelope).signatures[0].sig, message)
        for (_, envelope, certificate), message in zip(records, messages, strict=True)
    ]
    started = clock()
    for key, signature, message in pairs:
        key.verify(signature, message)  # type: ignore[union-attr]
    return len(pairs) / (clock() - started)


def audit_rate(folder: Path, entries: int, jobs: int, clock: Callable[[], float]) -> float:
    started = clock()
    report = verify_export(folder, jobs=jobs)
    elapsed = clock() - started
    assert report.tree_size == entries
    return entries / elapsed


def audit_rates_parallel(folder: Path, entries: int, jobs: int) -> tuple[float, float]:
    """Entries per second with `jobs` workers: in wall-clock time, and in CPU time.

    The CPU-time rate is what `jobs` cores would do if each worker had its own:
    this process's CPU time (starting the pool, reading ranges, the in-order
    checks, the tree) plus all the CPU time of the workers (their start-up
    included) shared among `jobs` cores, added up as if nothing overlapped. The
    fork server, started once per process like the interpreter itself, is not
    counted. Other programs on a shared machine lower the first rate, not the second.
    """
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    report = verify_export(folder, jobs=jobs)
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    assert report.tree_size == entries and report.jobs == jobs
    return entries / wall, entries / (cpu + report.examine_cpu_s / jobs)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--proofs", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, dest="json_out")
    arguments = parser.parse_args()
    load = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="silkline-bench-log-"))
    try:
        database = work / "log.db"
        print(f"filling a log of {arguments.entries:,} entries ...", flush=True)
        root, fill_s = fill_log(database, arguments.entries)
        print(f"  filled in {fill_s:.1f} s ({database.stat().st_size / 1e6:.0f} MB)")
        proofs = measure_proofs(database, arguments.entries, root, arguments.proofs)
        inclusion, consistency = proofs["inclusion"], proofs["consistency"]
        print(
            f"  inclusion proof   median {inclusion.median_ms} ms, p99 {inclusion.p99_ms} ms\n"
            f"  consistency proof median {consistency.median_ms} ms, "
            f"p99 {consistency.p99_ms} ms"
        )
        database.unlink()

        print(f"signing {arguments.records:,} records and exporting the log ...", flush=True)
        records = signed_records(arguments.records)
        export = work / "export"
        messages = write_export(export, records)
        entries = len(records) + 1
        ed25519, single, parallel, ed25519_cpu, single_cpu, parallel_cpu = [], [], [], [], [], []
        wall, cpu = time.perf_counter, time.process_time
        jobs = arguments.jobs
        for _ in range(arguments.repeats):
            ed25519.append(ed25519_rate(messages, records, wall))
            single.append(audit_rate(export, entries, 1, wall))
            in_wall, in_cpu = audit_rates_parallel(export, entries, jobs)
            parallel.append(in_wall)
            parallel_cpu.append(in_cpu)
            # The same single-process work in this process's CPU time: what one core
            # does whatever else the machine runs.
            ed25519_cpu.append(ed25519_rate(messages, records, cpu))
            single_cpu.append(audit_rate(export, entries, 1, cpu))
        ed = statistics.median(ed25519)
        one = statistics.median(single)
        all_cpus = statistics.median(parallel)
        ed_cpu = statistics.median(ed25519_cpu)
        one_cpu = statistics.median(single_cpu)
        all_cpus_cpu = statistics.median(parallel_cpu)
        print(
            "  wall-clock time:\n"
            f"  Ed25519 verify, ONE core              {ed:10,.0f} /s   (the baseline)\n"
            f"  audit verify, one worker (one core)   {one:10,.0f} entries/s  "
            f"ratio {one / ed:.2f}\n"
            f"  audit verify, {jobs} workers ({jobs} cores)     {all_cpus:10,.0f} entries/s  "
            f"ratio {all_cpus / ed:.2f}   <- audit_ratio: {jobs} cores against ONE core\n"
            "  CPU time (what each core does, whatever else the machine runs):\n"
            f"  Ed25519 verify, ONE core              {ed_cpu:10,.0f} /s   (the baseline)\n"
            f"  audit verify, one worker (one core)   {one_cpu:10,.0f} entries/s  "
            f"ratio {one_cpu / ed_cpu:.2f}\n"
            f"  audit verify, {jobs} workers ({jobs} cores)     {all_cpus_cpu:10,.0f} entries/s  "
            f"ratio {all_cpus_cpu / ed_cpu:.2f}   ({jobs} cores against ONE core)\n"
            f"  (load average at start {load[0]:.2f} on {os.cpu_count()} CPUs)"
        )
        result = {
            "proof_ms": inclusion.median_ms,
            "proof_entries": arguments.entries,
            "audit_verify_per_s": round(all_cpus, 1),
            "ed25519_verify_per_s": round(ed, 1),
            "audit_ratio": round(all_cpus / ed, 3),
            "proof_p99_ms": inclusion.p99_ms,
            "consistency_proof_ms": consistency.median_ms,
            "consistency_proof_p99_ms": consistency.p99_ms,
            "fill_s": round(fill_s, 1),
            "audit_verify_all_cores_per_s": round(all_cpus, 1),
            "audit_ratio_all_cores": round(all_cpus / ed, 3),
            "audit_ratio_basis": (
                f"audit verify on {arguments.jobs} cores ({arguments.jobs} worker processes) "
                "against Ed25519 verify on ONE core; audit_ratio_one_process is one core "
                "against one core"
            ),
            "audit_verify_one_process_per_s": round(one, 1),
            "audit_ratio_one_process": round(one / ed, 3),
            "audit_ratio_one_process_cpu_time": round(one_cpu / ed_cpu, 3),
            "audit_verify_all_cores_cpu_time_per_s": round(all_cpus_cpu, 1),
            "audit_ratio_all_cores_cpu_time": round(all_cpus_cpu / ed_cpu, 3),
            "audit_jobs": arguments.jobs,
            "audit_records": arguments.records,
            "repeats": {
                "ed25519": ed25519,
                "one_process": single,
                "jobs": parallel,
                "ed25519_cpu_time": ed25519_cpu,
                "one_process_cpu_time": single_cpu,
                "jobs_cpu_time": parallel_cpu,
            },
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(value, 2) for value in load],
            "python": platform.python_version(),
            "platform": platform.platform(),
        }
        if arguments.json_out:
            arguments.json_out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
