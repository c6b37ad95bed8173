"""Sign and verify rates of silkline records on one core, against raw Ed25519 (issue 4).

    .venv/bin/python bench/sign_verify.py [--seconds S] [--repeats N] [--clock cpu|wall]
                                          [--json OUT] [--profile]

Everything runs in this one process and thread, so each rate is what one core
does. Each operation is timed for a fixed budget (--seconds, default 3) and
the budget is repeated (--repeats, default 3) in round-robin order, so a
slower moment of a shared machine hits every operation alike; the median of
the repeats is reported. Time is this process's CPU time by default, so other
programs on the machine take cores away without lowering the rates; --clock
wall measures elapsed time instead. The silkline rates are also given as ratios to the
raw Ed25519 rates measured in the same run: sign-side operations against raw
sign, verify-side operations against raw verify.

What is timed:
  raw Ed25519 sign / verify   cryptography's Ed25519 over the PAE bytes of the record below
  seal_record                 silkline.authoring.seal_record: schema validation, concealment of
                              the sensitive fields, one serialisation, DSSE signing, encoding
  seal_record, no schema      the same with validate_payload replaced by a no-op for the
                              duration of that measurement (product code unchanged)
  verify record               parse_record + check_signer (TrustStore.from_folder(certs/example))
                              + check_signature + check_body with every disclosure
  Admission.admit             the server's admission path for the same record and caller

The record is the Mundra port seizure alert from schemas/seizure-alert/examples
(two suspects, precise coordinates: two disclosures), re-originated by IN/NCB
and signed with certs/example/IN/ncb.signing.key. Building its payload is done
once, outside the timing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from unittest import mock

from cryptography import x509
from cryptography.hazmat.backends.openssl import backend as openssl_backend
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import silkline.authoring
from silkline.authoring import SealedRecord, SigningIdentity, build_payload, load_signing_identity
from silkline.formats import dsse
from silkline.identity import Identity, identity_from_certificate
from silkline.record_checks import check_body, check_signature, check_signer, parse_record
from silkline.trust import TrustStore
from silkline_server.admission import Admission

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PKI = REPO / "certs" / "example"
RECORD_EXAMPLE = REPO / "schemas" / "seizure-alert" / "examples" / "mundra-port-heroin-2021-09.json"
PROFILE_ITERATIONS = 1000
PROFILE_ENTRIES = 15
# Each timing batch runs about this long before the clock is read again, so
# reading the clock costs nothing measurable even for the fastest operation.
BATCH_SECONDS = 0.005


@dataclass
class Measurement:
    """Repeated rates of one operation; `per_second` is their median."""

    label: str
    operation: Callable[[], object]
    baseline: str | None = None
    setup: Callable[[], AbstractContextManager[object]] | None = None
    runs: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return statistics.median(self.runs)


@dataclass(frozen=True)
class Fixture:
    """One sealed record and everything needed to seal, verify and admit it again."""

    payload: dict[str, Any]
    signer: SigningIdentity
    sealed: SealedRecord
    trust: TrustStore
    caller: Identity
    admission: Admission
    message: bytes


def build_fixture() -> Fixture:
    """Seal the example record once and check that every timed path accepts it."""
    signer = load_signing_identity(
        EXAMPLE_PKI / "IN" / "ncb.signing.key", EXAMPLE_PKI / "IN" / "ncb.signing.crt"
    )
    example = json.loads(RECORD_EXAMPLE.read_text(encoding="utf-8"))
    payload = build_payload(
        example["record_type"],
        example["body"],
        originator=signer.identity,
        tlp=example["distribution"]["tlp"],
        recipients=example["distribution"]["recipients"],
        handling=example["distribution"]["handling"],
        grading=example["grading"],
    )
    sealed = silkline.authoring.seal_record(payload, signer)
    trust = TrustStore.from_folder(EXAMPLE_PKI)
    caller = identity_from_certificate(
        x509.load_pem_x509_certificate((EXAMPLE_PKI / "IN" / "ncb.crt").read_bytes())
    )
    envelope = dsse.parse_envelope(sealed.envelope)
    fixture = Fixture(
        payload=payload,
        signer=signer,
        sealed=sealed,
        trust=trust,
        caller=caller,
        admission=Admission(trust),
        message=dsse.pae(envelope.payload_type, envelope.payload),
    )
    # A benchmark of a path that refuses the record would measure the refusal.
    checked = verify_record(fixture)
    if len(checked) != len(sealed.disclosures) or not checked:
        raise SystemExit(f"verification revealed {checked}, expected every disclosure")
    admit(fixture)
    return fixture


def verify_record(fixture: Fixture) -> tuple[str, ...]:
    """What an offline verifier does with an envelope, its disclosures and signer certificate."""
    record = parse_record(fixture.sealed.envelope)
    signer = check_signer(record, fixture.sealed.signer_certificate_der, fixture.trust, now=None)
    check_signature(record, signer)
    body = check_body(record, fixture.sealed.disclosures)
    return tuple(disclosure.pointer for disclosure in body.disclosures)


def admit(fixture: Fixture) -> object:
    return fixture.admission.admit(
        fixture.caller,
        fixture.sealed.envelope,
        fixture.sealed.disclosures,
        fixture.sealed.signer_certificate_der,
        datetime.now(UTC),
    )


def schema_validation_disabled() -> AbstractContextManager[object]:
    """Replace the validate_payload that seal_record calls by a no-op, until the block ends."""

    def skip_validation(payload: dict[str, Any]) -> None:
        del payload

    patch: AbstractContextManager[object] = mock.patch(
        "silkline.authoring.validate_payload", new=skip_validation
    )
    return patch


def measurements(fixture: Fixture) -> list[Measurement]:
    private_key = fixture.signer.private_key
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SystemExit("the example signing key must be Ed25519")
    public_key = private_key.public_key()
    message = fixture.message
    signature = private_key.sign(message)

    def seal() -> SealedRecord:
        return silkline.authoring.seal_record(fixture.payload, fixture.signer)

    return [
        Measurement("raw Ed25519 sign", lambda: private_key.sign(message)),
        Measurement("raw Ed25519 verify", lambda: public_key.verify(signature, message)),
        Measurement("seal_record", seal, baseline="raw Ed25519 sign"),
        Measurement(
            "seal_record, schema validation off",
            seal,
            baseline="raw Ed25519 sign",
            setup=schema_validation_disabled,
        ),
        Measurement("verify record offline", lambda: verify_record(fixture), "raw Ed25519 verify"),
        Measurement("Admission.admit", lambda: admit(fixture), baseline="raw Ed25519 verify"),
    ]


CLOCKS: dict[str, Callable[[], float]] = {
    # CPU time of this process: time spent waiting for the core while other
    # programs ran is not counted, so the rate is per core even on a busy machine.
    "cpu": time.process_time,
    # Elapsed time: what a caller waits, including time the core was taken away.
    "wall": time.perf_counter,
}


def batch_size(operation: Callable[[], object], clock: Callable[[], float]) -> int:
    """How many calls take about BATCH_SECONDS, after a short warm-up."""
    calls = 0
    start = clock()
    while clock() - start < 0.1:
        operation()
        calls += 1
    per_call = (clock() - start) / calls
    return max(1, int(BATCH_SECONDS / per_call))


def rate(
    operation: Callable[[], object], seconds: float, batch: int, clock: Callable[[], float]
) -> float:
    """Calls per second of `operation` over a budget of `seconds` (whole batches)."""
    calls = 0
    start = clock()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            operation()
        calls += batch
        now = clock()
        if now >= deadline:
            return calls / (now - start)


def run(items: list[Measurement], seconds: float, repeats: int, clock_name: str) -> None:
    clock = CLOCKS[clock_name]
    batches: dict[str, int] = {}
    for item in items:
        with item.setup() if item.setup else nullcontext():
            batches[item.label] = batch_size(item.operation, clock)
    for round_number in range(repeats):
        for item in items:
            with item.setup() if item.setup else nullcontext():
                item.runs.append(rate(item.operation, seconds, batches[item.label], clock))
            print(
                f"  round {round_number + 1}/{repeats}: {item.label}: {item.runs[-1]:,.0f}/s",
                file=sys.stderr,
                flush=True,
            )


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "cores_used": 1,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "cryptography": metadata.version("cryptography"),
        "openssl": openssl_backend.openssl_version_text(),
        "jsonschema": metadata.version("jsonschema"),
        "load_average_at_start": [round(value, 2) for value in load] if load else None,
        "silkline_commit": _commit(),
    }


def _commit() -> str:
    """The checked-out commit, with "+changes" when the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+changes" if changed else head


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ratios(items: list[Measurement]) -> dict[str, float]:
    by_label = {item.label: item for item in items}
    return {
        item.label: item.per_second / by_label[item.baseline].per_second
        for item in items
        if item.baseline is not None
    }


def table(
    items: list[Measurement],
    fixture: Fixture,
    host: dict[str, Any],
    seconds: float,
    clock_name: str,
) -> str:
    relative = ratios(items)
    repeats = len(items[0].runs)
    lines = [
        f"| operation | per second, median of {repeats} | runs | ratio to raw Ed25519 |",
        "|---|---:|---|---|",
    ]
    for item in items:
        runs = ", ".join(f"{value:,.0f}" for value in item.runs)
        if item.baseline is None:
            versus = "baseline"
        else:
            share = relative[item.label]
            side = "sign" if item.baseline.endswith("sign") else "verify"
            versus = f"{share:.4f} of raw {side} (1/{1 / share:.0f})"
        lines.append(f"| {item.label} | {item.per_second:,.0f} | {runs} | {versus} |")
    load = host["load_average_at_start"]
    lines += [
        "",
        f"Message: the record's PAE, {len(fixture.message):,} bytes; envelope "
        f"{len(fixture.sealed.envelope):,} bytes; {len(fixture.sealed.disclosures)} disclosures.",
        f"Budget: {seconds:g} s of {clock_name} time per measurement, {repeats} rounds, "
        "one process, one thread.",
        f"Machine: {host['cpu']}, {host['logical_cores']} logical cores (1 used); "
        f"{host['platform']}; {host['python_implementation']} {host['python']}; "
        f"cryptography {host['cryptography']} ({host['openssl']}); "
        f"jsonschema {host['jsonschema']}; silkline {host['silkline_commit']}; "
        f"load average at start {load}.",
    ]
    return "\n".join(lines)


def results_json(
    items: list[Measurement], fixture: Fixture, host: dict[str, Any]
) -> dict[str, Any]:
    by_label = {item.label: item for item in items}
    relative = ratios(items)
    names = {
        "raw Ed25519 sign": "ed25519_sign_per_s",
        "raw Ed25519 verify": "ed25519_verify_per_s",
        "seal_record": "seal_per_s",
        "seal_record, schema validation off": "seal_no_schema_per_s",
        "verify record offline": "verify_record_per_s",
        "Admission.admit": "admit_per_s",
    }
    ratio_names = {
        "seal_record": "seal_vs_ed25519_sign",
        "seal_record, schema validation off": "seal_no_schema_vs_ed25519_sign",
        "verify record offline": "verify_record_vs_ed25519_verify",
        "Admission.admit": "admit_vs_ed25519_verify",
    }
    document: dict[str, Any] = {key: by_label[label].per_second for label, key in names.items()}
    document.update({key: relative[label] for label, key in ratio_names.items()})
    document["runs_per_s"] = {names[item.label]: item.runs for item in items}
    document["message_bytes"] = len(fixture.message)
    document["envelope_bytes"] = len(fixture.sealed.envelope)
    document["disclosures"] = len(fixture.sealed.disclosures)
    document["machine"] = host
    return document


def profile_verify(fixture: Fixture) -> None:
    """Print the top cumulative entries of PROFILE_ITERATIONS offline verifications, then of
    as many admissions (the server's path: the same checks, a signer cache, the store value)."""
    for name, operation, root, steps in (
        ("offline verifications", verify_record, ("sign_verify.py", "verify_record"), VERIFY_STEPS),
        ("admissions", admit, ("sign_verify.py", "admit"), ADMIT_STEPS),
    ):
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(PROFILE_ITERATIONS):
            operation(fixture)
        profiler.disable()
        print(
            f"\ncProfile of {PROFILE_ITERATIONS} {name}, top {PROFILE_ENTRIES} by cumulative time:"
        )
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.strip_dirs().sort_stats("cumulative").print_stats(PROFILE_ENTRIES)
        print(step_shares(stats, root, steps))


# The steps of the verification path whose share of the time is worth naming:
# (file, function) as pstats names them after strip_dirs().
VERIFY_STEPS = (
    ("record_checks.py", "parse_record"),
    ("record_checks.py", "check_signer"),
    ("record_checks.py", "check_signature"),
    ("record_checks.py", "check_body"),
    ("records.py", "validate_payload"),
    ("records.py", "validate_revealed"),
    ("records.py", "sensitive_in_clear"),
    ("disclosure.py", "reveal"),
)
# The same for admission; fast_is_valid is jsonschema-rs, which decides a valid record.
ADMIT_STEPS = (
    ("record_checks.py", "parse_record"),
    ("dsse.py", "encode_envelope"),
    ("record_checks.py", "check_signer"),
    ("record_checks.py", "check_signature"),
    ("record_checks.py", "check_body"),
    ("records.py", "validate_payload"),
    ("records.py", "validate_revealed"),
    ("records.py", "fast_is_valid"),
    ("records.py", "sensitive_in_clear"),
    ("disclosure.py", "reveal"),
)


def step_shares(
    stats: pstats.Stats,
    root: tuple[str, str] = ("sign_verify.py", "verify_record"),
    steps: tuple[tuple[str, str], ...] = VERIFY_STEPS,
) -> str:
    """Cumulative time of each of `steps`, as a share of the time of `root`."""
    # pstats keeps its table as {(file, line, function): (cc, nc, tt, ct, callers)}.
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    cumulative: dict[tuple[str, str], float] = {}
    calls: dict[tuple[str, str], int] = {}
    for (file, _line, function), (_cc, nc, _tt, ct, _callers) in table.items():
        key = (file, function)
        cumulative[key] = cumulative.get(key, 0.0) + ct
        calls[key] = calls.get(key, 0) + nc
    total = cumulative.get(root, 0.0)
    lines = [f"share of the time of {root[1]} by step (cumulative, from the same profile):"]
    for key in steps:
        if key in cumulative and total > 0:
            lines.append(
                f"  {key[1]:<20} {calls[key]:>6} calls  {cumulative[key]:7.3f} s  "
                f"{100 * cumulative[key] / total:5.1f} %"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="time budget of each measurement (default 3)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds; the median is reported (default 3)"
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: seconds of this process's CPU time (default); wall: elapsed seconds",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the numbers here")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then cProfile the offline verification path and the admission path",
    )
    arguments = parser.parse_args()
    if arguments.seconds <= 0 or arguments.repeats < 1:
        parser.error("--seconds must be positive and --repeats at least 1")

    host = machine()
    fixture = build_fixture()
    items = measurements(fixture)
    run(items, arguments.seconds, arguments.repeats, arguments.clock)
    print(table(items, fixture, host, arguments.seconds, arguments.clock))
    if arguments.json:
        document = results_json(items, fixture, host)
        document["seconds"] = arguments.seconds
        document["repeats"] = arguments.repeats
        document["clock"] = arguments.clock
        arguments.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if arguments.profile:
        profile_verify(fixture)


if __name__ == "__main__":
    main()
