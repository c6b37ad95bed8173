"""`make demo`: silkline end to end on this machine, as agencies would use it.

Starts silkline-server on a free loopback port with SQLite in a temporary
folder, asks WhoAmI as agencies of several participants through the `silkline`
CLI, shows the refusal of a certificate minted by another participant's CA and
of a revoked one, streams a few hundred seizures from IN/FEED while KZ/MVD
watches them arrive, stops the server and checks it exited cleanly. What it
produced is written under demo-out/. Exits non-zero if anything did not
happen as it should.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Run as a script: deploy/dev is on sys.path.
from report_demo import ReportScenarioError, report_scenario
from rich.console import Console
from rich.rule import Rule

REPO = Path(__file__).resolve().parents[2]
CERTS = REPO / "certs" / "example"
OUT = REPO / "demo-out"
BIN = Path(sys.executable).parent
console = Console(soft_wrap=True)


@dataclass(frozen=True)
class Agency:
    profile: str
    participant: str
    name: str


AGENCIES = (
    Agency("in-ncb", "IN", "ncb"),
    Agency("kz-mvd", "KZ", "mvd"),
    Agency("uz-ncdc", "UZ", "ncdc"),
    Agency("tm-mvd", "TM", "mvd"),
    Agency("unodc-audit", "UNODC", "audit"),
)


class DemoFailedError(Exception):
    pass


def silkline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "silkline"), *args], env=env, capture_output=True, text=True, timeout=60
    )


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = workdir / "port"
    log = (OUT / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(BIN / "silkline-server"),
            "--config",
            str(REPO / "deploy" / "dev" / "server.toml"),
            "--listen",
            "127.0.0.1:0",
            "--database",
            f"sqlite:///{workdir / 'silkline.db'}",
            "--port-file",
            str(port_file),
            "--log-format",
            "json",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise DemoFailedError("server did not start; see demo-out/server.log")
        time.sleep(0.05)
    return process, int(port_file.read_text())


def add_profile(
    env: dict[str, str], profile: str, port: int, cert: Path, key: Path, *extra: str
) -> None:
    result = silkline(
        "profile",
        "add",
        profile,
        "--endpoint",
        f"127.0.0.1:{port}",
        "--ca",
        str(CERTS / "hub" / "ca.crt"),
        "--cert",
        str(cert),
        "--key",
        str(key),
        *extra,
        env=env,
    )
    if result.returncode != 0:
        raise DemoFailedError(f"profile add {profile} failed: {result.stderr}")


def signed_record_scenario(env: dict[str, str]) -> dict[str, object]:
    """IN/NCB signs and posts a seizure alert with suspects; its bundle verifies offline."""
    console.print(
        Rule("4. IN/NCB posts a signed seizure alert (suspects as selective disclosures)")
    )
    example = REPO / "schemas" / "seizure-alert" / "examples" / "mundra-port-heroin-2021-09.json"
    posted = silkline(
        "--profile",
        "in-ncb",
        "post",
        "seizure-alert",
        "--file",
        str(example),
        "--tlp",
        "AMBER",
        "--to",
        "UZ,KZ",
        "--handling",
        "H2",
        "--json",
        env=env,
    )
    if posted.returncode != 0:
        raise DemoFailedError(f"post failed: {posted.stderr}")
    receipt = json.loads(posted.stdout)
    record_id = receipt["record_id"]
    console.print(
        f"  accepted {record_id} at log index {receipt['log_index']}, "
        f"{receipt['disclosures']} disclosure(s); receipt signed by the log"
    )
    bundle_path = OUT / "seizure-alert.bundle.json"
    shown = silkline(
        "--profile", "in-ncb", "show", record_id, "--bundle", "--out", str(bundle_path), env=env
    )
    if shown.returncode != 0:
        raise DemoFailedError(f"show --bundle failed: {shown.stderr}")
    console.print(f"  bundle with every disclosure: {bundle_path.relative_to(REPO)}")
    reads = reads_under_the_rules(env, record_id)

    console.print(Rule("8. Offline verification of the bundle, and of a tampered copy"))
    verified = silkline("verify", str(bundle_path), "--trust", str(CERTS), env=env)
    console.print(verified.stdout.rstrip())
    if verified.returncode != 0:
        raise DemoFailedError(f"verify failed: {verified.stdout}{verified.stderr}")
    bundle = json.loads(bundle_path.read_text())
    payload = base64.b64decode(bundle["envelope"]["payload"])
    # Someone widens the distribution after signing: AMBER becomes CLEAR.
    widened = payload.replace(b'"tlp":"AMBER"', b'"tlp":"CLEAR"')
    if widened == payload:
        raise DemoFailedError("the demo record should be AMBER")
    bundle["envelope"]["payload"] = base64.b64encode(widened).decode()
    tampered_path = OUT / "seizure-alert.tampered.bundle.json"
    tampered_path.write_text(json.dumps(bundle, indent=2))
    refused = silkline("verify", str(tampered_path), "--trust", str(CERTS), env=env)
    console.print(f"  tampered copy: exit {refused.returncode}: {refused.stderr.strip()}")
    if refused.returncode == 0:
        raise DemoFailedError("a tampered bundle verified")
    return {
        "record_id": record_id,
        "log_index": receipt["log_index"],
        "bundle": str(bundle_path.relative_to(REPO)),
        "verify_exit_code": verified.returncode,
        "tampered_verify_exit_code": refused.returncode,
        "reads": reads,
    }


def reads_under_the_rules(env: dict[str, str], record_id: str) -> dict[str, object]:
    """The same record read by four participants under deploy/rules/network.toml."""
    console.print(Rule("5. Who sees what under deploy/rules/network.toml"))
    seen: dict[str, object] = {}
    for profile in ("uz-ncdc", "kz-mvd", "tm-mvd", "unodc-audit"):
        result = silkline("--profile", profile, "show", record_id, "--json", env=env)
        if result.returncode == 0:
            document = json.loads(result.stdout)
            body = (document["payload"] or {}).get("body", {})
            seen[profile] = {
                "view": "full" if document["payload"] else "header only",
                "withheld": document["withheld_classes"],
                "suspects_visible": "suspects" in body,
            }
        else:
            seen[profile] = {"exit_code": result.returncode, "error": result.stderr.strip()}
        console.print(f"  {profile:<12} {seen[profile]}")
    random_id = "01a214ea-0000-7000-8000-000000000000"
    unknown = silkline("--profile", "tm-mvd", "show", random_id, env=env)
    console.print(
        f"  tm-mvd asks for a random id: exit {unknown.returncode}, {unknown.stderr.strip()}"
    )
    expected = {
        "uz-ncdc": {"view": "full", "withheld": [], "suspects_visible": True},
        "kz-mvd": {
            "view": "full",
            "withheld": ["location_precise", "personal_data"],
            "suspects_visible": False,
        },
        "unodc-audit": {
            "view": "header only",
            "withheld": ["location_precise", "personal_data"],
            "suspects_visible": False,
        },
    }
    for profile, wanted in expected.items():
        if seen[profile] != wanted:
            raise DemoFailedError(f"{profile} saw {seen[profile]}, expected {wanted}")
    tm = seen["tm-mvd"]
    if not isinstance(tm, dict) or tm.get("exit_code") != 4 or unknown.returncode != 4:
        raise DemoFailedError("TM/MVD should get NOT_FOUND for the record and for a random id")
    if tm.get("error") != unknown.stderr.strip():
        raise DemoFailedError("the denial must look exactly like a missing record")

    uz_bundle = OUT / "seizure-alert.uz-ncdc.bundle.json"
    silkline(
        "--profile", "uz-ncdc", "show", record_id, "--bundle", "--out", str(uz_bundle), env=env
    )
    uz_verified = silkline("verify", str(uz_bundle), "--trust", str(CERTS), env=env)
    console.print(f"  UZ/NCDC verifies its copy offline: exit {uz_verified.returncode}")
    kz_bundle = OUT / "seizure-alert.kz-mvd.bundle.json"
    silkline("--profile", "kz-mvd", "show", record_id, "--bundle", "--out", str(kz_bundle), env=env)
    kz_verified = silkline("verify", str(kz_bundle), "--trust", str(CERTS), env=env)
    console.print(
        f"  KZ/MVD verifies its copy (no disclosures) offline: exit {kz_verified.returncode}"
    )
    if uz_verified.returncode != 0 or kz_verified.returncode != 0:
        raise DemoFailedError("the readers' copies must verify")

    console.print(Rule("6. Why KZ/MVD sees what it sees: silkline policy explain"))
    explained = silkline(
        "policy",
        "explain",
        "--reader",
        "KZ/MVD",
        "--bundle",
        str(OUT / "seizure-alert.bundle.json"),
        "--rules",
        str(REPO / "deploy" / "rules" / "network.toml"),
        env=env,
    )
    console.print(explained.stdout.rstrip())
    if explained.returncode != 0:
        raise DemoFailedError(f"policy explain failed: {explained.stderr}")

    console.print(Rule("7. The access log, as UNODC/AUDIT sees it"))
    events = silkline(
        "--profile", "unodc-audit", "audit", "access", "--record", record_id, "--json", env=env
    )
    if events.returncode != 0:
        raise DemoFailedError(f"audit access failed: {events.stderr}")
    logged = json.loads(events.stdout)
    for event in logged:
        console.print(
            f"  {event['reader']:<28} {event['action']:<5} {event['decision']:<8} "
            f"withheld: {', '.join(event['withheld']) or '-'}"
        )
    readers = {event["reader"].rsplit("/", 1)[0] for event in logged}
    if not {"UZ/NCDC", "KZ/MVD", "TM/MVD", "UNODC/AUDIT"} <= readers:
        raise DemoFailedError(f"the access log misses readers: {sorted(readers)}")
    seen["access_events"] = len(logged)
    return seen


FEED_RECORDS = 300


def feed_while_watching(env: dict[str, str], port: int) -> dict[str, object]:
    """IN/FEED streams sample seizures; KZ/MVD, an AMBER recipient, watches them arrive."""
    console.print(Rule(f"9. IN/FEED streams {FEED_RECORDS} sample seizures while KZ/MVD watches"))
    folder = CERTS / "IN"
    add_profile(
        env,
        "in-feed",
        port,
        folder / "feed.crt",
        folder / "feed.key",
        "--signing-key",
        str(folder / "feed.signing.key"),
        "--signing-cert",
        str(folder / "feed.signing.crt"),
    )
    sample = OUT / "feed-sample.jsonl"
    made = silkline(
        "feed",
        "sample",
        "--count",
        str(FEED_RECORDS),
        "--seed",
        "2024",
        "--out",
        str(sample),
        env=env,
    )
    if made.returncode != 0:
        raise DemoFailedError(f"feed sample failed: {made.stderr}")
    watch_out = OUT / "watch-kz-mvd.jsonl"
    with watch_out.open("w") as out:
        # Bounded: it stops after the fed records, or after 90 s whatever happens.
        watcher = subprocess.Popen(
            [
                str(BIN / "silkline"),
                "--profile",
                "kz-mvd",
                "watch",
                "--originator",
                "IN/FEED",
                "--json",
                "--stop-after",
                str(FEED_RECORDS),
                "--duration",
                "90",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            started = time.monotonic()
            fed = silkline(
                "--profile",
                "in-feed",
                "feed",
                str(sample),
                "--source",
                "demo-port-scanners",
                "--tlp",
                "AMBER",
                "--to",
                "KZ,UZ",
                "--json",
                env=env,
            )
            fed_s = time.monotonic() - started
            _, watch_err = watcher.communicate(timeout=100)
            watched_s = time.monotonic() - started
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait()
    if fed.returncode != 0:
        raise DemoFailedError(f"feed failed (exit {fed.returncode}): {fed.stdout}{fed.stderr}")
    fed_summary = json.loads(fed.stdout)
    arrived = [json.loads(line) for line in watch_out.read_text().splitlines() if line]
    for record in arrived[:3]:
        header, body = record["header"], (record["payload"] or {}).get("body", {})
        item = body.get("items", [{}])[0]
        quantity = item.get("quantity", {})
        place = body.get("location", {}).get("name")
        console.print(
            f"  KZ/MVD <- #{header['log_index']:<5} {item.get('drug', '?'):<22} "
            f"{quantity.get('value')} {quantity.get('unit')} at {place}"
            f"  (withheld: {', '.join(record['withheld_classes']) or '-'})",
            highlight=False,
        )
    console.print(
        f"  fed {fed_summary['accepted']} accepted, {fed_summary['already_present']} already "
        f"present, {fed_summary['rejected']} rejected in {fed_s:.1f} s "
        f"({fed_summary['records_per_s']} records/s); KZ/MVD saw {len(arrived)} of them "
        f"within {watched_s:.1f} s"
    )
    if watcher.returncode != 0 or len(arrived) != FEED_RECORDS:
        raise DemoFailedError(
            f"KZ/MVD saw {len(arrived)} of {FEED_RECORDS} fed records "
            f"(watch exit {watcher.returncode}): {watch_err}"
        )
    if fed_summary["accepted"] != FEED_RECORDS:
        raise DemoFailedError(f"the feed accepted {fed_summary['accepted']} of {FEED_RECORDS}")
    return {
        "accepted": fed_summary["accepted"],
        "records_per_s": fed_summary["records_per_s"],
        "watched_by_kz_mvd": len(arrived),
        "watch_output": str(watch_out.relative_to(REPO)),
    }


def audit_scenario(env: dict[str, str]) -> dict[str, object]:
    """UNODC's auditor exports the log and verifies it offline; a witness cosigns."""
    console.print(
        Rule("11. The auditor exports the log and verifies it offline; a witness cosigns")
    )
    witness = silkline(
        "--profile",
        "unodc-audit",
        "witness",
        "--state",
        str(OUT / "witness-unodc"),
        "--key",
        str(CERTS / "UNODC" / "witness.key"),
        "--name",
        "witness.unodc.example",
        "--trust",
        str(CERTS),
        env=env,
    )
    console.print(f"  witness.unodc.example: exit {witness.returncode}: {witness.stdout.strip()}")
    if witness.returncode != 0:
        raise DemoFailedError(f"the witness did not cosign: {witness.stderr}")
    export_dir = OUT / "audit"
    exported = silkline(
        "--profile",
        "unodc-audit",
        "audit",
        "export",
        "--out",
        str(export_dir),
        "--trust",
        str(CERTS),
        env=env,
    )
    if exported.returncode != 0:
        raise DemoFailedError(f"audit export failed: {exported.stderr}")
    console.print(f"  exported to {export_dir.relative_to(REPO)}")
    verified = silkline(
        "audit",
        "verify",
        str(export_dir),
        "--witness-key",
        str(CERTS / "UNODC" / "witness.vkey"),
        "--min-witnesses",
        "1",
        env=env,
    )
    console.print(verified.stdout.rstrip())
    if verified.returncode != 0:
        raise DemoFailedError(f"audit verify failed: {verified.stdout}{verified.stderr}")
    tampered = OUT / "audit-tampered"
    shutil.copytree(export_dir, tampered)
    lines = (tampered / "entries.jsonl").read_text().splitlines()
    middle = len(lines) // 2
    entry = json.loads(lines[middle])
    leaf = bytearray(base64.b64decode(entry["leaf"]))
    leaf[len(leaf) // 2] ^= 0x01  # one bit of one stored entry
    entry["leaf"] = base64.b64encode(bytes(leaf)).decode()
    lines[middle] = json.dumps(entry)
    (tampered / "entries.jsonl").write_text("\n".join(lines) + "\n")
    refused = silkline("audit", "verify", str(tampered), env=env)
    console.print(
        f"  one bit of entry {middle} flipped: exit {refused.returncode}: "
        f"{(refused.stderr or refused.stdout).strip().splitlines()[-1]}"
    )
    if refused.returncode == 0:
        raise DemoFailedError("a tampered export verified")
    return {
        "export": str(export_dir.relative_to(REPO)),
        "entries": len(lines),
        "verify_exit_code": verified.returncode,
        "tampered_entry": middle,
        "tampered_verify_exit_code": refused.returncode,
    }


def run_demo(workdir: Path) -> dict[str, object]:
    env = dict(os.environ, XDG_CONFIG_HOME=str(OUT / "config"), NO_COLOR="1")
    summary: dict[str, object] = {}
    console.print(Rule("1. silkline-server on a free loopback port, SQLite in a temporary folder"))
    process, port = start_server(workdir)
    console.print(f"serving on 127.0.0.1:{port} over mutual TLS (log: demo-out/server.log)")
    try:
        console.print(Rule("2. WhoAmI as agencies of several participants"))
        identities = []
        for agency in AGENCIES:
            folder = CERTS / agency.participant
            add_profile(
                env,
                agency.profile,
                port,
                folder / f"{agency.name}.crt",
                folder / f"{agency.name}.key",
                "--signing-key",
                str(folder / f"{agency.name}.signing.key"),
                "--signing-cert",
                str(folder / f"{agency.name}.signing.crt"),
            )
            result = silkline("--profile", agency.profile, "whoami", "--json", env=env)
            if result.returncode != 0:
                raise DemoFailedError(f"whoami as {agency.profile} failed: {result.stderr}")
            identity = json.loads(result.stdout)
            identities.append(identity)
            (OUT / f"whoami-{agency.profile}.json").write_text(result.stdout)
            console.print(
                f"  {agency.profile:<12} -> {identity['identity_uri']:<36} "
                f"roles: {', '.join(identity['roles'])}"
            )
        summary["identities"] = identities

        console.print(Rule("3. Refusals"))
        refusals = {}
        for label, cert in (
            ("kz-minted-by-in", CERTS / "bad" / "kz-minted-by-in"),
            ("revoked", CERTS / "IN" / "revoked"),
        ):
            add_profile(env, label, port, cert.with_suffix(".crt"), cert.with_suffix(".key"))
            result = silkline("--profile", label, "whoami", env=env)
            message = result.stderr.strip()
            console.print(f"  {label}: exit {result.returncode}\n    {message}")
            if result.returncode != 3 or "UNAUTHENTICATED" not in message:
                raise DemoFailedError(
                    f"{label} was not refused as expected (exit {result.returncode})"
                )
            refusals[label] = {"exit_code": result.returncode, "message": message}
        summary["refusals"] = refusals
        summary["signed_record"] = signed_record_scenario(env)
        summary["feed"] = feed_while_watching(env, port)
        console.print(
            Rule("10. Indicators: India's seizures, 2023 vs 2024, as CARICC/ANALYSIS sees them")
        )
        try:
            summary["report"] = report_scenario(
                env,
                silkline,
                OUT,
                endpoint=f"127.0.0.1:{port}",
                echo=lambda text: console.print(text, markup=False, highlight=False),
            )
        except ReportScenarioError as exc:
            raise DemoFailedError(str(exc)) from exc
        summary["audit"] = audit_scenario(env)
    finally:
        console.print(Rule("12. SIGTERM: drain and stop"))
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=30)
        console.print(f"server exited with {exit_code}")
    summary["server_exit_code"] = exit_code
    if exit_code != 0:
        raise DemoFailedError(f"server exited with {exit_code}")
    refused_lines = [
        json.loads(line)
        for line in (OUT / "server.log").read_text().splitlines()
        if '"client certificate refused"' in line
    ]
    for line in refused_lines:
        console.print(f"  server log: {line['reason']}: {line['detail']}", highlight=False)
    if len(refused_lines) < 2:
        raise DemoFailedError("the server log does not show both refusals")
    return summary


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    with tempfile.TemporaryDirectory(prefix="silkline-demo-") as workdir:
        try:
            summary = run_demo(Path(workdir))
        except DemoFailedError as exc:
            console.print(f"[red]demo failed:[/red] {exc}")
            return 1
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(Rule("done"))
    console.print(
        "everything the demo produced is in demo-out/ "
        "(summary.json, server.log, seizure-alert.bundle.json, report.html, audit/)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
