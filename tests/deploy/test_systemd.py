"""deploy/systemd/: `systemd-analyze verify` and `security`, and the unit's promises.

systemd does not run as PID 1 on these machines, so the unit is never started
here. `systemd-analyze verify` parses it as systemd would (unknown keys,
bad values, a missing executable: its ExecStart is pointed at this venv's
silkline-server); `systemd-analyze security --offline=true` rates its
hardening; the rest checks that it delivers the keys server.toml names,
reloads on SIGHUP and outlasts the drain.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.tooling import DEPLOY, require_tool

UNIT = DEPLOY / "systemd" / "silkline-server.service"
SYSUSERS = DEPLOY / "systemd" / "silkline.sysusers"
PROD_CONFIG = DEPLOY / "prod" / "server.toml"
INSTALL = "apt-get install systemd"


def directives(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of the unit, values in order (a key may repeat)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key, []).append(value)
    return found


UNIT_DIRECTIVES = directives(UNIT.read_text())


def installed_copy(folder: Path) -> Path:
    """The unit with ExecStart pointed at this venv's silkline-server, which exists here."""
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "silkline-server").exists(), "silkline-server is not installed in this venv"
    text = UNIT.read_text()
    assert text.count("/opt/silkline/bin/") == 1
    copy = folder / UNIT.name
    copy.write_text(text.replace("/opt/silkline/bin/", f"{venv_bin}/"))
    return copy


def test_systemd_analyze_verify_reports_nothing(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", install=INSTALL)
    result = subprocess.run(
        [analyze, "verify", str(installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # verify exits 0 on an unknown key and only warns: any output is a finding.
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, output


def test_verify_would_report_a_misspelt_directive(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", install=INSTALL)
    unit = installed_copy(tmp_path)
    unit.write_text(unit.read_text().replace("ProtectHome=yes", "ProtectHom=yes"))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120
    )
    assert "Unknown key" in result.stdout + result.stderr


def test_hardening_exposure_is_low(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", install=INSTALL)
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert level, result.stdout
    # 0 is fully locked down, 10 unprotected; below 2 systemd calls it "OK".
    assert float(level.group(1)) < 2.0, result.stdout


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("User", "silkline"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
        ("SystemCallArchitectures", "native"),
        ("RestrictNamespaces", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("LockPersonality", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
        ("UMask", "0077"),
        ("StateDirectory", "silkline"),
        ("ReadWritePaths", "/var/lib/silkline"),
        ("KillSignal", "SIGTERM"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
    ],
)
def test_unit_sets(key: str, value: str) -> None:
    assert value in UNIT_DIRECTIVES.get(key, []), f"{key}={value} missing from {UNIT.name}"


def test_stop_timeout_outlasts_the_drain() -> None:
    grace = tomllib.loads(PROD_CONFIG.read_text())["grace_period_s"]
    (timeout,) = UNIT_DIRECTIVES["TimeoutStopSec"]
    assert int(timeout) > grace


def test_keys_arrive_as_credentials_at_the_paths_server_toml_names() -> None:
    config = tomllib.loads(PROD_CONFIG.read_text())
    credentials = dict(entry.split(":", 1) for entry in UNIT_DIRECTIVES["LoadCredential"])
    binds = dict(entry.split(":", 1) for entry in UNIT_DIRECTIVES["BindReadOnlyPaths"])
    for key_path in (config["tls"]["private_key"], config["log"]["private_key"]):
        name = Path(key_path).name
        # Read by systemd from the root-only file, handed to the service alone...
        assert credentials.get(name) == key_path, f"no LoadCredential for {key_path}"
        # ...and bound over the path the configuration names.
        assert binds.get(f"%d/{name}") == key_path, f"no BindReadOnlyPaths for {key_path}"
    assert "PGPASSFILE=%d/pgpass" in UNIT_DIRECTIVES["Environment"]
    assert "pgpass" in credentials
    # The configuration itself is read from /etc, where ProtectSystem=strict keeps it read-only.
    (exec_start,) = UNIT_DIRECTIVES["ExecStart"]
    assert "--config /etc/silkline/server.toml" in exec_start


def test_sysusers_file_creates_a_login_less_system_user(tmp_path: Path) -> None:
    sysusers = require_tool("systemd-sysusers", install=INSTALL)
    (tmp_path / "etc").mkdir()
    result = subprocess.run(
        [sysusers, f"--root={tmp_path}", str(SYSUSERS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (entry,) = [
        line
        for line in (tmp_path / "etc" / "passwd").read_text().splitlines()
        if line.startswith("silkline:")
    ]
    _, _, uid, _, _, home, shell = entry.split(":")
    assert int(uid) < 1000, "a system user"
    assert (home, shell) == ("/var/lib/silkline", "/usr/sbin/nologin")
