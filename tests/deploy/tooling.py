"""Finding the tools the deploy/ checks run, and what to do when one is missing.

A missing tool skips its test with the reason and the package that brings it;
under CI=true it fails instead, because CI must really run every check.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def missing(reason: str) -> None:
    """Skip the calling test, or fail it under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this check: {reason}")
    pytest.skip(reason)


def require_tool(name: str, *, install: str) -> str:
    """The path of executable `name`, looked for beside this Python first (the venv).

    `install` says where the tool comes from, e.g. "apt-get install haproxy".
    """
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not installed ({install})")
        raise AssertionError("unreachable")  # missing() skips or fails
    return found


def require_module(name: str, *, install: str) -> ModuleType:
    """Import `name`, or skip (fail under CI) saying which package brings it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"Python module {name} is not installed ({install})")
        raise AssertionError("unreachable") from None


def load_yaml_documents(path: Path) -> list[dict[str, object]]:
    """Every document of a YAML file (PyYAML), empty documents left out."""
    yaml = require_module("yaml", install="pip install PyYAML")
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def migration_command() -> list[str]:
    """The arguments compose.yaml's migrate service gives the image's entrypoint
    (silkline-server): `migrate --config PATH`."""
    (document,) = load_yaml_documents(DEPLOY / "compose.yaml")
    command = document["services"]["migrate"]["command"]
    assert isinstance(command, list)
    return [str(part) for part in command]


def silkline_server() -> str:
    """This venv's silkline-server: what the image's entrypoint runs."""
    path = Path(sys.executable).parent / "silkline-server"
    assert path.exists(), "silkline-server is not installed in this venv"
    return str(path)
