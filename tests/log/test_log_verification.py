"""Offline verification of an export (silkline.log_verification), on logs built here.

Each kind of tampering is applied to a copy of a valid export and must be
refused with the first bad entry named.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline import log_verification
from silkline.formats.checkpoint import cosign, cosigner_verifier
from silkline.formats.log_entry import RecordEntry, parse_entry
from silkline.formats.note import NoteSignature, NoteVerifier, parse_signature_line
from silkline.log_export import CHECKPOINT_FILE, LOG_KEY_FILE, TRUST_DIR
from silkline.log_verification import LogVerificationError, verify_export

from ..conftest import EXAMPLE
from .builders import (
    ACCEPTED,
    LogBuilder,
    entry_lines,
    export_of,
    leaf_of,
    line_of,
    log_signer,
    other_key,
    rewrite_lines,
    sample_log,
)


@pytest.fixture(scope="module")
def log() -> LogBuilder:
    return sample_log()


@pytest.fixture(scope="module")
def pristine(log: LogBuilder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_of(tmp_path_factory.mktemp("pristine") / "export", log)


@pytest.fixture
def export(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the valid export, for one test to tamper with."""
    return Path(shutil.copytree(pristine, tmp_path / "export"))


def refusal(folder: Path, **options: object) -> LogVerificationError:
    with pytest.raises(LogVerificationError) as caught:
        verify_export(folder, **options)  # type: ignore[arg-type]
    return caught.value


def test_a_valid_export_verifies(export: Path, log: LogBuilder) -> None:
    report = verify_export(export)

    assert (report.origin, report.tree_size, report.root) == (
        "silkline.example/log",
        8,
        log.frontier.root(),
    )
    assert (report.records, report.access_events, report.rules_versions) == (5, 2, 1)


def test_the_export_layout_is_exactly_four_things(export: Path) -> None:
    assert sorted(p.name for p in export.iterdir()) == [
        CHECKPOINT_FILE,
        "entries.jsonl",
        LOG_KEY_FILE,
        TRUST_DIR,
    ]
    assert json.loads(entry_lines(export)[0]).keys() == {"index", "leaf"}


def test_one_byte_of_a_record_envelope_changed_names_the_entry(export: Path) -> None:
    lines = entry_lines(export)
    leaf = bytearray(leaf_of(lines[4]))
    # A byte inside the base64 of the envelope (a byte of the signed payload).
    position = leaf.index(b'"envelope":"') + 200
    leaf[position] = ord("A") if leaf[position] != ord("A") else ord("B")
    lines[4] = line_of(4, bytes(leaf))
    rewrite_lines(export, lines)

    error = refusal(export)
    assert error.index == 4
    assert error.check in {"record envelope", "record signature"}


def test_one_byte_of_an_unsigned_access_entry_changed_is_named_by_the_chain(
    export: Path,
) -> None:
    lines = entry_lines(export)
    lines[3] = line_of(3, leaf_of(lines[3]).replace(b'"KZ"', b'"KG"'))
    rewrite_lines(export, lines)

    error = refusal(export)
    assert (error.index, error.check) == (3, "hash chain")


def test_the_last_entry_changed_is_named_by_the_root(export: Path) -> None:
    lines = entry_lines(export)
    # The acceptance time is not signed by the agency; only the tree commits to it.
    document = json.loads(leaf_of(lines[7]))
    document["accepted_at"] = (ACCEPTED + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    changed = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    rewrite_lines(export, [*lines[:7], line_of(7, changed)])

    error = refusal(export)
    assert (error.index, error.check) == (7, "root")


def test_an_entry_deleted_names_it(export: Path) -> None:
    lines = entry_lines(export)
    rewrite_lines(export, lines[:5] + lines[6:])

    error = refusal(export)
    assert (error.index, error.check) == (5, "missing entry")


def test_an_entry_deleted_and_the_rest_renumbered_names_it(export: Path) -> None:
    lines = entry_lines(export)
    renumbered = [line_of(i, leaf_of(line)) for i, line in enumerate(lines[:2] + lines[3:])]
    rewrite_lines(export, renumbered)

    error = refusal(export)
    assert (error.index, error.check) == (2, "entry position")


def test_two_entries_swapped_names_the_first(export: Path) -> None:
    lines = entry_lines(export)
    swapped = list(lines)
    swapped[2], swapped[6] = line_of(2, leaf_of(lines[6])), line_of(6, leaf_of(lines[2]))
    rewrite_lines(export, swapped)

    error = refusal(export)
    assert (error.index, error.check) == (2, "entry position")


def test_the_log_truncated_names_the_first_missing_entry(export: Path) -> None:
    rewrite_lines(export, entry_lines(export)[:5])

    error = refusal(export)
    assert (error.index, error.check) == (5, "missing entries")


def test_a_truncated_log_with_a_matching_checkpoint_is_caught_by_the_previous_one(
    log: LogBuilder, tmp_path: Path
) -> None:
    earlier = log.checkpoint()
    shorter = LogBuilder.of(log.leaves[:5])
    folder = export_of(tmp_path / "export", shorter)
    assert verify_export(folder).tree_size == 5

    error = refusal(folder, previous=earlier)
    assert (error.index, error.check) == (5, "truncation")


def test_a_line_added_beyond_the_checkpoint_names_it(export: Path, log: LogBuilder) -> None:
    extra = LogBuilder.of(log.leaves)
    extra.access(3)
    rewrite_lines(export, [*entry_lines(export), line_of(8, extra.leaves[8])])

    error = refusal(export)
    assert (error.index, error.check) == (8, "entry beyond the checkpoint")


def test_a_record_replayed_into_the_log_is_named_even_under_a_signed_checkpoint(
    log: LogBuilder, tmp_path: Path
) -> None:
    replayed = LogBuilder.of(log.leaves)
    first = parse_entry(log.leaves[1])
    assert isinstance(first, RecordEntry)
    replayed.record_leaf(first.record_id, first.envelope, first.signer_certificate)
    folder = export_of(tmp_path / "export", replayed)

    error = refusal(folder)
    assert (error.index, error.check) == (8, "duplicate record")
    assert "already logged as entry 1" in error.reason


def test_a_record_signed_by_another_participants_agency_is_refused(tmp_path: Path) -> None:
    forged = LogBuilder()
    forged.rules()
    forged.record("IN", "ncb", signer_of=("KZ", "mvd"))

    error = refusal(export_of(tmp_path / "export", forged))
    assert (error.index, error.check) == (1, "record signature")
    assert "IN/NCB" in error.reason


def test_a_record_signed_with_a_revoked_certificate_is_refused_by_the_exported_crl(
    tmp_path: Path,
) -> None:
    revoked = LogBuilder()
    revoked.rules()
    revoked.record("IN", "ncb", signer_of=("IN", "revoked"))
    folder = export_of(tmp_path / "export", revoked)

    error = refusal(folder)
    assert (error.index, error.check) == (1, "record signature")
    assert "revoked by IN's CRL" in error.reason
    # The export's CRL is what refuses it: without it the signature alone verifies.
    (folder / TRUST_DIR / "IN.crl").unlink()
    report = verify_export(folder)
    assert report.passed[-1].startswith("revocation lists from the export: CARICC")
    assert "IN (" not in report.passed[-1]


def in_crl_revoking(serial: int, at: datetime) -> bytes:
    """A CRL of IN's example CA revoking one certificate at `at`."""
    ca = x509.load_pem_x509_certificate((EXAMPLE / "IN" / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((EXAMPLE / "IN" / "ca.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(at)
        .next_update(at + timedelta(days=7))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build()
        )
        .sign(key, hashes.SHA256())
    )
    return crl.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    ("revoked_after", "refused"),
    [(timedelta(minutes=30), True), (timedelta(hours=2), False)],
    ids=["revoked-before-acceptance", "revoked-after-acceptance"],
)
def test_a_signer_revoked_between_creation_and_acceptance_is_refused(
    tmp_path: Path, revoked_after: timedelta, refused: bool
) -> None:
    """Admission would have refused it then; a log holding it was not written by admission."""
    created = datetime.now(UTC)
    late = LogBuilder()
    late.record("IN", "ncb", accepted_at=created + timedelta(hours=1))
    folder = export_of(tmp_path / "export", late)
    entry = parse_entry(late.leaves[0])
    assert isinstance(entry, RecordEntry)
    serial = x509.load_der_x509_certificate(entry.signer_certificate).serial_number
    (folder / TRUST_DIR / "IN.crl").write_bytes(in_crl_revoking(serial, created + revoked_after))

    if refused:
        error = refusal(folder)
        assert (error.index, error.check) == (0, "signer revoked")
        assert "accepted at" in error.reason
    else:
        assert verify_export(folder).records == 1


def test_a_revocation_list_not_signed_by_the_participants_ca_is_refused(export: Path) -> None:
    (export / TRUST_DIR / "IN.crl").write_bytes((EXAMPLE / "KZ" / "crl.pem").read_bytes())
    error = refusal(export)
    assert error.check == "export layout"
    assert "CRL is not signed by the CA" in error.reason


def test_a_record_created_after_it_was_accepted_is_refused(tmp_path: Path) -> None:
    early = LogBuilder()
    early.record("IN", "ncb", accepted_at=ACCEPTED - timedelta(hours=1))

    error = refusal(export_of(tmp_path / "export", early))
    assert (error.index, error.check) == (0, "record time")


def test_access_events_logged_out_of_sequence_order_are_refused(tmp_path: Path) -> None:
    shuffled = LogBuilder()
    shuffled.access(5)
    shuffled.access(4)

    error = refusal(export_of(tmp_path / "export", shuffled))
    assert (error.index, error.check) == (1, "access sequence")


def test_a_checkpoint_not_signed_by_the_log_key_is_refused(log: LogBuilder, tmp_path: Path) -> None:
    folder = export_of(tmp_path / "export", log, log.checkpoint(signer=other_key()))

    error = refusal(folder)
    assert (error.index, error.check) == (None, CHECKPOINT_FILE)


def test_a_log_key_other_than_the_pinned_one_is_refused(export: Path) -> None:
    other = other_key().verifier
    (export / LOG_KEY_FILE).write_text(other.vkey + "\n")

    assert refusal(export).check == CHECKPOINT_FILE
    assert refusal(export, log_key=log_signer().verifier).check == "log key"


def test_consistency_with_an_earlier_checkpoint_is_checked(export: Path, log: LogBuilder) -> None:
    for size in (1, 3, 4, 7, 8):
        report = verify_export(export, previous=log.checkpoint(size))
        assert report.previous_size == size


def test_an_earlier_checkpoint_of_another_history_is_refused(export: Path, log: LogBuilder) -> None:
    fork = LogBuilder.of(log.leaves[:2])
    fork.access(9)
    fork.record("TJ", "dca")

    error = refusal(export, previous=fork.checkpoint())
    assert (error.index, error.check) == (3, "previous checkpoint")


def _witness(name: str) -> tuple[Ed25519PrivateKey, NoteVerifier]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    return key, cosigner_verifier(name, public)


def test_cosignatures_of_given_witnesses_are_counted(export: Path, log: LogBuilder) -> None:
    uz_key, uz = _witness("witness.uz")
    kz_key, kz = _witness("witness.kz")
    note = log.checkpoint()
    text = note.decode().split("\n\n")[0] + "\n"
    cosigned = note + cosign(text, "witness.uz", uz_key, 1_767_000_000).encode()
    (export / CHECKPOINT_FILE).write_bytes(cosigned)

    report = verify_export(export, witnesses=[uz, kz], min_witnesses=1)
    assert report.cosigners == ("witness.uz",)
    error = refusal(export, witnesses=[uz, kz], min_witnesses=2)
    assert error.check == "witnesses"
    assert "1 of the given witnesses cosigned" in error.reason
    # A cosignature line by a given witness (name and key ID) that does not verify
    # refuses the checkpoint: here one bit of its signature was flipped.
    line = parse_signature_line(cosign(text, "witness.kz", kz_key, 1_767_000_000))
    altered = NoteSignature(
        line.name, line.key_id, line.signature[:-1] + bytes([line.signature[-1] ^ 1])
    )
    (export / CHECKPOINT_FILE).write_bytes(note + altered.to_line().encode())
    assert refusal(export, witnesses=[kz], min_witnesses=1).check == CHECKPOINT_FILE


def test_an_empty_log_verifies(tmp_path: Path) -> None:
    empty = LogBuilder()
    report = verify_export(export_of(tmp_path / "export", empty))
    assert report.tree_size == 0


def test_a_malformed_entries_line_is_refused_with_its_line_number(export: Path) -> None:
    lines = entry_lines(export)
    lines[2] = '{"index": 2}\n'
    rewrite_lines(export, lines)

    error = refusal(export)
    assert error.check == "export layout"
    assert "line 3" in error.reason


def test_an_access_leaf_is_its_own_format_not_a_record(log: LogBuilder) -> None:
    # Guard for the tests above: index 3 and 5 are access events, the rest records or rules.
    kinds = [type(parse_entry(leaf)).__name__ for leaf in log.leaves]
    assert kinds == [
        "RulesEntry",
        "RecordEntry",
        "RecordEntry",
        "AccessEntry",
        "RecordEntry",
        "AccessEntry",
        "RecordEntry",
        "RecordEntry",
    ]


def test_worker_processes_check_records_and_the_first_failure_still_wins(
    export: Path, log: LogBuilder
) -> None:
    assert verify_export(export, jobs=2).records == 5
    # A record made invalid early, and the log truncated later: the record is named.
    lines = entry_lines(export)
    leaf = leaf_of(lines[2])
    document = json.loads(leaf)
    document["signer_certificate"] = json.loads(log.leaves[1])["signer_certificate"]
    forged = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    rewrite_lines(export, [*lines[:2], line_of(2, forged), *lines[3:6]])

    for jobs in (1, 2):
        error = refusal(export, jobs=jobs)
        assert (error.index, error.check) == (2, "record signature")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda lines: lines[:5] + lines[6:],  # an entry deleted
        lambda lines: [*lines, lines[0]],  # a line beyond the checkpoint
        lambda lines: [  # an unsigned entry changed
            *lines[:3],
            line_of(3, leaf_of(lines[3]).replace(b'"KZ"', b'"KG"')),
            *lines[4:],
        ],
        lambda lines: lines[:6],  # truncated
    ],
)
def test_workers_on_small_batches_name_the_same_entry_as_one_process(
    export: Path, tamper: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    rewrite_lines(export, tamper(entry_lines(export)))  # type: ignore[operator]
    alone = refusal(export)
    # Two entries per batch: failures must still come out in index order across workers.
    monkeypatch.setattr(log_verification, "BATCH", 2)
    parallel = refusal(export, jobs=2)
    assert (parallel.index, parallel.check) == (alone.index, alone.check)
