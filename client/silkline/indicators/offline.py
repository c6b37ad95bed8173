"""Indicators computed offline, by an auditor, from an audit export or from record bundles.

Two sources are read, both without a server:

- an audit export (``silkline audit export``: ``entries.jsonl``, ``checkpoint``,
  ``log.vkey``, ``trust/``). The whole export is verified first, exactly as
  ``silkline audit verify`` does (log signature, every entry, every record's
  signature and signer, the Merkle root), unless the caller says it has
  verified it already; then every record entry's signed payload is aggregated.
- a folder of record bundles (``silkline show --bundle`` outputs, ``*.json``),
  each verified (signature, signer certificate against ``--trust``) before use.

Only the signed payloads are read. Exports carry no disclosures at all;
bundles may, and their disclosures are ignored: indicators never use personal
data, so what a bundle's holder was allowed to see does not change them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from silkline.bundle import BundleError, parse_bundle
from silkline.formats.log_entry import LogEntryError, RecordEntry, parse_entry
from silkline.indicators.aggregate import IndicatorAccumulator, IndicatorQuery, Indicators
from silkline.indicators.facts import IndicatorInputError
from silkline.indicators.rates import RateTable
from silkline.log_export import ENTRIES_FILE, ExportError, read_entries
from silkline.log_verification import LogVerificationError, verify_export
from silkline.record_checks import (
    RecordRefusedError,
    SignerCache,
    check_signature,
    check_signer,
    parse_record,
)
from silkline.trust import TrustStore

__all__ = [
    "OfflineSource",
    "OfflineSourceError",
    "export_payloads",
    "indicators_offline",
]


class OfflineSourceError(Exception):
    """The folder cannot be used as a source of indicators; the message says why."""


@dataclass(frozen=True)
class OfflineSource:
    """What was read: the kind of folder, how it was verified, how many records."""

    kind: str  # "export" or "bundles"
    folder: Path
    verified: str
    records: int


def indicators_offline(
    folder: Path,
    query: IndicatorQuery,
    rates: RateTable,
    *,
    trust: TrustStore | None = None,
    verify: bool = True,
    jobs: int = 1,
) -> tuple[Indicators, OfflineSource]:
    """Indicators over the records of an export folder or a folder of bundles.

    An export is recognised by its ``entries.jsonl``; its own ``trust/``
    verifies it. Bundles need ``trust``. ``verify=False`` skips the export's
    verification (for one already verified with ``silkline audit verify``);
    bundles are always verified, each on its own.
    """
    accumulator = IndicatorAccumulator(query, rates)
    skipped: list[str] = []
    if (folder / ENTRIES_FILE).is_file():
        verified = "not verified here (--no-verify)"
        if verify:
            try:
                report = verify_export(folder, jobs=jobs)
            except LogVerificationError as exc:
                raise OfflineSourceError(f"the export does not verify: {exc}") from exc
            verified = (
                f"verified: {report.tree_size} entries of {report.origin}, "
                f"{report.records} records, every signature checked"
            )
        kind, payloads = "export", export_payloads(folder)
    else:
        if trust is None:
            raise OfflineSourceError(
                f"{folder} holds no {ENTRIES_FILE}: to read it as a folder of record bundles, "
                "give the participants' CA certificates (--trust)"
            )
        kind, payloads = "bundles", _bundle_payloads(folder, trust)
        verified = "each bundle's signature and signer certificate checked"
    count = 0
    for payload in payloads:
        count += 1
        try:
            accumulator.add(payload)
        except IndicatorInputError as exc:
            skipped.append(str(exc))
    notes = [f"{len(skipped)} record(s) could not be read and are left out"] if skipped else []
    return accumulator.result(notes=notes), OfflineSource(kind, folder, verified, count)


def export_payloads(folder: Path) -> Iterator[dict[str, Any]]:
    """The signed payload of every record entry of an export, in log order."""
    try:
        for exported in read_entries(folder):
            try:
                entry = parse_entry(exported.leaf)
            except LogEntryError as exc:
                raise OfflineSourceError(f"{ENTRIES_FILE} line {exported.line}: {exc}") from exc
            if isinstance(entry, RecordEntry):
                try:
                    yield parse_record(entry.envelope).payload
                except RecordRefusedError as exc:
                    raise OfflineSourceError(
                        f"{ENTRIES_FILE} line {exported.line}: record {entry.record_id}: {exc}"
                    ) from exc
    except ExportError as exc:
        raise OfflineSourceError(str(exc)) from exc


def _bundle_payloads(folder: Path, trust: TrustStore) -> Iterator[dict[str, Any]]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise OfflineSourceError(f"{folder} holds neither {ENTRIES_FILE} nor bundles (*.json)")
    cache = SignerCache(trust)
    seen: set[str] = set()
    for path in files:
        try:
            bundle = parse_bundle(json.loads(path.read_text(encoding="utf-8")))
            record = parse_record(bundle.envelope)
            signer = check_signer(
                record, bundle.signer_certificate_der, trust, now=None, cache=cache
            )
            check_signature(record, signer)
        except (OSError, json.JSONDecodeError, BundleError, RecordRefusedError) as exc:
            raise OfflineSourceError(f"{path}: not a verifiable record bundle: {exc}") from exc
        # The same record twice (two readers' copies) counts once.
        if record.header.record_id in seen:
            continue
        seen.add(record.header.record_id)
        yield record.payload
