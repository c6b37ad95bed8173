"""Record schemas: where they are, how a record payload is checked, which fields are sensitive.

A record payload is what an agency signs. Its common part (record type,
identifier, originator, distribution, grading) is checked against
``schemas/record/v1.json`` and its ``body`` against
``schemas/<record_type>/v<schema_version>.json``. Every violation is reported
at once, each with the JSON pointer (RFC 6901) of the field from the payload
root, so an agency can fix a record in one go. :func:`validate_revealed`
checks a payload whose disclosures were inserted after its signed form
passed, validating again only what the disclosures changed.

Fields a schema marks with ``"x-silkline-class": "<class>"`` are sensitive:
they travel as selective disclosures, never in clear in the signed payload.
:func:`sensitive_fields` lists them for a record type and
:func:`sensitive_in_clear` finds them in a payload.

Two validators judge a payload. jsonschema-rs (Rust) answers "valid or not"
in a few tens of microseconds and decides every valid payload; only a payload
it does not prove valid goes through the Python ``jsonschema`` validator, which
is authoritative and lists every violation with its pointer. Both read the same
schema files with the same format checks, and tests/records/test_fast_validation.py
shows they agree on the schemas of this repository.

Pure apart from reading the schema files once per folder: no network, and
``$ref`` is resolved only among the schema files themselves.
"""

from __future__ import annotations

import calendar
import copy
import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeGuard

# jsonschema ships no type information; its objects are typed Any at the boundary here.
import jsonschema  # type: ignore[import-untyped]
import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

__all__ = [
    "RECORD_TYPES",
    "SCHEMAS_DIR_ENV",
    "RecordError",
    "SchemaLoadError",
    "SchemaViolationError",
    "UnknownRecordTypeError",
    "UnknownSchemaVersionError",
    "Violation",
    "load_schema",
    "schemas_dir",
    "sensitive_fields",
    "sensitive_in_clear",
    "validate_payload",
    "validate_revealed",
]

RECORD_TYPES: Final[tuple[str, ...]] = (
    "seizure-alert",
    "case-evidence",
    "arrest",
    "prosecution",
    "training",
    "rehabilitation",
    "livelihood",
    "joint-operation",
)

SCHEMAS_DIR_ENV: Final = "SILKLINE_SCHEMAS_DIR"
SCHEMA_BASE_URI: Final = "https://silkline.example/schemas/"
CLASS_KEYWORD: Final = "x-silkline-class"
# A schema may state in plain words what its constraint means; the message
# replaces the validator's generic one (e.g. "does not match '^[0-9a-f]{8}-...'").
ERROR_KEYWORD: Final = "x-silkline-error"

_COMMON: Final = "record"
_SCHEMA_FILE = re.compile(r"v([1-9][0-9]*)\.json")


# ---------------------------------------------------------------- errors


class RecordError(ValueError):
    """A record payload or record type is not acceptable."""


class SchemaViolationError(RecordError):
    """A payload violates its schema; ``violations`` names every field at fault."""

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        super().__init__(self.violations)

    @property
    def pointers(self) -> tuple[str, ...]:
        """The JSON pointers at fault, in the order of ``violations``."""
        return tuple(violation.pointer for violation in self.violations)

    def __str__(self) -> str:
        count = len(self.violations)
        lines = [f"record violates its schema ({count} violation{'s' if count != 1 else ''}):"]
        lines.extend(f"  {violation}" for violation in self.violations)
        return "\n".join(lines)


class UnknownRecordTypeError(RecordError):
    """No schema exists for the record type named."""

    def __init__(self, record_type: object, message: str | None = None) -> None:
        self.record_type = record_type
        super().__init__(
            message
            or f"unknown record type {record_type!r}; known types: {', '.join(RECORD_TYPES)}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the constructor's arguments, not from the message alone.
        return type(self), (self.record_type, str(self))


class UnknownSchemaVersionError(UnknownRecordTypeError):
    """The record type exists but not in the schema version named."""

    def __init__(self, record_type: str, schema_version: object, known: Iterable[int]) -> None:
        self.schema_version = schema_version
        self.known_versions = tuple(sorted(known))
        versions = ", ".join(str(version) for version in self.known_versions) or "none"
        super().__init__(
            record_type,
            f"no schema for record type {record_type!r} version {schema_version!r}; "
            f"known versions: {versions}",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.record_type, self.schema_version, self.known_versions)


class SchemaLoadError(RuntimeError):
    """The schemas folder is missing or one of its files is unusable: an installation fault."""


@dataclass(frozen=True, order=True)
class Violation:
    """One violated constraint: the JSON pointer of the field and what is wrong with it."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '(payload)'}: {self.message}"


# ------------------------------------------------------------ schema files


def schemas_dir() -> Path:
    """The folder holding the schemas.

    In order: ``$SILKLINE_SCHEMAS_DIR``; ``schemas`` inside the installed
    package; the repository's top-level ``schemas``. A set but missing
    ``$SILKLINE_SCHEMAS_DIR`` is an error rather than a fall-back, so a
    deployment never validates against schemas it did not choose.
    """
    return _find_schemas_dir(os.environ.get(SCHEMAS_DIR_ENV) or None)


# Every validation asks for the folder, and the file system checks cost a
# noticeable share of one: each setting is looked up once. A folder found is
# read once anyway (_schema_set); a failed look-up is not remembered.
@functools.lru_cache(maxsize=8)
def _find_schemas_dir(configured: str | None) -> Path:
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise SchemaLoadError(f"${SCHEMAS_DIR_ENV} is {configured!r}, which is not a folder")
        return path
    packaged = Path(__file__).parent / "schemas"
    if packaged.is_dir():
        return packaged
    repository = Path(__file__).resolve().parents[2] / "schemas"
    if repository.is_dir():
        return repository
    raise SchemaLoadError(
        f"no record schemas found: set ${SCHEMAS_DIR_ENV}, or install silkline with its "
        f"schemas (looked in {packaged} and {repository})"
    )


def load_schema(record_type: str, schema_version: int = 1) -> dict[str, Any]:
    """The JSON Schema of a record type's body (a copy; the files are read once).

    ``load_schema("record")`` gives the common part. Raises
    :class:`UnknownRecordTypeError` or :class:`UnknownSchemaVersionError`.
    """
    return copy.deepcopy(_schema_set(schemas_dir()).schema(record_type, schema_version))


# -------------------------------------------------------------- validation


def validate_payload(payload: dict[str, Any]) -> None:
    """Check a record payload against its schemas; raise :class:`SchemaViolationError` if it fails.

    The violation list is complete (not just the first problem), sorted by
    pointer, and each message says what the field must be without repeating
    the submitted value, so it is safe to log even when the value is personal
    data. Beyond JSON Schema, a few rules that compare two fields are checked
    (a period does not end before it starts, no more persons listed than
    counted).
    """
    if not isinstance(payload, dict):
        raise SchemaViolationError([Violation("", "must be a JSON object")])
    schema_set = _schema_set(schemas_dir())
    found: set[Violation] = set()
    body_schema = _body_schema(schema_set, payload)
    # The fast validator decides a valid payload; the Python one, slower by
    # two orders of magnitude, runs only to name what is wrong (or to overrule
    # a fast "invalid" it cannot confirm: its answer is the one that counts).
    if not schema_set.conforms(payload, body_schema):
        found.update(schema_set.violations(_COMMON, 1, payload, prefix=""))
        if body_schema is not None:
            found.update(schema_set.violations(*body_schema, payload["body"], prefix="/body"))
    if body_schema is not None:
        for rule in _CROSS_FIELD_RULES.get(body_schema[0], ()):
            found.update(rule(payload["body"]))
    if found:
        raise SchemaViolationError(sorted(found, key=_violation_order))


def validate_revealed(revealed: dict[str, Any], *, signed: dict[str, Any]) -> None:
    """Check a payload with its disclosures inserted, whose signed form has passed already.

    ``signed`` must be a payload that :func:`validate_payload` accepted, and
    ``revealed`` that payload after RFC 9901 §7.1 processing. Raises
    :class:`SchemaViolationError` with exactly the violations
    ``validate_payload(revealed)`` would, at a fraction of the cost: what
    equals the signed form is valid already, so only the values that differ
    (the disclosed ones) are validated again, against the subschemas that
    apply to them. Where the schemas make a value's validity depend on the
    fields beside it (``oneOf`` over them, a ``required`` that a removed
    ``_sd`` satisfied, ...), the smallest enclosing object is validated again
    instead, up to the whole payload. The rules that compare two fields are
    checked on the revealed body in full.
    """
    if not isinstance(revealed, dict) or not isinstance(signed, dict):
        validate_payload(revealed)
        return
    schema_set = _schema_set(schemas_dir())
    body_schema = _body_schema(schema_set, revealed)
    if not schema_set.inlined or body_schema != _body_schema(schema_set, signed):
        # Planning needs the inlined schemas, and the same body schema for both forms.
        validate_payload(revealed)
        return
    found: set[Violation] = set()
    # A revealed payload the fast validator proves valid needs no partial
    # re-validation either; otherwise the Python walk below finds the violations.
    change = None if schema_set.conforms(revealed, body_schema) else _difference(signed, revealed)
    if change is not None:
        found.update(schema_set.changed_violations(_COMMON, 1, revealed, change, prefix=""))
        body_change = change.within.get("body")
        if body_schema is not None and body_change is not None:
            found.update(
                schema_set.changed_violations(
                    *body_schema, revealed["body"], body_change, prefix="/body"
                )
            )
    if body_schema is not None:
        for rule in _CROSS_FIELD_RULES.get(body_schema[0], ()):
            found.update(rule(revealed["body"]))
    if found:
        raise SchemaViolationError(sorted(found, key=_violation_order))


def sensitive_fields(record_type: str, schema_version: int = 1) -> dict[str, str]:
    """JSON pointer (from the payload root) -> class name of each annotated field.

    Read from the ``x-silkline-class`` annotations of the record type's schema,
    following ``$ref`` and object properties; inside arrays only the property
    that holds the array counts. The set of classes is open: any string is a
    class name. Raises :class:`UnknownRecordTypeError`.
    """
    if record_type not in RECORD_TYPES:
        raise UnknownRecordTypeError(record_type)
    return dict(_schema_set(schemas_dir()).sensitive_fields(record_type, schema_version))


def sensitive_in_clear(payload: Mapping[str, Any]) -> list[str]:
    """Pointers of the sensitive fields that a payload carries in clear, sorted.

    A signed payload must carry none: a sensitive field travels as a
    selective disclosure and the payload holds only its digest under ``_sd``.
    Raises :class:`UnknownRecordTypeError` when the payload's record type or
    schema version has no schema.
    """
    record_type = payload.get("record_type")
    if not isinstance(record_type, str) or record_type not in RECORD_TYPES:
        raise UnknownRecordTypeError(record_type)
    schema_version = payload.get("schema_version", 1)
    if not isinstance(schema_version, int) or isinstance(schema_version, bool):
        raise UnknownSchemaVersionError(record_type, schema_version, ())
    present = [
        pointer
        for pointer in sensitive_fields(record_type, schema_version)
        if _is_present(payload, pointer)
    ]
    return sorted(present, key=_pointer_order)


# ------------------------------------------------------- the loaded schemas


class _SchemaSet:
    """Every schema of one folder, with a registry that resolves ``$ref`` among them only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._schemas: dict[tuple[str, int], dict[str, Any]] = {}
        resources: list[tuple[str, Resource[Any]]] = []
        for path in sorted(directory.glob("*/v*.json")):
            match = _SCHEMA_FILE.fullmatch(path.name)
            if match is None:
                continue
            name, version = path.parent.name, int(match.group(1))
            schema = _read_schema(path)
            # $id must be where the file lives: relative $refs such as
            # "../record/v1.json#/$defs/date" then resolve the same way for
            # this registry and for any third-party tool that reads the files.
            expected_id = f"{SCHEMA_BASE_URI}{name}/{path.name}"
            if schema.get("$id") != expected_id:
                raise SchemaLoadError(f"{path}: $id must be {expected_id!r}")
            self._schemas[name, version] = schema
            resources.append((expected_id, DRAFT202012.create_resource(schema)))
        if (_COMMON, 1) not in self._schemas:
            raise SchemaLoadError(f"{directory} has no {_COMMON}/v1.json: not a schemas folder")
        self._registry: Registry[Any] = Registry().with_resources(resources).crawl()
        self._sensitive: dict[tuple[str, int], dict[str, str]] = {}
        # Every validator is built here, before the folder is in use: nothing
        # is left half-built for another thread to see.
        self.inlined = all(_inlinable(schema) for schema in self._schemas.values())
        inliner = _Inliner()
        self._validators: dict[tuple[str, int], Any] = {}
        for key, schema in self._schemas.items():
            resolver = self._registry.resolver(base_uri=schema["$id"])
            self._validators[key] = _Validator(
                inliner.inline(schema, resolver) if self.inlined else schema,
                registry=self._registry,
                format_checker=_FORMAT_CHECKER,
            )
        self._fast = _fast_validators(self._schemas)

    def has(self, name: str, version: int) -> bool:
        return (name, version) in self._schemas

    def schema(self, name: str, version: int) -> dict[str, Any]:
        if name != _COMMON and name not in RECORD_TYPES:
            raise UnknownRecordTypeError(name)
        if (name, version) not in self._schemas:
            known = [v for (n, v) in self._schemas if n == name]
            raise UnknownSchemaVersionError(name, version, known)
        return self._schemas[name, version]

    def fast_is_valid(self, name: str, version: int, instance: object) -> bool:
        """Whether jsonschema-rs proves ``instance`` valid against one schema.

        False means "not proven", not "invalid": also when the folder has no
        fast validator or the value cannot be handed to Rust (a lone surrogate
        in a string, a NaN): the Python validator then decides.
        """
        validator = self._fast.get((name, version))
        if validator is None:
            return False
        try:
            return bool(validator.is_valid(instance))
        except Exception:
            # Any failure to convert or to evaluate proves nothing either way.
            return False

    def conforms(self, payload: dict[str, Any], body_schema: tuple[str, int] | None) -> bool:
        """Whether the fast validator proves ``payload`` valid: its common part, and its body
        against ``body_schema`` when it has one (as :func:`validate_payload` checks them)."""
        if not self.fast_is_valid(_COMMON, 1, payload):
            return False
        return body_schema is None or self.fast_is_valid(*body_schema, payload["body"])

    def violations(
        self, name: str, version: int, instance: object, prefix: str
    ) -> Iterator[Violation]:
        self.schema(name, version)
        for error in self._validators[name, version].iter_errors(instance):
            yield from _explain(error, prefix)

    def changed_violations(
        self, name: str, version: int, instance: dict[str, Any], change: _Change, prefix: str
    ) -> Iterator[Violation]:
        """The violations of ``instance`` when it differs from a valid instance by ``change``.

        Needs the inlined schemas (``inlined``): the walk follows
        ``properties`` and ``allOf`` and meets no ``$ref``.
        """
        self.schema(name, version)
        validator = self._validators[name, version]
        revalidate: list[tuple[str, object, object]] = []
        _revalidation(validator.schema, instance, change, prefix, revalidate)
        for pointer, schema, value in revalidate:
            for error in validator.evolve(schema=schema).iter_errors(value):
                yield from _explain(error, pointer)

    def sensitive_fields(self, name: str, version: int) -> dict[str, str]:
        key = (name, version)
        if key not in self._sensitive:
            found: dict[str, str] = {}
            # The common part has no sensitive field today; walking it keeps
            # a future annotation there from being silently ignored.
            for schema, prefix in (
                (self.schema(_COMMON, 1), ""),
                (self.schema(name, version), "/body"),
            ):
                resolver = self._registry.resolver(base_uri=schema["$id"])
                _collect_classes(schema, resolver, prefix, found, depth=0)
            self._sensitive[key] = found
        return self._sensitive[key]


class _Inliner:
    """Copies schemas with every ``$ref`` replaced by the schema it names.

    Why: jsonschema resolves a ``$ref`` through the registry each time it
    meets one, on every record, and the record types reach the shared
    definitions of ``record/v1.json`` by ``$ref`` at every level: that was
    about a third of the validation time. Resolved once at load, validation
    only walks dictionaries. The result is the same because a ``$ref`` is an
    applicator whose result is that of the schema it names (JSON Schema
    2020-12 core §8.2.3.1): a ``$ref`` whose other keywords are annotations
    becomes the named schema itself; one beside assertions becomes an
    ``allOf`` member, which combines results the same way. Errors then come
    from the same subschemas as before, so messages, ``x-silkline-error``
    overrides and pointers do not change. A recursive schema becomes a cyclic
    structure, which the validator walks only as deep as the instance goes.
    One inliner serves a whole folder, so a definition is copied once however
    many record types refer to it.
    """

    def __init__(self) -> None:
        self._copies: dict[int, object] = {}
        self._following: set[int] = set()

    def inline(self, schema: object, resolver: Any) -> object:
        """The copy of ``schema``, whose ``$ref``s resolve with ``resolver``."""
        if not isinstance(schema, dict):
            return schema
        key = id(schema)
        if key in self._copies:
            return self._copies[key]
        if isinstance(schema.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(schema))
        reference = schema.get("$ref")
        if isinstance(reference, str) and not any(
            keyword in _Validator.VALIDATORS for keyword in schema if keyword != "$ref"
        ):
            # Only annotations beside the $ref: the named schema stands in for this one.
            if key in self._following:
                return self._copy_in_progress(schema, resolver)
            self._following.add(key)
            target = self._referenced(reference, resolver)
            self._following.discard(key)
            self._copies[key] = target
            return target
        # Registered before descending, so a schema reached again through its
        # own subschemas (recursion) is this same, still growing, copy.
        inlined: dict[str, object] = {}
        self._copies[key] = inlined
        for keyword, value in schema.items():
            if keyword in ("$ref", "$defs"):
                continue  # $defs are reached only through $ref, which is inlined.
            if keyword in _SUBSCHEMA:
                inlined[keyword] = self.inline(value, resolver)
            elif keyword in _SUBSCHEMA_MAP and isinstance(value, dict):
                inlined[keyword] = {name: self.inline(sub, resolver) for name, sub in value.items()}
            elif keyword in _SUBSCHEMA_LIST and isinstance(value, list):
                inlined[keyword] = [self.inline(sub, resolver) for sub in value]
            else:
                inlined[keyword] = value
        if isinstance(reference, str):
            members = inlined.get("allOf")
            inlined["allOf"] = [
                *(members if isinstance(members, list) else ()),
                self._referenced(reference, resolver),
            ]
        return inlined

    def _referenced(self, reference: str, resolver: Any) -> object:
        resolved = _lookup(resolver, reference)
        return self.inline(resolved.contents, resolved.resolver)

    def _copy_in_progress(self, schema: dict[str, Any], resolver: Any) -> object:
        """The copy that a ``$ref`` met again while its target is being inlined will become.

        Following the chain of such ``$ref`` schemas leads to a schema whose
        copy is already registered, unless the chain only loops through
        ``$ref`` schemas, which name no schema at all.
        """
        chain: set[int] = set()
        node: object = schema
        while id(node) not in self._copies:
            if id(node) in chain or not isinstance(node, dict) or "$ref" not in node:
                raise SchemaLoadError(
                    f"schema reference {schema['$ref']!r} only leads back to itself"
                )
            chain.add(id(node))
            if isinstance(node.get("$id"), str):
                resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
            resolved = _lookup(resolver, node["$ref"])
            node, resolver = resolved.contents, resolved.resolver
        return self._copies[id(node)]


# Keywords whose value is a subschema, a map of names to subschemas, or a list
# of subschemas (JSON Schema 2020-12 core §10.2 and §10.3).
_SUBSCHEMA: Final = frozenset(
    {"additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else"}
)
_SUBSCHEMA_MAP: Final = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SUBSCHEMA_LIST: Final = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
# With these keywords the outcome depends on the dynamic scope or on
# annotations gathered across subschemas (core §8.2.3.2, §11.2, §11.3), where an
# inlined copy is not certain to behave as the original: a folder whose schemas
# use one is validated through the registry, as written.
_NOT_INLINABLE: Final = frozenset(
    {"$dynamicRef", "$dynamicAnchor", "unevaluatedItems", "unevaluatedProperties"}
)


def _inlinable(schema: object) -> bool:
    if isinstance(schema, dict):
        return not _NOT_INLINABLE & schema.keys() and all(map(_inlinable, schema.values()))
    if isinstance(schema, list):
        return all(map(_inlinable, schema))
    return True


def _body_schema(schema_set: _SchemaSet, payload: Mapping[str, Any]) -> tuple[str, int] | None:
    """The (record type, version) whose schema the payload's body is checked against, if any."""
    record_type = payload.get("record_type")
    schema_version = payload.get("schema_version")
    if (
        record_type in RECORD_TYPES
        and isinstance(schema_version, int)
        and not isinstance(schema_version, bool)
        and schema_set.has(record_type, schema_version)
        and isinstance(payload.get("body"), dict)
    ):
        return record_type, schema_version
    return None


@functools.lru_cache(maxsize=8)
def _schema_set(directory: Path) -> _SchemaSet:
    return _SchemaSet(directory)


def _fast_validators(
    schemas: Mapping[tuple[str, int], dict[str, Any]],
) -> dict[tuple[str, int], Any]:
    """A jsonschema-rs validator per schema, or none for a folder it cannot compile.

    The formats are checked by the same functions as the Python validator's
    (jsonschema-rs would skip them under draft 2020-12, where format is an
    annotation, and its own checks differ at the edges). ``$ref`` resolves
    among the folder's files only: retrieval of anything else fails, so
    nothing is fetched from the network. A folder that does not compile
    (a keyword jsonschema-rs lacks, a pattern its engine refuses) simply has
    no fast path: the Python validator, which loaded it, judges every payload.
    """
    try:
        registry = jsonschema_rs.Registry(
            [(schema["$id"], schema) for schema in schemas.values()], retriever=_no_retrieval
        )
        return {
            key: jsonschema_rs.validator_for(
                schema,
                registry=registry,
                retriever=_no_retrieval,
                validate_formats=True,
                formats=_FAST_FORMATS,
            )
            for key, schema in schemas.items()
        }
    except Exception:
        return {}


def _no_retrieval(uri: str) -> Any:
    raise SchemaLoadError(f"schema reference {uri!r} is not one of the schema files")


def _read_schema(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SchemaLoadError(f"{path}: cannot read schema: {error}") from error
    if not isinstance(schema, dict):
        raise SchemaLoadError(f"{path}: a schema must be a JSON object")
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise SchemaLoadError(
            f"{path}: not a valid draft 2020-12 schema: {error.message}"
        ) from error
    return schema


# ------------------------------------------------------ sensitive classes

_MAX_SCHEMA_DEPTH = 32


def _collect_classes(
    schema: object, resolver: Any, pointer: str, found: dict[str, str], depth: int
) -> None:
    """Add to ``found`` the class of every annotated property below ``pointer``."""
    # The depth bound stops a recursive schema (a person who has persons) from looping.
    if not isinstance(schema, dict) or depth > _MAX_SCHEMA_DEPTH:
        return
    if isinstance(schema.get("$ref"), str):
        resolved = _lookup(resolver, schema["$ref"])
        _collect_classes(resolved.contents, resolved.resolver, pointer, found, depth + 1)
    for subschema in schema.get("allOf", ()):
        _collect_classes(subschema, resolver, pointer, found, depth + 1)
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    for name, subschema in properties.items():
        child = f"{pointer}/{_escape(name)}"
        class_name = _class_of(subschema, resolver, depth)
        if class_name is not None:
            found[child] = class_name
        _collect_classes(subschema, resolver, child, found, depth + 1)


def _class_of(schema: object, resolver: Any, depth: int) -> str | None:
    """The class a property is annotated with, on the property or on the schema it refers to."""
    while isinstance(schema, dict) and depth <= _MAX_SCHEMA_DEPTH:
        class_name = schema.get(CLASS_KEYWORD)
        if isinstance(class_name, str):
            return class_name
        if not isinstance(schema.get("$ref"), str):
            return None
        resolved = _lookup(resolver, schema["$ref"])
        schema, resolver, depth = resolved.contents, resolved.resolver, depth + 1
    return None


def _lookup(resolver: Any, ref: str) -> Any:
    try:
        return resolver.lookup(ref)
    except Unresolvable as error:
        raise SchemaLoadError(f"schema reference {ref!r} does not resolve: {error}") from error


def _is_present(payload: Mapping[str, Any], pointer: str) -> bool:
    node: object = payload
    for part in pointer.split("/")[1:]:
        if not isinstance(node, Mapping):
            return False
        key = part.replace("~1", "/").replace("~0", "~")
        if key not in node:
            return False
        node = node[key]
    return True


# ----------------------------------------------------- revealed payloads
# A revealed payload is its signed form with `_sd` (and `...` elements)
# removed and disclosed values inserted. The signed form has passed
# validation, so the revealed one can fail only where it differs, and only
# through a subschema that reads what differs. The walk below finds those
# subschemas in the inlined schema, following `properties` and `allOf`, and
# proves each other assertion on the way unaffected; what it cannot prove
# unaffected is validated again whole.


@dataclass(frozen=True)
class _Change:
    """How an object of a payload differs from the same object of an earlier form.

    ``removed`` names what only the earlier form has; ``replaced`` maps what
    is new, or changed other than inside an object, to its new value;
    ``within`` maps what holds an object in both forms, changed inside, to
    how that object changed.
    """

    removed: frozenset[str]
    replaced: dict[str, object]
    within: dict[str, _Change]

    @property
    def changed(self) -> set[str]:
        return self.replaced.keys() | self.within.keys()


def _difference(before: dict[str, Any], after: dict[str, Any]) -> _Change | None:
    """How ``after`` differs from ``before``; None when they are the same JSON value."""
    replaced: dict[str, object] = {}
    within: dict[str, _Change] = {}
    for name, value in after.items():
        if name not in before:
            replaced[name] = value
            continue
        earlier = before[name]
        if isinstance(earlier, dict) and isinstance(value, dict):
            inner = _difference(earlier, value)
            if inner is not None:
                within[name] = inner
        elif not _same(earlier, value):
            replaced[name] = value
    removed = frozenset(before.keys() - after.keys())
    if removed or replaced or within:
        return _Change(removed, replaced, within)
    return None


def _same(first: object, second: object) -> bool:
    # Stricter than ==, which holds True == 1 == 1.0; a type check does not.
    if type(first) is not type(second):
        return False
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(
            _same(value, second[name]) for name, value in first.items()
        )
    if isinstance(first, list) and isinstance(second, list):
        return len(first) == len(second) and all(map(_same, first, second))
    return first == second


def _revalidation(
    schema: object,
    instance: dict[str, Any],
    change: _Change,
    pointer: str,
    revalidate: list[tuple[str, object, object]],
) -> None:
    """Add to ``revalidate`` each (pointer, subschema, value) that ``change`` requires checking.

    ``schema`` applies to ``instance``, an object that passed it before
    ``change``. The outcome of ``schema`` on ``instance`` is then that of the
    validations added.
    """
    if schema is True:
        return
    if not isinstance(schema, dict) or not _decomposes(schema, change):
        revalidate.append((pointer, schema, instance))
        return
    properties = schema.get("properties", {})
    for name, value in change.replaced.items():
        if name in properties:
            revalidate.append((f"{pointer}/{_escape(name)}", properties[name], value))
    for name, inner in change.within.items():
        if name in properties:
            child = f"{pointer}/{_escape(name)}"
            _revalidation(properties[name], instance[name], inner, child, revalidate)
    for member in schema.get("allOf", ()):
        _revalidation(member, instance, change, pointer, revalidate)


def _decomposes(schema: dict[str, Any], change: _Change) -> bool:
    """Whether each assertion of ``schema`` on the changed object holds as before or is walked.

    ``type`` sees an object both times; ``properties`` and ``allOf`` are
    walked by :func:`_revalidation`; ``required`` still holds unless it names
    a removed field; ``additionalProperties`` still holds when every changed
    field is a declared property; ``if``/``then``/``else``, ``oneOf``,
    ``anyOf`` and ``not`` give the same result when their subschemas read no
    field that changed. Any other keyword is not assumed to hold.
    """
    properties = schema.get("properties", {})
    for keyword, value in schema.items():
        if keyword not in _Validator.VALIDATORS or keyword in ("type", "properties", "allOf"):
            continue  # Keywords jsonschema does not act on are annotations.
        if keyword == "required":
            held = not change.removed.intersection(value)
        elif keyword == "additionalProperties":
            held = all(name in properties for name in change.changed)
        elif keyword in ("if", "oneOf", "anyOf", "not"):
            touched = change.changed | change.removed
            held = all(_reads_none(branch, touched) for branch in _branches(schema, keyword))
        else:
            held = False
        if not held:
            return False
    return True


def _branches(schema: dict[str, Any], keyword: str) -> list[object]:
    if keyword == "if":  # "then" and "else" act only through "if".
        return [schema[name] for name in ("if", "then", "else") if name in schema]
    if keyword == "not":
        return [schema[keyword]]
    return list(schema[keyword])


def _reads_none(schema: object, names: set[str]) -> bool:
    """Whether validating an object against ``schema`` reads none of the fields ``names``."""
    if not isinstance(schema, dict):
        return True  # true and false read nothing.
    for keyword, value in schema.items():
        if keyword not in _Validator.VALIDATORS or keyword == "type":
            continue
        if keyword in ("properties", "required"):  # names of a map, items of a list
            unread = names.isdisjoint(value)
        elif keyword in ("if", "oneOf", "anyOf", "not", "allOf"):
            unread = all(_reads_none(branch, names) for branch in _branches(schema, keyword))
        else:
            unread = False
        if not unread:
            return False
    return True


# ------------------------------------------------------------------ formats

_FORMAT_CHECKER = FormatChecker(formats=())

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_date(year: int, month: int, day: int) -> bool:
    # calendar.isleap accepts year 0000, which RFC 3339 allows and datetime.date does not.
    if not 1 <= month <= 12:
        return False
    days = 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month - 1]
    return 1 <= day <= days


def _is_full_date(instance: object) -> bool:
    """RFC 3339 §5.6 full-date."""
    if not isinstance(instance, str):
        return True  # formats constrain strings only (JSON Schema 2020-12 §7.1)
    match = _DATE.fullmatch(instance)
    return match is not None and _valid_date(*(int(part) for part in match.groups()))


def _is_date_time(instance: object) -> bool:
    """RFC 3339 §5.6 date-time: a time offset is required, a leap second only at 23:59:60 UTC."""
    if not isinstance(instance, str):
        return True
    match = _DATE_TIME.fullmatch(instance)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    sign, offset_hour, offset_minute = match.group(8), match.group(9), match.group(10)
    if not _valid_date(year, month, day) or hour > 23 or minute > 59 or second > 60:
        return False
    offset = 0
    if sign is not None:
        if int(offset_hour) > 23 or int(offset_minute) > 59:
            return False
        offset = (int(offset_hour) * 60 + int(offset_minute)) * (1 if sign == "+" else -1)
    if second == 60:
        # RFC 3339 §5.7: leap seconds are inserted at the end of a UTC day.
        return (hour * 60 + minute - offset) % (24 * 60) == 23 * 60 + 59
    return True


def _is_uuid(instance: object) -> bool:
    """RFC 9562 §4 hyphenated form, any version."""
    return not isinstance(instance, str) or _UUID.fullmatch(instance) is not None


# Only the formats silkline's schemas use are checked, each as its RFC says;
# jsonschema's own date-time check needs an extra package and passes silently without it.
_FORMAT_CHECKER.checks("date")(_is_full_date)
_FORMAT_CHECKER.checks("date-time")(_is_date_time)
_FORMAT_CHECKER.checks("uuid")(_is_uuid)
# The fast validator checks the same formats with the same functions.
_FAST_FORMATS: Final[dict[str, Callable[[str], bool]]] = {
    "date": _is_full_date,
    "date-time": _is_date_time,
    "uuid": _is_uuid,
}


# ----------------------------------------------------------------- patterns


@functools.lru_cache(maxsize=256)
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA-262 regular expressions. Two Python
    # differences matter for ours: "$" also matches before a final newline
    # (so "IN\n" would pass "^[A-Z]{2}$"), and \d matches any Unicode digit.
    # A final "$" becomes \Z and the ASCII flag restores ECMA's \d and \w.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern, re.ASCII)


def _pattern_keyword(
    validator: Any, pattern: str, instance: object, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and _ecma_regex(pattern).search(instance) is None:
        yield ValidationError(f"does not match {pattern!r}")


_Validator: Any = jsonschema.validators.extend(
    Draft202012Validator, validators={"pattern": _pattern_keyword}
)


# ---------------------------------------------------------------- messages

_TYPE_NAMES: Final = {
    "object": "a JSON object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "null": "null",
}


def _explain(error: Any, prefix: str) -> Iterator[Violation]:
    """The violations one jsonschema error stands for, with pointers from the payload root."""
    pointer = prefix + _to_pointer(error.absolute_path)
    keyword = error.validator
    override = error.schema.get(ERROR_KEYWORD) if isinstance(error.schema, dict) else None

    if keyword in ("oneOf", "anyOf") and error.context:
        branch = _best_branch(error.context)
        if branch is not None:
            for sub_error in branch:
                yield from _explain(sub_error, prefix)
            return
        yield Violation(pointer, override or "does not match any of the allowed forms")
        return
    if keyword == "required" and isinstance(error.instance, dict):
        # One violation per missing field, at the field's own pointer.
        for name in error.validator_value:
            if name not in error.instance:
                yield Violation(f"{pointer}/{_escape(name)}", override or "is required")
        return
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        for name in _additional_properties(error.instance, error.schema):
            yield Violation(
                f"{pointer}/{_escape(name)}",
                override or f"is not allowed here; allowed: {', '.join(allowed) or 'nothing'}",
            )
        return
    yield Violation(pointer, override or _message(error))


def _best_branch(context: Iterable[Any]) -> list[Any] | None:
    """The errors of the oneOf/anyOf alternative that came closest to matching.

    An alternative whose type differs from the value's (a string where an
    object was expected) is the wrong alternative, not a nearly right one;
    among the others, the one with the fewest errors. None when every
    alternative has the wrong type: then no alternative's errors help.
    """
    branches: dict[Any, list[Any]] = {}
    for error in context:
        branches.setdefault(error.relative_schema_path[0], []).append(error)
    candidates = [
        errors
        for errors in branches.values()
        if not any(error.validator == "type" and not error.relative_path for error in errors)
    ]
    if not candidates:
        return None
    return min(candidates, key=len)


def _additional_properties(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    patterns = [_ecma_regex(pattern) for pattern in schema.get("patternProperties", {})]
    return sorted(
        name
        for name in instance
        if name not in properties and not any(pattern.search(name) for pattern in patterns)
    )


def _message(error: Any) -> str:
    """A message that names the constraint but never echoes the value, which may be personal."""
    keyword, expected = error.validator, error.validator_value
    if keyword == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return "must be " + " or ".join(_TYPE_NAMES.get(kind, kind) for kind in kinds)
    if keyword == "enum":
        return "must be one of: " + ", ".join(json.dumps(value) for value in expected)
    if keyword == "const":
        return f"must be {json.dumps(expected)}"
    if keyword == "pattern":
        return f"must match the pattern {expected}"
    if keyword == "format":
        return {
            "date": "must be an RFC 3339 date, YYYY-MM-DD",
            "date-time": "must be an RFC 3339 date-time with a time offset, "
            "e.g. 2026-11-25T10:00:00Z or 2026-11-25T15:30:00+05:30",
            "uuid": "must be a UUID in 8-4-4-4-12 hex form",
        }.get(expected, f"must be a valid {expected}")
    bounds = {
        "minimum": f"must be at least {expected}",
        "maximum": f"must be at most {expected}",
        "exclusiveMinimum": f"must be greater than {expected}",
        "exclusiveMaximum": f"must be less than {expected}",
        "multipleOf": f"must be a multiple of {expected}",
        "minLength": f"must be at least {expected} character{'s' if expected != 1 else ''} long",
        "maxLength": f"must be at most {expected} characters long",
        "minItems": f"must have at least {expected} item{'s' if expected != 1 else ''}",
        "maxItems": f"must have at most {expected} items",
        "uniqueItems": "must not contain the same item twice",
        "minProperties": f"must have at least {expected} properties",
        "maxProperties": f"must have at most {expected} properties",
        "not": "is not allowed here",
        "oneOf": "matches more than one of the allowed forms",
    }
    if keyword in bounds:
        return bounds[keyword]
    if keyword is None:  # the false schema
        return "is not allowed here"
    # jsonschema's own message would quote the value; name the keyword instead.
    return f"violates the schema's {keyword} constraint"


def _to_pointer(path: Iterable[object]) -> str:
    return "".join(f"/{_escape(str(part))}" for part in path)


def _escape(name: str) -> str:
    """RFC 6901 §3: "~" is written "~0" and "/" is written "~1"."""
    return name.replace("~", "~0").replace("/", "~1")


def _pointer_order(pointer: str) -> tuple[tuple[int, int, str], ...]:
    # Array indexes sort as numbers, so /items/2 comes before /items/10.
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in pointer.split("/")[1:]
    )


def _violation_order(violation: Violation) -> tuple[tuple[tuple[int, int, str], ...], str]:
    return _pointer_order(violation.pointer), violation.message


# -------------------------------------------------------- cross-field rules
# JSON Schema cannot compare one field with another; these rules do, for the
# few comparisons the record types need. Each reads the body defensively:
# a field of the wrong type has already been reported by the schema.

_CrossFieldRule = Callable[[Mapping[str, Any]], Iterator[Violation]]


def _ordered_dates(container: str, first: str, last: str) -> _CrossFieldRule:
    def rule(body: Mapping[str, Any]) -> Iterator[Violation]:
        span = body.get(container)
        if not isinstance(span, Mapping):
            return
        start, end = span.get(first), span.get(last)
        # Valid RFC 3339 full-dates compare as text in calendar order.
        if _is_date_text(start) and _is_date_text(end) and end < start:
            yield Violation(f"/body/{container}/{last}", f"must not be before {first}")

    return rule


def _not_more_than(field: str, limit: str, *, count_items: bool = False) -> _CrossFieldRule:
    def rule(body: Mapping[str, Any]) -> Iterator[Violation]:
        value, bound = body.get(field), body.get(limit)
        if count_items:
            value = len(value) if isinstance(value, list) else None
        if _is_count(value) and _is_count(bound) and value > bound:
            what = "number of entries" if count_items else "value"
            yield Violation(f"/body/{field}", f"{what} must not exceed {limit}")

    return rule


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _is_full_date(value)


_CROSS_FIELD_RULES: Final[dict[str, tuple[_CrossFieldRule, ...]]] = {
    "training": (_ordered_dates("held_at", "start", "end"),),
    "rehabilitation": (
        _ordered_dates("period", "from", "to"),
        _not_more_than("people_completed", "people_treated"),
    ),
    "livelihood": (_ordered_dates("period", "from", "to"),),
    "joint-operation": (_ordered_dates("period", "from", "to"),),
    "arrest": (_not_more_than("persons", "count", count_items=True),),
    "prosecution": (_not_more_than("defendants", "defendants_count", count_items=True),),
}
