"""`silkline report --offline`: the same indicators from an audit export or from bundles."""

from __future__ import annotations

import base64
import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from silkline.authoring import SealedRecord
from silkline.cli.main import cli
from silkline.indicators.aggregate import IndicatorQuery
from silkline.indicators.offline import OfflineSourceError, indicators_offline
from silkline.indicators.rates import RateTable
from silkline.log_export import ENTRIES_FILE
from silkline.trust import TrustStore

from ..conftest import EXAMPLE
from .conftest import SUSPECT_NAME, item, seizure
from .exports import sealed, write_bundles, write_export


@pytest.fixture(scope="module")
def records() -> list[SealedRecord]:
    """Three IN/NCB seizures (one with a suspect, concealed) and a KZ/MVD arrest."""
    return [
        sealed(
            seizure(
                [item("methamphetamine", 34, "quintal", 100, "INR", "crore")],
                seized_at="2023-04-02T10:00:00+05:30",
            )
        ),
        sealed(
            seizure(
                [item("methamphetamine", 8000, "kg", 1.5, "INR", "crore")],
                seized_at="2024-04-02T10:00:00+05:30",
                suspects=False,
            )
        ),
        sealed(seizure([item("cocaine", 1.426, "tonne")], seized_at="2024-07-02T10:00:00+05:30")),
        sealed(
            {
                "arrested_at": "2024-02-01T08:00:00+05:00",
                "location": {"kind": "road", "name": "Almaty ring road", "country": "KZ"},
                "count": 3,
                "persons": [{"name": SUSPECT_NAME}],
            },
            "KZ",
            "mvd",
            "arrest",
        ),
    ]


@pytest.fixture(scope="module")
def export(records: list[SealedRecord], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export") / "export", records)


def totals(document: dict[str, Any]) -> dict[tuple[str, ...], str]:
    return {
        (row["measure"], row["unit"], *row["dimensions"].values()): row["value"]
        for row in document["rows"]
    }


def test_an_export_is_verified_then_aggregated(export: Path, rates: RateTable) -> None:
    found, source = indicators_offline(export, IndicatorQuery(groupings=(("year", "drug"),)), rates)
    assert source.kind == "export"
    assert source.verified.startswith("verified: 4 entries")
    assert found.records_used == 4
    rows = {(r.measure, r.unit, *(v for _, v in r.dimensions)): r.value for r in found.rows}
    assert rows["seized_quantity", "kg", "2023", "methamphetamine"] == Decimal(3400)
    assert rows["seized_quantity", "kg", "2024", "cocaine"] == Decimal(1426)
    assert rows["arrests", "persons", "2024"] == Decimal(3)


def test_a_tampered_export_is_refused(
    records: list[SealedRecord], tmp_path: Path, rates: RateTable
) -> None:
    folder = write_export(tmp_path / "export", records)
    lines = (folder / ENTRIES_FILE).read_text().splitlines(keepends=True)
    entry = json.loads(lines[1])
    leaf = json.loads(base64.b64decode(entry["leaf"]))
    leaf["accepted_at"] = "2020-01-01T00:00:00.000000Z"
    entry["leaf"] = base64.b64encode(
        json.dumps(leaf, sort_keys=True, separators=(",", ":")).encode()
    ).decode()
    lines[1] = json.dumps(entry) + "\n"
    (folder / ENTRIES_FILE).write_text("".join(lines))
    with pytest.raises(OfflineSourceError, match="does not verify"):
        indicators_offline(folder, IndicatorQuery(), rates)
    # Told it was verified already, the same code reads it without judging it.
    found, source = indicators_offline(folder, IndicatorQuery(), rates, verify=False)
    assert found.records_used == 4
    assert "not verified" in source.verified


def test_bundles_are_verified_one_by_one_and_their_disclosures_ignored(
    records: list[SealedRecord], tmp_path: Path, rates: RateTable
) -> None:
    folder = write_bundles(tmp_path / "bundles", [*records, records[0]])
    assert any(records[0].disclosures)  # the suspect travels as a disclosure here
    found, source = indicators_offline(
        folder, IndicatorQuery(), rates, trust=TrustStore.from_folder(EXAMPLE)
    )
    assert source.kind == "bundles"
    assert found.records_used == 4  # the copy of the first record counts once
    with pytest.raises(OfflineSourceError, match="--trust"):
        indicators_offline(folder, IndicatorQuery(), rates)


def test_a_forged_bundle_is_refused(
    records: list[SealedRecord], tmp_path: Path, rates: RateTable
) -> None:
    folder = write_bundles(tmp_path / "bundles", records[:1])
    path = next(folder.glob("*.json"))
    document = json.loads(path.read_text())
    # The KZ/MVD certificate in place of IN/NCB's: the signer no longer names the originator.
    kz = (EXAMPLE / "KZ" / "mvd.signing.crt").read_text()
    document["certificates"] = [kz]
    path.write_text(json.dumps(document))
    with pytest.raises(OfflineSourceError, match="not a verifiable record bundle"):
        indicators_offline(folder, IndicatorQuery(), rates, trust=TrustStore.from_folder(EXAMPLE))


@pytest.mark.parametrize("output", ["table", "json", "csv", "html"])
def test_no_personal_data_in_any_offline_output(
    export: Path, records: list[SealedRecord], tmp_path: Path, output: str
) -> None:
    bundles = write_bundles(tmp_path / "bundles", records)
    for source in (
        ["--offline", str(export)],
        ["--offline", str(bundles), "--trust", str(EXAMPLE)],
    ):
        result = CliRunner().invoke(
            cli, ["report", *source, "--by", "participant,drug,month", "--format", output]
        )
        assert result.exit_code == 0, result.output
        assert SUSPECT_NAME not in result.output
        assert "Example-Suspect" not in result.output


def test_cli_offline_json_and_csv_agree(export: Path) -> None:
    runner = CliRunner()
    as_json = runner.invoke(
        cli,
        [
            "report",
            "--offline",
            str(export),
            "--from",
            "2024-01-01",
            "--to",
            "2024-12-31",
            "--by",
            "drug",
            "--format",
            "json",
        ],
    )
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.output)
    assert document["query"] == {"from": "2024-01-01", "to": "2024-12-31", "group_by": ["drug"]}
    assert document["records_used"] == 3
    assert document["verified"].startswith("verified")
    assert document["rate_table"]["units_per_usd"]["2024"]["INR"] == "83.67"
    found = totals(document)
    assert found["seized_quantity", "kg", "methamphetamine"] == "8000"
    assert found["seizure_value_inr", "INR", "methamphetamine"] == "15000000"
    as_csv = runner.invoke(
        cli,
        [
            "report",
            "--offline",
            str(export),
            "--from",
            "2024-01-01",
            "--to",
            "2024-12-31",
            "--by",
            "drug",
            "--format",
            "csv",
        ],
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    from_csv = {
        (r["measure"], r["unit"], *([r["drug"]] if r["drug"] else [])): r["value"] for r in rows
    }
    assert from_csv == found
    arrests = [r for r in rows if r["measure"] == "arrests"]
    assert arrests == [
        {"drug": "", "measure": "arrests", "unit": "persons", "value": "3", "record_count": "1"}
    ]


def test_cli_png_needs_out_and_writes_a_png(export: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["report", "--offline", str(export), "--format", "png"])
    assert refused.exit_code == 2
    out = tmp_path / "charts.png"
    written = runner.invoke(
        cli, ["report", "--offline", str(export), "--format", "png", "--out", str(out)]
    )
    assert written.exit_code == 0, written.output
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_cli_refuses_an_unknown_dimension_and_a_bad_export(export: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(cli, ["report", "--offline", str(export), "--by", "suspect"])
    assert unknown.exit_code == 2
    assert "unknown dimension 'suspect'" in unknown.output
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ENTRIES_FILE).write_text("not json\n")
    bad = runner.invoke(cli, ["report", "--offline", str(empty)])
    assert bad.exit_code == 5
