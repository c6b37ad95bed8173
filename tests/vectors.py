"""The public test vectors in ../shared/testvectors, beside the repository.

Missing vectors skip a test with the reason, except in CI, where they must be
there: a skipped vector test must never pass for a verified one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

TESTVECTORS = Path(__file__).resolve().parents[2] / "shared" / "testvectors"


def vector_file(relative: str) -> Path:
    """The path of a vector file, or skip (fail under CI=true) when it is missing."""
    path = TESTVECTORS / relative
    if not path.is_file():
        message = (
            f"public test vectors not found at {path}; "
            "check out the shared/ folder next to this repository"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def load_vectors(relative: str) -> Any:
    """A JSON vector file, parsed."""
    return json.loads(vector_file(relative).read_text(encoding="utf-8"))
