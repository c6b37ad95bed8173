"""`make bench`: every scenario of issue 8 in fresh processes, one table, one JSON file.

    .venv/bin/python bench/run.py [--backend sqlite|postgresql] [--replicas N]
                                  [--smoke] [--out bench/results/latest.json]

Each scenario is one script of bench/, run as its own process with `--json`;
the scripts start their own servers (silkline-server on a fresh database, the
raw gRPC echo, medallion) as further processes, so no scenario inherits
another's state. This merges their numbers into `--out` (the keys of issue 8,
each a number, plus `machine`, `goals` and every scenario's full output under
`scenarios`) and prints a markdown table: each silkline figure beside its
baseline measured in the same run, the ratio and the goal.

--smoke runs every scenario with tiny counts (under a minute): the numbers
mean nothing, but every key is there; CI uses it to keep the suite working.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.report import machine
from harness.servers import BACKENDS, REPO, postgres_version

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


@dataclass(frozen=True)
class Scenario:
    """One script of bench/ and its arguments for a full run and for the smoke run."""

    name: str
    script: str
    full: str
    smoke: str
    uses_backend: bool = False
    # A scenario another worker owns and may change: its failure is reported, not fatal.
    optional: bool = False


SCENARIOS = [
    Scenario(
        "realtime",
        "realtime.py",
        "--records 5000 --rate 1000 --duration 10 --raw-messages 20000",
        "--records 40 --rate 50 --duration 0.5 --raw-messages 200 --no-sustainable",
        uses_backend=True,
    ),
    Scenario(
        "unary",
        "unary.py",
        "--records 5000 --single 500 --raw-messages 10000",
        "--records 40 --single 10 --raw-messages 200",
        uses_backend=True,
    ),
    Scenario("taxii", "taxii.py", "--records 200", "--records 10 --clients 2"),
    Scenario("decisions", "decisions.py", "--records 1000", "--records 30 --runs 1"),
    Scenario(
        "log",
        "log.py",
        "--entries 1000000 --records 10000 --proofs 200 --repeats 3",
        "--entries 2000 --records 12 --proofs 5 --repeats 1",
    ),
    Scenario(
        "admission",
        "sign_verify.py",
        "--seconds 0.5 --repeats 3",
        "--seconds 0.02 --repeats 1",
        optional=True,
    ),
]
REPLICAS = Scenario("replicas", "replicas.py", "--records 3000", "--records 40", uses_backend=True)

# The keys of latest.json: each a number.
KEYS = (
    "raw_unary64_per_s",
    "unary64_per_s",
    "unary64_ratio",
    "raw_bidi_per_s",
    "stream_publish_per_s",
    "stream_ratio",
    "raw_unary1_p99_ms",
    "unary1_p99_ms",
    "delivery_p50_ms",
    "delivery_p99_ms",
    "medallion_per_s",
    "medallion_ratio",
    "decisions_per_s",
    "proof_ms",
    "proof_entries",
    "audit_verify_per_s",
    "ed25519_verify_per_s",
    "audit_ratio",
)
REPLICA_KEYS = ("unary64_per_s_replicas2", "stream_publish_per_s_replicas2", "replicas_ratio")


def default_out(backend: str, replicas: int) -> Path:
    """latest.json is the default configuration's; the others get their own file, so
    that running them does not replace it."""
    if backend == "sqlite" and replicas == 1:
        return RESULTS / "latest.json"
    suffix = f"-replicas{replicas}" if replicas > 1 else ""
    return RESULTS / f"latest-{backend}{suffix}.json"


class ScenarioError(Exception):
    """A scenario's script failed; the message carries the end of its output."""


def run_scenario(
    scenario: Scenario, arguments: list[str], folder: Path
) -> tuple[dict[str, Any], float]:
    """Run one script in its own process; its JSON and the seconds it took."""
    out = folder / f"{scenario.name}.json"
    log = folder / f"{scenario.name}.log"
    command = [sys.executable, str(BENCH / scenario.script), *arguments, "--json", str(out)]
    print(f"[{scenario.name}] {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    with log.open("wb") as output:
        finished = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, cwd=REPO)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0 or not out.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise ScenarioError(
            f"{scenario.script} exited {finished.returncode}; its output ends:\n{tail}"
        )
    print(f"[{scenario.name}] done in {elapsed:.1f} s", flush=True)
    document: dict[str, Any] = json.loads(out.read_text())
    return document, elapsed


def merge(scenarios: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The keys of issue 8 out of the scenarios' documents."""
    realtime, unary = scenarios["realtime"], scenarios["unary"]
    taxii, log = scenarios["taxii"], scenarios["log"]
    merged: dict[str, Any] = {
        "raw_unary64_per_s": unary["raw_unary64_per_s"],
        "unary64_per_s": unary["unary64_per_s"],
        "unary64_ratio": unary["unary64_ratio"],
        "raw_bidi_per_s": realtime["raw_bidi_per_s"],
        "stream_publish_per_s": realtime["stream_publish_per_s"],
        "stream_ratio": round(realtime["stream_publish_per_s"] / realtime["raw_bidi_per_s"], 4),
        "raw_unary1_p99_ms": unary["raw_unary1_p99_ms"],
        "unary1_p99_ms": unary["unary1_p99_ms"],
        "unary1_p99_ratio": round(unary["unary1_p99_ms"] / unary["raw_unary1_p99_ms"], 2),
        "delivery_p50_ms": realtime["delivery_p50_ms"],
        "delivery_p99_ms": realtime["delivery_p99_ms"],
        "delivery_offered_per_s": realtime["delivery_offered_per_s"],
        "delivery_achieved_per_s": realtime["delivery_achieved_per_s"],
        "medallion_per_s": taxii["medallion_per_s"],
        "medallion_ratio": round(realtime["stream_publish_per_s"] / taxii["medallion_per_s"], 2),
        "decisions_per_s": scenarios["decisions"]["decisions_per_s"],
        "proof_ms": log["proof_ms"],
        "proof_entries": log["proof_entries"],
        "audit_verify_per_s": log["audit_verify_per_s"],
        "ed25519_verify_per_s": log["ed25519_verify_per_s"],
        "audit_ratio": log["audit_ratio"],
        "message_bytes": unary["message_bytes"],
    }
    if "admission" in scenarios:
        admission = scenarios["admission"]
        merged["admit_per_s"] = admission["admit_per_s"]
        merged["admit_vs_ed25519_verify"] = admission["admit_vs_ed25519_verify"]
    if "replicas" in scenarios:
        replicas = scenarios["replicas"]
        merged |= {k: v for k, v in replicas.items() if "replicas" in k and k != "replicas"}
    return merged


@dataclass(frozen=True)
class Goal:
    key: str
    text: str
    met: bool


def goals(merged: dict[str, Any]) -> list[Goal]:
    """Issue 8's goals (and those of the issues whose numbers it gathers), each met or not."""
    return [
        Goal("unary64_ratio", ">= 0.35", merged["unary64_ratio"] >= 0.35),
        Goal("stream_ratio", ">= 0.50", merged["stream_ratio"] >= 0.50),
        Goal("unary1_p99_ratio", "<= 2.5 (p99 of raw)", merged["unary1_p99_ratio"] <= 2.5),
        Goal("delivery_p99_ms", "<= 100 ms", merged["delivery_p99_ms"] <= 100),
        Goal("medallion_ratio", ">= 25", merged["medallion_ratio"] >= 25),
        Goal("decisions_per_s", ">= 50,000 (issue 5)", merged["decisions_per_s"] >= 50_000),
        Goal("audit_ratio", ">= 0.8 (issue 6)", merged["audit_ratio"] >= 0.8),
    ]


def number(value: float, unit: str = "") -> str:
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text}{unit}"


def table(merged: dict[str, Any], met: dict[str, Goal]) -> str:
    """The markdown table: silkline, its baseline in the same run, the ratio, the goal."""
    m = merged
    rows: list[list[str]] = []

    def row(label: str, silkline: str, baseline: str = "", ratio: str = "", goal: str = "") -> None:
        verdict = ""
        if goal in met:
            verdict = f"{met[goal].text}: {'met' if met[goal].met else 'NOT met'}"
        rows.append([label, silkline, baseline, ratio, verdict])

    row(
        "Publish, 64 in flight (/s)",
        number(m["unary64_per_s"]),
        f"raw unary echo {number(m['raw_unary64_per_s'])}",
        f"{m['unary64_ratio']:.3f}",
        "unary64_ratio",
    )
    row(
        "PublishStream, window 64 (/s)",
        number(m["stream_publish_per_s"]),
        f"raw bidi echo {number(m['raw_bidi_per_s'])}",
        f"{m['stream_ratio']:.3f}",
        "stream_ratio",
    )
    row(
        "Publish, one caller, p99",
        number(m["unary1_p99_ms"], " ms"),
        f"raw unary echo {number(m['raw_unary1_p99_ms'], ' ms')}",
        f"{m['unary1_p99_ratio']:.1f}x",
        "unary1_p99_ratio",
    )
    row(
        f"delivery at {number(m['delivery_offered_per_s'])} records/s, p50 / p99",
        f"{number(m['delivery_p50_ms'])} / {number(m['delivery_p99_ms'], ' ms')}",
        f"(taken at {number(m['delivery_achieved_per_s'])}/s)",
        goal="delivery_p99_ms",
    )
    row(
        "PublishStream vs TAXII 2.1 add objects (/s)",
        number(m["stream_publish_per_s"]),
        f"medallion + waitress {number(m['medallion_per_s'])}",
        f"{m['medallion_ratio']:.1f}",
        "medallion_ratio",
    )
    row("access decisions, one core (/s)", number(m["decisions_per_s"]), goal="decisions_per_s")
    row(
        f"inclusion proof at {m['proof_entries']:,} entries, SQLite (median)",
        number(m["proof_ms"], " ms"),
    )
    row(
        "audit verify (entries/s)",
        number(m["audit_verify_per_s"]),
        f"Ed25519 verify, one core {number(m['ed25519_verify_per_s'])}",
        f"{m['audit_ratio']:.3f}",
        "audit_ratio",
    )
    if "admit_per_s" in m:
        row(
            "Admission.admit, one core (/s)",
            number(m["admit_per_s"]),
            "Ed25519 verify, one core",
            f"{m['admit_vs_ed25519_verify']:.3f}",
        )
    for key in sorted(m):
        if key.startswith(("unary64_per_s_replicas", "stream_publish_per_s_replicas")):
            what = "Publish, 64 in flight" if key.startswith("unary") else "PublishStream"
            row(f"{what}, {key.rsplit('replicas', 1)[1]} replica(s) (/s)", number(m[key]))
    if "replicas_ratio" in m:
        row(
            "PublishStream, replicas over one",
            f"{m['replicas_ratio']:.2f}",
            f"(Publish: {m['unary64_replicas_ratio']:.2f})",
        )
    lines = [
        "| measurement | silkline | baseline, same run | ratio | goal |",
        "|---|---:|---|---:|---|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny counts: checks, not numbers")
    parser.add_argument(
        "--out",
        type=Path,
        help="results file (default: bench/results/latest.json; with PostgreSQL or "
        "replicas, latest-postgresql.json or latest-postgresql-replicas2.json beside it)",
    )
    args = parser.parse_args()
    if args.out is None:
        args.out = default_out(args.backend, args.replicas)

    scenarios = list(SCENARIOS)
    if args.replicas > 1:
        scenarios.append(REPLICAS)
    started = time.perf_counter()
    documents: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="silkline-bench-run-") as work:
        for scenario in scenarios:
            arguments = (scenario.smoke if args.smoke else scenario.full).split()
            if scenario.uses_backend:
                arguments += ["--backend", args.backend]
            if scenario is REPLICAS:
                arguments += ["--replicas", str(args.replicas)]
            try:
                documents[scenario.name], timings[scenario.name] = run_scenario(
                    scenario, arguments, Path(work)
                )
            except ScenarioError as exc:
                if not scenario.optional:
                    print(f"[{scenario.name}] FAILED: {exc}", file=sys.stderr)
                    return 1
                failures[scenario.name] = str(exc)
                print(f"[{scenario.name}] failed, left out: {exc}", file=sys.stderr)

    merged = merge(documents)
    met = {goal.key: goal for goal in goals(merged)}
    host = machine() | {
        "postgresql": postgres_version(),
        "backend": args.backend,
        "replicas": args.replicas,
    }
    document = {
        **merged,
        "machine": host,
        "goals": {
            key: {"goal": goal.text, "value": merged[key], "met": goal.met}
            for key, goal in met.items()
        },
        "smoke": args.smoke,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": {**{k: round(v, 1) for k, v in timings.items()}},
        "failed_optional": failures,
        "scenarios": documents,
    }
    document["seconds"]["total"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    print()
    print(table(merged, met))
    print()
    print(
        f"Machine: {host['cores']} cores, Python {host['python']}, grpcio {host['grpcio']}, "
        f"SQLite {host['sqlite']}, PostgreSQL {host['postgresql']}; backend {args.backend}"
        f"{f', {args.replicas} replicas' if args.replicas > 1 else ''}; "
        f"load average at start {host['load_average_at_start'][0]}."
    )
    print(f"Goals met: {sum(g.met for g in met.values())} of {len(met)}.")
    print(f"Wrote {args.out} in {document['seconds']['total']:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
