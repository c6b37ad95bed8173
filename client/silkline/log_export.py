"""The export folder of the log, as `silkline audit export` writes it and `audit verify` reads it.

    DIR/checkpoint       the signed checkpoint note, exactly as the server served it
    DIR/entries.jsonl    one line per entry, in index order: {"index": i, "leaf": base64}
    DIR/log.vkey         the log's note verifier key line
    DIR/trust/<P>.crt    each participant's CA certificate (PEM)
    DIR/trust/<P>.crl    its certificate revocation list (PEM), when it has one

Nothing else is needed to verify the log offline. Reading is strict: a line
that is not exactly an entry object is refused with its line number.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from silkline.formats.canonical_base64 import decode_canonical
from silkline.formats.note import NoteError, NoteVerifier, parse_verifier_key
from silkline.trust import ParticipantTrust, TrustConfigurationError, TrustStore

CHECKPOINT_FILE: Final = "checkpoint"
ENTRIES_FILE: Final = "entries.jsonl"
LOG_KEY_FILE: Final = "log.vkey"
TRUST_DIR: Final = "trust"


class ExportError(Exception):
    """The export folder cannot be read or written as the layout above; the message says why."""


@dataclass(frozen=True, slots=True)
class ExportedEntry:
    """One line of entries.jsonl: where it was, the index it states, the leaf bytes."""

    line: int
    index: int
    leaf: bytes


def entry_line(index: int, leaf: bytes) -> str:
    """The entries.jsonl line of one entry, with its newline."""
    return json.dumps({"index": index, "leaf": base64.b64encode(leaf).decode("ascii")}) + "\n"


def parse_entry_line(text: str, line: int) -> ExportedEntry:
    """One line of entries.jsonl; raises ExportError naming the line."""
    exported = _parse_written_line(text, line)
    if exported is not None:
        return exported
    # Any other spelling of the same object is read as JSON, or refused saying why.
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportError(f"{ENTRIES_FILE} line {line} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or set(document) != {"index", "leaf"}:
        raise ExportError(
            f'{ENTRIES_FILE} line {line} must be an object {{"index": N, "leaf": BASE64}}'
        )
    index, leaf = document["index"], document["leaf"]
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ExportError(f"{ENTRIES_FILE} line {line}: index must be an integer >= 0")
    if not isinstance(leaf, str):
        raise ExportError(f"{ENTRIES_FILE} line {line}: leaf must be a base64 string")
    try:
        decoded = base64.b64decode(leaf, validate=True)
    except binascii.Error as exc:
        raise ExportError(f"{ENTRIES_FILE} line {line}: leaf is not base64: {exc}") from exc
    return ExportedEntry(line, index, decoded)


_LINE_START: Final = '{"index": '
_LEAF_MEMBER: Final = ', "leaf": "'
_LINE_END: Final = '"}'


def _parse_written_line(text: str, line: int) -> ExportedEntry | None:
    """A line exactly as `entry_line` writes it, read without a JSON parser (the leaf is
    kilobytes of base64 that the parser would scan once more); None for any other line."""
    text = text.removesuffix("\n")
    if not text.startswith(_LINE_START) or not text.endswith(_LINE_END):
        return None
    index_text, found, leaf = text[len(_LINE_START) : -len(_LINE_END)].partition(_LEAF_MEMBER)
    # A JSON integer >= 0: digits, no leading zero (isdigit alone admits other scripts' digits).
    if (
        not found
        or not index_text.isascii()
        or not index_text.isdigit()
        or (index_text[0] == "0" and len(index_text) > 1)
    ):
        return None
    decoded = decode_canonical(leaf)
    if decoded is None:
        return None
    return ExportedEntry(line, int(index_text), decoded)


def read_entries(folder: Path) -> Iterator[ExportedEntry]:
    """The entries of an export, in file order, read one line at a time."""
    path = folder / ENTRIES_FILE
    try:
        with path.open("r", encoding="ascii", newline="\n") as lines:
            for number, text in enumerate(lines, start=1):
                if not text.endswith("\n"):
                    raise ExportError(f"{ENTRIES_FILE} line {number} does not end with a newline")
                yield parse_entry_line(text, number)
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path} is not ASCII JSON lines: {exc}") from exc


def entry_ranges(folder: Path, lines_per_range: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, first line index) of consecutive byte ranges of entries.jsonl holding
    `lines_per_range` lines each (the last may hold fewer), found without parsing."""
    path = folder / ENTRIES_FILE
    try:
        with path.open("rb") as data:
            start = offset = lines = first = 0
            while chunk := data.read(1 << 20):
                position = 0
                while (newline := chunk.find(b"\n", position)) >= 0:
                    position = newline + 1
                    lines += 1
                    if lines == lines_per_range:
                        end = offset + position
                        yield start, end, first
                        start, first, lines = end, first + lines, 0
                offset += len(chunk)
            if offset > start:
                yield start, offset, first
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc


def read_entry_range(folder: Path, start: int, end: int, first: int) -> Iterator[ExportedEntry]:
    """The entries in bytes [start, end) of entries.jsonl, whose first line is line `first`
    (counted from 0), as `entry_ranges` gives them."""
    path = folder / ENTRIES_FILE
    try:
        with path.open("rb") as data:
            data.seek(start)
            text = data.read(end - start).decode("ascii")
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path} is not ASCII JSON lines: {exc}") from exc
    *lines, last = text.split("\n")
    for number, line in enumerate(lines, start=first + 1):
        yield parse_entry_line(line, number)
    if last:
        raise ExportError(
            f"{ENTRIES_FILE} line {first + len(lines) + 1} does not end with a newline"
        )


def count_entry_lines(folder: Path) -> int:
    """How many lines entries.jsonl holds (for a progress bar), without parsing them."""
    try:
        with (folder / ENTRIES_FILE).open("rb") as data:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: data.read(1 << 20), b""))
    except OSError as exc:
        raise ExportError(f"cannot read {folder / ENTRIES_FILE}: {exc}") from exc


def read_checkpoint(folder: Path) -> bytes:
    """DIR/checkpoint, as bytes."""
    try:
        return (folder / CHECKPOINT_FILE).read_bytes()
    except OSError as exc:
        raise ExportError(f"cannot read {folder / CHECKPOINT_FILE}: {exc}") from exc


def read_log_key(path: Path) -> NoteVerifier:
    """A note verifier key file (one vkey line), e.g. DIR/log.vkey or certs/example/hub/log.vkey."""
    try:
        return parse_verifier_key(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc
    except NoteError as exc:
        raise ExportError(f"{path}: {exc}") from exc


def read_trust(folder: Path) -> TrustStore:
    """Each DIR/trust/<P>.crt as participant P's CA, with DIR/trust/<P>.crl when present
    (refused unless that CA signed it)."""
    trust_dir = folder / TRUST_DIR
    certificates = sorted(trust_dir.glob("*.crt"))
    if not certificates:
        raise ExportError(f"{trust_dir} holds no <participant>.crt CA certificate")
    orphans = sorted(
        path.name for path in trust_dir.glob("*.crl") if not path.with_suffix(".crt").exists()
    )
    if orphans:
        raise ExportError(f"{trust_dir}: {', '.join(orphans)} without the CA certificate")
    try:
        participants = {}
        for path in certificates:
            crl = path.with_suffix(".crl")
            participants[path.stem] = ParticipantTrust.from_pem(
                path.stem,
                path.read_bytes(),
                crl.read_bytes() if crl.exists() else None,
                source=str(path),
            )
        return TrustStore(participants)
    except (OSError, TrustConfigurationError) as exc:
        raise ExportError(f"{trust_dir}: {exc}") from exc


def participant_cas(trust_folder: Path) -> dict[str, Path]:
    """<P>/ca.crt of a PKI folder laid out like certs/example (the hub is not a participant)."""
    found = {
        path.parent.name: path
        for path in sorted(trust_folder.glob("*/ca.crt"))
        if path.parent.name != "hub"
    }
    if not found:
        raise ExportError(f"{trust_folder} holds no <participant>/ca.crt")
    return found


def participant_crls(trust_folder: Path) -> dict[str, Path]:
    """<P>/crl.pem of the participants of a PKI folder laid out like certs/example."""
    return {
        participant: ca.parent / "crl.pem"
        for participant, ca in participant_cas(trust_folder).items()
        if (ca.parent / "crl.pem").exists()
    }


class ExportWriter:
    """Writes an export folder: the checkpoint, the log key, the CAs, then the entries in order."""

    def __init__(self, folder: Path) -> None:
        if folder.exists() and any(folder.iterdir()):
            raise ExportError(f"{folder} is not empty; export into a new or empty folder")
        try:
            (folder / TRUST_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create {folder}: {exc}") from exc
        self._folder = folder
        self._entries: TextIO | None = None
        self._written = 0

    def write_checkpoint(self, note: bytes) -> None:
        self._write(CHECKPOINT_FILE, note)

    def write_log_key(self, verifier: NoteVerifier) -> None:
        self._write(LOG_KEY_FILE, (verifier.vkey + "\n").encode("ascii"))

    def write_participant_ca(self, participant: str, pem: bytes) -> None:
        self._write(f"{TRUST_DIR}/{participant}.crt", pem)

    def write_participant_crl(self, participant: str, pem: bytes) -> None:
        self._write(f"{TRUST_DIR}/{participant}.crl", pem)

    def add_entry(self, index: int, leaf: bytes) -> None:
        """Append one entry exactly as the server sent it. Whether the indices run from 0
        without a gap is for `audit verify` to judge, not for the export to hide."""
        if self._entries is None:
            try:
                self._entries = (self._folder / ENTRIES_FILE).open(
                    "w", encoding="ascii", newline="\n"
                )
            except OSError as exc:
                raise ExportError(f"cannot write {self._folder / ENTRIES_FILE}: {exc}") from exc
        self._entries.write(entry_line(index, leaf))
        self._written += 1

    def close(self) -> int:
        """Finish entries.jsonl (empty when the log is); return the number of entries written."""
        if self._entries is None:
            self._write(ENTRIES_FILE, b"")
        else:
            self._entries.close()
            self._entries = None
        return self._written

    def _write(self, name: str, data: bytes) -> None:
        try:
            (self._folder / name).write_bytes(data)
        except OSError as exc:
            raise ExportError(f"cannot write {self._folder / name}: {exc}") from exc
