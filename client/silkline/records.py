"""Record schemas: where they are, how a record payload is checked, which fields are sensitive.

A record payload is what an agency signs. Its common part (record type,
identifier, originator, distribution, grading) is checked against
``schemas/record/v1.json`` and its ``body`` against
``schemas/<record_type>/v<schema_version>.json``. Every violation is reported
at once, each with the JSON pointer (RFC 6901) of the field from the payload
root, so an agency can fix a record in one go.

Fields a schema marks with ``"x-silkline-class": "<class>"`` are sensitive:
they travel as selective disclosures, never in clear in the signed payload.
:func:`sensitive_fields` lists them for a record type and
:func:`sensitive_in_clear` finds them in a payload.

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
    configured = os.environ.get(SCHEMAS_DIR_ENV)
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
    found.update(schema_set.violations(_COMMON, 1, payload, prefix=""))

    record_type = payload.get("record_type")
    schema_version = payload.get("schema_version")
    body = payload.get("body")
    if (
        record_type in RECORD_TYPES
        and isinstance(schema_version, int)
        and not isinstance(schema_version, bool)
        and schema_set.has(record_type, schema_version)
        and isinstance(body, dict)
    ):
        found.update(schema_set.violations(record_type, schema_version, body, prefix="/body"))
        for rule in _CROSS_FIELD_RULES.get(record_type, ()):
            found.update(rule(body))

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
        self._validators: dict[tuple[str, int], Any] = {}
        self._sensitive: dict[tuple[str, int], dict[str, str]] = {}

    def has(self, name: str, version: int) -> bool:
        return (name, version) in self._schemas

    def schema(self, name: str, version: int) -> dict[str, Any]:
        if name != _COMMON and name not in RECORD_TYPES:
            raise UnknownRecordTypeError(name)
        if (name, version) not in self._schemas:
            known = [v for (n, v) in self._schemas if n == name]
            raise UnknownSchemaVersionError(name, version, known)
        return self._schemas[name, version]

    def violations(
        self, name: str, version: int, instance: object, prefix: str
    ) -> Iterator[Violation]:
        validator = self._validator(name, version)
        for error in validator.iter_errors(instance):
            yield from _explain(error, prefix)

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

    def _validator(self, name: str, version: int) -> Any:
        key = (name, version)
        if key not in self._validators:
            schema = self.schema(name, version)
            self._validators[key] = _Validator(
                schema, registry=self._registry, format_checker=_FORMAT_CHECKER
            )
        return self._validators[key]


@functools.lru_cache(maxsize=8)
def _schema_set(directory: Path) -> _SchemaSet:
    return _SchemaSet(directory)


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
