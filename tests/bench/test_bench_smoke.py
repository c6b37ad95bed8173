"""`make bench` keeps working: the whole harness with tiny counts, into a temporary file.

The numbers of a smoke run mean nothing (the counts are tiny and CI's machine
is busy); what is checked is that every scenario runs and that the results
file has every key of issue 8, each a number. bench/results/latest.json, the
file `make bench` writes, is never touched.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "bench" / "run.py"
LATEST = REPO / "bench" / "results" / "latest.json"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

MACHINE = ("cores", "python", "grpcio", "sqlite", "postgresql", "backend")

# bench/run.py's lists: the keys of issue 8 and the goals. bench/ is not a package:
# its scripts import `harness` from their own folder.
sys.path.append(str(REPO / "bench"))
_spec = importlib.util.spec_from_file_location("bench_run", RUN)
assert _spec is not None and _spec.loader is not None
bench_run = sys.modules["bench_run"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)
NUMBERS: tuple[str, ...] = bench_run.KEYS
REPLICA_NUMBERS: tuple[str, ...] = bench_run.REPLICA_KEYS


def smoke_run(out: Path, *arguments: str) -> dict[str, Any]:
    before = LATEST.read_bytes() if LATEST.exists() else None
    finished = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--out", str(out), *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert (LATEST.read_bytes() if LATEST.exists() else None) == before
    assert "| measurement | silkline | baseline, same run | ratio | goal |" in finished.stdout
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_latest_format(document: dict[str, Any], backend: str) -> None:
    missing = [key for key in NUMBERS if not is_number(document.get(key))]
    assert not missing, f"not numbers: {[(k, document.get(k)) for k in missing]}"
    machine = document["machine"]
    assert all(machine.get(key) not in (None, "") for key in MACHINE), machine
    assert machine["backend"] == backend
    assert set(document["goals"]) >= {
        "unary64_ratio",
        "stream_ratio",
        "unary1_p99_ratio",
        "delivery_p99_ms",
        "medallion_ratio",
    }
    for goal in document["goals"].values():
        assert isinstance(goal["met"], bool)
        assert is_number(goal["value"])


def test_the_smoke_run_writes_every_key_as_a_number(tmp_path: Path) -> None:
    document = smoke_run(tmp_path / "latest.json")
    check_latest_format(document, "sqlite")
    assert document["smoke"] is True
    assert document["machine"]["replicas"] == 1


def postgres_reachable() -> str | None:
    engine = create_engine(POSTGRES_ADMIN, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return " ".join(str(exc).split())[:200]
    finally:
        engine.dispose()
    return None


@pytest.mark.postgres
def test_the_smoke_run_on_postgresql_with_two_replicas(tmp_path: Path) -> None:
    if os.environ.get("SILKLINE_BENCH_POSTGRES_URL") is None:
        reason = postgres_reachable()
        if reason is not None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"PostgreSQL not reachable at {POSTGRES_ADMIN}: {reason}")
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN}: {reason}")
    document = smoke_run(tmp_path / "latest.json", "--backend", "postgresql", "--replicas", "2")
    check_latest_format(document, "postgresql")
    for key in REPLICA_NUMBERS:
        assert is_number(document[key]), key
