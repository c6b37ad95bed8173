"""C2SP signed notes (c2sp.org/signed-note): text signed by one or more Ed25519 keys.

A signed note is the text (ending in a newline), a blank line, then one line
per signature: em dash U+2014, space, key name, space, base64(4-byte key ID ||
signature). Verifier keys are ``<name>+<hex key ID>+<base64(type || public key)>``;
signer keys are ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``.

Only Ed25519 note signatures (type 0x01) are verified here. Timestamped
cosignatures (type 0x04, c2sp.org/tlog-cosignature) sign a different message
and are verified by ``silkline.formats.checkpoint``; ``open_note`` keeps them,
like every line of an unknown key, as unverified lines.

Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

__all__ = [
    "MAX_SIGNATURES",
    "SIGNATURE_TYPE_COSIGNATURE_V1",
    "SIGNATURE_TYPE_ED25519",
    "InvalidKeyNameError",
    "InvalidNoteSignatureError",
    "InvalidNoteTextError",
    "KeyIdMismatchError",
    "MalformedKeyError",
    "MalformedNoteError",
    "NoteError",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "TooManySignaturesError",
    "UnsupportedKeyTypeError",
    "UnverifiedNoteError",
    "check_key_name",
    "compute_key_id",
    "encode_signer_key",
    "encode_verifier_key",
    "open_note",
    "parse_signature_line",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
]

SIGNATURE_TYPE_ED25519 = 0x01
"""Ed25519 note signatures over the note text (signed-note "Signature types")."""

SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04
"""Timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature)."""

MAX_SIGNATURES = 100
"""Signature lines accepted in one note. The spec asks for a limit of at least 16
(signed-note "Format"); 100 is the limit of the Go reference implementation."""

_KNOWN_SIGNATURE_TYPES = (SIGNATURE_TYPE_ED25519, SIGNATURE_TYPE_COSIGNATURE_V1)
_ED25519_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_KEY_ID_SIZE = 4
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space (signed-note "Format")
_SIGNER_KEY_PREFIX = "PRIVATE+KEY+"
_HEX_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")
# ASCII control characters other than newline are forbidden in notes (signed-note "Format").
_CONTROL_CHARACTER = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(ValueError):
    """Base class of the signed-note errors."""


class MalformedNoteError(NoteError):
    """The bytes are not a well-formed signed note."""


class TooManySignaturesError(MalformedNoteError):
    """The note has more signature lines than this verifier accepts."""


class InvalidNoteTextError(NoteError):
    """The text cannot be signed: it would not be a valid note text."""


class InvalidKeyNameError(NoteError):
    """A key name is empty or contains a space, a plus sign or a control character."""


class MalformedKeyError(NoteError):
    """A verifier or signer key string is not in the signed-note key format."""


class KeyIdMismatchError(MalformedKeyError):
    """A key string names a key ID that is not the ID of its key."""


class UnsupportedKeyTypeError(NoteError):
    """The key has a signature type this code does not verify in this place."""


class UnverifiedNoteError(NoteError):
    """No signature of the note is by a known key: the text must not be trusted."""

    def __init__(self, message: str, unverified_lines: tuple[NoteSignature, ...]) -> None:
        super().__init__(message)
        self.unverified_lines = unverified_lines


class InvalidNoteSignatureError(NoteError):
    """A signature line names a known key (name and key ID) but does not verify."""


def check_key_name(name: str) -> None:
    """Raise InvalidKeyNameError unless ``name`` is a valid key name.

    Key names MUST be non-empty and MUST NOT contain Unicode spaces or plus
    (signed-note "Format"); control characters can never occur in a note.
    """
    if not isinstance(name, str) or not name:
        raise InvalidKeyNameError("key name must be a non-empty string")
    if "+" in name:
        raise InvalidKeyNameError(f"key name {name!r} contains a plus sign (U+002B)")
    if any(character.isspace() for character in name):
        raise InvalidKeyNameError(f"key name {name!r} contains a space")
    if _CONTROL_CHARACTER.search(name):
        raise InvalidKeyNameError(f"key name {name!r} contains a control character")


def compute_key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], big-endian.

    The recommended derivation of signed-note "Signatures"; mandatory for
    Ed25519 note signatures and for cosignatures (tlog-cosignature "Format").
    """
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key
    ).digest()
    return int.from_bytes(digest[:_KEY_ID_SIZE], "big")


def _public_key_bytes(public_key: Ed25519PublicKey | bytes) -> bytes:
    if isinstance(public_key, Ed25519PublicKey):
        return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return bytes(public_key)


@dataclass(frozen=True)
class NoteVerifier:
    """A known public key: the key name, its key ID and the 32-byte Ed25519 key.

    ``signature_type`` is 0x01 for note signatures (the default) or 0x04 for
    tlog-cosignature/v1 cosigners. The key ID is derived, never taken on trust.
    """

    name: str
    key_id: int = field(init=False)
    public_key: bytes
    signature_type: int = SIGNATURE_TYPE_ED25519

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.signature_type not in _KNOWN_SIGNATURE_TYPES:
            raise UnsupportedKeyTypeError(
                f"signature type 0x{self.signature_type:02x} of key {self.name!r} is not "
                "supported; only Ed25519 (0x01) and cosignature/v1 (0x04)"
            )
        if not isinstance(self.public_key, bytes | bytearray):
            raise MalformedKeyError(
                f"public key of {self.name!r} must be the 32 raw bytes of an Ed25519 key"
            )
        public_key = bytes(self.public_key)
        if len(public_key) != _ED25519_PUBLIC_KEY_SIZE:
            raise MalformedKeyError(
                f"Ed25519 public key of {self.name!r} must be 32 bytes, got {len(public_key)}"
            )
        object.__setattr__(self, "public_key", public_key)
        object.__setattr__(
            self, "key_id", compute_key_id(self.name, self.signature_type, public_key)
        )

    def __repr__(self) -> str:
        return f"NoteVerifier({self.vkey!r})"

    @property
    def vkey(self) -> str:
        """This key as a verifier key string (``encode_verifier_key``)."""
        return encode_verifier_key(self.name, self.public_key, self.signature_type)

    def verify_signature(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature (RFC 8032) of ``message``."""
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, eq=False)
class NoteSigner:
    """A key name and its Ed25519 private key, for Ed25519 note signatures (type 0x01)."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if not isinstance(self.private_key, Ed25519PrivateKey):
            raise UnsupportedKeyTypeError(
                f"signer {self.name!r} needs an Ed25519 private key, "
                f"got {type(self.private_key).__name__}"
            )

    @cached_property
    def verifier(self) -> NoteVerifier:
        """The matching verifier (name, key ID, public key).

        Cached: a server signs a receipt per record, and deriving the key ID
        (a hash, and a check of the name) each time was a measurable share of it.
        """
        return NoteVerifier(self.name, _public_key_bytes(self.private_key.public_key()))

    @property
    def key_id(self) -> int:
        """The key ID of signed-note "Ed25519 signatures"."""
        return self.verifier.key_id

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature (RFC 8032) of ``message``."""
        return self.private_key.sign(message)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after the key ID."""

    name: str
    key_id: int
    signature: bytes

    def to_line(self) -> str:
        """The signature line, ``— <name> <base64(key ID || signature)>`` and a newline."""
        payload = self.key_id.to_bytes(_KEY_ID_SIZE, "big") + self.signature
        return f"{_SIGNATURE_PREFIX}{self.name} {base64.b64encode(payload).decode('ascii')}\n"


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures by known keys all verified.

    ``text`` is the signed text (with its final newline); ``verified`` the known
    keys that signed it; ``unverified_lines`` the signatures of keys not given
    to ``open_note`` (for example witness cosignatures), in note order.
    """

    text: str
    verified: tuple[NoteVerifier, ...]
    unverified_lines: tuple[NoteSignature, ...]


def _b64decode_strict(text: str) -> bytes:
    """Standard base64 with padding (RFC 4648 §4); raises ValueError otherwise."""
    return base64.b64decode(text.encode("ascii"), validate=True)


def encode_verifier_key(
    name: str,
    public_key: Ed25519PublicKey | bytes,
    signature_type: int = SIGNATURE_TYPE_ED25519,
) -> str:
    """``<name>+<hex key ID>+<base64(signature type || public key)>`` (a vkey)."""
    verifier = NoteVerifier(name, _public_key_bytes(public_key), signature_type)
    key = base64.b64encode(bytes([signature_type]) + verifier.public_key).decode("ascii")
    return f"{verifier.name}+{verifier.key_id:08x}+{key}"


def parse_verifier_key(text: str) -> NoteVerifier:
    """Parse a vkey, checking that the key ID it names is the ID of its key.

    Accepts Ed25519 (0x01) and cosignature/v1 (0x04) keys; raises
    MalformedKeyError, KeyIdMismatchError or UnsupportedKeyTypeError otherwise.
    """
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise MalformedKeyError(
            f"verifier key must be <name>+<hex key ID>+<base64 key>, got {text!r}"
        )
    name, hex_key_id, encoded_key = parts
    check_key_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_key_id):
        raise MalformedKeyError(f"key ID {hex_key_id!r} of {name!r} is not 8 hex digits")
    try:
        key = _b64decode_strict(encoded_key)
    except ValueError as exc:
        raise MalformedKeyError(f"key of {name!r} is not standard base64: {exc}") from exc
    if not key:
        raise MalformedKeyError(f"key of {name!r} is empty")
    signature_type, public_key = key[0], key[1:]
    verifier = NoteVerifier(name, public_key, signature_type)
    if verifier.key_id != int(hex_key_id, 16):
        raise KeyIdMismatchError(
            f"verifier key {name!r} names key ID {hex_key_id} but its key has ID "
            f"{verifier.key_id:08x}"
        )
    return verifier


def encode_signer_key(signer: NoteSigner) -> str:
    """``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte seed)>`` (an skey)."""
    seed = signer.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    key = base64.b64encode(bytes([SIGNATURE_TYPE_ED25519]) + seed).decode("ascii")
    return f"{_SIGNER_KEY_PREFIX}{signer.name}+{signer.key_id:08x}+{key}"


def parse_signer_key(text: str) -> NoteSigner:
    """Parse an Ed25519 skey, checking its key ID against the derived public key.

    Error messages never repeat the key material.
    """
    if not text.startswith(_SIGNER_KEY_PREFIX):
        raise MalformedKeyError(f"signer key must start with {_SIGNER_KEY_PREFIX!r}")
    parts = text[len(_SIGNER_KEY_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise MalformedKeyError("signer key must be PRIVATE+KEY+<name>+<hex key ID>+<base64 key>")
    name, hex_key_id, encoded_key = parts
    check_key_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_key_id):
        raise MalformedKeyError(f"key ID of signer key {name!r} is not 8 hex digits")
    try:
        key = _b64decode_strict(encoded_key)
    except ValueError as exc:
        raise MalformedKeyError(f"key of signer {name!r} is not standard base64") from exc
    if len(key) != 1 + 32:
        raise MalformedKeyError(
            f"key of signer {name!r} must be a type byte and a 32-byte seed, got {len(key)} bytes"
        )
    if key[0] != SIGNATURE_TYPE_ED25519:
        raise UnsupportedKeyTypeError(
            f"signer key {name!r} has type 0x{key[0]:02x}; only Ed25519 (0x01) signs notes"
        )
    signer = NoteSigner(name, Ed25519PrivateKey.from_private_bytes(key[1:]))
    if signer.key_id != int(hex_key_id, 16):
        raise KeyIdMismatchError(
            f"signer key {name!r} names key ID {hex_key_id} but its key has ID {signer.key_id:08x}"
        )
    return signer


def _check_note_characters(text: str, error: type[NoteError]) -> None:
    """Valid UTF-8 and no ASCII control characters but newline (signed-note "Format")."""
    match = _CONTROL_CHARACTER.search(text)
    if match:
        raise error(
            f"control character U+{ord(match.group()):04X} at offset {match.start()} "
            "is not allowed in a signed note"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(f"text is not encodable as UTF-8: {exc.reason}") from exc


def sign_note(text: str, signers: Iterable[NoteSigner]) -> bytes:
    """The signed note: ``text``, a blank line, one Ed25519 signature line per signer.

    ``text`` must be non-empty and end with a newline; it may contain blank
    lines, since the signatures start after the last one (signed-note "Format").
    """
    if not text.endswith("\n"):
        raise InvalidNoteTextError("note text must be non-empty and end with a newline")
    _check_note_characters(text, InvalidNoteTextError)
    signer_list = list(signers)
    if not signer_list:
        raise InvalidNoteTextError("a signed note needs at least one signer")
    if len(signer_list) > MAX_SIGNATURES:
        raise TooManySignaturesError(
            f"{len(signer_list)} signers; notes with more than {MAX_SIGNATURES} are refused"
        )
    seen: set[tuple[str, int]] = set()
    message = text.encode("utf-8")
    lines = []
    for signer in signer_list:
        identity = (signer.name, signer.key_id)
        if identity in seen:
            raise InvalidNoteTextError(
                f"key {signer.name!r} ({signer.key_id:08x}) is given twice as a signer"
            )
        seen.add(identity)
        lines.append(NoteSignature(signer.name, signer.key_id, signer.sign(message)).to_line())
    return (text + "\n" + "".join(lines)).encode("utf-8")


def parse_signature_line(line: str) -> NoteSignature:
    """Parse ``— <key name> <base64(key ID || signature)>`` (one trailing newline allowed).

    Raises MalformedNoteError when the line is not of that form (signed-note
    "Format"); the signature itself is not checked here.
    """
    if line.endswith("\n"):
        line = line[:-1]
    if "\n" in line:
        raise MalformedNoteError(f"signature line {line!r} spans several lines")
    if not line.startswith(_SIGNATURE_PREFIX):
        raise MalformedNoteError(
            f"signature line {line!r} does not start with an em dash (U+2014) and a space"
        )
    name, separator, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not separator or not encoded:
        raise MalformedNoteError(f"signature line {line!r} has no signature after the key name")
    try:
        check_key_name(name)
    except InvalidKeyNameError as exc:
        raise MalformedNoteError(f"signature line {line!r}: {exc}") from exc
    try:
        payload = _b64decode_strict(encoded)
    except ValueError as exc:
        raise MalformedNoteError(f"signature of {name!r} is not standard base64: {exc}") from exc
    if len(payload) <= _KEY_ID_SIZE:
        raise MalformedNoteError(
            f"signature of {name!r} has {len(payload)} bytes; a key ID and a signature are needed"
        )
    key_id = int.from_bytes(payload[:_KEY_ID_SIZE], "big")
    return NoteSignature(name, key_id, payload[_KEY_ID_SIZE:])


def open_note(note: bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parse a signed note and verify its signatures by the given Ed25519 keys.

    Per signed-note "Signatures": a line whose key name and key ID both match a
    known key MUST verify, else InvalidNoteSignatureError; lines of other keys
    are kept unverified; a note with no verified signature raises
    UnverifiedNoteError. Malformed notes raise MalformedNoteError.
    """
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        if verifier.signature_type != SIGNATURE_TYPE_ED25519:
            raise UnsupportedKeyTypeError(
                f"open_note verifies Ed25519 (0x01) note signatures; key {verifier.name!r} "
                f"has type 0x{verifier.signature_type:02x} (verify cosignature/v1 lines with "
                "silkline.formats.checkpoint.verify_cosignature)"
            )
        known[(verifier.name, verifier.key_id)] = verifier

    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNoteError(f"note is not valid UTF-8: {exc.reason}") from exc
    _check_note_characters(decoded, MalformedNoteError)

    # The text ends at the last blank line and includes its final newline
    # (signed-note "Format").
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line separating the text from signatures")
    text, signature_block = decoded[: split + 1], decoded[split + 2 :]
    if not signature_block:
        raise MalformedNoteError("note has no signature lines after its blank line")
    if not signature_block.endswith("\n"):
        raise MalformedNoteError("the last signature line of the note does not end with a newline")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise TooManySignaturesError(
            f"note has {len(lines)} signature lines; more than {MAX_SIGNATURES} are refused"
        )
    signatures = [parse_signature_line(line) for line in lines]

    message = text.encode("utf-8")
    verified: list[NoteVerifier] = []
    unverified: list[NoteSignature] = []
    for signature in signatures:
        signer = known.get((signature.name, signature.key_id))
        if signer is None:
            # Unknown keys are ignored, even if they share a name or an ID (but
            # not both) with a known key.
            unverified.append(signature)
            continue
        if not signer.verify_signature(message, signature.signature):
            raise InvalidNoteSignatureError(
                f"signature by known key {signature.name!r} ({signature.key_id:08x}) "
                "does not verify; the note is refused"
            )
        if signer not in verified:
            verified.append(signer)
    if not verified:
        names = ", ".join(f"{s.name} ({s.key_id:08x})" for s in unverified)
        raise UnverifiedNoteError(
            f"no signature of the note is by a known key; signed by: {names}",
            tuple(unverified),
        )
    return OpenedNote(text, tuple(verified), tuple(unverified))
