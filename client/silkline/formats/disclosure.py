"""Selective disclosure of JSON payload fields with RFC 9901 (SD-JWT) salted digests.

The payload is a JSON object, not a JWT: concealed properties are replaced by
digests in `_sd` arrays (RFC 9901 §4.2.4.1), array elements by `{"...": digest}`
(§4.2.4.2), and `reveal` processes disclosures exactly as §7.1 prescribes.
Pure functions: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from silkline.formats.strict_json import StrictJSONError, loads_strict

__all__ = [
    "SD_ALG",
    "ClaimNameCollisionError",
    "Disclosure",
    "DisclosureError",
    "DuplicateDigestError",
    "MalformedDisclosureError",
    "ReservedClaimNameError",
    "Revealed",
    "RevealedClaim",
    "UnconcealablePathError",
    "UnreferencedDisclosureError",
    "UnsupportedHashAlgorithmError",
    "conceal",
    "digest_of",
    "new_disclosure",
    "parse_disclosure",
    "reveal",
]

SD_ALG = "sha-256"
"""The only digest algorithm silkline issues and accepts (RFC 9901 §4.1.1; IANA hash name)."""

_SD = "_sd"
_SD_ALG = "_sd_alg"
_ELLIPSIS = "..."
# RFC 9901 §4.2.1: a disclosed claim may not be named `_sd` or `...`; and
# `_sd_alg` belongs in clear at the top level only (§4.1.1), never in a disclosure.
_RESERVED_NAMES = frozenset({_SD, _SD_ALG, _ELLIPSIS})
_SALT_BYTES = 16  # 128 bits, the minimum RFC 9901 §9.3 recommends.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class DisclosureError(ValueError):
    """Base class of every selective-disclosure failure in this module."""


class MalformedDisclosureError(DisclosureError):
    """A disclosure, or the digest structure of a payload, is not well formed."""


class UnreferencedDisclosureError(DisclosureError):
    """A disclosure's digest appears nowhere in the payload or in other disclosures."""


class DuplicateDigestError(DisclosureError):
    """A digest appears more than once, or two disclosures have the same digest."""


class ReservedClaimNameError(DisclosureError):
    """A claim uses a name reserved by RFC 9901 for digest syntax: `_sd`, `...`, `_sd_alg`."""


class ClaimNameCollisionError(DisclosureError):
    """A disclosed claim name is already present at the level of its `_sd` array."""


class UnsupportedHashAlgorithmError(DisclosureError):
    """The payload's `_sd_alg` is not sha-256."""


class UnconcealablePathError(DisclosureError):
    """A path to conceal is empty or runs through something that is not an object."""


@dataclass(frozen=True)
class Disclosure:
    """One disclosure: the base64url string as transmitted and the claim it carries.

    `name` is None for an array-element disclosure (RFC 9901 §4.2.2).
    """

    encoded: str
    salt: str
    name: str | None
    value: Any

    @property
    def digest(self) -> str:
        """base64url-no-pad SHA-256 of the ASCII bytes of `encoded` (RFC 9901 §4.2.3)."""
        return digest_of(self.encoded)


@dataclass(frozen=True)
class RevealedClaim:
    """Where a disclosure was inserted: an RFC 6901 JSON pointer into the revealed payload."""

    pointer: str
    disclosure: Disclosure


@dataclass(frozen=True)
class Revealed:
    """A processed payload (no `_sd`, `_sd_alg` or `...` left) and what each disclosure filled."""

    payload: dict[str, Any]
    revealed: tuple[RevealedClaim, ...]


def digest_of(encoded: str) -> str:
    """The digest of a disclosure string, over its US-ASCII bytes exactly (RFC 9901 §4.2.3)."""
    try:
        ascii_bytes = encoded.encode("ascii")
    except UnicodeEncodeError as exc:
        raise MalformedDisclosureError(
            "a disclosure is a base64url string; this one has non-ASCII characters"
        ) from exc
    return _base64url(hashlib.sha256(ascii_bytes).digest())


def parse_disclosure(encoded: str) -> Disclosure:
    """Decode a disclosure strictly (RFC 9901 §4.2.1, §4.2.2, §7.1).

    It must be canonical unpadded base64url of UTF-8 JSON: an array of three
    elements `[salt, name, value]` (object property) or two `[salt, value]`
    (array element), with string salt and name, and a name other than `_sd`,
    `...` and `_sd_alg`.
    """
    if not isinstance(encoded, str) or not _BASE64URL.fullmatch(encoded):
        raise MalformedDisclosureError(
            "a disclosure must be a non-empty base64url string without padding "
            f"(A-Z a-z 0-9 - _), got {_preview(encoded)}"
        )
    if len(encoded) % 4 == 1:
        raise MalformedDisclosureError(f"disclosure {_preview(encoded)} has an impossible length")
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except binascii.Error as exc:
        raise MalformedDisclosureError(f"disclosure is not base64url: {exc}") from exc
    if _base64url(raw) != encoded:
        raise MalformedDisclosureError(
            f"disclosure {_preview(encoded)} is not canonical base64url "
            "(its last character carries non-zero unused bits)"
        )
    try:
        content = loads_strict(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedDisclosureError(f"disclosure is not UTF-8: {exc}") from exc
    except StrictJSONError as exc:
        raise MalformedDisclosureError(f"disclosure JSON {exc}") from exc

    if not isinstance(content, list) or len(content) not in (2, 3):
        raise MalformedDisclosureError(
            "a disclosure must be a JSON array [salt, name, value] or [salt, value], "
            f"got {_describe(content)}"
        )
    salt = content[0]
    if not isinstance(salt, str):
        raise MalformedDisclosureError(f"disclosure salt must be a string, got {_describe(salt)}")
    if len(content) == 2:
        return Disclosure(encoded=encoded, salt=salt, name=None, value=content[1])
    name = content[1]
    if not isinstance(name, str):
        raise MalformedDisclosureError(
            f"disclosure claim name must be a string, got {_describe(name)}"
        )
    if name in _RESERVED_NAMES:
        raise ReservedClaimNameError(
            f"a disclosure may not carry the claim name {name!r} (RFC 9901 §4.1.1, §7.1)"
        )
    return Disclosure(encoded=encoded, salt=salt, name=name, value=content[2])


def new_disclosure(name: str, value: Any, *, salt: str | None = None) -> Disclosure:
    """Create an object-property disclosure for `name: value` (RFC 9901 §4.2.1).

    The salt defaults to base64url of 16 bytes from `secrets` (128 bits, §9.3).
    The digest covers the encoded string as produced here; any encoding is valid.
    """
    if name in _RESERVED_NAMES:
        raise ReservedClaimNameError(f"the claim name {name!r} is reserved by RFC 9901")
    if salt is None:
        salt = _base64url(secrets.token_bytes(_SALT_BYTES))
    try:
        text = json.dumps(
            [salt, name, value], ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        encoded = _base64url(text.encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise MalformedDisclosureError(
            f"the value of {name!r} is not JSON-serialisable: {exc}"
        ) from exc
    return Disclosure(encoded=encoded, salt=salt, name=name, value=copy.deepcopy(value))


def conceal(
    obj: dict[str, Any],
    paths: Iterable[tuple[str, ...]],
    *,
    salt_for: Callable[[tuple[str, ...]], str] | None = None,
) -> tuple[dict[str, Any], list[Disclosure]]:
    """Replace the object properties at `paths` by digests; return the new payload and disclosures.

    Each path is a tuple of keys from the root, e.g. ("body", "suspects"); an
    absent property is skipped. The concealed property's digest goes into the
    `_sd` array of the object that held it, sorted so the order hides the
    original one (RFC 9901 §4.2.4.1), and `"_sd_alg": "sha-256"` is set at the
    root (§4.1.1). A path may lie inside another path: the inner property is
    concealed first, so its digest travels inside the outer disclosure
    (recursive disclosure, §4.2.6). `obj` is not modified. Disclosures are
    returned in the order of `paths`.

    `salt_for(path)` gives each disclosure's salt instead of `secrets`; it must
    be as unpredictable to readers as a random salt (RFC 9901 §9.3), e.g. a
    keyed PRF of the record and the path (see `silkline.feeds.identity`).
    """
    _refuse_reserved_structure(obj, ())
    concealed = copy.deepcopy(obj)
    ordered = list(dict.fromkeys(tuple(path) for path in paths))
    for path in ordered:
        if not path:
            raise UnconcealablePathError("cannot conceal the root: give a path of at least one key")
        reserved = [name for name in path if name in _RESERVED_NAMES]
        if reserved:
            raise ReservedClaimNameError(
                f"cannot conceal {_pointer(path)!r}: {reserved[0]!r} is reserved by RFC 9901"
            )

    made: dict[tuple[str, ...], Disclosure] = {}
    # Deepest first, so an outer disclosure carries the digests of the inner ones.
    for path in sorted(ordered, key=len, reverse=True):
        parent = _object_at(concealed, path)
        if parent is None or path[-1] not in parent:
            continue
        salt = salt_for(path) if salt_for is not None else None
        disclosure = new_disclosure(path[-1], parent.pop(path[-1]), salt=salt)
        parent[_SD] = sorted([*parent.get(_SD, []), disclosure.digest])
        made[path] = disclosure
    concealed[_SD_ALG] = SD_ALG
    return concealed, [made[path] for path in ordered if path in made]


def reveal(concealed: dict[str, Any], disclosures: Iterable[str]) -> Revealed:
    """Insert the given disclosures into a concealed payload, strictly per RFC 9901 §7.1.

    Digests without a disclosure are withheld: the claim or array element is
    left out. Refuses an `_sd_alg` other than sha-256, malformed disclosures or
    digest structures, a disclosure referenced nowhere, a digest referenced
    twice, a reserved claim name, and a disclosed name already present at its
    level. `concealed` is not modified.
    """
    algorithm = concealed.get(_SD_ALG, SD_ALG)  # RFC 9901 §4.1.1: absent means sha-256.
    if algorithm != SD_ALG:
        raise UnsupportedHashAlgorithmError(
            f"_sd_alg is {algorithm!r}; only {SD_ALG!r} is supported"
        )
    if isinstance(disclosures, str):
        raise TypeError("disclosures must be an iterable of disclosure strings, not one string")
    by_digest: dict[str, Disclosure] = {}
    for encoded in disclosures:
        disclosure = parse_disclosure(encoded)
        if disclosure.digest in by_digest:
            raise DuplicateDigestError(
                f"disclosure {_preview(encoded)} is given twice (digest {disclosure.digest})"
            )
        by_digest[disclosure.digest] = disclosure

    walk = _Reveal(by_digest)
    try:
        payload = walk.process_object({k: v for k, v in concealed.items() if k != _SD_ALG}, "")
    except RecursionError as exc:
        raise MalformedDisclosureError("payload or disclosures are nested too deeply") from exc
    unreferenced = [d for digest, d in by_digest.items() if digest not in walk.seen]
    if unreferenced:
        # RFC 9901 §7.1 step 5: a disclosure must be referenced by the signed payload.
        listed = ", ".join(f"{_preview(d.encoded)} (digest {d.digest})" for d in unreferenced)
        raise UnreferencedDisclosureError(
            f"{len(unreferenced)} disclosure(s) match no digest in the payload: {listed}"
        )
    return Revealed(payload=payload, revealed=tuple(walk.revealed))


class _Reveal:
    """One pass over a concealed payload, RFC 9901 §7.1 step 3 (*) and (**)."""

    def __init__(self, by_digest: dict[str, Disclosure]) -> None:
        self.by_digest = by_digest
        self.seen: set[str] = set()
        self.revealed: list[RevealedClaim] = []

    def process(self, value: Any, pointer: str) -> Any:
        if isinstance(value, dict):
            return self.process_object(value, pointer)
        if isinstance(value, list):
            return self.process_array(value, pointer)
        return value

    def process_object(self, obj: dict[str, Any], pointer: str) -> dict[str, Any]:
        # `process` returns fresh containers, so neither the payload nor a
        # Disclosure's value is ever shared with or changed by the result.
        if _SD_ALG in obj:
            # The root's `_sd_alg` was read and dropped by `reveal` before the walk.
            raise MalformedDisclosureError(
                f"{pointer}/{_SD_ALG}: _sd_alg may appear only at the top level (RFC 9901 §4.1.1)"
            )
        result = {
            name: self.process(value, f"{pointer}/{_escape(name)}")
            for name, value in obj.items()
            if name != _SD
        }
        if _SD not in obj:
            return result
        digests = obj[_SD]
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            raise MalformedDisclosureError(
                f"{pointer or '/'}: _sd must be an array of digest strings (RFC 9901 §4.2.4.1)"
            )
        for digest in digests:
            disclosure = self.claim(digest, pointer)
            if disclosure is None:
                continue
            if disclosure.name is None:
                raise MalformedDisclosureError(
                    f"{pointer or '/'}: digest {digest} in _sd refers to an array-element "
                    "disclosure [salt, value]; an object property needs [salt, name, value]"
                )
            if disclosure.name in result:
                raise ClaimNameCollisionError(
                    f"{pointer or '/'}: disclosed claim {disclosure.name!r} is already present "
                    "at this level (RFC 9901 §7.1)"
                )
            where = f"{pointer}/{_escape(disclosure.name)}"
            self.revealed.append(RevealedClaim(pointer=where, disclosure=disclosure))
            result[disclosure.name] = self.process(disclosure.value, where)
        return result

    def process_array(self, array: list[Any], pointer: str) -> list[Any]:
        result: list[Any] = []
        for element in array:
            if not (isinstance(element, dict) and _ELLIPSIS in element):
                result.append(self.process(element, f"{pointer}/{len(result)}"))
                continue
            digest = element[_ELLIPSIS]
            if len(element) != 1 or not isinstance(digest, str):
                raise MalformedDisclosureError(
                    f"{pointer}/{len(result)}: an array element digest must be "
                    '{"...": "<digest>"} with no other key (RFC 9901 §4.2.4.2)'
                )
            disclosure = self.claim(digest, pointer)
            if disclosure is None:
                continue  # Withheld: RFC 9901 §7.1 removes the element.
            if disclosure.name is not None:
                raise MalformedDisclosureError(
                    f"{pointer}/{len(result)}: digest {digest} marks an array element but its "
                    f"disclosure is the object property {disclosure.name!r}; an array element "
                    "needs [salt, value]"
                )
            where = f"{pointer}/{len(result)}"
            self.revealed.append(RevealedClaim(pointer=where, disclosure=disclosure))
            result.append(self.process(disclosure.value, where))
        return result

    def claim(self, digest: str, pointer: str) -> Disclosure | None:
        """The disclosure for `digest`, if given; each digest may occur only once."""
        if digest in self.seen:
            # RFC 9901 §7.1 step 4, decoys included: a repeated digest is refused.
            raise DuplicateDigestError(
                f"{pointer or '/'}: digest {digest} appears more than once in the payload"
            )
        self.seen.add(digest)
        return self.by_digest.get(digest)


def _object_at(root: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    """The object that holds the last key of `path`, or None if an object on the way is absent."""
    current = root
    for depth, key in enumerate(path[:-1]):
        if key not in current:
            return None
        child = current[key]
        if not isinstance(child, dict):
            raise UnconcealablePathError(
                f"cannot conceal {_pointer(path)!r}: {_pointer(path[: depth + 1])!r} is "
                f"{_describe(child)}, not an object; conceal it whole instead"
            )
        current = child
    return current


def _refuse_reserved_structure(value: Any, path: tuple[str, ...]) -> None:
    """Refuse input that `reveal` would misread as digest structure (RFC 9901 §4.2.4)."""
    if isinstance(value, dict):
        for name, child in value.items():
            if name in (_SD, _SD_ALG):
                raise ReservedClaimNameError(
                    f"{_pointer((*path, name))!r}: the name {name!r} is reserved by RFC 9901 "
                    "and may not appear in a payload to conceal"
                )
            _refuse_reserved_structure(child, (*path, name))
    elif isinstance(value, list):
        for index, element in enumerate(value):
            if isinstance(element, dict) and _ELLIPSIS in element:
                raise ReservedClaimNameError(
                    f"{_pointer((*path, str(index)))!r}: an array element object with the key "
                    "'...' would be read as a concealed element (RFC 9901 §4.2.4.2)"
                )
            _refuse_reserved_structure(element, (*path, str(index)))


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _escape(name: str) -> str:
    """One RFC 6901 reference token: `~` -> `~0`, `/` -> `~1`."""
    return name.replace("~", "~0").replace("/", "~1")


def _pointer(path: tuple[str, ...]) -> str:
    return "".join(f"/{_escape(name)}" for name in path)


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:36]}..."


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return "an object"
