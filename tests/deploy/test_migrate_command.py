"""`silkline-server migrate`: what compose's migrate service, the Kubernetes Job and the
systemd upgrade run. The compose command itself is run in test_compose.py."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

from tests.conftest import DEV_CONFIG
from tests.deploy.tooling import silkline_server


def migrate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [silkline_server(), "migrate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_database_option_overrides_the_config_and_a_relative_file_is_in_the_cwd(
    tmp_path: Path,
) -> None:
    result = migrate("--config", str(DEV_CONFIG), "--database", "sqlite:///here.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"silkline: database schema is at the newest revision \(\w+\)\n", result.stdout
    )
    assert (tmp_path / "here.db").stat().st_size > 0


def test_an_unreachable_database_exits_1_saying_so() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connection refused
        result = migrate("--database", f"postgresql+psycopg://silkline@127.0.0.1:{port}/silkline")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "silkline-server migrate: the database cannot be reached" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_config_error_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text(DEV_CONFIG.read_text() + '\n[metrics]\nlisten = "nowhere"\n')
    result = migrate("--config", str(config))
    assert result.returncode == 2
    assert "[metrics] listen: 'nowhere' is not HOST:PORT" in result.stderr


def test_without_a_database_it_says_what_to_give() -> None:
    result = migrate()
    assert result.returncode == 2
    assert "give --config FILE (its database URL) or --database URL" in result.stderr


def test_options_of_the_service_before_the_command_are_refused() -> None:
    result = subprocess.run(
        [silkline_server(), "--listen", "127.0.0.1:0", "migrate", "--database", "sqlite://"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--listen before 'migrate' belong to running the service" in result.stderr


def test_without_a_command_or_config_it_asks_for_the_config() -> None:
    result = subprocess.run([silkline_server()], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Missing option '--config'" in result.stderr
