"""The checked-in stubs in client/silkline/v1 are exactly what `make proto` writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from .conftest import REPO


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("proto_generate", REPO / "proto" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_stubs_match_the_proto_files(tmp_path: Path) -> None:
    generator = load_generator()
    fresh = {p.name: p.read_bytes() for p in generator.generate(tmp_path)}
    checked_in_dir = REPO / "client" / "silkline" / "v1"
    checked_in = {
        p.name: p.read_bytes()
        for p in checked_in_dir.iterdir()
        if "_pb2" in p.name and p.suffix in {".py", ".pyi"}
    }
    assert sorted(fresh) == sorted(checked_in), "stub files added or removed: run `make proto`"
    stale = [name for name, content in fresh.items() if checked_in[name] != content]
    assert not stale, f"stale generated stubs {stale}: run `make proto` and commit the result"


def test_generated_stubs_are_marked_generated() -> None:
    for path in (REPO / "client" / "silkline" / "v1").glob("*_pb2*.py*"):
        assert path.read_text().startswith("# Generated from proto/silkline/v1 by `make proto`"), (
            path
        )
