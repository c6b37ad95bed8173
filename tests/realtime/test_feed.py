"""`silkline feed` and `silkline watch` end to end: crashes, re-runs, rejections, restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from silkline.feeds.identity import feed_record_id
from silkline.feeds.sample import sample_seizures
from silkline.formats import dsse

from ..conftest import ServerProcess
from .conftest import (
    Cli,
    aio_channel,
    json_lines,
    publish_stream,
    query,
    restart,
    sample_records,
    start,
    stop,
    stub,
    wait_until,
)

SOURCE = "port-scanners"


def expected_ids(sample: Path, source: str = SOURCE) -> list[str]:
    """The record ids a feed derives from a sample file: one per line, deterministic."""
    ids = []
    for line in sample.read_text().splitlines():
        body = json.loads(line)
        at = datetime.fromisoformat(body["seized_at"])
        ids.append(feed_record_id("IN/FEED", source, body["case_reference"], at))
    return ids


def feed_args(sample: Path, receipts: Path) -> list[str]:
    return [
        "--profile",
        "feed",
        "feed",
        str(sample),
        "--source",
        SOURCE,
        "--to",
        "KZ",
        "--receipts",
        str(receipts),
        "--retry-for",
        "1",
        "--json",
    ]


def test_a_feed_survives_kill_9_of_its_server_and_a_rerun_stores_each_record_once(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "server"
    server = start(folder)
    cli = Cli(tmp_path)
    try:
        cli.add_profile("feed", server.target, "IN", "feed")
        sample = tmp_path / "seizures.jsonl"
        made = cli("feed", "sample", "--count", "10000", "--seed", "7", "--out", str(sample))
        assert made.returncode == 0, made.stderr
        first_receipts = tmp_path / "receipts-1.jsonl"
        feeding = cli.popen(*feed_args(sample, first_receipts))
        wait_until(
            lambda: first_receipts.exists() and first_receipts.read_text().count("\n") >= 1500,
            timeout=120,
            what="1,500 acknowledged records",
        )
        # Both crash: the server first, then the feed before it can save its checkpoint.
        server.process.kill()
        server.process.wait()
        feeding.kill()
        feeding.wait()
        acknowledged = json_lines(first_receipts.read_text())

        server = restart(server, folder)
        stored = {
            row[0]: (row[1], row[2])
            for row in query(
                server.database_path, "SELECT record_id, log_index, envelope_sha256 FROM records"
            )
        }
        for receipt in acknowledged:
            assert stored[receipt["record_id"]] == (
                receipt["log_index"],
                receipt["envelope_sha256"],
            ), "an acknowledged record survives kill -9 as acknowledged"

        rerun = cli(*feed_args(sample, tmp_path / "receipts-2.jsonl"), timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        summary = json.loads(rerun.stdout)
    finally:
        stop(server)
    ids = [row[0] for row in query(server.database_path, "SELECT record_id FROM records")]
    assert len(ids) == 10_000 == len(set(ids)), "every record present exactly once"
    assert set(ids) == set(expected_ids(sample))
    skipped = summary["skipped_by_checkpoint"]
    assert summary["rejected"] == 0
    assert summary["accepted"] + summary["already_present"] + skipped == 10_000
    # What was acknowledged after the last checkpoint was sent again and found present.
    assert summary["already_present"] >= len(acknowledged) - skipped


MAPPING = """
record_type = "seizure-alert"
key = "seizure_no"
time = "seized_at"
timezone = "+05:30"

[fields]
"seized_at" = "seized_on"
"location.kind" = "place_kind"
"location.name" = "place"
"location.country" = "country"
"conveyance.kind" = "conveyance"
"concealment" = "concealment"
"route.origin" = "origin"
"route.transit" = { column = "via", type = "list" }
"route.destination" = "destination"
"items.0.drug" = "drug"
"items.0.quantity" = { quantity = "qty", unit = "unit" }
"items.0.estimated_value" = { amount = "value_crore", currency = "INR", scale = "crore" }
"case_reference" = "seizure_no"

[units]
KG = "kg"
QTL = "quintal"
"CRORE TABLETS" = { unit = "tablets", multiply = 10000000 }
"""

CSV_HEADER = (
    "seizure_no,seized_on,place_kind,place,country,conveyance,concealment,"
    "origin,via,destination,drug,qty,unit,value_crore"
)
CSV_ROWS = [
    "MUN-1,2026-11-20 10:00,port,Mundra port,IN,container,Talc stones,AF,IR;AE,IN,heroin,"
    "298.5,KG,2089.5",
    "GUJ-2,2026-11-21T06:00:00+05:30,sea,Off Porbandar,IN,vessel,In the hold,IR,,IN,"
    "methamphetamine,1.58,QTL,237",
    "DEL-3,2026-11-22 14:30,airport,Delhi airport,IN,air-cargo,Blister packs,IN,,US,"
    "pharmaceutical-tablets,0.47,CRORE TABLETS,11.75",
    "MUN-4,2026-11-22 15:00,port,Mundra port,IN,container,Marble slabs,BR,ES,IN,cocaine,45,KG,450",
    "BAD-5,2026-11-23 09:00,port,Mundra port,IN,container",
    "LBS-6,2026-11-23 10:00,port,Mundra port,IN,container,Drums,AF,,IN,heroin,100,LBS,700",
    "SCH-7,2026-11-23 11:00,port,Mundra port,IN,container,Drums,AF,,IN,chocolate,5,KG,1",
    "TJK-8,2026-11-23 12:00,border-crossing,Panji Poyon,TJ,truck,Fuel tank,AF,,RU,heroin,"
    "12.5,KG,87.5",
]


def test_input_errors_go_to_the_dead_letter_file_and_the_rest_are_accepted(
    stream_server: ServerProcess, tmp_path: Path
) -> None:
    cli = Cli(tmp_path)
    cli.add_profile("feed", stream_server.target, "IN", "feed")
    mapping = tmp_path / "port.toml"
    mapping.write_text(MAPPING)
    export = tmp_path / "export.csv"
    export.write_text("\n".join([CSV_HEADER, *CSV_ROWS]) + "\n")
    lines = tmp_path / "alerts.jsonl"
    good = next(sample_seizures(1, seed=5, until=datetime.now(UTC)))
    lines.write_text(
        "\n".join(
            [
                json.dumps(good),
                "{not json",
                json.dumps({**good, "case_reference": "X-2", "location": {"kind": "moon"}}),
            ]
        )
        + "\n"
    )
    dead_letter = tmp_path / "rejected.jsonl"

    result = cli(
        "--profile",
        "feed",
        "feed",
        str(export),
        str(lines),
        "--mapping",
        str(mapping),
        "--source",
        "csv-test",
        "--dead-letter",
        str(dead_letter),
        "--json",
    )

    assert result.returncode == 5, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"]) == (6, 5)
    rejected = {(Path(e["input"]).name, e["item"]): e for e in json_lines(dead_letter.read_text())}
    assert sorted(rejected) == [
        ("alerts.jsonl", 2),
        ("alerts.jsonl", 3),
        ("export.csv", 5),
        ("export.csv", 6),
        ("export.csv", 7),
    ]
    assert rejected["export.csv", 5]["reason"].startswith("bad CSV row: 6 cell(s)")
    assert rejected["export.csv", 5]["line"] == CSV_ROWS[4]
    assert "unknown unit 'LBS'" in rejected["export.csv", 6]["reason"]
    schema = rejected["export.csv", 7]
    assert schema["reason"] == "schema violation"
    assert [v["field"] for v in schema["field_violations"]] == ["/body/items/0/drug"]
    assert rejected["alerts.jsonl", 2]["reason"].startswith("not JSON")
    assert {v["field"] for v in rejected["alerts.jsonl", 3]["field_violations"]} >= {
        "/body/location/kind"
    }
    # 0.47 crore tablets are counted as 4,700,000 tablets; quintals stay quintals.
    tablets_at = datetime.fromisoformat("2026-11-22T14:30:00+05:30")
    ((envelope,),) = query(
        stream_server.database_path,
        "SELECT envelope FROM records WHERE record_id = ?",
        feed_record_id("IN/FEED", "csv-test", "DEL-3", tablets_at),
    )
    payload = json.loads(dsse.parse_envelope(envelope).payload)
    assert payload["body"]["items"][0]["quantity"] == {"value": 4_700_000, "unit": "tablets"}


def test_a_watch_stopped_and_started_again_prints_every_record_once(
    stream_server: ServerProcess, tmp_path: Path
) -> None:
    cli = Cli(tmp_path)
    cli.add_profile("kz", stream_server.target, "KZ", "mvd")
    first, second = (
        sample_records(60, seed=301, agency="dri"),
        sample_records(40, seed=302, agency="dri"),
    )
    watch_args = ["--profile", "kz", "watch", "--originator", "IN/DRI", "--json"]

    asyncio.run(_publish(stream_server, first))
    watching = cli.popen(*watch_args)
    printed: list[dict[str, Any]] = []
    reader = threading.Thread(target=_read_lines, args=(watching, printed))
    reader.start()
    wait_until(lambda: len(printed) >= 30, timeout=30, what="30 records printed")
    watching.send_signal(signal.SIGTERM)
    assert watching.wait(timeout=20) == 0
    reader.join()
    asyncio.run(_publish(stream_server, second))

    again = cli(*watch_args, "--stop-after", str(100 - len(printed)), "--duration", "30")
    assert again.returncode == 0, again.stderr
    printed += json_lines(again.stdout)
    indices = [p["header"]["log_index"] for p in printed]
    ids = [p["header"]["record_id"] for p in printed]
    assert indices == sorted(indices)
    assert len(ids) == len(set(ids)) == 100
    assert set(ids) == {r.record_id for r in first + second}
    assert "resume from cursor" in again.stderr


def test_a_watched_folder_feeds_each_new_file(stream_server: ServerProcess, tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.add_profile("feed", stream_server.target, "IN", "feed")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    made = cli(
        "feed", "sample", "--count", "20", "--seed", "11", "--out", str(tmp_path / "s.jsonl")
    )
    assert made.returncode == 0
    feeding = cli.popen(
        "--profile",
        "feed",
        "feed",
        "--watch",
        str(inbox),
        "--source",
        "inbox",
        "--poll",
        "0.1",
        "--json",
    )
    try:
        # Written under a temporary name, then renamed: the feed takes only whole files.
        (inbox / "batch-1.jsonl.part").write_text((tmp_path / "s.jsonl").read_text())
        os.replace(inbox / "batch-1.jsonl.part", inbox / "batch-1.jsonl")
        wanted = set(expected_ids(tmp_path / "s.jsonl", source="inbox"))
        wait_until(
            lambda: (
                wanted
                <= {
                    r[0]
                    for r in query(stream_server.database_path, "SELECT record_id FROM records")
                }
            ),
            timeout=30,
            what="the folder's records",
        )
    finally:
        feeding.send_signal(signal.SIGTERM)
        out, err = feeding.communicate(timeout=30)
    assert feeding.returncode == 0, err
    assert json.loads(out)["accepted"] == 20
    checkpoint = json.loads((inbox / ".silkline-feed.checkpoint.json").read_text())
    (entry,) = checkpoint["inputs"].values()
    assert entry == {"items": 20, "sha256": entry["sha256"], "complete": True}


async def _publish(server: ServerProcess, records: list[Any]) -> None:
    async with aio_channel(server.target, "IN", "dri") as channel:
        answers = await publish_stream(stub(channel), records)
    assert all(a.HasField("receipt") for a in answers.values())


def _read_lines(process: Any, into: list[dict[str, Any]]) -> None:
    for line in process.stdout:
        if line.strip():
            into.append(json.loads(line))
