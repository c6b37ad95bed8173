"""`silkline feed`: streaming ingestion for seizure systems, safe to run again after a crash.

`silkline feed INPUT...` signs each item with the profile's key and streams it
over PublishStream in a window; `silkline feed sample` writes sample records.
Every item ends accepted, already present (a resubmission) or rejected (in
the dead-letter file, with the server's or the local reason). The checkpoint
says how many items of each input are settled, so a re-run starts there; the
items after it are sent again and come back "already present", because the
feed derives every byte of a record from its input (silkline.feeds.identity).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

import click
import grpc
from cryptography import x509
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from silkline.authoring import SigningIdentity, load_signing_identity, seal_record
from silkline.cli.exit_codes import ExitCode, for_status
from silkline.cli.output import key_value_table, stderr, stdout, wants_json
from silkline.cli.records import TLP_LEVELS, handling_codes
from silkline.cli.session import selected_profile
from silkline.connection import open_aio_channel
from silkline.feeds.identity import (
    FeedIdentityError,
    SaltDeriver,
    salt_seed_from_signing_key,
)
from silkline.feeds.mapping import CsvMapping, MappingError, parse_mapping
from silkline.feeds.sample import sample_seizures
from silkline.feeds.sources import (
    DEFAULT_KEY_FIELD,
    DEFAULT_TIME_FIELD,
    CsvRows,
    Distribution,
    FeedInputError,
    FeedRecord,
    feed_payload,
    record_from_json_line,
)
from silkline.formats.disclosure import DisclosureError
from silkline.profiles import ProfileError
from silkline.realtime import ItemAnswer, ServerUnavailableError, StreamPublisher
from silkline.records import RECORD_TYPES, SchemaViolationError
from silkline.v1 import records_pb2, records_pb2_grpc

CHECKPOINT_VERSION: Final = 1
SAVE_EVERY_S: Final = 1.0
STDIN: Final = "-"
_IGNORED_SUFFIXES: Final = (".tmp", ".part", ".partial")
_STATUS_NAMES: Final = {status.value[0]: status.name for status in grpc.StatusCode}


class FeedGroup(click.Group):
    """`silkline feed INPUT...` runs the feed; `silkline feed sample` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=FeedGroup)
def feed() -> None:
    """Stream records from a seizure system: JSONL, CSV with a mapping, a folder, stdin."""


# ---------------------------------------------------------------- sample


@feed.command("sample")
@click.option("--count", default=100, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--until",
    type=click.DateTime(),
    help="Latest seizure time, UTC (default: the start of the current hour).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
def sample(count: int, seed: int, until: datetime | None, out: Path | None) -> None:
    """Write realistic seizure-alert bodies as JSONL (heroin, methamphetamine, cocaine,
    pharmaceutical tablets; Mundra, the Gujarat coast, Chabahar routing, the
    Afghanistan-Central Asia crossings; kg, quintals, tablets; INR crore).

    The same count, seed and --until give the same file.
    """
    end = (
        until.replace(tzinfo=UTC)
        if until is not None
        else datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )
    lines = (
        json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"
        for body in sample_seizures(count, seed, until=end)
    )
    if out is None:
        sys.stdout.writelines(lines)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        handle.writelines(lines)
    stderr.print(f"{count} sample seizure(s) written to {out}", highlight=False)


# ---------------------------------------------------------------- run


@dataclass(frozen=True)
class _Options:
    record_type: str
    key_field: str
    time_field: str
    source: str
    distribution: Distribution
    mapping: CsvMapping | None
    input_format: str


@feed.command("run")
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--watch",
    "folder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Also feed each new file that appears in this folder, until stopped.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["auto", "jsonl", "csv"]),
    default="auto",
    show_default=True,
    help="auto: by file name (.csv is CSV, anything else JSONL; stdin is JSONL).",
)
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="CSV mapping (TOML): columns to body fields, units, defaults, record type.",
)
@click.option(
    "--type",
    "record_type",
    type=click.Choice(RECORD_TYPES),
    default="seizure-alert",
    show_default=True,
    help="Record type of JSONL bodies.",
)
@click.option(
    "--source",
    default="default",
    show_default=True,
    help="The source system's id; with each item's key it fixes the record id. Keep it stable.",
)
@click.option("--key", "key_field", default=DEFAULT_KEY_FIELD, show_default=True)
@click.option("--time-field", default=DEFAULT_TIME_FIELD, show_default=True)
@click.option("--tlp", type=click.Choice(TLP_LEVELS), default="AMBER", show_default=True)
@click.option(
    "--to", "recipients", help="Recipients: participant codes or P/AGENCY, comma-separated."
)
@click.option("--handling", multiple=True, help="Handling code H0..H3 (H3:free text); repeatable.")
@click.option("--window", default=64, show_default=True, type=click.IntRange(1, 1024))
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Resume file (default: beside the first input, or in the watched folder).",
)
@click.option(
    "--restart", is_flag=True, help="Ignore the checkpoint and start from the first item."
)
@click.option(
    "--dead-letter",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Rejected items, JSONL (default: beside the checkpoint).",
)
@click.option(
    "--receipts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write each accepted record's receipt here (JSONL).",
)
@click.option(
    "--salt-seed-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Secret seed of the disclosure salts (default: derived from the signing key).",
)
@click.option(
    "--retry-for",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to keep reconnecting to an unreachable server before stopping.",
)
@click.option("--poll", default=1.0, show_default=True, type=click.FloatRange(min=0.05))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run(
    inputs: tuple[str, ...],
    folder: Path | None,
    input_format: str,
    mapping: Path | None,
    record_type: str,
    source: str,
    key_field: str,
    time_field: str,
    tlp: str,
    recipients: str | None,
    handling: tuple[str, ...],
    window: int,
    checkpoint: Path | None,
    restart: bool,
    dead_letter: Path | None,
    receipts: Path | None,
    salt_seed_file: Path | None,
    retry_for: float,
    poll: float,
    as_json: bool,
) -> None:
    """Sign and stream every item of INPUT... (files, or - for stdin) and of --watch.

    Exit code 0 when nothing was rejected, 5 when something was (see the
    dead-letter file), 6 when the server stayed unreachable (run again: the
    checkpoint says where to resume).
    """
    if not inputs and folder is None:
        raise click.UsageError("give input files, - for standard input, or --watch FOLDER")
    if inputs.count(STDIN) > 1:
        raise click.UsageError("standard input can be read once")
    profile = selected_profile()
    if profile.signing_key is None or profile.signing_cert is None:
        raise ProfileError(
            f"profile {profile.name!r} has no signing key: add --signing-key and --signing-cert"
        )
    signer = load_signing_identity(profile.signing_key, profile.signing_cert)
    try:
        seed = (
            salt_seed_file.read_bytes()
            if salt_seed_file is not None
            else salt_seed_from_signing_key(signer.private_key)
        )
        salts = SaltDeriver(seed)
    except (OSError, FeedIdentityError) as exc:
        raise click.UsageError(f"salt seed: {exc}") from exc
    csv_mapping = None
    if mapping is not None:
        try:
            csv_mapping = parse_mapping(mapping.read_text(encoding="utf-8"), str(mapping))
        except (OSError, MappingError) as exc:
            raise click.UsageError(str(exc)) from exc
    options = _Options(
        record_type=record_type,
        key_field=key_field,
        time_field=time_field,
        source=source,
        distribution=Distribution(
            tlp=tlp,
            recipients=tuple(recipients.split(",")) if recipients else (),
            handling=tuple(handling_codes(handling)),
        ),
        mapping=csv_mapping,
        input_format=input_format,
    )
    files = [Path(name) for name in inputs if name != STDIN]
    default_checkpoint, default_dead_letter = _default_paths(files, folder)
    checkpoint_path = checkpoint or default_checkpoint
    dead_letter_path = dead_letter or default_dead_letter
    state = Checkpoint.load(checkpoint_path) if checkpoint_path and not restart else Checkpoint()
    state.path = checkpoint_path
    runner = _FeedRun(
        signer=signer,
        salts=salts,
        options=options,
        state=state,
        dead_letter=dead_letter_path,
        receipts=receipts,
        progress=Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]:>8.1f} rec/s"),
            TimeElapsedColumn(),
            console=stderr,
            disable=not stderr.is_terminal,
        ),
    )
    sources = [_Input(Path(name) if name != STDIN else None) for name in inputs]
    unavailable: ServerUnavailableError | None = None
    failure: grpc.aio.AioRpcError | None = None
    try:
        asyncio.run(
            runner.run(
                open_channel=lambda: open_aio_channel(profile),
                sources=sources,
                folder=folder,
                window=window,
                retry_for=retry_for,
                poll=poll,
            )
        )
    except ServerUnavailableError as exc:
        unavailable = exc
    except grpc.aio.AioRpcError as exc:
        failure = exc
    finally:
        runner.close()
    summary = runner.summary()
    if unavailable is not None:
        summary["stopped"] = f"server unavailable: {unavailable}"
    if failure is not None:
        summary["stopped"] = f"{failure.code().name}: {failure.details()}"
    if wants_json(as_json):
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    else:
        stdout.print(key_value_table("feed", summary))
    if failure is not None:
        sys.exit(for_status(failure.code()))
    if unavailable is not None:
        sys.exit(ExitCode.UNAVAILABLE)
    if summary["rejected"]:
        sys.exit(ExitCode.INVALID_INPUT)


def _default_paths(files: list[Path], folder: Path | None) -> tuple[Path | None, Path]:
    """The checkpoint and dead-letter file: beside the first input, or in the watched folder."""
    if files:
        first = files[0]
        return (
            first.with_name(first.name + ".checkpoint.json"),
            first.with_name(first.name + ".dead-letter.jsonl"),
        )
    if folder is not None:
        # Dot files, which the folder watch never takes as input.
        return (
            folder / ".silkline-feed.checkpoint.json",
            folder / ".silkline-feed.dead-letter.jsonl",
        )
    # Standard input alone: there is nothing to resume.
    return None, Path("silkline-feed.dead-letter.jsonl")


# ---------------------------------------------------------------- checkpoint


@dataclass
class InputProgress:
    """How far one input is settled: its first `items` items (whose text hashes to `sha256`)."""

    items: int = 0
    sha256: str = hashlib.sha256().hexdigest()
    complete: bool = False


@dataclass
class Checkpoint:
    """Per input (by absolute path): how many leading items are settled."""

    inputs: dict[str, InputProgress] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        if not path.exists():
            return cls(path=path)
        try:
            raw = json.loads(path.read_text())
            if raw.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"version {raw.get('version')!r}, expected {CHECKPOINT_VERSION}")
            inputs = {
                name: InputProgress(
                    int(entry["items"]), str(entry["sha256"]), bool(entry["complete"])
                )
                for name, entry in raw["inputs"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise click.UsageError(
                f"checkpoint {path} is unusable ({exc}); fix it, or start over with --restart"
            ) from exc
        return cls(inputs, path)

    def save(self) -> None:
        if self.path is None:
            return
        document = {
            "version": CHECKPOINT_VERSION,
            "inputs": {
                name: {"items": p.items, "sha256": p.sha256, "complete": p.complete}
                for name, p in sorted(self.inputs.items())
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w") as handle:
            json.dump(document, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


class _Tracker:
    """Settles one input's items in any order and moves its checkpoint over the leading run."""

    def __init__(self, progress: InputProgress) -> None:
        self._progress = progress
        self._digest = hashlib.sha256()
        self._texts: dict[int, str] = {}
        self._settled: set[int] = set()
        self.read_all = False

    def skip(self, number: int, text: str) -> None:
        """An item below the checkpoint, read again to check the input did not change."""
        self._digest.update(_item_bytes(text))

    def check_skipped(self, name: str) -> None:
        if self._digest.hexdigest() != self._progress.sha256:
            raise click.UsageError(
                f"{name} changed since its checkpoint (its first {self._progress.items} items "
                "differ): feed it with --restart, or restore the file"
            )

    def read(self, number: int, text: str) -> None:
        self._texts[number] = text

    def settle(self, number: int) -> None:
        self._settled.add(number)
        progress = self._progress
        while progress.items + 1 in self._settled:
            progress.items += 1
            self._settled.discard(progress.items)
            self._digest.update(_item_bytes(self._texts.pop(progress.items)))
            progress.sha256 = self._digest.hexdigest()
        progress.complete = self.read_all and not self._texts

    def finish_reading(self) -> None:
        self.read_all = True
        self._progress.complete = not self._texts


def _item_bytes(text: str) -> bytes:
    return text.encode("utf-8") + b"\n"


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Input:
    path: Path | None  # None: standard input

    @property
    def name(self) -> str:
        return str(self.path.resolve()) if self.path is not None else STDIN

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "stdin"


@dataclass(frozen=True)
class _Handle:
    """One input item in flight: where it came from and its text."""

    input: str
    number: int
    text: str
    record_id: str


def _items(stream: IO[str], kind: str, options: _Options) -> Iterator[tuple[str, Any]]:
    """(text, parse) per item: parse() gives the FeedRecord or raises FeedInputError."""
    if kind == "jsonl":
        for line in stream:
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            yield (
                text,
                lambda text=text: record_from_json_line(
                    text,
                    record_type=options.record_type,
                    key_field=options.key_field,
                    time_field=options.time_field,
                ),
            )
        return
    if options.mapping is None:
        raise click.UsageError("CSV input needs --mapping FILE (columns to body fields)")
    tap = _LineTap(stream)
    reader = csv.reader(tap)
    header = next(reader, None)
    if header is None:
        return
    tap.taken.clear()
    try:
        rows: CsvRows | FeedInputError = CsvRows(options.mapping, header)
    except FeedInputError as exc:
        rows = exc
    for cells in reader:
        text = "".join(tap.taken).rstrip("\r\n")
        tap.taken.clear()
        if not text.strip():
            continue

        def parse(cells: list[str] = cells) -> FeedRecord:
            if isinstance(rows, FeedInputError):
                raise rows
            return rows.record(cells)

        yield text, parse


class _LineTap:
    """Hands lines to csv.reader and keeps them, so a row's raw text can be dead-lettered."""

    def __init__(self, lines: IO[str]) -> None:
        self._lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line


def _kind(source: _Input, options: _Options) -> str:
    if options.input_format != "auto":
        return options.input_format
    if source.path is not None and source.path.suffix.lower() == ".csv":
        return "csv"
    return "jsonl"


def _count_items(source: _Input) -> int | None:
    if source.path is None:
        return None
    try:
        with source.path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
    except OSError:
        return None
    return lines - 1 if source.path.suffix.lower() == ".csv" else lines


# ---------------------------------------------------------------- the run


class _FeedRun:
    def __init__(
        self,
        *,
        signer: SigningIdentity,
        salts: SaltDeriver,
        options: _Options,
        state: Checkpoint,
        dead_letter: Path,
        receipts: Path | None,
        progress: Progress,
    ) -> None:
        self._signer = signer
        self._signer_valid_from = x509.load_der_x509_certificate(
            signer.certificate_der
        ).not_valid_before_utc
        self._salts = salts
        self._options = options
        self._state = state
        self._dead_letter_path = dead_letter
        self._dead_letter: IO[str] | None = None
        self._receipts: IO[str] | None = receipts.open("a", encoding="utf-8") if receipts else None
        self._progress = progress
        self._task = progress.add_task("feed", total=None, rate=0.0)
        self._trackers: dict[str, _Tracker] = {}
        self._stop = asyncio.Event()
        self._started = time.monotonic()
        self._saved = time.monotonic()
        self.accepted = 0
        self.already_present = 0
        self.rejected = 0
        self.skipped = 0
        self.inputs_read: list[str] = []

    async def run(
        self,
        *,
        open_channel: Callable[[], grpc.aio.Channel],
        sources: list[_Input],
        folder: Path | None,
        window: int,
        retry_for: float,
        poll: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        totals = [_count_items(s) for s in sources] if folder is None else [None]
        if all(total is not None for total in totals):
            self._progress.update(self._task, total=sum(t or 0 for t in totals))
        self._progress.start()
        try:
            async with open_channel() as channel:
                stub = records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]
                publisher: StreamPublisher[_Handle] = StreamPublisher(
                    stub, window=window, retry_for_s=retry_for, on_reconnect=self._reconnecting
                )
                await publisher.publish(self._records(sources, folder, poll), self._answered)
        finally:
            self._progress.stop()
            self._state.save()

    async def _records(
        self, sources: list[_Input], folder: Path | None, poll: float
    ) -> AsyncIterator[tuple[_Handle, records_pb2.SignedRecord]]:
        for source in sources:
            async for entry in self._input_records(source):
                yield entry
            if self._stop.is_set():
                return
        if folder is not None:
            async for source in self._new_files(folder, poll):
                async for entry in self._input_records(source):
                    yield entry
                if self._stop.is_set():
                    return

    async def _new_files(self, folder: Path, poll: float) -> AsyncIterator[_Input]:
        """Files of the folder not yet complete, once their size holds still for a poll."""
        sizes: dict[Path, int] = {}
        taken: set[Path] = set()
        while not self._stop.is_set():
            for path, size in await asyncio.to_thread(_candidates, folder):
                if path in taken:
                    continue
                progress = self._state.inputs.get(str(path.resolve()))
                if progress is not None and progress.complete:
                    taken.add(path)
                    continue
                if sizes.get(path) == size:
                    taken.add(path)
                    yield _Input(path)
                    if self._stop.is_set():
                        return
                sizes[path] = size
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll):
                    await self._stop.wait()

    async def _input_records(
        self, source: _Input
    ) -> AsyncIterator[tuple[_Handle, records_pb2.SignedRecord]]:
        # Standard input is read once: there is nothing to resume, so no checkpoint entry.
        progress = (
            self._state.inputs.setdefault(source.name, InputProgress())
            if source.path is not None
            else InputProgress()
        )
        if progress.complete:
            self.skipped += progress.items
            self._progress.advance(self._task, progress.items)
            return
        tracker = _Tracker(progress)
        self._trackers[source.name] = tracker
        self.inputs_read.append(source.label)
        kind = _kind(source, self._options)
        stream: IO[str] = (
            source.path.open(encoding="utf-8", newline="") if source.path is not None else sys.stdin
        )
        try:
            items = _items(stream, kind, self._options)
            chunks = _file_chunks(items) if source.path is not None else _stdin_chunks(items)
            number = 0
            while chunk := await _unless_stopped(chunks, self._stop):
                for text, parse in chunk:
                    number += 1
                    if number <= progress.items:
                        tracker.skip(number, text)
                        if number == progress.items:
                            tracker.check_skipped(source.label)
                        self.skipped += 1
                        self._progress.advance(self._task)
                        continue
                    tracker.read(number, text)
                    record = self._seal(source.name, number, text, parse)
                    if record is not None:
                        yield record
                    if self._stop.is_set():
                        return  # stopped: this input is not complete
            if self._stop.is_set():
                return
            if number < progress.items:
                tracker.check_skipped(source.label)
            tracker.finish_reading()
        finally:
            await chunks.aclose()
            if source.path is not None:
                stream.close()

    def _seal(
        self, name: str, number: int, text: str, parse: Callable[[], FeedRecord]
    ) -> tuple[_Handle, records_pb2.SignedRecord] | None:
        try:
            record = parse()
            payload = feed_payload(
                record,
                originator=self._signer.identity,
                source=self._options.source,
                distribution=self._options.distribution,
                signer_valid_from=self._signer_valid_from,
            )
            sealed = seal_record(
                payload, self._signer, salt_for=self._salts.for_record(payload["id"])
            )
        except SchemaViolationError as exc:
            self._reject(
                name,
                number,
                text,
                "schema violation",
                "LOCAL",
                [(v.pointer, v.message) for v in exc.violations],
            )
            return None
        except (FeedInputError, DisclosureError, ValueError) as exc:
            self._reject(name, number, text, str(exc), "LOCAL", [])
            return None
        handle = _Handle(name, number, text, sealed.record_id)
        return handle, records_pb2.SignedRecord(
            envelope=sealed.envelope,
            disclosures=list(sealed.disclosures),
            signer_certificate=sealed.signer_certificate_der,
        )

    def _answered(self, handle: _Handle, answer: ItemAnswer) -> None:
        if answer.receipt is not None:
            if answer.already_present:
                self.already_present += 1
            else:
                self.accepted += 1
            if self._receipts is not None:
                receipt = answer.receipt
                self._receipts.write(
                    json.dumps(
                        {
                            "input": handle.input,
                            "item": handle.number,
                            "record_id": receipt.record_id,
                            "log_index": receipt.log_index,
                            "envelope_sha256": receipt.envelope_sha256,
                            "already_present": answer.already_present,
                        }
                    )
                    + "\n"
                )
                self._receipts.flush()
            self._settle(handle.input, handle.number)
        else:
            error = answer.error
            assert error is not None
            self._reject(
                handle.input,
                handle.number,
                handle.text,
                error.message,
                _STATUS_NAMES.get(error.code, str(error.code)),
                [(v.field, v.description) for v in error.field_violations],
                record_id=handle.record_id,
            )

    def _reject(
        self,
        name: str,
        number: int,
        text: str,
        reason: str,
        code: str,
        violations: list[tuple[str, str]],
        record_id: str | None = None,
    ) -> None:
        self.rejected += 1
        if self._dead_letter is None:
            self._dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
            self._dead_letter = self._dead_letter_path.open("a", encoding="utf-8")
        entry: dict[str, Any] = {
            "input": name,
            "item": number,
            "line": text,
            "code": code,
            "reason": reason,
            "field_violations": [{"field": f, "description": d} for f, d in violations],
        }
        if record_id is not None:
            entry["record_id"] = record_id
        self._dead_letter.write(json.dumps(entry, ensure_ascii=False) + "\n")
        # Written before the item counts as settled: a crash never loses a rejection.
        self._dead_letter.flush()
        self._settle(name, number)

    def _settle(self, name: str, number: int) -> None:
        self._trackers[name].settle(number)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        done = self.accepted + self.already_present + self.rejected
        self._progress.update(self._task, advance=1, rate=done / elapsed)
        if time.monotonic() - self._saved >= SAVE_EVERY_S:
            self._state.save()
            self._saved = time.monotonic()

    def _reconnecting(self, code: grpc.StatusCode, details: str, delay_s: float) -> None:
        stderr.print(
            f"stream ended ({code.name}: {details}); resending unanswered records in "
            f"{delay_s:.1f} s",
            highlight=False,
        )

    def close(self) -> None:
        for handle in (self._dead_letter, self._receipts):
            if handle is not None:
                handle.close()

    def summary(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self._started
        answered = self.accepted + self.already_present + self.rejected
        return {
            "accepted": self.accepted,
            "already_present": self.already_present,
            "rejected": self.rejected,
            "skipped_by_checkpoint": self.skipped,
            "elapsed_s": round(elapsed, 2),
            "records_per_s": round(answered / elapsed, 1) if elapsed > 0 else 0.0,
            "dead_letter": str(self._dead_letter_path) if self.rejected else None,
            "checkpoint": str(self._state.path) if self._state.path else None,
            "inputs": self.inputs_read,
        }


Chunk = list[tuple[str, Any]]


async def _file_chunks(items: Iterator[tuple[str, Any]]) -> AsyncGenerator[Chunk, None]:
    """A file's items, 64 at a time, read in a worker thread."""
    while chunk := await asyncio.to_thread(_take, items, 64):
        yield chunk


async def _stdin_chunks(items: Iterator[tuple[str, Any]]) -> AsyncGenerator[Chunk, None]:
    """Standard input's items one at a time, read by a daemon thread: a read that blocks
    for ever must neither hold up a stop nor keep the process from exiting."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Chunk] = asyncio.Queue(maxsize=64)

    def read() -> None:
        for item in items:
            asyncio.run_coroutine_threadsafe(queue.put([item]), loop).result()
        asyncio.run_coroutine_threadsafe(queue.put([]), loop).result()

    threading.Thread(target=read, name="silkline-feed-stdin", daemon=True).start()
    while chunk := await queue.get():
        yield chunk


async def _unless_stopped(chunks: AsyncIterator[Chunk], stop: asyncio.Event) -> Chunk:
    """The next chunk, or [] once `stop` is set (the read is abandoned)."""
    reading = asyncio.ensure_future(anext(chunks, []))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([reading, stopping], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if reading.done():
        return reading.result()
    reading.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reading
    return []


def _take(items: Iterator[tuple[str, Any]], count: int) -> list[tuple[str, Any]]:
    taken = []
    for item in items:
        taken.append(item)
        if len(taken) == count:
            break
    return taken


def _candidates(folder: Path) -> list[tuple[Path, int]]:
    """The folder's input files, by name, with their sizes."""
    return [
        (path, path.stat().st_size)
        for path in sorted(folder.iterdir())
        if path.is_file() and not _ignored(path)
    ]


def _ignored(path: Path) -> bool:
    """Files still being written (by convention .tmp, .part) and the feed's own files."""
    name = path.name
    return (
        name.startswith(".")
        or name.endswith(_IGNORED_SUFFIXES)
        or name.endswith((".checkpoint.json", ".dead-letter.jsonl"))
    )
