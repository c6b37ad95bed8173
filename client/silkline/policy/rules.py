"""The access-rules file: its model and a strict parser that reports every problem at once.

The file is TOML, reviewed and version-controlled by the network's legal
working group (``deploy/rules/README.md`` explains it for them). It says who
takes part, which agreements link them, which national restrictions apply and
how long each participant keeps each sensitive field class. Every entry has
an id that decisions cite.

The parser refuses what it does not understand: unknown keys (with a
suggestion), wrong types, missing keys, malformed codes, unknown record types,
roles or field classes, references to participants the file does not define,
duplicate ids and validity periods that end before they begin. All problems
are collected, each with its line and column, and raised together as one
:class:`RulesError`. A TOML syntax error stops the parse where it is, because
nothing after it can be read reliably.

Pure: :func:`parse_rules` works on text; only :func:`load_rules` reads a file.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from silkline.identity import ROLES
from silkline.policy.locate import KeyPath, SourceMap, index_source
from silkline.records import RECORD_TYPES

__all__ = [
    "FORMAT_VERSION",
    "ROLES",
    "AgencyEntry",
    "Agreement",
    "FieldClass",
    "Network",
    "Participant",
    "Restriction",
    "Retention",
    "Rules",
    "RulesError",
    "RulesProblem",
    "format_path",
    "load_rules",
    "parse_rules",
]

FORMAT_VERSION: Final = 1

# The same codes as in certificates (silkline.identity), so a rule names
# exactly the participant and agency a certificate can claim.
_PARTICIPANT_CODE = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_AGENCY_CODE = re.compile(r"[A-Z][A-Z0-9_-]{0,31}")
# Entry ids become citations ("agreements.in-uz-2018"): no dots, no spaces.
_ENTRY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_FIELD_CLASS = re.compile(r"[a-z][a-z0-9_]{0,63}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


# ------------------------------------------------------------------ errors


@dataclass(frozen=True, order=True)
class RulesProblem:
    """One thing wrong with a rules file: where it is and what was expected."""

    line: int
    column: int
    path: str
    message: str

    def located(self, source: str) -> str:
        """``FILE:LINE:COLUMN: message``, the form editors and CI logs link to."""
        return f"{source}:{self.line}:{self.column}: {self.message}"


class RulesError(ValueError):
    """A rules file was refused; ``problems`` lists every problem found, in file order."""

    def __init__(self, source: str, problems: Iterable[RulesProblem]) -> None:
        self.source = source
        self.problems: tuple[RulesProblem, ...] = tuple(sorted(problems))
        super().__init__(source, self.problems)

    def __str__(self) -> str:
        return "\n".join(problem.located(self.source) for problem in self.problems)


# ------------------------------------------------------------------- model


@dataclass(frozen=True)
class Network:
    """The ``[network]`` table: which network these rules govern, and as of when."""

    name: str
    rules_date: date


@dataclass(frozen=True)
class FieldClass:
    """A declared class of sensitive fields (``[field_classes.<name>]``)."""

    name: str
    description: str

    @property
    def id(self) -> str:
        return f"field_classes.{self.name}"


@dataclass(frozen=True)
class AgencyEntry:
    """An agency of a participant and the roles the rules give it."""

    participant: str
    code: str
    roles: frozenset[str]
    description: str = ""

    @property
    def id(self) -> str:
        """The citation of this entry, e.g. ``participants.IN.agencies.NCB``."""
        return f"participants.{self.participant}.agencies.{self.code}"

    @property
    def path(self) -> str:
        """``P/AGENCY``, as recipients and certificates name it."""
        return f"{self.participant}/{self.code}"


@dataclass(frozen=True)
class Participant:
    """A country or international body, and its agencies."""

    code: str
    name: str
    agencies: Mapping[str, AgencyEntry] = field(default_factory=dict, hash=False)

    @property
    def id(self) -> str:
        return f"participants.{self.code}"


@dataclass(frozen=True)
class Agreement:
    """A multilateral or bilateral agreement: what it lets its parties share."""

    id: str
    title: str
    legal_reference: str
    parties: tuple[str, ...]
    record_types: frozenset[str]
    field_classes: frozenset[str]
    onward_sharing: bool
    valid_from: date
    valid_until: date | None = None
    note: str = ""

    @property
    def cite(self) -> str:
        return f"agreements.{self.id}"

    def in_force(self, day: date) -> bool:
        """Whether the agreement applies on ``day`` (both ends inclusive)."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class Restriction:
    """A national restriction: field classes a participant may not send or not receive."""

    id: str
    participant: str
    no_send: frozenset[str]
    no_receive: frozenset[str]
    note: str = ""

    @property
    def cite(self) -> str:
        return f"restrictions.{self.id}"


@dataclass(frozen=True)
class Retention:
    """How many days a participant keeps disclosures of one field class."""

    id: str
    participant: str
    field_class: str
    days: int

    @property
    def cite(self) -> str:
        return f"retention.{self.id}"


_PartyPair = tuple[str, str]


def _pair(first: str, second: str) -> _PartyPair:
    return (first, second) if first <= second else (second, first)


@dataclass(frozen=True)
class Rules:
    """A parsed, checked rules file, identified by the SHA-256 of its exact bytes."""

    version: int
    network: Network
    field_classes: Mapping[str, FieldClass] = field(hash=False)
    participants: Mapping[str, Participant] = field(hash=False)
    agreements: tuple[Agreement, ...]
    restrictions: tuple[Restriction, ...]
    retention: tuple[Retention, ...]
    sha256: str
    source: str = "<rules>"
    # Indexes for the evaluator, built once: a decision must cost microseconds.
    _agencies: dict[tuple[str, str], AgencyEntry] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _linking: dict[_PartyPair, tuple[Agreement, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _restricting: dict[str, tuple[Restriction, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _retention_days: dict[tuple[str, str], int] = field(
        init=False, repr=False, compare=False, hash=False
    )
    # Memo of the evaluator (silkline.policy.decision): what these rules say for
    # one reader, originator and record type on one day. Rules never change, so
    # nothing in it can go stale; it holds nothing the file does not determine.
    _derived: dict[Any, Any] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        agencies = {
            (participant.code, agency.code): agency
            for participant in self.participants.values()
            for agency in participant.agencies.values()
        }
        linking: dict[_PartyPair, list[Agreement]] = {}
        for agreement in sorted(self.agreements, key=lambda a: a.id):
            parties = sorted(set(agreement.parties))
            for index, first in enumerate(parties):
                for second in parties[index + 1 :]:
                    linking.setdefault((first, second), []).append(agreement)
        restricting: dict[str, list[Restriction]] = {}
        for restriction in sorted(self.restrictions, key=lambda r: r.id):
            restricting.setdefault(restriction.participant, []).append(restriction)
        object.__setattr__(self, "_agencies", agencies)
        object.__setattr__(self, "_linking", {k: tuple(v) for k, v in linking.items()})
        object.__setattr__(self, "_restricting", {k: tuple(v) for k, v in restricting.items()})
        object.__setattr__(
            self,
            "_retention_days",
            {(r.participant, r.field_class): r.days for r in self.retention},
        )
        object.__setattr__(self, "_derived", {})

    def agency(self, participant: str, agency: str) -> AgencyEntry | None:
        """The rules' entry for ``participant/agency``, or None if the rules do not list it."""
        return self._agencies.get((participant, agency))

    def agreements_linking(self, first: str, second: str) -> tuple[Agreement, ...]:
        """Agreements to which both participants are parties, by id, in force or not."""
        if first == second:
            return ()
        return self._linking.get(_pair(first, second), ())

    def restrictions_of(self, participant: str) -> tuple[Restriction, ...]:
        """The participant's national restrictions, by id."""
        return self._restricting.get(participant, ())

    def retention_days(self, participant: str, field_class: str) -> int | None:
        """Days ``participant`` keeps disclosures of ``field_class``; None if no rule says."""
        return self._retention_days.get((participant, field_class))

    @property
    def agency_count(self) -> int:
        return len(self._agencies)


# ------------------------------------------------------------------ parser


def load_rules(path: str | PathLike[str]) -> Rules:
    """Read and parse a rules file; raise :class:`RulesError` listing every problem.

    A file that cannot be read raises :class:`OSError`, as ``open`` does. The
    SHA-256 in the result is over the file's exact bytes, so the rules version
    in force can be matched to a commit of the legal group's repository.
    """
    source = str(path)
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RulesError(
            source,
            [RulesProblem(line, column, "", "the file is not UTF-8 text (TOML is UTF-8)")],
        ) from exc
    return parse_rules(text, source)


def parse_rules(text: str, source: str = "<rules>") -> Rules:
    """Parse and check the text of a rules file; raise :class:`RulesError` listing every problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(source, [_syntax_problem(text, str(exc))]) from exc
    checker = _Checker(document, text)
    rules = checker.rules(hashlib.sha256(text.encode("utf-8")).hexdigest(), source)
    if checker.problems or rules is None:
        raise RulesError(source, checker.located_problems())
    return rules


_SYNTAX_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_SYNTAX_AT_END = re.compile(r"\s*\(at end of document\)$")


def _syntax_problem(text: str, message: str) -> RulesProblem:
    """tomllib's message, with its position moved into LINE:COLUMN."""
    match = _SYNTAX_AT.search(message)
    if match is not None:
        line, column = int(match.group(1)), int(match.group(2))
        message = message[: match.start()]
    else:
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
        message = _SYNTAX_AT_END.sub("", message) + " (at end of file)"
    return RulesProblem(line, column, "", f"TOML syntax: {message}")


def format_path(path: KeyPath) -> str:
    """A key path as a reader writes it: ``agreements[1].parties[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else f'"{part}"'
            text += f".{name}" if text else name
    return text


# What each table may hold. A key not listed is refused (with a suggestion):
# an ignored typo in a legal text would silently change what it grants.
_TOP_KEYS = (
    "version",
    "network",
    "field_classes",
    "participants",
    "agreements",
    "restrictions",
    "retention",
)
_NETWORK_KEYS = ("name", "rules_date")
_FIELD_CLASS_KEYS = ("description",)
_PARTICIPANT_KEYS = ("name", "agencies")
_AGENCY_KEYS = ("roles", "description")
_AGREEMENT_KEYS = (
    "id",
    "title",
    "legal_reference",
    "parties",
    "record_types",
    "field_classes",
    "onward_sharing",
    "valid_from",
    "valid_until",
    "note",
)
_RESTRICTION_KEYS = ("id", "participant", "no_send", "no_receive", "note")
_RETENTION_KEYS = ("id", "participant", "field_class", "days")

_PARTICIPANT_CODE_HELP = (
    "an upper-case letter then 1 to 15 upper-case letters or digits, "
    'as in the participants\' certificates (e.g. "IN", "UNODC")'
)
_AGENCY_CODE_HELP = (
    "an upper-case letter then up to 31 upper-case letters, digits, '_' or '-', "
    'as in the agencies\' certificates (e.g. "NCB", "MVD")'
)
_ENTRY_ID_HELP = (
    "lower-case letters, digits, '-' or '_', starting with a letter or digit, "
    'at most 64 characters (e.g. "in-uz-2018")'
)
_FIELD_CLASS_HELP = "lower-case letters, digits and '_', starting with a letter"

_Where = Literal["key", "value"]


@dataclass(frozen=True)
class _Pending:
    """A problem before its position is looked up (the scan is done only if needed)."""

    path: KeyPath
    where: _Where
    message: str


class _Checker:
    """Turns the tomllib document into :class:`Rules`, noting every problem on the way."""

    def __init__(self, document: dict[str, Any], text: str) -> None:
        self.document = document
        self.text = text
        self.problems: list[_Pending] = []
        self.declared_classes: frozenset[str] = frozenset()
        self.participant_codes: frozenset[str] = frozenset()
        self._source_map: SourceMap | None = None

    # ------------------------------------------------------------- problems

    def problem(self, path: KeyPath, message: str, where: _Where = "value") -> None:
        self.problems.append(_Pending(path, where, message))

    def source_map(self) -> SourceMap:
        if self._source_map is None:
            self._source_map = index_source(self.text)
        return self._source_map

    def located_problems(self) -> list[RulesProblem]:
        found = []
        for pending in self.problems:
            positions = self.source_map()
            at = (
                positions.key(pending.path)
                if pending.where == "key"
                else positions.value(pending.path)
            )
            path = format_path(pending.path)
            found.append(RulesProblem(at.line, at.column, path, pending.message))
        return found

    def line_of(self, path: KeyPath) -> int:
        return self.source_map().key(path).line

    # ------------------------------------------------------- generic checks

    def keys(self, table: Mapping[str, Any], path: KeyPath, allowed: Sequence[str]) -> None:
        """Refuse keys the format does not define, suggesting the nearest one."""
        for key in table:
            if key not in allowed:
                where = format_path(path) or "the top level"
                self.problem(
                    (*path, key),
                    f"unknown key {_q(key)} in {where}; expected one of: {', '.join(allowed)}"
                    + _suggestion(key, allowed),
                    where="key",
                )

    def value(
        self,
        table: Mapping[str, Any],
        path: KeyPath,
        key: str,
        expected: str,
        kind: type | tuple[type, ...],
        required: bool = True,
    ) -> Any:
        """The value of ``key`` if it has the right type, else None (and a problem noted)."""
        if key not in table:
            if required:
                self.problem(
                    path,
                    f"{format_path(path) or 'the top level'}: missing required key {_q(key)} "
                    f"({expected})",
                    where="key",
                )
            return None
        found = table[key]
        if not _is_kind(found, kind):
            self.problem(
                (*path, key),
                f"{format_path((*path, key))}: expected {expected}, found {_describe(found)}",
            )
            return None
        return found

    def text_value(
        self, table: Mapping[str, Any], path: KeyPath, key: str, expected: str, required: bool
    ) -> str | None:
        found = self.value(table, path, key, expected, str, required)
        if found is not None and not found.strip():
            where = format_path((*path, key))
            self.problem((*path, key), f'{where}: expected {expected}, found ""')
            return None
        return str(found) if found is not None else None

    def string_list(
        self, table: Mapping[str, Any], path: KeyPath, key: str, expected: str, required: bool
    ) -> list[tuple[KeyPath, str]] | None:
        """A list of strings, each with its own path; duplicates and non-strings refused."""
        found = self.value(table, path, key, expected, list, required)
        if found is None:
            return None
        items: list[tuple[KeyPath, str]] = []
        seen: set[str] = set()
        for index, item in enumerate(found):
            item_path = (*path, key, index)
            if not isinstance(item, str):
                self.problem(
                    item_path,
                    f"{format_path(item_path)}: expected a string, found {_describe(item)}",
                )
            elif item in seen:
                self.problem(item_path, f"{format_path(item_path)}: {_q(item)} is listed twice")
            else:
                seen.add(item)
                items.append((item_path, item))
        return items

    def entry_tables(self, key: str) -> list[tuple[KeyPath, dict[str, Any]]]:
        """The tables of an array of tables (``[[agreements]]``); absent means none."""
        found = self.document.get(key, [])
        if not isinstance(found, list):
            self.problem(
                (key,),
                f"{key}: expected an array of tables ([[{key}]] sections), "
                f"found {_describe(found)}",
            )
            return []
        tables: list[tuple[KeyPath, dict[str, Any]]] = []
        for index, item in enumerate(found):
            if isinstance(item, dict):
                tables.append(((key, index), item))
            else:
                self.problem(
                    (key, index),
                    f"{key}[{index}]: expected a table ([[{key}]]), found {_describe(item)}",
                )
        return tables

    def participant_ref(self, path: KeyPath, code: str) -> bool:
        if code in self.participant_codes:
            return True
        known = sorted(self.participant_codes)
        self.problem(
            path,
            f"{format_path(path)}: {_q(code)} is not a participant defined in this file; "
            f"expected one of: {', '.join(known) or '(none defined)'}" + _suggestion(code, known),
        )
        return False

    def field_class_refs(self, items: Iterable[tuple[KeyPath, str]]) -> frozenset[str]:
        classes = set()
        for item_path, name in items:
            if name in self.declared_classes:
                classes.add(name)
                continue
            known = sorted(self.declared_classes)
            expected = (
                f"expected one of: {', '.join(known)}"
                if known
                else f"declare it first in a [field_classes.{name}] section"
            )
            self.problem(
                item_path,
                f"{format_path(item_path)}: {_q(name)} is not a field class declared under "
                f"[field_classes]; {expected}" + _suggestion(name, known),
            )
        return frozenset(classes)

    def entry_id(self, table: Mapping[str, Any], path: KeyPath) -> str | None:
        found = self.value(table, path, "id", f"an id: {_ENTRY_ID_HELP}", str)
        if found is not None and not _ENTRY_ID.fullmatch(found):
            self.problem(
                (*path, "id"),
                f"{format_path((*path, 'id'))}: {_q(found)} is not a valid id; "
                f"expected {_ENTRY_ID_HELP}",
            )
            return None
        return str(found) if found is not None else None

    # ---------------------------------------------------------- the sections

    def rules(self, sha256: str, source: str) -> Rules | None:
        document = self.document
        self.keys(document, (), _TOP_KEYS)
        version = self.value(document, (), "version", f"the format version, {FORMAT_VERSION}", int)
        if version is not None and version != FORMAT_VERSION:
            self.problem(
                ("version",),
                f"version: expected {FORMAT_VERSION} (the only version of this format), "
                f"found {version}",
            )
        network = self.network()
        field_classes = self.field_classes()
        participants = self.participants()
        agreements = self.agreements()
        restrictions = self.restrictions()
        retention = self.retention()
        self.unique_ids()
        if self.problems or network is None:
            return None
        return Rules(
            version=FORMAT_VERSION,
            network=network,
            field_classes=MappingProxyType(field_classes),
            participants=MappingProxyType(participants),
            agreements=tuple(entry for _, entry in agreements),
            restrictions=tuple(entry for _, entry in restrictions),
            retention=tuple(entry for _, entry in retention),
            sha256=sha256,
            source=source,
        )

    def network(self) -> Network | None:
        table = self.value(
            self.document, (), "network", "a [network] table with name and rules_date", dict
        )
        if table is None:
            return None
        path: KeyPath = ("network",)
        self.keys(table, path, _NETWORK_KEYS)
        name = self.text_value(table, path, "name", "the network's name, a string", True)
        rules_date = self.date_value(table, path, "rules_date", "the date these rules were adopted")
        if name is None or rules_date is None:
            return None
        return Network(name, rules_date)

    def date_value(
        self, table: Mapping[str, Any], path: KeyPath, key: str, what: str, required: bool = True
    ) -> date | None:
        expected = f"{what}, a date such as 2018-10-01 (no quotes, no time of day)"
        found = self.value(table, path, key, expected, date, required)
        return found if isinstance(found, date) else None

    def field_classes(self) -> dict[str, FieldClass]:
        table = self.value(
            self.document,
            (),
            "field_classes",
            "a table of [field_classes.<name>] sections",
            dict,
            required=False,
        )
        declared: dict[str, FieldClass] = {}
        for name, entry in (table or {}).items():
            path: KeyPath = ("field_classes", name)
            if not _FIELD_CLASS.fullmatch(name):
                self.problem(
                    path,
                    f"field class name {_q(name)} is not valid; expected {_FIELD_CLASS_HELP}",
                    where="key",
                )
                continue
            if not isinstance(entry, dict):
                self.problem(
                    path,
                    f"{format_path(path)}: expected a table with a description, "
                    f"found {_describe(entry)}",
                )
                continue
            self.keys(entry, path, _FIELD_CLASS_KEYS)
            description = self.text_value(
                entry, path, "description", "what fields of this class hold, a string", True
            )
            declared[name] = FieldClass(name, description or "")
        self.declared_classes = frozenset(declared)
        return declared

    def participants(self) -> dict[str, Participant]:
        table = self.value(
            self.document,
            (),
            "participants",
            "a table of [participants.<CODE>] sections",
            dict,
        )
        table = table or {}
        # The valid codes are noted before any entry is checked, so every
        # reference (parties, restrictions, retention) is judged against all of them.
        self.participant_codes = frozenset(
            code for code in table if _PARTICIPANT_CODE.fullmatch(code)
        )
        if not table and "participants" in self.document:
            self.problem(("participants",), "participants: expected at least one participant")
        participants: dict[str, Participant] = {}
        for code, entry in table.items():
            path: KeyPath = ("participants", code)
            if not _PARTICIPANT_CODE.fullmatch(code):
                self.problem(
                    path,
                    f"participant code {_q(code)} is not valid; expected {_PARTICIPANT_CODE_HELP}",
                    where="key",
                )
                continue
            if not isinstance(entry, dict):
                self.problem(
                    path, f"{format_path(path)}: expected a table, found {_describe(entry)}"
                )
                continue
            self.keys(entry, path, _PARTICIPANT_KEYS)
            name = self.text_value(entry, path, "name", "the participant's full name", True)
            agencies = self.agencies(code, entry, path)
            participants[code] = Participant(code, name or "", MappingProxyType(agencies))
        return participants

    def agencies(
        self, participant: str, entry: Mapping[str, Any], path: KeyPath
    ) -> dict[str, AgencyEntry]:
        table = self.value(
            entry, path, "agencies", "a table of [.agencies.<CODE>] sections", dict, False
        )
        agencies: dict[str, AgencyEntry] = {}
        for code, agency in (table or {}).items():
            agency_path: KeyPath = (*path, "agencies", code)
            if not _AGENCY_CODE.fullmatch(code):
                self.problem(
                    agency_path,
                    f"agency code {_q(code)} is not valid; expected {_AGENCY_CODE_HELP}",
                    where="key",
                )
                continue
            if not isinstance(agency, dict):
                self.problem(
                    agency_path,
                    f"{format_path(agency_path)}: expected a table with roles, "
                    f"found {_describe(agency)}",
                )
                continue
            self.keys(agency, agency_path, _AGENCY_KEYS)
            roles = self.string_list(
                agency, agency_path, "roles", f"a list of roles from: {', '.join(ROLES)}", True
            )
            granted = set()
            for role_path, role in roles or ():
                if role in ROLES:
                    granted.add(role)
                else:
                    self.problem(
                        role_path,
                        f"{format_path(role_path)}: unknown role {_q(role)}; expected one of: "
                        f"{', '.join(ROLES)}" + _suggestion(role, ROLES),
                    )
            description = self.text_value(
                agency, agency_path, "description", "a description, a string", False
            )
            agencies[code] = AgencyEntry(participant, code, frozenset(granted), description or "")
        return agencies

    def agreements(self) -> list[tuple[KeyPath, Agreement]]:
        found = []
        for path, table in self.entry_tables("agreements"):
            self.keys(table, path, _AGREEMENT_KEYS)
            agreement_id = self.entry_id(table, path)
            title = self.text_value(table, path, "title", "the agreement's title, a string", True)
            reference = self.text_value(
                table, path, "legal_reference", "the citation of the legal instrument", True
            )
            parties = self.string_list(
                table, path, "parties", "a list of at least two participant codes", True
            )
            if parties is not None:
                for party_path, code in parties:
                    self.participant_ref(party_path, code)
                if len(parties) < 2:
                    self.problem(
                        (*path, "parties"),
                        f"{format_path((*path, 'parties'))}: expected at least two "
                        f"participants, found {len(parties)}",
                    )
            record_types = self.string_list(
                table,
                path,
                "record_types",
                f"a list of record types from: {', '.join(RECORD_TYPES)}",
                True,
            )
            for type_path, record_type in record_types or ():
                if record_type not in RECORD_TYPES:
                    self.problem(
                        type_path,
                        f"{format_path(type_path)}: unknown record type {_q(record_type)}; "
                        f"expected one of: {', '.join(RECORD_TYPES)}"
                        + _suggestion(record_type, RECORD_TYPES),
                    )
            if record_types is not None and not record_types:
                self.problem(
                    (*path, "record_types"),
                    f"{format_path((*path, 'record_types'))}: expected at least one record type",
                )
            classes = self.string_list(
                table,
                path,
                "field_classes",
                "a list of declared field classes ([] for non-sensitive fields only)",
                True,
            )
            covered = self.field_class_refs(classes or ())
            onward = self.value(
                table, path, "onward_sharing", "true or false (may recipients pass it on?)", bool
            )
            valid_from = self.date_value(table, path, "valid_from", "the first day it applies")
            valid_until = self.date_value(
                table, path, "valid_until", "the last day it applies", required=False
            )
            if valid_from is not None and valid_until is not None and valid_until < valid_from:
                self.problem(
                    (*path, "valid_until"),
                    f"{format_path((*path, 'valid_until'))}: {valid_until.isoformat()} is before "
                    f"valid_from {valid_from.isoformat()}; expected a date on or after it",
                )
            note = self.text_value(table, path, "note", "a note, a string", False)
            if (
                agreement_id is None
                or title is None
                or reference is None
                or parties is None
                or record_types is None
                or onward is None
                or valid_from is None
            ):
                continue
            found.append(
                (
                    path,
                    Agreement(
                        id=agreement_id,
                        title=title,
                        legal_reference=reference,
                        parties=tuple(code for _, code in parties),
                        record_types=frozenset(t for _, t in record_types),
                        field_classes=covered,
                        onward_sharing=bool(onward),
                        valid_from=valid_from,
                        valid_until=valid_until,
                        note=note or "",
                    ),
                )
            )
        return found

    def restrictions(self) -> list[tuple[KeyPath, Restriction]]:
        found = []
        for path, table in self.entry_tables("restrictions"):
            self.keys(table, path, _RESTRICTION_KEYS)
            restriction_id = self.entry_id(table, path)
            participant = self.text_value(
                table, path, "participant", "the restricted participant's code", True
            )
            if participant is not None:
                self.participant_ref((*path, "participant"), participant)
            expected = "a list of declared field classes"
            no_send = self.string_list(table, path, "no_send", expected, False)
            no_receive = self.string_list(table, path, "no_receive", expected, False)
            given = [table[key] for key in ("no_send", "no_receive") if key in table]
            if not given:
                self.problem(
                    path,
                    f"{format_path(path)}: a restriction must restrict something; expected "
                    "no_send, no_receive or both (lists of field classes)",
                    where="key",
                )
            elif all(value == [] for value in given):
                self.problem(
                    path,
                    f"{format_path(path)}: no_send and no_receive are both empty; "
                    "expected at least one field class",
                    where="key",
                )
            send = self.field_class_refs(no_send or ())
            receive = self.field_class_refs(no_receive or ())
            note = self.text_value(table, path, "note", "a note, a string", False)
            if restriction_id is None or participant is None:
                continue
            restriction = Restriction(restriction_id, participant, send, receive, note or "")
            found.append((path, restriction))
        return found

    def retention(self) -> list[tuple[KeyPath, Retention]]:
        found: list[tuple[KeyPath, Retention]] = []
        first_of: dict[tuple[str, str], KeyPath] = {}
        for path, table in self.entry_tables("retention"):
            self.keys(table, path, _RETENTION_KEYS)
            retention_id = self.entry_id(table, path)
            participant = self.text_value(
                table, path, "participant", "the participant's code", True
            )
            if participant is not None:
                self.participant_ref((*path, "participant"), participant)
            field_class = self.text_value(
                table, path, "field_class", "a declared field class", True
            )
            if field_class is not None:
                self.field_class_refs([((*path, "field_class"), field_class)])
            days = self.value(table, path, "days", "a whole number of days, at least 1", int)
            if days is not None and days < 1:
                self.problem(
                    (*path, "days"),
                    f"{format_path((*path, 'days'))}: expected a whole number of days, at least 1, "
                    f"found {days}",
                )
                days = None
            if participant is not None and field_class is not None:
                earlier = first_of.setdefault((participant, field_class), path)
                if earlier != path:
                    self.problem(
                        path,
                        f"{format_path(path)}: a second retention period for {participant} "
                        f"{field_class}; the first is {format_path(earlier)} "
                        f"(line {self.line_of(earlier)})",
                        where="key",
                    )
            if retention_id is None or participant is None or field_class is None or days is None:
                continue
            found.append((path, Retention(retention_id, participant, field_class, days)))
        return found

    def unique_ids(self) -> None:
        """Ids are unique across the whole file, so a citation names one entry."""
        seen: dict[str, KeyPath] = {}
        # The raw tables, not the parsed entries: an entry with some other
        # problem is not parsed, but its id still must not be reused.
        tables = [
            (path, table)
            for key in ("agreements", "restrictions", "retention")
            for path, table in self.entry_tables_quiet(key)
        ]
        for path, table in tables:
            entry_id = table.get("id")
            if not isinstance(entry_id, str):
                continue
            earlier = seen.setdefault(entry_id, path)
            if earlier != path:
                self.problem(
                    (*path, "id"),
                    f"{format_path((*path, 'id'))}: id {_q(entry_id)} is already used by "
                    f"{format_path(earlier)} (line {self.line_of(earlier)}); ids must be unique "
                    "in the file",
                )

    def entry_tables_quiet(self, key: str) -> list[tuple[KeyPath, dict[str, Any]]]:
        found = self.document.get(key, [])
        if not isinstance(found, list):
            return []
        tables: list[tuple[KeyPath, dict[str, Any]]] = [
            ((key, i), item) for i, item in enumerate(found) if isinstance(item, dict)
        ]
        return tables


def _is_kind(value: object, kind: type | tuple[type, ...]) -> bool:
    # TOML booleans are Python bools, which are also ints; a date-time is also a date.
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    if isinstance(value, datetime) and datetime not in kinds:
        return False
    return isinstance(value, kinds)


def _describe(value: object) -> str:
    """What a TOML value is, in words, without echoing long text."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {_q(shown)}"
    if isinstance(value, datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, time):
        return f"the time {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _q(text: str) -> str:
    """A name quoted as TOML writes a basic string, so it can be pasted back into the file."""
    return json.dumps(text, ensure_ascii=False)


def _suggestion(word: str, candidates: Iterable[str]) -> str:
    # Codes are short: one wrong letter in "UZ" already halves the similarity.
    cutoff = 0.5 if len(word) <= 4 else 0.6
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    if not close:
        # Case slips ("ncb", "Personal_Data") are common and difflib scores them low.
        lowered = {candidate.lower(): candidate for candidate in candidates}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f' (did you mean "{close[0]}"?)' if close else ""
