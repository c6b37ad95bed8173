"""The TAXII 2.1 baseline: medallion receiving the same records as STIX 2.1 bundles (issue 8).

    .venv/bin/python bench/taxii.py [--records 200] [--clients 8] [--threads 4] [--json OUT]

The records are the sample seizure alerts that bench/realtime.py streams to
silkline (same generator, same seed), each converted to a STIX 2.1 bundle of
two objects: the place of the seizure (`location`) and a `report` carrying the
seizure (drugs, quantities, route, conveyance) as custom `x_silkline_*`
properties, TLP marked, both created by the originating agency's `identity`
(added once, first). Each bundle is one
TAXII 2.1 "Add Objects" request (POST .../collections/ID/objects/) made with
taxii2-client, `--clients` threads in flight (one HTTP session each).

The server is medallion (the OASIS TAXII 2.1 reference implementation) with
its memory backend, served by waitress (`--threads` worker threads) in its own
process: bench/harness/taxii_server.py. It stores the objects in memory only,
checks no signature and speaks plain HTTP; silkline verifies, validates,
commits to disk and logs every record over mutual TLS. medallion's memory
backend scans its collection on every request, so its rate falls as the
collection grows: `medallion_first_tenth_per_s` is the rate over the first
tenth of the requests, `medallion_per_s` over all of them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.records import payload_of, signed_records
from harness.report import percentile, write_results
from harness.servers import Server, running
from taxii2client.v21 import Collection

TAXII_SERVER = Path(__file__).resolve().parent / "harness" / "taxii_server.py"
API_ROOT = "silkline"
COLLECTION_ID = "2b7e6d4c-0c3e-4a57-9d3b-5e8f1a2c9b10"
USER = ("bench", "bench")
STIX_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1 §2.9
TLP_MARKINGS = {  # STIX 2.1 §7.2.1.4: the TLP 1.0 marking definitions
    "CLEAR": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "GREEN": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "AMBER": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "AMBER+STRICT": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "RED": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}


def stix_id(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(STIX_NAMESPACE, name)}"


def without_digests(value: Any) -> Any:
    """The body without its `_sd` digest arrays: STIX has no place for concealed fields."""
    if isinstance(value, dict):
        return {k: without_digests(v) for k, v in value.items() if k != "_sd"}
    if isinstance(value, list):
        return [without_digests(v) for v in value]
    return value


def stix_identity(originator: str) -> dict[str, Any]:
    """The originating agency, added once before the records that name it."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": stix_id("identity", originator),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": originator,
        "identity_class": "organization",
    }


def stix_bundle(payload: dict[str, Any]) -> dict[str, Any]:
    """One seizure alert as a STIX 2.1 bundle: its location and a report of the seizure,
    both created by the originator's identity."""
    created = payload["created_at"]
    body = without_digests(payload["body"])
    originator = f"{payload['originator']['participant']}/{payload['originator']['agency']}"
    marking = [TLP_MARKINGS[payload["distribution"]["tlp"]]]
    common = {"spec_version": "2.1", "created": created, "modified": created}
    identity = stix_identity(originator)
    location = {
        "type": "location",
        "id": stix_id("location", payload["id"]),
        **common,
        "name": body["location"].get("name", body["location"]["country"]),
        "country": body["location"]["country"],
        "created_by_ref": identity["id"],
        "object_marking_refs": marking,
    }
    report = {
        "type": "report",
        "id": stix_id("report", payload["id"]),
        **common,
        "name": f"Seizure {body.get('case_reference', payload['id'])}",
        "report_types": ["observed-data"],
        "published": created,
        "description": body.get("concealment", ""),
        "object_refs": [location["id"], identity["id"]],
        "created_by_ref": identity["id"],
        "object_marking_refs": marking,
        "external_references": [{"source_name": "silkline", "external_id": payload["id"]}],
        "x_silkline_seized_at": body["seized_at"],
        "x_silkline_items": body["items"],
        "x_silkline_route": body.get("route"),
        "x_silkline_conveyance": body.get("conveyance"),
        "x_silkline_recipients": payload["distribution"]["recipients"],
    }
    return {
        "type": "bundle",
        "id": stix_id("bundle", payload["id"]),
        "objects": [location, report],
    }


def post_all(server: Server, bundles: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    """Add every bundle, `clients` requests in flight; rates and latencies."""
    url = f"http://{server.target}/{API_ROOT}/collections/{COLLECTION_ID}/"
    local = threading.local()
    finished: list[float] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def add(bundle: dict[str, Any]) -> None:
        if not hasattr(local, "collection"):
            local.collection = Collection(url, user=USER[0], password=USER[1])
        started = time.perf_counter()
        status = local.collection.add_objects(bundle)
        done = time.perf_counter()
        if status.success_count != len(bundle["objects"]):
            raise RuntimeError(f"medallion did not add {bundle['id']}: {status.failures}")
        with lock:
            finished.append(done)
            latencies.append((done - started) * 1000)

    Collection(url, user=USER[0], password=USER[1]).add_objects(
        {"objects": [stix_identity("IN/FEED")]}
    )
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(add, bundles))
    elapsed = time.perf_counter() - started
    finished.sort()
    tenth = max(1, len(finished) // 10)
    return {
        "medallion_per_s": round(len(bundles) / elapsed, 1),
        "medallion_first_tenth_per_s": round(tenth / (finished[tenth - 1] - started), 1),
        "medallion_p50_ms": round(percentile(latencies, 50), 2),
        "medallion_p99_ms": round(percentile(latencies, 99), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200, help="records (bundles) to add")
    parser.add_argument("--clients", type=int, default=8, help="requests in flight")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    print(f"signing {args.records} records, converting them to STIX 2.1 ...", flush=True)
    bundles = [stix_bundle(payload_of(r)) for r in signed_records(args.records, seed=1)]
    with tempfile.TemporaryDirectory(prefix="silkline-bench-taxii-") as work:
        folder = Path(work)
        command = [
            sys.executable,
            str(TAXII_SERVER),
            str(folder / "port"),
            "--threads",
            str(args.threads),
        ]
        with running(command, folder / "port", folder / "taxii.log") as server:
            print(f"medallion: adding {len(bundles)} bundles ...", flush=True)
            results = post_all(server, bundles, args.clients)
    print(f"  {results['medallion_per_s']:.0f} bundles/s", flush=True)
    results |= {
        "records": args.records,
        "clients": args.clients,
        "waitress_threads": args.threads,
        "bundle_objects": 2,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
