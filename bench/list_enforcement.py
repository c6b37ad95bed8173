"""The cost of the access rules on List: 1,000 records read with and without them.

    .venv/bin/python bench/list_enforcement.py [--records 1000] [--runs 5] [--json OUT]

In one process on one core, against a temporary SQLite store holding
``--records`` sealed seizure alerts from several originators (AMBER, GREEN,
RED; with suspects): the baseline reads the page of records and their
disclosures and builds the views, as a server with no rules would; the
enforced run does the same plus, for each record, the decision of
`AccessControl.decide` (the server's own code) and the access-log write of the
delivered records, as `RecordsService.List` does. The ratio is enforced time
over baseline time, measured in the same run (median of the runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from silkline.authoring import build_payload, load_signing_identity, seal_record
from silkline.identity import Identity
from silkline.trust import TrustStore
from silkline_server.access import AccessControl
from silkline_server.admission import Admission
from silkline_server.store import Store, StoredRecord

REPO = Path(__file__).resolve().parents[1]
CERTS = REPO / "certs" / "example"
RULES = REPO / "deploy" / "rules" / "network.toml"
EXAMPLE = REPO / "schemas" / "seizure-alert" / "examples" / "mundra-port-heroin-2021-09.json"
ORIGINATORS = (("IN", "ncb"), ("UZ", "ncdc"), ("KZ", "mvd"), ("TJ", "dca"))
READER = Identity("KZ", "MVD", "bench-1")


def fill(store: Store, count: int) -> None:
    body = json.loads(EXAMPLE.read_text())["body"]
    admission = Admission(TrustStore.from_folder(CERTS))
    rng = random.Random(7)  # noqa: S311 - a reproducible mix, not a secret
    signers = {
        p: load_signing_identity(CERTS / p / f"{a}.signing.key", CERTS / p / f"{a}.signing.crt")
        for p, a in ORIGINATORS
    }
    batch = []
    for _ in range(count):
        participant = rng.choice([p for p, _ in ORIGINATORS])
        signer = signers[participant]
        payload = build_payload(
            "seizure-alert",
            body,
            originator=signer.identity,
            tlp=rng.choice(["GREEN", "AMBER", "AMBER", "RED"]),
            recipients=rng.sample(["IN", "KZ", "UZ", "TJ", "KG"], 2),
        )
        sealed = seal_record(payload, signer)
        caller = Identity(participant, signer.identity.agency, "bench")
        batch.append(
            admission.admit(
                caller,
                sealed.envelope,
                list(sealed.disclosures),
                sealed.signer_certificate_der,
                datetime.now(UTC),
            )
        )
        if len(batch) == 200:
            store.append_records(batch, datetime.now(UTC))
            batch = []
    if batch:
        store.append_records(batch, datetime.now(UTC))


def baseline(store: Store, count: int) -> list[tuple[StoredRecord, list[str]]]:
    page = store.list_records(after_index=-1, limit=count)
    disclosures = store.get_disclosures_of([r.record_id for r in page])
    return [(r, [d.disclosure for d in disclosures[r.record_id] if d.disclosure]) for r in page]


def enforced(store: Store, access: AccessControl, count: int) -> int:
    now = datetime.now(UTC)
    page = store.list_records(after_index=-1, limit=count)
    # As RecordsService.List reads them: one query for the page's disclosures.
    disclosures = store.get_disclosures_of([r.record_id for r in page])
    delivered = []
    for record in page:
        result = access.decide(READER, record, disclosures[record.record_id], now)
        if result.decision.allowed:
            delivered.append(access.event(READER, record.record_id, "list", result.decision, now))
    store.record_access_events(delivered)
    return len(delivered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{folder}/bench.db")
        store.migrate()
        print(f"sealing and storing {args.records} records ...", flush=True)
        fill(store, args.records)
        access = AccessControl(RULES, store)
        base_times, enforced_times, delivered = [], [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            baseline(store, args.records)
            base_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            delivered = enforced(store, access, args.records)
            enforced_times.append(time.perf_counter() - started)
        store.close()
    base_ms = statistics.median(base_times) * 1000
    enforced_ms = statistics.median(enforced_times) * 1000
    result = {
        "list_records": args.records,
        "list_baseline_ms": round(base_ms, 1),
        "list_enforced_ms": round(enforced_ms, 1),
        "list_enforcement_ratio": round(enforced_ms / base_ms, 2),
        "list_delivered": delivered,
        "python": platform.python_version(),
    }
    print(
        f"| List of {args.records} records | baseline {base_ms:.1f} ms | with rules "
        f"{enforced_ms:.1f} ms | ratio {enforced_ms / base_ms:.2f} | "
        f"delivered to KZ/MVD: {delivered} |"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
