"""docs/operations.md: the files it names exist, its commands work, its monitoring claims hold."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE
from tests.deploy.tooling import DEPLOY, REPO

DOC = REPO / "docs" / "operations.md"
TEXT = DOC.read_text()


def python_programs() -> list[str]:
    """The programs of the `python -c '...'` commands in the document."""
    return re.findall(r"python -c \\?\s*'([^']+)'", TEXT)


def test_every_repository_path_it_names_exists() -> None:
    named = set(re.findall(r"`((?:deploy|docs|tests)/[^`\s]*)`", TEXT))
    assert named, "the document names no file of the repository"
    for path in sorted(named):
        assert (REPO / path.rstrip("/")).exists(), f"docs/operations.md names {path}"


def test_it_names_every_file_of_deploy() -> None:
    owned = [
        *sorted((DEPLOY / "k8s").glob("*.yaml")),
        DEPLOY / "compose.yaml",
        DEPLOY / "haproxy" / "haproxy.cfg",
        DEPLOY / "container" / "Containerfile",
        DEPLOY / "prod" / "server.toml",
        *sorted((DEPLOY / "systemd").iterdir()),
    ]
    for path in owned:
        relative = path.relative_to(REPO).as_posix()
        assert path.name in TEXT or relative.rsplit("/", 1)[0] + "/" in TEXT, relative


def test_the_log_verifier_key_command_prints_what_auditors_pin() -> None:
    (program,) = [p for p in python_programs() if "verifier.vkey" in p]
    result = subprocess.run(
        [sys.executable, "-c", program, "silkline.example/log", str(EXAMPLE / "hub" / "log.key")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (EXAMPLE / "hub" / "log.vkey").read_text()


def test_the_systemd_migration_command_migrates(tmp_path: Path) -> None:
    (program,) = [p for p in python_programs() if "migrate()" in p]
    config = tmp_path / "server.toml"
    config.write_text(
        re.sub(
            r'^database = ".*"$',
            f'database = "sqlite:///{tmp_path / "silkline.db"}"',
            (DEPLOY / "prod" / "server.toml").read_text(),
            count=1,
            flags=re.M,
        )
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(config)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "silkline.db").stat().st_size > 0


def _server_has_metrics_endpoint() -> bool:
    sources = (REPO / "server" / "silkline_server").rglob("*.py")
    return any(re.search(r"prometheus", path.read_text(), re.I) for path in sources)


@pytest.mark.skipif(_server_has_metrics_endpoint(), reason="a metrics endpoint exists now")
def test_monitoring_says_the_metrics_endpoint_is_not_built_yet() -> None:
    # When the server grows a Prometheus endpoint, this test skips: update the
    # Monitoring section to describe it instead.
    assert "silkline has no metrics endpoint of its own" in TEXT.replace("**", "")
    silkline_metrics_claims = re.findall(r"silkline[^.\n]*:\d+/metrics", TEXT)
    assert not silkline_metrics_claims, silkline_metrics_claims
