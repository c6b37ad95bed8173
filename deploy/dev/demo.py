"""`make demo`: silkline end to end on this machine, as agencies would use it.

Starts silkline-server on a free loopback port with SQLite in a temporary
folder, asks WhoAmI as agencies of several participants through the `silkline`
CLI, shows the refusal of a certificate minted by another participant's CA and
of a revoked one, stops the server and checks it exited cleanly. What it
produced is written under demo-out/. Exits non-zero if anything did not
happen as it should.
"""

from __future__ import annotations

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
    finally:
        console.print(Rule("4. SIGTERM: drain and stop"))
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
        "everything the demo produced is in demo-out/ (summary.json, server.log, whoami-*.json)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
