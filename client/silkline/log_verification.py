"""Offline verification of an exported log: what `silkline audit verify` checks, in order.

Needs only the export folder (silkline.log_export): no server, no database.

1. The checkpoint's log signature verifies with DIR/log.vkey (and that key is
   the one the auditor pins, when given); its origin is the key's name; when
   witness keys are given, enough of them cosigned it.
2. With a previous checkpoint (same log key): it is not larger than this one.
3. Every entry, in order, with the first failure named by its index:
   its line states the next index and is covered by the checkpoint; its leaf
   is a well-formed entry that names its own index and chains to the leaf
   hash of the entry before it; a record entry's DSSE signature verifies and
   its signer certificate chains, at the record's creation, to the CA of the
   participant it names, and was not revoked (by DIR/trust/<P>.crl) at or
   before the record's creation or its acceptance; no record is logged
   twice; access-event sequence numbers only increase.
4. The RFC 6962 root recomputed from every leaf equals the checkpoint's; with a
   previous checkpoint, the root of its first entries equals its root, and a
   consistency proof computed from the leaves verifies (RFC 9162 §2.1.4.2).

Step 3 is split in two. *Examining* an entry needs nothing but the entry and
its position (the record signature is most of the work), so it can run in
worker processes, each on its own byte range of entries.jsonl. *Reducing*
the examined facts (the chain, duplicates, sequences, the tree) runs in
order in the calling process. Failures are raised in index order either way.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives.serialization import Encoding

from silkline.formats.checkpoint import (
    Checkpoint,
    CheckpointError,
    OpenedCheckpoint,
    open_checkpoint,
)
from silkline.formats.log_entry import (
    AccessEntry,
    LogEntryError,
    RecordEntry,
    parse_entry,
)
from silkline.formats.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MerkleError,
    consistency_proof,
    leaf_hash,
    verify_consistency,
)
from silkline.formats.merkle_frontier import MerkleFrontier
from silkline.formats.note import NoteError, NoteVerifier
from silkline.identity import Identity
from silkline.log_export import (
    CHECKPOINT_FILE,
    LOG_KEY_FILE,
    ExportedEntry,
    ExportError,
    entry_ranges,
    read_checkpoint,
    read_entries,
    read_entry_range,
    read_log_key,
    read_trust,
)
from silkline.record_checks import (
    RecordRefusedError,
    SignerCache,
    check_signature,
    check_signer,
    parse_record,
)
from silkline.trust import CertificateRefusedError, TrustStore

# Admission refuses a record created more than this after it is accepted; a log
# entry saying otherwise was not written by admission.
CREATED_AT_TOLERANCE = timedelta(minutes=5)

# Entries per unit of work handed to a worker process.
BATCH = 256

Progress = Callable[[int], None]
"""Told how many more entries were checked."""


class LogVerificationError(Exception):
    """A check failed. `index` is the first entry at fault (None when no entry is named)."""

    def __init__(self, check: str, reason: str, index: int | None = None) -> None:
        where = f"entry {index}: " if index is not None else ""
        super().__init__(f"{where}{check}: {reason}")
        self.check = check
        self.reason = reason
        self.index = index


@dataclass
class LogVerification:
    """What an export was found to hold, once every check passed."""

    origin: str
    tree_size: int
    root: bytes
    records: int = 0
    access_events: int = 0
    rules_versions: int = 0
    cosigners: tuple[str, ...] = ()
    previous_size: int | None = None
    passed: list[str] = field(default_factory=list)
    jobs: int = 1
    """Processes that examined the entries (step 3)."""
    examine_cpu_s: float = 0.0
    """CPU seconds spent examining entries, summed over those processes (a worker's
    count is all it used, its start-up included)."""


def _fail(check: str, reason: str, index: int | None = None) -> NoReturn:
    raise LogVerificationError(check, reason, index)


# --------------------------------------------------------------------------- examine


# What the in-order checks need to know of one examined entry:
# (leaf hash, previous leaf hash stated, type, record id or None, access sequence or None).
Facts = tuple[bytes, bytes | None, str, str | None, int | None]

# A unit of examined work: the facts of each entry in order, up to the first failure,
# that failure as (check, reason, index), if any, and the CPU seconds it took.
Examined = tuple[list[Facts], tuple[str, str, int | None] | None, float]


class _Examiner:
    """The checks of one entry that need only the entry and its position."""

    def __init__(self, trust: TrustStore, tree_size: int) -> None:
        self._trust = trust
        self._cache = SignerCache(trust)
        self._tree_size = tree_size

    def examine(self, position: int, exported: ExportedEntry) -> Facts:
        """Raise LogVerificationError naming the first entry at fault, else the entry's facts."""
        if exported.index != position:
            if exported.index > position:
                _fail(
                    "missing entry",
                    f"entry {position} is not in the export: line {exported.line} holds entry "
                    f"{exported.index}",
                    position,
                )
            _fail(
                "entry order",
                f"line {exported.line} holds entry {exported.index} where entry {position} belongs",
                position,
            )
        if position >= self._tree_size:
            _fail(
                "entry beyond the checkpoint",
                f"the checkpoint commits to {self._tree_size} entries; entry {position} is not "
                "covered by it (added without the log signing it)",
                position,
            )
        try:
            entry = parse_entry(exported.leaf)
        except LogEntryError as exc:
            _fail("entry format", str(exc), position)
        if entry.index != position:
            _fail(
                "entry position",
                f"the leaf at position {position} says it is entry {entry.index}: entries were "
                "moved, swapped, deleted or inserted",
                position,
            )
        hashed = leaf_hash(exported.leaf)
        if isinstance(entry, RecordEntry):
            self._check_record(entry, position)
            return hashed, entry.previous, "record", entry.record_id, None
        if isinstance(entry, AccessEntry):
            return hashed, entry.previous, "access", None, entry.sequence
        return hashed, entry.previous, "rules", None, None

    def _check_record(self, entry: RecordEntry, index: int) -> None:
        """The record checks of silkline.record_checks; with the SignerCache a certificate's
        chain to its participant's CA is verified once, its validity for every record."""
        try:
            record = parse_record(entry.envelope)
        except RecordRefusedError as exc:
            _fail("record envelope", str(exc), index)
        header = record.header
        if header.record_id != entry.record_id:
            _fail(
                "record id",
                f"the entry names record {entry.record_id} but its envelope is record "
                f"{header.record_id}",
                index,
            )
        if header.created_at > entry.accepted_at + CREATED_AT_TOLERANCE:
            _fail(
                "record time",
                f"record {entry.record_id} was created at {header.created_at.isoformat()}, after "
                f"the log says it accepted it ({entry.accepted_at.isoformat()})",
                index,
            )
        try:
            signer = check_signer(
                record, entry.signer_certificate, self._trust, now=None, cache=self._cache
            )
            check_signature(record, signer)
        except RecordRefusedError as exc:
            _fail(
                "record signature",
                f"record {entry.record_id} from {header.originator.agency_path}: {exc}",
                index,
            )
        # check_signer judged revocation when the record was created (the agency's
        # word); admission judged it when the log accepted the record: so must we.
        try:
            self._trust.for_identity(signer.identity).check_not_revoked(
                signer.certificate, signer.identity, entry.accepted_at, historical=True
            )
        except CertificateRefusedError as exc:
            _fail(
                "signer revoked",
                f"record {entry.record_id} was accepted at {entry.accepted_at.isoformat()} "
                f"with a revoked signer certificate: {exc}",
                index,
            )

    def examine_all(
        self, first: int, entries: Iterable[ExportedEntry]
    ) -> tuple[list[Facts], tuple[str, str, int | None] | None]:
        facts: list[Facts] = []
        for position, exported in enumerate(entries, start=first):
            try:
                facts.append(self.examine(position, exported))
            except LogVerificationError as exc:
                return facts, (exc.check, exc.reason, exc.index)
        return facts, None


# A worker process's examiner, made once by _start_worker, and the worker's CPU time
# already reported (a forked process starts from zero).
_worker: tuple[_Examiner, Path] | None = None
_worker_cpu_reported = 0.0


def _start_worker(folder: str, tree_size: int) -> None:
    global _worker
    # What the worker inherited from the fork server (every module the caller's
    # program imported) is never garbage: keep the collector off it, so that it
    # neither walks those objects again and again nor copies their pages.
    gc.freeze()
    _worker = (_Examiner(read_trust(Path(folder)), tree_size), Path(folder))


def _examine_range(start: int, end: int, first: int) -> Examined:
    """In a worker: examine the entries in bytes [start, end) of entries.jsonl. The CPU
    time reported is all the worker used since its last report, its start-up included."""
    global _worker_cpu_reported
    assert _worker is not None
    examiner, folder = _worker
    try:
        facts, failure = examiner.examine_all(first, read_entry_range(folder, start, end, first))
    except ExportError as exc:
        facts, failure = [], ("export layout", str(exc), None)
    used = time.process_time()
    cpu_s, _worker_cpu_reported = used - _worker_cpu_reported, used
    return facts, failure, cpu_s


def _examined_in_process(folder: Path, examiner: _Examiner) -> Generator[Examined, None, None]:
    entries = read_entries(folder)
    first = 0
    while True:
        batch = [exported for _, exported in zip(range(BATCH), entries, strict=False)]
        if not batch:
            return
        started = time.process_time()
        facts, failure = examiner.examine_all(first, batch)
        yield facts, failure, time.process_time() - started
        if failure is not None:
            return
        first += len(batch)


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean server process where one exists, spawned otherwise.

    Never a plain fork of the caller: it may run threads (a progress bar,
    gRPC's), and a child forked while another thread holds a lock can hang.
    The fork server is a fresh single-threaded interpreter that imports this
    module once; each worker is then a cheap fork of it.

    Every worker still runs the caller's main script again (multiprocessing
    does, to find what it pickled there), and CPython 3.11's fork server never
    preloads "__main__" (it is not handed the script's path). So the server
    also imports every silkline module the caller has imported, and with them
    the libraries they need: the script's imports then cost each worker
    nothing, instead of a second start-up of the caller's program.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        ours = sorted(
            name
            for name, module in list(sys.modules.items())
            if name.partition(".")[0] in ("silkline", "silkline_server")
            # Only modules imported by their name (a server that fails to import one dies).
            and getattr(getattr(module, "__spec__", None), "name", None) == name
        )
        context.set_forkserver_preload(["__main__", __name__, *ours])
        return context
    return multiprocessing.get_context("spawn")


def _examined_in_workers(
    folder: Path, tree_size: int, jobs: int
) -> Generator[Examined, None, None]:
    """The same, batch by batch in `jobs` processes, in order, a few batches ahead."""
    executor = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=_worker_context(),
        initializer=_start_worker,
        initargs=(str(folder), tree_size),
    )
    pending: deque[Future[Examined]] = deque()
    try:
        yield from _in_order(executor, pending, folder, jobs)
    except BrokenProcessPool as exc:
        # Fail closed: what was not examined was not verified.
        raise LogVerificationError(
            "verification incomplete", f"a worker process stopped before the end: {exc}"
        ) from exc
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _in_order(
    executor: ProcessPoolExecutor, pending: deque[Future[Examined]], folder: Path, jobs: int
) -> Iterator[Examined]:
    for start, end, first in entry_ranges(folder, BATCH):
        pending.append(executor.submit(_examine_range, start, end, first))
        while len(pending) > 4 * jobs:
            examined = pending.popleft().result()
            yield examined
            if examined[1] is not None:
                return
    while pending:
        examined = pending.popleft().result()
        yield examined
        if examined[1] is not None:
            return


# --------------------------------------------------------------------------- reduce


class _Subtrees:
    """SubtreeHashes over the subtrees captured while the leaves streamed by."""

    def __init__(self, hashes: dict[tuple[int, int], bytes]) -> None:
        self._hashes = hashes

    def subtree_hash(self, level: int, index: int) -> bytes:
        return self._hashes[(level, index)]


class _Recorder:
    def __init__(self) -> None:
        self.requested: set[tuple[int, int]] = set()

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.requested.add((level, index))
        return bytes(HASH_SIZE)


class _Reducer:
    """The checks that need the entries in order: chain, duplicates, sequences, the tree."""

    def __init__(self, report: LogVerification, earlier: Checkpoint | None) -> None:
        self._report = report
        self._earlier = earlier
        self.frontier = MerkleFrontier()
        self._previous_hash: bytes | None = None
        self._records: dict[str, int] = {}
        self._last_sequence = -1
        # Which subtrees a consistency proof from the earlier checkpoint needs
        # depends on the sizes alone: capture just those as the leaves go by.
        self._wanted: set[tuple[int, int]] = set()
        if earlier is not None and 0 < earlier.size < report.tree_size:
            recorder = _Recorder()
            consistency_proof(earlier.size, report.tree_size, recorder)
            self._wanted = recorder.requested
        self.captured: dict[tuple[int, int], bytes] = {}

    def add(self, facts: Facts) -> None:
        index = self.frontier.size
        hashed, previous, kind, record_id, sequence = facts
        if previous != self._previous_hash:
            # The link or the entry before it changed; the earlier of the two is named.
            stated = previous.hex() if previous else "nothing"
            actual = self._previous_hash.hex() if self._previous_hash else "nothing"
            _fail(
                "hash chain",
                f"entry {index} records the leaf hash of entry {index - 1} as {stated}, but "
                f"entry {index - 1} hashes to {actual}: one of them was changed",
                index - 1,
            )
        report = self._report
        if kind == "record":
            assert record_id is not None
            first = self._records.get(record_id)
            if first is not None:
                _fail(
                    "duplicate record",
                    f"record {record_id} was already logged as entry {first}",
                    index,
                )
            self._records[record_id] = index
            report.records += 1
        elif kind == "access":
            assert sequence is not None
            if sequence <= self._last_sequence:
                _fail(
                    "access sequence",
                    f"access event sequence {sequence} does not follow {self._last_sequence}: "
                    "events are logged in the order they were numbered",
                    index,
                )
            self._last_sequence = sequence
            report.access_events += 1
        else:
            report.rules_versions += 1
        for level, node, value in self.frontier.append(hashed):
            if (level, node) in self._wanted:
                self.captured[(level, node)] = value
        self._previous_hash = hashed
        earlier = self._earlier
        if (
            earlier is not None
            and self.frontier.size == earlier.size
            and self.frontier.root() != earlier.root_hash
        ):
            _fail(
                "previous checkpoint",
                f"the first {earlier.size} entries hash to {self.frontier.root().hex()}, not to "
                f"the previous checkpoint's root {earlier.root_hash.hex()}: history was "
                "rewritten",
                earlier.size - 1,
            )

    def finish(self) -> None:
        size, root = self._report.tree_size, self._report.root
        if self.frontier.size < size:
            _fail(
                "missing entries",
                f"the checkpoint commits to {size} entries but the export holds "
                f"{self.frontier.size}: entries {self.frontier.size}..{size - 1} are missing "
                "(the log was truncated)",
                self.frontier.size,
            )
        computed = self.frontier.root()
        if computed != root:
            _fail(
                "root",
                f"the {size} entries hash to {computed.hex()}, not to the checkpoint's root "
                f"{root.hex()}; every link of the hash chain holds, so the last entry changed, "
                "or entries were rewritten together with every later link",
                size - 1,
            )


# --------------------------------------------------------------------------- verify


def _open(
    note: bytes, log_key: NoteVerifier, witnesses: Sequence[NoteVerifier], what: str
) -> OpenedCheckpoint:
    try:
        opened = open_checkpoint(note, [log_key], witnesses)
    except (NoteError, CheckpointError) as exc:
        _fail(what, f"{exc}")
    if opened.checkpoint.origin != log_key.name:
        _fail(
            what,
            f"origin {opened.checkpoint.origin!r} is not the log key's name {log_key.name!r}",
        )
    return opened


def verify_export(
    folder: Path,
    *,
    log_key: NoteVerifier | None = None,
    previous: bytes | None = None,
    witnesses: Sequence[NoteVerifier] = (),
    min_witnesses: int = 0,
    progress: Progress | None = None,
    jobs: int = 1,
) -> LogVerification:
    """Run every check on the export in `folder`; raise LogVerificationError at the first failure.

    `log_key` pins the log's key (DIR/log.vkey must be it); `previous` is an
    earlier signed checkpoint of the same log; `witnesses` are cosignature/v1
    verifier keys of which at least `min_witnesses` must have cosigned. With
    `jobs` > 1, entries are examined in that many worker processes.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    try:
        return _verify(folder, log_key, previous, witnesses, min_witnesses, progress, jobs)
    except ExportError as exc:
        raise LogVerificationError("export layout", str(exc)) from exc


def _verify(
    folder: Path,
    pinned_key: NoteVerifier | None,
    previous: bytes | None,
    witnesses: Sequence[NoteVerifier],
    min_witnesses: int,
    progress: Progress | None,
    jobs: int,
) -> LogVerification:
    log_key = read_log_key(folder / LOG_KEY_FILE)
    if pinned_key is not None and pinned_key != log_key:
        _fail(
            "log key",
            f"{LOG_KEY_FILE} is {log_key.vkey}, not the log key given ({pinned_key.vkey})",
        )
    if min_witnesses > len(witnesses):
        _fail("witnesses", f"{min_witnesses} cosignatures required but {len(witnesses)} keys given")
    opened = _open(read_checkpoint(folder), log_key, witnesses, CHECKPOINT_FILE)
    checkpoint = opened.checkpoint
    size, root = checkpoint.size, checkpoint.root_hash
    report = LogVerification(checkpoint.origin, size, root, jobs=jobs)
    report.passed.append(f"checkpoint signed by {log_key.vkey}: {size} entries")
    report.cosigners = tuple(sorted({c.cosigner.name for c in opened.cosignatures}))
    if witnesses:
        if len(report.cosigners) < min_witnesses:
            _fail(
                "witnesses",
                f"{len(report.cosigners)} of the given witnesses cosigned the checkpoint "
                f"({', '.join(report.cosigners) or 'none'}); {min_witnesses} required",
            )
        report.passed.append(
            f"cosigned by {len(report.cosigners)} witness(es): {', '.join(report.cosigners)}"
        )
    earlier = None
    if previous is not None:
        earlier = _open(previous, log_key, (), "previous checkpoint").checkpoint
        report.previous_size = earlier.size
        if earlier.size > size:
            _fail(
                "truncation",
                f"the previous checkpoint has {earlier.size} entries but this one only {size}: "
                f"entries {size}..{earlier.size - 1} were removed from the log",
                size,
            )
        if earlier.size == 0 and earlier.root_hash != EMPTY_ROOT:
            _fail("previous checkpoint", "a checkpoint of 0 entries must have the empty root")

    trust = read_trust(folder)
    reducer = _Reducer(report, earlier)
    examined = (
        _examined_in_process(folder, _Examiner(trust, size))
        if jobs == 1
        else _examined_in_workers(folder, size, jobs)
    )
    # closing: stop the worker processes as soon as a failure ends the loop.
    with closing(examined):
        for facts, failure, cpu_s in examined:
            report.examine_cpu_s += cpu_s
            # In index order: the entries examined before a failure are reduced first.
            for item in facts:
                reducer.add(item)
            if failure is not None:
                raise LogVerificationError(*failure)
            if progress is not None:
                progress(len(facts))
    reducer.finish()
    report.passed.append(
        f"{size} entries in order, chained, and hashing to the checkpoint's root {root.hex()}"
    )
    report.passed.append(
        f"{report.records} record(s): DSSE signature verified, signer certificate chained to "
        "the named participant's CA at creation"
    )
    if earlier is not None:
        if 0 < earlier.size < size:
            try:
                proof = consistency_proof(earlier.size, size, _Subtrees(reducer.captured))
                verify_consistency(earlier.size, size, proof, earlier.root_hash, root)
            except (MerkleError, KeyError) as exc:
                _fail("consistency", f"from {earlier.size} to {size}: {exc}")
        # Equal sizes were compared root to root as the entries went by.
        report.passed.append(f"consistent with the previous checkpoint of {earlier.size} entries")
    anchors = ", ".join(
        f"{participant} {hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()[:16]}"
        for participant, certificate in trust.ca_certificates().items()
    )
    report.passed.append(f"trust anchors (CA SHA-256) from the export: {anchors}")
    crls = {
        participant: crl
        for participant in trust.participants
        if (crl := trust.for_identity(Identity(participant, "-", "-")).crl) is not None
    }
    revocation = ", ".join(
        f"{participant} (issued {crl.last_update_utc:%Y-%m-%d}, {len(crl)} revoked)"
        for participant, crl in crls.items()
    )
    report.passed.append(
        f"revocation lists from the export: {revocation}"
        if revocation
        else "no revocation lists in the export: signer revocation not checked"
    )
    return report
