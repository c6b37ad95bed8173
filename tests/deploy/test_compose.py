"""deploy/compose.yaml: the compose-spec schema, the deployment's structure, the migration.

`docker compose config` needs the compose plugin, which these machines lack,
so the file is validated against the compose-spec JSON schema that the PyPI
package check-jsonschema ships (vendor.compose-spec), then checked for what
this deployment promises: PostgreSQL 15 with a volume, a one-shot migration
before two replicas, HAProxy in front, keys only as read-only secrets, every
file server.toml names mounted. The migration program is run for real.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from tests.deploy.tooling import (
    DEPLOY,
    REPO,
    load_yaml_documents,
    migration_command,
    require_tool,
    silkline_server,
)

COMPOSE = DEPLOY / "compose.yaml"
PROD_CONFIG = DEPLOY / "prod" / "server.toml"
HAPROXY_CFG = DEPLOY / "haproxy" / "haproxy.cfg"
SITE = "/srv/silkline-site"


def interpolate(value: Any) -> Any:
    """Compose's ${VAR:-default} and ${VAR:?message}, with SILKLINE_SITE set to SITE."""
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3)
        known = {"SILKLINE_SITE": SITE, "SILKLINE_SERVER_NAME": "silkline.example.org"}
        if name in known:
            return known[name]
        assert operator == ":-", f"${{{name}}} has no default and is not set by this test"
        return word

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}", substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    (document,) = load_yaml_documents(COMPOSE)
    return interpolate(document)


def replicas(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("command", [None])[0] == "--config"
    }


def references(service: dict[str, Any], section: str) -> list[dict[str, str]]:
    """A service's configs or secrets in the long syntax, short entries expanded."""
    default_folder = "/run/secrets/" if section == "secrets" else "/"
    return [
        {"source": item, "target": default_folder + item} if isinstance(item, str) else item
        for item in service.get(section, [])
    ]


def mount_targets(service: dict[str, Any]) -> list[str]:
    targets = [item["target"] for item in references(service, "configs")]
    targets += [item["target"] for item in references(service, "secrets")]
    targets += [item["target"] for item in service.get("volumes", []) if isinstance(item, dict)]
    return targets


def test_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    validator = require_tool(
        "check-jsonschema", install="pip install check-jsonschema (ships the compose-spec schema)"
    )
    result = subprocess.run(
        [validator, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_refuses_a_misspelt_key(tmp_path: Path) -> None:
    """The schema is really applied: an unknown service key is an error."""
    validator = require_tool(
        "check-jsonschema", install="pip install check-jsonschema (ships the compose-spec schema)"
    )
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("    healthcheck:", "    helthcheck:", 1))
    result = subprocess.run(
        [validator, "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "helthcheck" in result.stdout + result.stderr


def test_postgresql_15_keeps_its_data_in_a_volume(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert re.fullmatch(r"docker\.io/library/postgres:15(\.\d+)?-bookworm", postgres["image"])
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    # The password comes from a secret file, never from the environment itself.
    assert "POSTGRES_PASSWORD" not in postgres["environment"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")


def test_migration_runs_once_before_the_replicas(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    # The image's entrypoint, silkline-server, with its migrate command.
    assert "entrypoint" not in migrate
    assert migrate["command"] == ["migrate", "--config", "/etc/silkline/server.toml"]
    for name, replica in replicas(compose).items():
        assert replica["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name


def test_two_replicas_share_the_image_and_the_database(compose: dict[str, Any]) -> None:
    found = replicas(compose)
    assert sorted(found) == ["silkline-1", "silkline-2"]
    images = {service["image"] for service in found.values()}
    assert images == {compose["services"]["migrate"]["image"]}
    one, two = found.values()
    assert one == two, "the replicas differ in more than their name"
    assert one["command"] == ["--config", "/etc/silkline/server.toml"]


def test_replicas_are_hardened(compose: dict[str, Any]) -> None:
    grace = tomllib.loads(PROD_CONFIG.read_text())["grace_period_s"]
    for name, service in [*replicas(compose).items(), ("migrate", compose["services"]["migrate"])]:
        user = service["user"].split(":")
        assert all(part.isdigit() and int(part) != 0 for part in user), name
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["networks"] == ["internal"], f"{name} must not be on the edge network"
    for name, service in replicas(compose).items():
        stop = re.fullmatch(r"(\d+)s", service["stop_grace_period"])
        assert stop and int(stop.group(1)) > grace, f"{name}: stop_grace_period <= grace_period_s"
        assert service["stop_signal"] == "SIGTERM"
        assert service["healthcheck"]["test"] == [
            "CMD",
            "python",
            "-m",
            "silkline_server.healthcheck",
        ]
    assert compose["networks"]["internal"]["internal"] is True


def test_replicas_mount_every_file_server_toml_names(compose: dict[str, Any]) -> None:
    config = tomllib.loads(PROD_CONFIG.read_text())
    needed = [
        config["rules"],
        config["tls"]["certificate"],
        config["tls"]["private_key"],
        config["log"]["private_key"],
        # The probe's defaults (Containerfile ENV).
        "/etc/silkline/tls/hub-ca.crt",
        "/etc/silkline/tls/probe.crt",
        "/etc/silkline/private/probe.key",
    ]
    for participant in config["participants"].values():
        needed += [participant["ca"], participant["crl"]]
    for name, service in replicas(compose).items():
        targets = mount_targets(service)
        assert "/etc/silkline/server.toml" in targets
        for path in needed:
            assert any(path == t or path.startswith(t.rstrip("/") + "/") for t in targets), (
                f"{name}: {path} (named by server.toml or the probe) is not mounted"
            )


def test_private_keys_are_secrets_and_every_mount_is_read_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for item in references(service, "configs"):
            assert "private" not in item["target"], f"{name}: {item['target']} as a config"
        for item in references(service, "secrets"):
            source = compose["secrets"][item["source"]]["file"]
            assert source.startswith(SITE + "/private/"), f"{name}: secret from {source}"
        for item in service.get("volumes", []):
            if isinstance(item, dict) and item["type"] == "bind":
                assert item["read_only"] is True, f"{name}: {item['target']} is writable"
        for key, value in (service.get("environment") or {}).items():
            assert not re.search(r"PASSWORD$|SECRET|TOKEN", key), f"{name}: {key}={value}"
    for section in ("configs", "secrets"):
        declared = set(compose[section])
        used = {
            item["source"]
            for service in compose["services"].values()
            for item in references(service, section)
        }
        assert declared == used, f"{section}: declared {declared}, used {used}"
        for entry in compose[section].values():
            path = entry["file"]
            if not path.startswith(SITE):
                assert (COMPOSE.parent / path).resolve().is_relative_to(DEPLOY), path
                assert not re.search(r"\.(key|pem)$|private", path), f"{path} from the repository"


def test_haproxy_balances_the_replicas_on_their_port(compose: dict[str, Any]) -> None:
    haproxy = compose["services"]["haproxy"]
    assert re.fullmatch(r"docker\.io/library/haproxy:2\.6(\.\d+)?-bookworm", haproxy["image"])
    assert {"source": "haproxy-config", "target": "/usr/local/etc/haproxy/haproxy.cfg"} in (
        haproxy["configs"]
    )
    assert compose["configs"]["haproxy-config"]["file"] == "./haproxy/haproxy.cfg"
    assert "7443:7443" in haproxy["ports"]
    assert set(haproxy["depends_on"]) == set(replicas(compose))
    port = tomllib.loads(PROD_CONFIG.read_text())["listen"].rsplit(":", 1)[1]
    servers = re.findall(r"^\s*server\s+(\S+)\s+(\S+)", HAPROXY_CFG.read_text(), re.M)
    assert sorted(servers) == sorted((name, f"{name}:{port}") for name in replicas(compose))
    # Every file haproxy.cfg reads is mounted into the HAProxy container.
    for path in re.findall(r"(?:ca-file|crt)\s+(\S+)", HAPROXY_CFG.read_text()):
        assert path in mount_targets(haproxy), f"haproxy.cfg reads {path}, which is not mounted"


def test_replicas_expose_metrics_on_the_internal_network_only(compose: dict[str, Any]) -> None:
    listen = tomllib.loads(PROD_CONFIG.read_text())["metrics"]["listen"]
    port = listen.rsplit(":", 1)[1]
    for name, replica in replicas(compose).items():
        assert replica["expose"] == [port], name
        assert "ports" not in replica, f"{name} publishes a port on the host"
        assert replica["networks"] == ["internal"], name


def _head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", "silkline_server.store:migrations")
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_migration_command_brings_the_database_to_the_newest_revision(
    store_url: str, tmp_path: Path
) -> None:
    """The exact command of the migrate service (and of the Kubernetes Job), run twice."""
    *arguments, config_path = migration_command()
    assert config_path == "/etc/silkline/server.toml"
    config = tmp_path / "server.toml"
    config.write_text(
        re.sub(
            r'^database = ".*"$',
            f'database = "{store_url}"',
            PROD_CONFIG.read_text(),
            count=1,
            flags=re.M,
        )
    )
    for attempt in ("first", "second (nothing to do)"):
        result = subprocess.run(
            [silkline_server(), *arguments, str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert result.returncode == 0, f"{attempt} run: {result.stderr}"
        assert result.stdout == (
            f"silkline: database schema is at the newest revision ({_head_revision()})\n"
        )
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert [row[0] for row in versions] == [_head_revision()]
