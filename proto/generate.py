"""Regenerate the Python stubs of proto/silkline/v1 into client/silkline/v1.

Run by `make proto`; tests/test_generated_stubs.py calls `generate()` into a
temporary folder and fails when the checked-in stubs differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
STUB_ROOT = PROTO_ROOT.parent / "client"
PACKAGE_DIR = Path("silkline") / "v1"

MARKER = "# Generated from proto/silkline/v1 by `make proto` (grpcio-tools). DO NOT EDIT.\n"


def proto_files() -> list[Path]:
    return sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))


def generate(out_root: Path) -> list[Path]:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py under out_root/silkline/v1."""
    (out_root / PACKAGE_DIR).mkdir(parents=True, exist_ok=True)
    wkt = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{wkt}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))
    written = sorted(
        p
        for p in (out_root / PACKAGE_DIR).iterdir()
        if p.name.endswith((".py", ".pyi")) and "_pb2" in p.name
    )
    for path in written:
        text = path.read_text()
        if not text.startswith(MARKER):
            path.write_text(MARKER + text)
    return written


if __name__ == "__main__":
    for path in generate(STUB_ROOT):
        print(path.relative_to(STUB_ROOT.parent))
    sys.exit(0)
