"""`silkline policy check` and `silkline policy explain`: the access rules, offline.

Both work without the server: ``check`` reads a rules file; ``explain`` reads
a record from a bundle (or fetches it with ``--record``) and runs the same
evaluator the server runs, then prints the decision and every reason.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.table import Table
from rich.text import Text

from silkline.bundle import BundleError, parse_bundle
from silkline.cli.exit_codes import ExitCode
from silkline.cli.output import json_option, stdout, wants_json
from silkline.cli.session import selected_profile
from silkline.connection import open_channel
from silkline.policy import Decision, Reader, RecordFacts, Rules, RulesError, decide, load_rules
from silkline.record_checks import ParsedRecord, RecordRefusedError, check_body, parse_record
from silkline.records import RECORD_TYPES, RecordError, SchemaLoadError, sensitive_fields
from silkline.v1 import records_pb2, records_pb2_grpc

_READER = re.compile(r"([A-Z][A-Z0-9]{1,15})/([A-Z][A-Z0-9_-]{0,31})")


@click.group()
def policy() -> None:
    """Access rules: check a rules file; explain what an agency may see of a record, and why."""


# ------------------------------------------------------------------- check


@policy.command()
@click.argument("rules_path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def check(rules_path: Path, as_json: bool) -> None:
    """Check a rules file: a one-line summary, or every problem as FILE:LINE:COLUMN: message.

    Exit 0 when the file is valid, 5 when it is not.
    """
    rules = _load(rules_path, as_json)
    agencies = rules.agency_count
    notes = _undeclared_schema_classes(rules)
    summary: dict[str, Any] = {
        "ok": True,
        "source": str(rules_path),
        "sha256": rules.sha256,
        "participants": len(rules.participants),
        "agencies": agencies,
        "agreements": len(rules.agreements),
        "restrictions": len(rules.restrictions),
        "retention": len(rules.retention),
        "notes": notes,
    }
    if wants_json(as_json):
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    counts = ", ".join(
        _count(number, noun)
        for number, noun in (
            (len(rules.participants), "participant"),
            (agencies, "agency"),
            (len(rules.agreements), "agreement"),
            (len(rules.restrictions), "restriction"),
            (len(rules.retention), "retention period"),
        )
    )
    click.echo(f"ok {rules_path}: {counts}; sha256 {rules.sha256}")
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def _load(rules_path: Path, as_json: bool) -> Rules:
    """The rules, or every problem on stderr (or as JSON) and exit 5."""
    try:
        return load_rules(rules_path)
    except OSError as exc:
        _fail(f"cannot read rules file {rules_path}: {exc.strerror or exc}")
    except RulesError as exc:
        if wants_json(as_json):
            problems = [
                {"line": p.line, "column": p.column, "path": p.path, "message": p.message}
                for p in exc.problems
            ]
            document = {"ok": False, "source": exc.source, "problems": problems}
            click.echo(json.dumps(document, indent=2))
        else:
            # Plain echo, not rich: messages quote TOML such as "[field_classes]",
            # which rich would take for markup.
            click.echo(str(exc), err=True)
            count = len(exc.problems)
            plural = "s" if count != 1 else ""
            click.echo(f"{rules_path}: refused, {count} problem{plural}", err=True)
        sys.exit(ExitCode.INVALID_INPUT)


def _undeclared_schema_classes(rules: Rules) -> list[str]:
    """Classes the record schemas use that the rules never declare: worth a reviewer's look.

    Not an error: such a class simply never crosses a border (fail closed).
    """
    try:
        used = {
            field_class
            for record_type in RECORD_TYPES
            for field_class in sensitive_fields(record_type).values()
        }
    except (SchemaLoadError, RecordError):
        return []
    return [
        f"field class {name!r} is used by the record schemas but not declared in the rules; "
        "no agreement can cover it, so it is never disclosed to another participant"
        for name in sorted(used - set(rules.field_classes))
    ]


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(ExitCode.INVALID_INPUT)


# ----------------------------------------------------------------- explain


@policy.command()
@click.option("--reader", "reader_path", required=True, help="The reading agency, P/AGENCY.")
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A record bundle (from `silkline show --bundle`): explain offline.",
)
@click.option(
    "--record",
    "record_id",
    help="A record id: fetch it with the current profile (which must be allowed to see it).",
)
@click.option(
    "--rules",
    "rules_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The rules file to decide under.",
)
@click.option(
    "--at",
    "at_text",
    help="When to decide: a date (2026-01-31) or date-time; UTC unless a zone is given. "
    "Default: now.",
)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait (--record).")
@json_option
def explain(
    reader_path: str,
    bundle_path: Path | None,
    record_id: str | None,
    rules_path: Path,
    at_text: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Explain whether an agency may see a record, which field classes, and why.

    Exit 0 whether the record is allowed or not (the point is the explanation);
    5 when the rules file or the record cannot be read. The signature is not
    checked here: `silkline verify` does that.
    """
    reader = _reader(reader_path)
    at = _at(at_text)
    if (bundle_path is None) == (record_id is None):
        raise click.UsageError("give exactly one of --bundle FILE and --record ID")
    rules = _load(rules_path, as_json)
    if bundle_path is not None:
        facts = _facts_from_bundle(bundle_path)
    else:
        assert record_id is not None
        facts = _facts_from_server(record_id, timeout)
    decision = decide(reader, facts.record, rules, at=at)
    _print(reader, at, facts, rules, decision, as_json)


def _reader(text: str) -> Reader:
    match = _READER.fullmatch(text)
    if match is None:
        raise click.BadParameter(f"{text!r}: expected P/AGENCY, e.g. KZ/MVD", param_hint="--reader")
    return Reader(match.group(1), match.group(2))


def _at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected a date (2026-01-31) or an ISO 8601 date-time", param_hint="--at"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


@dataclass(frozen=True)
class _Facts:
    record: RecordFacts
    # Concealed fields whose class this copy of the record does not show.
    unknown_concealed: int
    origin: str


def _facts_from_bundle(path: Path) -> _Facts:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        bundle = parse_bundle(document)
    except OSError as exc:
        _fail(f"cannot read bundle {path}: {exc.strerror or exc}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"bundle {path} is not JSON: {exc}")
    except BundleError as exc:
        _fail(f"bundle {path}: {exc}")
    return _facts(bundle.envelope, bundle.disclosures, (), f"bundle {path}")


def _facts_from_server(record_id: str, timeout: float) -> _Facts:
    profile = selected_profile()
    with open_channel(profile) as channel:
        stub = records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]
        view = stub.Get(records_pb2.GetRequest(record_id=record_id), timeout=timeout).record
    if not view.HasField("record") or not view.record.envelope:
        _fail(
            f"profile {profile.name!r} sees only the header of record {record_id}; the "
            "recipients are inside the signed envelope. Explain with --bundle from an agency "
            "that holds the record."
        )
    server_named = [*view.withheld_classes, *view.erased_classes]
    return _facts(
        view.record.envelope,
        tuple(view.record.disclosures),
        server_named,
        f"record {record_id} from profile {profile.name!r}",
    )


def _facts(
    envelope: bytes, disclosures: Sequence[str], named_classes: Iterable[str], origin: str
) -> _Facts:
    try:
        record = parse_record(envelope)
        checked = check_body(record, disclosures)
    except RecordRefusedError as exc:
        _fail(f"{origin}: {exc}")
    held = [disclosure.pointer for disclosure in checked.disclosures]
    classes = {disclosure.field_class for disclosure in checked.disclosures}
    classes.update(named_classes)
    inferred, unknown = _undisclosed_classes(record, held)
    classes.update(inferred)
    return _Facts(RecordFacts.from_header(record.header, classes), unknown, origin)


def _undisclosed_classes(record: ParsedRecord, held: Sequence[str]) -> tuple[set[str], int]:
    """Classes of the concealed fields this copy holds no disclosure for, where the schema tells.

    A reader's copy lacks the disclosures withheld from it, but the payload
    keeps their digests in the ``_sd`` of the object that held them. When the
    sensitive fields missing from that object are all of one class, that is
    the class. Returns those classes and how many concealed fields stay unknown.
    """
    header = record.header
    held_by_parent = Counter(pointer.rpartition("/")[0] for pointer in held)
    missing_by_parent: dict[str, set[str]] = {}
    for pointer, field_class in sensitive_fields(header.record_type, header.schema_version).items():
        if pointer not in held:
            missing_by_parent.setdefault(pointer.rpartition("/")[0], set()).add(field_class)
    found: set[str] = set()
    explained = 0
    for parent, classes in missing_by_parent.items():
        node = _at_pointer(record.payload, parent)
        digests = node.get("_sd") if isinstance(node, dict) else None
        undisclosed = (len(digests) if isinstance(digests, list) else 0) - held_by_parent[parent]
        if undisclosed > 0 and len(classes) == 1:
            found.update(classes)
            explained += undisclosed
    return found, max(0, _count_digests(record.payload) - len(held) - explained)


def _at_pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.split("/")[1:]:
        if not isinstance(node, dict):
            return None
        node = node.get(part.replace("~1", "/").replace("~0", "~"))
    return node


def _count_digests(node: Any) -> int:
    if isinstance(node, dict):
        own = len(node["_sd"]) if isinstance(node.get("_sd"), list) else 0
        return own + sum(_count_digests(v) for k, v in node.items() if k != "_sd")
    if isinstance(node, list):
        return sum(
            1 if isinstance(item, dict) and set(item) == {"..."} else _count_digests(item)
            for item in node
        )
    return 0


def _print(
    reader: Reader, at: datetime, facts: _Facts, rules: Rules, decision: Decision, as_json: bool
) -> None:
    record = facts.record
    originator = f"{record.originator_participant}/{record.originator_agency}"
    record_document: dict[str, Any] = {
        "record_id": record.record_id,
        "record_type": record.record_type,
        "originator": originator,
        "created_at": record.created_at.isoformat(),
        "tlp": record.tlp,
        "recipients": list(record.recipients),
        "handling": list(record.handling),
        "field_classes": sorted(record.field_classes),
        "unknown_concealed_fields": facts.unknown_concealed,
    }
    if wants_json(as_json):
        document = {
            "reader": reader.path,
            "at": at.isoformat(),
            "record": record_document,
            "rules": {"source": rules.source, "sha256": rules.sha256},
            "decision": decision.to_json(),
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    verdict = (
        f"allowed, view {decision.view}" if decision.allowed else "denied (the reader sees nothing)"
    )
    rows: list[tuple[str, str]] = [
        ("reader", reader.path),
        ("record", f"{record.record_id} ({record.record_type})"),
        ("originator", originator),
        ("tlp", record.tlp or "-"),
        ("recipients", ", ".join(record.recipients) or "-"),
        ("handling", ", ".join(record.handling) or "-"),
        ("classes carried", ", ".join(sorted(record.field_classes)) or "none"),
        ("decision", verdict),
        ("disclosed", ", ".join(sorted(decision.disclosed)) or "none"),
        ("withheld", ", ".join(sorted(decision.withheld)) or "none"),
        ("onward sharing", "yes" if decision.onward_sharing else "no"),
        ("at", at.isoformat()),
        ("rules", f"{rules.source} sha256 {rules.sha256}"),
    ]
    summary = Table(title=f"policy explain: {reader.path}", show_header=False, title_justify="left")
    summary.add_column(style="bold")
    # Fold, never truncate: a digest cut to "31939b7d…" would be worse than useless.
    summary.add_column(overflow="fold")
    for key, value in rows:
        summary.add_row(key, Text(value))
    reasons = Table(title="reasons", title_justify="left")
    reasons.add_column("cite", style="bold", overflow="fold")
    reasons.add_column("reason", overflow="fold")
    for reason in decision.reasons:
        reasons.add_row(Text(reason.cite), Text(reason.text))
    stdout.print(summary)
    stdout.print(reasons)
    for notice in decision.notices:
        stdout.print(Text(f"notice: {notice}"))
    if facts.unknown_concealed:
        stdout.print(
            Text(
                f"note: {facts.unknown_concealed} concealed field(s) have no disclosure in this "
                "copy and their class is not known here; the decision covers the classes shown"
            )
        )
