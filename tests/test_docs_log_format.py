"""docs/log-format.md quotes what docs/log_format_example.py prints, and that example log
verifies offline like any export."""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from silkline.formats.checkpoint import open_checkpoint
from silkline.formats.log_entry import RecordEntry, parse_entry
from silkline.formats.merkle import leaf_hash, verify_consistency, verify_inclusion
from silkline.formats.note import parse_verifier_key
from silkline.log_export import ExportWriter
from silkline.log_verification import verify_export

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "docs" / "log_format_example.py"
DOCUMENT = REPO / "docs" / "log-format.md"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "docs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def printed() -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, check=True
    )
    values: dict[str, str] = json.loads(result.stdout)
    return values


@pytest.fixture(scope="module")
def leaves(printed: dict[str, str]) -> list[bytes]:
    return [printed[f"leaf_{index}"].encode() for index in range(5)]


def test_the_script_prints_the_same_values_on_every_run(printed: dict[str, str]) -> None:
    assert load("log_format_example").example_values() == printed


def test_every_printed_value_is_quoted_in_the_document(printed: dict[str, str]) -> None:
    document = DOCUMENT.read_text(encoding="utf-8")
    abbreviated = load("log_format_example").ABBREVIATED
    stale = [
        name
        for name, value in printed.items()
        if name not in abbreviated and value.strip() not in document
    ]
    assert not stale, (
        f"docs/log-format.md no longer quotes {stale} as docs/log_format_example.py prints "
        "them; rerun the script and update the document"
    )


def test_the_document_says_how_to_rerun_the_script() -> None:
    assert ".venv/bin/python docs/log_format_example.py" in DOCUMENT.read_text(encoding="utf-8")


def test_the_record_in_the_log_is_the_record_of_the_formats_document(
    leaves: list[bytes],
) -> None:
    entry = parse_entry(leaves[1])
    assert isinstance(entry, RecordEntry)
    assert entry.envelope == load("formats_example").example_values()["envelope"].encode()


def test_the_proofs_verify_against_the_checkpoints(
    printed: dict[str, str], leaves: list[bytes]
) -> None:
    log_key = parse_verifier_key(printed["log_vkey"])
    first = open_checkpoint(printed["checkpoint_3"].encode(), [log_key]).checkpoint
    second = open_checkpoint(printed["checkpoint_5"].encode(), [log_key]).checkpoint
    inclusion = [base64.b64decode(h) for h in printed["inclusion_proof_1"].split()]
    consistency = [base64.b64decode(h) for h in printed["consistency_proof_3_5"].split()]

    verify_inclusion(leaf_hash(leaves[1]), 1, 5, inclusion, second.root_hash)
    verify_consistency(3, 5, consistency, first.root_hash, second.root_hash)
    assert printed["tlog_proof_1_head"].endswith(printed["cosigned_checkpoint_5"])


def test_the_example_log_exported_verifies_offline_with_its_witness(
    printed: dict[str, str], leaves: list[bytes], tmp_path: Path
) -> None:
    writer = ExportWriter(tmp_path / "export")
    writer.write_checkpoint(printed["cosigned_checkpoint_5"].encode())
    writer.write_log_key(parse_verifier_key(printed["log_vkey"]))
    writer.write_participant_ca(
        "IN", load("formats_example").example_values()["ca_certificate_pem"].encode()
    )
    for index, leaf in enumerate(leaves):
        writer.add_entry(index, leaf)
    writer.close()
    lines = (tmp_path / "export" / "entries.jsonl").read_text()
    assert lines.startswith(printed["entries_jsonl_line_0"])

    report = verify_export(
        tmp_path / "export",
        previous=printed["checkpoint_3"].encode(),
        witnesses=[parse_verifier_key(printed["witness_vkey"])],
        min_witnesses=1,
    )
    assert (report.tree_size, report.records, report.access_events, report.rules_versions) == (
        5,
        1,
        2,
        2,
    )
    assert report.cosigners == ("witness.example",)
