"""Numbers out of samples, and the machine they were measured on."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from importlib import metadata
from pathlib import Path
from typing import Any


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of `values` (NaN when there are none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def machine() -> dict[str, Any]:
    """Cores, Python, grpcio and SQLite of this process."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "grpcio": metadata.version("grpcio"),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def write_results(path: Path | None, results: dict[str, Any]) -> None:
    """Print a script's results as JSON with the machine they were measured on; and
    write them to `path` (the script's --json) if given."""
    text = json.dumps(results | {"machine": machine()}, indent=2) + "\n"
    print(text)
    if path is not None:
        path.write_text(text, encoding="utf-8")
