"""The fast validator (jsonschema-rs) and the Python one agree on every schema of schemas/.

`validate_payload` lets jsonschema-rs accept a payload on its own; the Python
validator runs only when the fast one does not prove the payload valid. A
payload the fast validator calls valid and the Python one refuses would be a
record stored against the schemas: these tests show that does not happen for
our schemas. They mutate the schema examples (every value replaced, removed,
added to, in their signed and revealed forms), alone and combined, and compare
the two validators on every schema the mutated value is checked against; and
they compare the two regular-expression engines on every pattern of the files.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silkline import records
from silkline.formats import disclosure as sd

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
EXAMPLES = sorted(SCHEMAS.glob("*/examples/*.json"))
DRAFT = "https://json-schema.org/draft/2020-12/schema"

Path_ = tuple[str | int, ...]
Key = tuple[str, int]


@pytest.fixture(autouse=True)
def repository_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(records.SCHEMAS_DIR_ENV, raising=False)


def schema_set() -> Any:
    return records._schema_set(records.schemas_dir())


def python_valid(key: Key, instance: object) -> bool:
    """The authoritative answer: no violation from the Python validator."""
    return next(schema_set().violations(*key, instance, prefix=""), None) is None


def agree(key: Key, instance: object) -> tuple[bool, bool]:
    return schema_set().fast_is_valid(*key, instance), python_valid(key, instance)


# ------------------------------------------------------------------ the instances


def _walk_schema(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk_schema(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_schema(value)


def _schema_documents() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.glob("*/v*.json")]


def _constants() -> list[object]:
    """Every enum member and const of the schema files: they steer if/then and oneOf."""
    found: list[object] = []
    for document in _schema_documents():
        for schema in _walk_schema(document):
            values = [*schema.get("enum", ()), *([schema["const"]] if "const" in schema else [])]
            found.extend(value for value in values if value not in found)
    return found


DIGEST = "A" * 43
VALUES: list[object] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    4,
    5,
    1.0,
    2.0,
    0.5,
    -0.0,
    1e-300,
    90,
    90.5,
    91,
    -90,
    -91,
    180,
    -181,
    2**63,
    2**64 + 1,
    -(2**64),
    1e308,
    1e20,
    "",
    "x",
    "A",
    "IN",
    "IR",
    "IN\n",
    "in",
    "\u00c4B",
    "\u0661\u0662",
    "INDIAN",
    "IN1",
    "IN/NCB",
    "IN/NCB\n",
    "IN/",
    "/NCB",
    "IN/ncb",
    "IN/NCB/X",
    "UNODC",
    "A" * 16,
    "A" * 17,
    "2024-02-29",
    "2023-02-29",
    "2024-13-01",
    "2024-1-01",
    "2024-01-01\n",
    "0000-01-01",
    "2024-01-32",
    "24-01-01",
    "2026-11-25T10:00:00Z",
    "2026-11-25T10:00:00.123456789Z",
    "2026-11-25T10:00:00.1234567890Z",
    "2026-11-25t10:00:00z",
    "2026-11-25T10:00:00+05:30",
    "2026-11-25T10:00:00+24:00",
    "2026-11-25T23:59:60Z",
    "2026-11-25T10:59:60Z",
    "2026-11-25T18:29:60-05:30",
    "2026-11-25T10:00:00",
    "2026-11-25T24:00:00Z",
    "2026-11-25 10:00:00Z",
    "2026-11-25T10:00:00Z\n",
    "2026-02-30T10:00:00Z",
    "0192b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b",
    "0192B3C4-5D6E-7F80-9A1B-2C3D4E5F6A7B",
    "0192b3c4-5d6e-4f80-9a1b-2c3d4e5f6a7b",
    "0192b3c4-5d6e-7f80-ca1b-2c3d4e5f6a7b",
    "0192b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b\n",
    "a" * 64,
    "A" * 64,
    "a" * 63,
    DIGEST,
    DIGEST + "=",
    "A" * 42,
    "+" * 43,
    "application/pdf",
    "Application/pdf",
    "application/pdf; q=1",
    "image/jpeg\n",
    "x" * 500,
    "x" * 501,
    "x" * 2000,
    "x" * 2001,
    "x" * 10000,
    "x" * 10001,
    "\u00e9" * 500,
    "\u00e9" * 501,
    "\U0001f600" * 500,
    "\U0001f600" * 501,
    "x" * 32,
    "x" * 33,
    [],
    {},
    [1],
    ["IN"],
    ["IN", "IN"],
    [{}],
    [DIGEST],
    [DIGEST, DIGEST],
    [None],
    {"code": "H0"},
    {"code": "H3"},
    {"code": "H3", "text": "t"},
    {"code": "H0", "text": "t"},
    {"code": "H3", "text": ""},
    [{"code": "H0"}, {"code": "H0"}],
    {"name": "Chabahar", "country": "IR"},
    {"name": "Chabahar"},
    {"lat": 1, "lon": 2},
    {"lat": 91, "lon": 2},
    {"value": 1.5, "unit": "tablets"},
    {"value": 2, "unit": "tablets"},
    {"value": 2.0, "unit": "tablets"},
    {"value": 0, "unit": "kg"},
    {"amount": 1, "currency": "INR", "scale": "lakh"},
    {"from": "2024-01-02", "to": "2024-01-01"},
    {"name": "A. Person"},
    [{"name": "A. Person"}],
    {"_sd": [DIGEST]},
]


def _forms(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The example as its originator signs it (sensitive fields concealed) and revealed."""
    if "_sd_alg" in payload:
        return [payload, sd.reveal(payload, []).payload]
    paths = [
        tuple(pointer.split("/")[1:])
        for pointer in records.sensitive_fields(payload["record_type"])
    ]
    concealed, _ = sd.conceal(payload, paths)
    return [concealed, payload]


def _places(node: object, path: Path_ = ()) -> Iterator[Path_]:
    yield path
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _places(value, (*path, name))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _places(value, (*path, index))


def _changes(value: object) -> Iterator[tuple[str, object]]:
    """(label, new value) for the changes worth trying on ``value``."""
    for candidate in VALUES:
        yield f"= {json.dumps(candidate)[:40]}", copy.deepcopy(candidate)
    for constant in CONSTANTS:
        yield f"= {json.dumps(constant)}", constant
    if isinstance(value, str):
        for label, changed in (
            ("+newline", value + "\n"),
            ("newline+", "\n" + value),
            ("upper", value.upper()),
            ("lower", value.lower()),
            ("shorter", value[:-1]),
            ("longer", value + value[-1:]),
            ("arabic digits", value.translate(_ARABIC_DIGITS)),
            ("lower t and z", value.replace("T", "t").replace("Z", "z")),
            ("doubled", value + value),
        ):
            yield label, changed
    elif isinstance(value, bool):
        yield "negated", not value
    elif isinstance(value, int | float):
        for label, changed in (
            ("+1", value + 1),
            ("-1", value - 1),
            ("negative", -value),
            ("+0.5", value + 0.5),
            ("as float", float(value)),
            ("as int", int(value)),
        ):
            yield label, changed
    elif isinstance(value, list):
        yield "empty", []
        if value:
            yield "first twice", [*value, copy.deepcopy(value[0])]
            yield "first only", [copy.deepcopy(value[0])]
            yield "without first", value[1:]
        for candidate in (None, 1, "IN", DIGEST, {}, {"name": "A. Person"}, {"code": "H3"}):
            yield f"appended {json.dumps(candidate)}", [*copy.deepcopy(value), candidate]
    elif isinstance(value, dict):
        for name, candidate in (("zz", 1), ("_sd", [DIGEST]), ("_sd", []), ("...", DIGEST)):
            if name not in value:
                yield f"added {name}", {**copy.deepcopy(value), name: candidate}
        for name in value:
            yield f"without {name}", {k: copy.deepcopy(v) for k, v in value.items() if k != name}


# Arabic-Indic digits: \d in Python's re matches them, in ECMA-262 it does not.
_ARABIC_DIGITS: Final = {ord("0") + digit: 0x0660 + digit for digit in range(10)}
CONSTANTS = _constants()


def _replaced(payload: Any, path: Path_, new: object) -> Any:
    if not path:
        return new
    variant = copy.deepcopy(payload)
    container: Any = variant
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = new
    return variant


def _targets(payload: Any) -> list[tuple[Key, object]]:
    """Each (schema, instance) a payload is checked against, as validate_payload checks it."""
    found: list[tuple[Key, object]] = [(("record", 1), payload)]
    if not isinstance(payload, dict):
        return found
    record_type, version = payload.get("record_type"), payload.get("schema_version")
    if (
        isinstance(record_type, str)
        and type(version) is int
        and schema_set().has(record_type, version)
        and isinstance(payload.get("body"), dict)
    ):
        found.append(((record_type, version), payload["body"]))
    return found


def _shape(path: Path_) -> tuple[str, ...]:
    """A path with array indices blurred: one mutation per element of the same schema."""
    return tuple("*" if isinstance(step, int) else step for step in path)


def mutations() -> Iterator[tuple[str, Any]]:
    """Every example, in both forms, with one value changed in every way listed."""
    seen: set[tuple[object, ...]] = set()
    for path_ in EXAMPLES:
        for form in _forms(json.loads(path_.read_text(encoding="utf-8"))):
            yield f"{path_.stem} as is", form
            for place in _places(form):
                container: Any = form
                for step in place:
                    container = container[step]
                for label, new in _changes(container):
                    key = (form["record_type"], _shape(place), type(container).__name__, label)
                    if key in seen:
                        continue
                    seen.add(key)
                    yield (
                        f"{path_.stem} {'/'.join(map(str, place))} {label}",
                        _replaced(form, place, new),
                    )


MUTATIONS = list(mutations())


def test_the_fast_validator_exists_for_every_schema() -> None:
    fast = schema_set()._fast
    assert set(fast) == set(schema_set()._schemas)
    assert len(fast) == len(list(SCHEMAS.glob("*/v*.json")))


def test_both_validators_agree_on_every_mutation_of_the_examples() -> None:
    disagreements = []
    outcomes: dict[bool, int] = {True: 0, False: 0}
    for label, payload in MUTATIONS:
        for key, instance in _targets(payload):
            fast, python = agree(key, instance)
            outcomes[python] += 1
            if fast != python:
                disagreements.append((label, key, fast, python))
    # The table reaches both outcomes, on many instances.
    assert min(outcomes.values()) > 1000, outcomes
    # A fast "valid" that Python refuses would store a record against the schemas;
    # the other way round would only cost time. Neither happens for our schemas.
    assert disagreements == []


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_both_validators_agree_on_combined_mutations(data: st.DataObject) -> None:
    label, payload = data.draw(st.sampled_from(MUTATIONS))
    for _ in range(data.draw(st.integers(1, 3))):
        place = data.draw(st.sampled_from(list(_places(payload))))
        container: Any = payload
        for step in place:
            container = container[step]
        _, new = data.draw(st.sampled_from(list(_changes(container))))
        payload = _replaced(payload, place, new)
    for key, instance in _targets(payload):
        assert agree(key, instance)[0] == agree(key, instance)[1], (label, key, payload)


def test_a_value_rust_cannot_take_is_left_to_the_python_validator() -> None:
    mundra = json.loads(
        (SCHEMAS / "seizure-alert/examples/mundra-port-heroin-2021-09.json").read_text()
    )
    for new in (math.nan, math.inf, "\ud800"):
        for place in (("body", "location", "coordinates", "lat"), ("body", "location", "name")):
            payload = _replaced(mundra, place, new)
            fast, python = agree(("seizure-alert", 1), payload["body"])
            assert not fast or python
            # What validate_payload says is the Python validator's answer.
            try:
                records.validate_payload(payload)
                accepted = True
            except records.SchemaViolationError:
                accepted = False
            assert accepted == python


def test_the_fast_validator_checks_formats_as_the_python_one() -> None:
    arrest = json.loads((SCHEMAS / "arrest/examples/gujarat-coast-crew-2024-02.json").read_text())
    for when, valid in (
        ("2026-11-25T23:59:60Z", True),
        ("2026-11-25T18:29:60-05:30", True),
        ("2026-11-25T10:59:60Z", False),  # a leap second only at the end of a UTC day
        ("2026-02-30T10:00:00Z", False),
        ("2026-11-25T10:00:00", False),
    ):
        body = {**arrest["body"], "arrested_at": when}
        assert agree(("arrest", 1), body) == (valid, valid), when


def _patterns() -> list[str]:
    return sorted(
        {
            schema["pattern"]
            for document in _schema_documents()
            for schema in _walk_schema(document)
            if isinstance(schema.get("pattern"), str)
        }
    )


PATTERNS = _patterns()


def _python_matches(pattern: str, text: str) -> bool:
    return records._ecma_regex(pattern).search(text) is not None


def _rust_matches(pattern: str, text: str) -> bool:
    return bool(jsonschema_rs.validator_for({"$schema": DRAFT, "pattern": pattern}).is_valid(text))


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_both_regex_engines_agree_on_every_pattern(pattern: str, data: st.DataObject) -> None:
    # Strings that match, and the same strings a little wrong: the edges where
    # ECMA-262 (jsonschema-rs) and Python's re differ are "$" before a final
    # newline, Unicode digits and letters, and case.
    matching = data.draw(st.from_regex(records._ecma_regex(pattern), fullmatch=True))
    text = data.draw(
        st.sampled_from(
            [
                matching,
                matching + "\n",
                "\n" + matching,
                matching.translate(_ARABIC_DIGITS),
                matching.upper(),
                matching.lower(),
                matching[:-1],
                matching + matching[-1:],
            ]
        )
        | st.text(max_size=70)
    )
    assert _rust_matches(pattern, text) == _python_matches(pattern, text), repr(text)
