"""deploy/prod/server.toml: a configuration the server accepts, and a layout that works.

The production file is parsed by the server's own loader, checked for what
production needs (JSON logs, PostgreSQL without a password in the URL, every
path under /etc/silkline), then used for real: the /etc/silkline layout is
laid out under a temporary folder from the example PKI, a server starts with
the file (only its root folder moved), and the image's health probe, with the
defaults the Containerfile sets, finds it SERVING.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from sqlalchemy.engine import make_url

from silkline_server.config import load_config
from tests.conftest import EXAMPLE, start_server
from tests.deploy.containerfile import env_settings, final_stage
from tests.deploy.tooling import DEPLOY

PROD_CONFIG = DEPLOY / "prod" / "server.toml"
RULES = DEPLOY / "rules" / "network.toml"
ROOT = "/etc/silkline"


def test_server_accepts_the_production_configuration() -> None:
    config = load_config(PROD_CONFIG)
    assert config.log_format == "json"
    assert config.listen == "0.0.0.0:7443"
    # Every replica serves metrics, for Prometheus on the deployment's own network.
    assert config.metrics_listen == "0.0.0.0:9464"
    assert config.grace_period_s > 0
    url = make_url(config.database)
    assert url.get_backend_name() == "postgresql"
    assert url.password is None, "the password comes from PGPASSFILE or PGPASSWORD"
    assert url.query["sslmode"] == "verify-full"
    paths = [
        config.rules,
        config.server_certificate,
        config.server_private_key,
        config.log.private_key,
        *(p.ca for p in config.participants),
        *(p.crl for p in config.participants if p.crl),
    ]
    for path in paths:
        assert str(path).startswith(ROOT + "/"), path
    for key in (config.server_private_key, config.log.private_key):
        assert key.parent == Path(ROOT) / "private"


def test_production_sets_every_setting_the_development_config_sets() -> None:
    """A setting added to deploy/dev/server.toml is decided for production too."""
    development = tomllib.loads((DEPLOY / "dev" / "server.toml").read_text())
    production = tomllib.loads(PROD_CONFIG.read_text())
    assert set(development) - set(production) == set(), (
        "add these settings to deploy/prod/server.toml (and deploy/k8s/configmap.yaml)"
    )


def test_every_participant_of_the_rules_has_a_ca_and_a_crl() -> None:
    config = load_config(PROD_CONFIG)
    rules = tomllib.loads(RULES.read_text())
    assert {p.code for p in config.participants} == set(rules["participants"])
    assert all(p.crl is not None for p in config.participants)


def lay_out(root: Path) -> Path:
    """/etc/silkline under `root`, filled from the example PKI; the config path."""
    etc = root / "etc" / "silkline"
    for folder in ("rules", "participants", "tls", "private"):
        (etc / folder).mkdir(parents=True)
    shutil.copy(RULES, etc / "rules" / "network.toml")
    for participant in load_config(PROD_CONFIG).participants:
        assert participant.crl is not None
        shutil.copy(
            EXAMPLE / participant.code / "ca.crt", etc / "participants" / participant.ca.name
        )
        shutil.copy(
            EXAMPLE / participant.code / "crl.pem", etc / "participants" / participant.crl.name
        )
    hub = EXAMPLE / "hub"
    shutil.copy(hub / "server.crt", etc / "tls" / "server.crt")
    shutil.copy(hub / "ca.crt", etc / "tls" / "hub-ca.crt")
    shutil.copy(hub / "server.key", etc / "private" / "server.key")
    shutil.copy(hub / "log.key", etc / "private" / "log.key")
    # The probe: an agency certificate of the host participant.
    shutil.copy(EXAMPLE / "IN" / "ncb.crt", etc / "tls" / "probe.crt")
    shutil.copy(EXAMPLE / "IN" / "ncb.key", etc / "private" / "probe.key")
    config = etc / "server.toml"
    text = PROD_CONFIG.read_text().replace(ROOT + "/", f"{etc}/")
    # Another test's server may hold 9464 on this machine: any free loopback port.
    metrics = 'listen = "0.0.0.0:9464"'
    assert text.count(metrics) == 1
    config.write_text(text.replace(metrics, 'listen = "127.0.0.1:0"'))
    return config


def test_the_production_layout_serves_and_the_image_probe_finds_it(tmp_path: Path) -> None:
    config = lay_out(tmp_path / "root")
    (tmp_path / "run").mkdir()
    server = start_server(tmp_path / "run", config=config)
    try:
        probe_env = {
            name: value.replace(ROOT + "/", f"{config.parent}/")
            for name, value in env_settings(final_stage()).items()
            if name.startswith("SILKLINE_HEALTHCHECK_")
        }
        probe_env["SILKLINE_HEALTHCHECK_TARGET"] = server.target
        # The example server certificate names localhost; compose and Kubernetes set this.
        probe_env["SILKLINE_HEALTHCHECK_SERVER_NAME"] = "localhost"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SILKLINE_HEALTHCHECK_")}
        result = subprocess.run(
            [sys.executable, "-m", "silkline_server.healthcheck"],
            capture_output=True,
            text=True,
            env=env | probe_env,
            timeout=30,
        )
        assert result.returncode == 0, (
            f"{shlex.join(f'{k}={v}' for k, v in probe_env.items())}: {result.stderr}\n"
            f"{server.log_text()}"
        )
        assert server.wait_for_log('"event": "serving"')
        assert server.wait_for_log('"metrics endpoint serving"')
    finally:
        assert server.stop() == 0
