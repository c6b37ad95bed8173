"""The `silkline` CLI: profiles, whoami, and the documented exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from silkline.cli.main import cli

from ..conftest import EXAMPLE, ServerProcess


@pytest.fixture(autouse=True)
def own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("SILKLINE_PROFILE", raising=False)
    return home


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def add_profile(name: str, endpoint: str, cert: str, *extra: str) -> None:
    result = run(
        "profile",
        "add",
        name,
        "--endpoint",
        endpoint,
        "--ca",
        str(EXAMPLE / "hub" / "ca.crt"),
        "--cert",
        str(EXAMPLE / f"{cert}.crt"),
        "--key",
        str(EXAMPLE / f"{cert}.key"),
        *extra,
    )
    assert result.exit_code == 0, result.output


def test_help_documents_the_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for line in ("3  not authenticated or not permitted", "4  not found", "6  server unavailable"):
        assert line in result.output


def test_profiles_are_added_listed_and_switched(own_config_home: Path) -> None:
    add_profile("in-ncb", "127.0.0.1:1", "IN/ncb")
    add_profile("kz-mvd", "127.0.0.1:2", "KZ/mvd")
    listed = json.loads(run("profile", "list", "--json").output)
    assert [(p["name"], p["current"], p["identity"]) for p in listed] == [
        ("in-ncb", True, "silkline://IN/NCB/ops-desk-1"),
        ("kz-mvd", False, "silkline://KZ/MVD/ops-desk-1"),
    ]
    assert run("profile", "use", "kz-mvd").exit_code == 0
    assert [p["current"] for p in json.loads(run("profile", "list", "--json").output)] == [
        False,
        True,
    ]
    assert (own_config_home / "silkline" / "config.toml").exists()


def test_using_an_unknown_profile_is_a_usage_error() -> None:
    add_profile("in-ncb", "127.0.0.1:1", "IN/ncb")
    result = run("profile", "use", "nope")
    assert result.exit_code == 2
    assert "no profile named 'nope'" in result.output


def test_whoami_without_any_profile_says_how_to_add_one() -> None:
    result = run("whoami")
    assert result.exit_code == 2
    assert "silkline profile add" in result.output


def test_whoami_prints_the_identity_as_json(server: ServerProcess) -> None:
    add_profile("uz", server.target, "UZ/ncdc")
    result = run("whoami", "--json")
    assert result.exit_code == 0, result.output
    reply = json.loads(result.output)
    assert reply["identity_uri"] == "silkline://UZ/NCDC/ops-desk-1"
    assert reply["roles"] == ["publisher", "reader"]


def test_whoami_table_is_the_default(server: ServerProcess) -> None:
    add_profile("unodc", server.target, "UNODC/audit")
    result = run("--profile", "unodc", "whoami")
    assert result.exit_code == 0
    assert "silkline://UNODC/AUDIT/auditor-1" in result.output
    assert not result.output.lstrip().startswith("{")


@pytest.mark.parametrize("cert", ["bad/kz-minted-by-in", "IN/revoked"])
def test_refused_certificate_exits_3(server: ServerProcess, cert: str) -> None:
    add_profile("bad", server.target, cert)
    result = run("whoami")
    assert result.exit_code == 3
    assert "UNAUTHENTICATED" in result.output


def test_expired_own_certificate_is_caught_before_calling() -> None:
    add_profile("old", "127.0.0.1:1", "IN/expired")
    result = run("whoami")
    assert result.exit_code == 3
    assert "expired at 2021-01-01" in result.output


def test_unreachable_server_exits_6() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    add_profile("down", f"127.0.0.1:{free_port}", "IN/ncb")
    result = run("whoami", "--timeout", "3")
    assert result.exit_code == 6
    assert "UNAVAILABLE" in result.output
