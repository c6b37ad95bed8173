"""What goes into the access log and what comes out of it: plain frozen values.

Every read, delivery and denial becomes one `NewAccessEvent`; every rules file
that comes into force is one rules version, named by its SHA-256. Each is
also an entry of the tamper-evident log, so construction refuses anything an
independent verifier could read two ways.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from silkline_server.store.records import require_aware_utc

ACCESS_ACTIONS: Final = ("get", "list", "deliver", "export", "indicators")
"""The read path an event came from: Get, List, Subscribe delivery, export, indicators."""

ACCESS_VIEWS: Final = ("full", "metadata", "none")
"""What the reader was shown: the record with its allowed disclosures, headers only, nothing."""

# Records' ids are String(36); SQLite would keep a longer id that PostgreSQL refuses.
RECORD_ID_MAX_LENGTH: Final = 36

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")


def require_sha256_hex(value: str, name: str) -> str:
    """Return `value` if it is a SHA-256 digest in lower-case hex; refuse anything else."""
    if not _SHA256_HEX.fullmatch(value):
        raise ValueError(f"{name} must be 64 lower-case hex digits (a SHA-256), got {value!r}")
    return value


def split_classes(classes: str, name: str = "classes") -> tuple[str, ...]:
    """The field-class names in a comma-separated list; "" is no class at all.

    Refuses an empty name (",," or a trailing comma), surrounding spaces and a
    name given twice, so that one set of classes has one spelling per order.
    """
    names = tuple(classes.split(",")) if classes else ()
    for field_class in names:
        if not field_class or field_class != field_class.strip():
            raise ValueError(
                f"{name} must be field-class names joined by commas, without spaces, "
                f"e.g. 'personal_data,vessel' (or '' for none); got {classes!r}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"{name} names a field class more than once: {classes!r}")
    return names


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins; a logged event must read one way only.
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate key(s) {', '.join(map(repr, duplicates))}")
    return dict(pairs)


def check_reasons(reasons: str) -> str:
    """Return `reasons` unchanged if it is a non-empty JSON array of {"cite", "text"} objects.

    The text is stored exactly as given, so the bytes the log hashes are the
    bytes the evaluator wrote; this only refuses what is not that shape.
    """
    example = '[{"cite": "agreements.in-uz-2018", "text": "covers personal_data"}]'
    try:
        parsed = json.loads(reasons, object_pairs_hook=_refuse_duplicate_keys)
    except ValueError as exc:
        raise ValueError(f"reasons must be a JSON array such as {example}: {exc}") from exc
    if not isinstance(parsed, list) or not parsed:
        raise ValueError(
            f"reasons must be a non-empty JSON array such as {example}: every decision "
            f"cites what caused it; got {reasons!r}"
        )
    for position, reason in enumerate(parsed):
        if (
            not isinstance(reason, dict)
            or set(reason) != {"cite", "text"}
            or not all(isinstance(v, str) for v in reason.values())
        ):
            raise ValueError(
                f"reasons[{position}] must be an object with exactly the string members "
                f'"cite" and "text"; got {json.dumps(reason)}'
            )
    return reasons


def _check_party(participant: str, agency: str) -> None:
    # Readers are filtered as "P" or "P/AGENCY": a slash inside either part would be ambiguous.
    for part, value in (("reader_participant", participant), ("reader_agency", agency)):
        if not value or "/" in value:
            raise ValueError(f"{part} must be non-empty and without '/', got {value!r}")


@dataclass(frozen=True, slots=True)
class NewAccessEvent:
    """One read, delivery or denial, ready to be recorded.

    `action` is one of `ACCESS_ACTIONS`, `view` one of `ACCESS_VIEWS`.
    `reasons` is the evaluator's JSON array of {"cite", "text"}, kept byte for
    byte; `disclosed` and `withheld` are comma-separated field-class names
    (never values), "" for none. Construction refuses an event that
    contradicts itself: allowed exactly when something was shown (`view` is
    not "none"), disclosed classes only with the "full" view, and no class
    both disclosed and withheld. `record_id` is the id the reader asked for,
    which need not exist, but must fit the column (1 to 36 characters) on
    every backend.
    """

    at: datetime
    reader_participant: str
    reader_agency: str
    reader_client: str
    record_id: str
    action: str
    allowed: bool
    view: str
    reasons: str
    disclosed: str
    withheld: str
    rules_sha256: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware_utc(self.at, "at"))
        _check_party(self.reader_participant, self.reader_agency)
        if not self.record_id or len(self.record_id) > RECORD_ID_MAX_LENGTH:
            raise ValueError(
                f"record_id must be 1 to {RECORD_ID_MAX_LENGTH} characters; refuse a longer "
                f"requested id before deciding on it. Got {len(self.record_id)} characters"
            )
        if self.action not in ACCESS_ACTIONS:
            raise ValueError(
                f"action must be one of {', '.join(ACCESS_ACTIONS)}; got {self.action!r}"
            )
        if self.view not in ACCESS_VIEWS:
            raise ValueError(f"view must be one of {', '.join(ACCESS_VIEWS)}; got {self.view!r}")
        if not isinstance(self.allowed, bool):
            raise ValueError(f"allowed must be a bool, got {self.allowed!r}")
        if self.allowed != (self.view != "none"):
            raise ValueError(
                f"an event with view {self.view!r} must have allowed="
                f"{self.view != 'none'}: a denial shows nothing and an allowed read shows something"
            )
        check_reasons(self.reasons)
        disclosed = split_classes(self.disclosed, "disclosed")
        withheld = split_classes(self.withheld, "withheld")
        if disclosed and self.view != "full":
            raise ValueError(
                f"view {self.view!r} discloses no field class, but disclosed is {self.disclosed!r}"
            )
        both = sorted(set(disclosed) & set(withheld))
        if both:
            raise ValueError(f"field class(es) {both!r} are both disclosed and withheld")
        require_sha256_hex(self.rules_sha256, "rules_sha256")


@dataclass(frozen=True, slots=True)
class StoredAccessEvent:
    """An access event as recorded, with the sequence number the store gave it and the
    index of its leaf in the log.

    Sequence numbers increase in commit order (they may skip a number, never
    go back), so `after_sequence` paging never misses a later commit.
    """

    sequence: int
    log_index: int
    at: datetime
    reader_participant: str
    reader_agency: str
    reader_client: str
    record_id: str
    action: str
    allowed: bool
    view: str
    reasons: str
    disclosed: str
    withheld: str
    rules_sha256: str


@dataclass(frozen=True, slots=True)
class StoredRulesVersion:
    """A rules file that was in force: its SHA-256, when it was first loaded, from where."""

    sha256: str
    first_loaded_at: datetime
    source: str
