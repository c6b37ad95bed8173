"""docs/operations.md: the files it names exist, its commands work, its monitoring section
names exactly the metrics the server exports."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from silkline_server.log.checkpoints import CheckpointPublisher
from silkline_server.metrics import REFUSAL_REASONS, ServerMetrics
from silkline_server.receipts import load_log_signer
from silkline_server.store import Store
from tests.conftest import EXAMPLE
from tests.deploy.tooling import DEPLOY, REPO, silkline_server

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
    (line,) = [line for line in TEXT.splitlines() if "bin/silkline-server migrate" in line]
    words = shlex.split(line)
    assert words[0] == "PGPASSFILE=/etc/silkline/private/pgpass"
    assert words[1] == "/opt/silkline/bin/silkline-server"
    assert words[2:] == ["migrate", "--config", "/etc/silkline/server.toml"]
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
        [silkline_server(), "migrate", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("silkline: database schema is at the newest revision (")
    assert (tmp_path / "silkline.db").stat().st_size > 0


# ------------------------------------------------------------------ monitoring


def monitoring_section() -> str:
    start = TEXT.index("## Monitoring\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end > 0 else len(TEXT)]


def exported_metric_names(tmp_path: Path) -> set[str]:
    """The silkline_* metrics a server's registry exports, as a scrape names them
    (counters with _total, histograms by their base name)."""
    store = Store.open(f"sqlite:///{tmp_path / 'metrics.db'}")
    store.migrate()
    metrics = ServerMetrics()
    metrics.track(store, lambda: 0)
    try:
        publisher = CheckpointPublisher(
            store, load_log_signer("silkline.example/log", EXAMPLE / "hub" / "log.key")
        )
        publisher.publish()  # a checkpoint, so that the checkpoint gauges are exported
        names = {
            family.name + "_total" if family.type == "counter" else family.name
            for family in metrics.registry.collect()
        }
    finally:
        metrics.close()
        store.close()
    return {name for name in names if name.startswith("silkline_")}


def test_monitoring_documents_exactly_the_metrics_the_server_exports(tmp_path: Path) -> None:
    section = monitoring_section()
    table_rows = re.findall(r"^\| `(silkline_\w+)` \|", section, re.M)
    assert len(table_rows) == len(set(table_rows)), "a metric is listed twice"
    assert set(table_rows) == exported_metric_names(tmp_path)


def test_monitoring_documents_every_refusal_reason() -> None:
    documented = re.findall(r"^\| `(\w+)` \| ", monitoring_section(), re.M)
    # The table of reasons: its header names the label, each row one value.
    reasons = [name for name in documented if not name.startswith("silkline_")]
    assert reasons[0] == "reason"
    reasons = reasons[1:]
    assert reasons == list(REFUSAL_REASONS)


def test_monitoring_examples_use_the_configured_port_and_exported_metrics(
    tmp_path: Path,
) -> None:
    yaml = pytest.importorskip("yaml")
    section = monitoring_section()
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    (toml_block,) = [text for kind, text in blocks if kind == "toml"]
    documented = tomllib.loads(toml_block)["metrics"]["listen"]
    production = tomllib.loads((DEPLOY / "prod" / "server.toml").read_text())["metrics"]
    assert documented == production["listen"]
    port = documented.rsplit(":", 1)[1]
    scrape, rules = [yaml.safe_load(text) for kind, text in blocks if kind == "yaml"]
    static = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    assert static == [f"silkline-1:{port}", f"silkline-2:{port}"]
    exported = exported_metric_names(tmp_path)
    samples = exported | {f"{name}_{part}" for name in exported for part in ("bucket", "sum")}
    for rule in rules["groups"][0]["rules"]:
        used = set(re.findall(r"\bsilkline_\w+", rule["expr"]))
        assert used <= samples, f"{rule['alert']}: {used - samples} is not exported"
