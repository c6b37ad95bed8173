"""The schema files themselves: valid draft 2020-12, consistent with the code, examples valid."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from silkline import records, units
from silkline.uuid7 import is_uuid7, uuid7_unix_ms

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
SCHEMA_FILES = sorted(SCHEMAS.glob("*/v*.json"))
EXAMPLES = sorted(SCHEMAS.glob("*/examples/*.json"))


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(SCHEMAS)) for path in paths]


def _subschemas(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in a schema document, with its JSON pointer."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from _subschemas(sub, f"{where}/{key}/{name}")
            elif key in ("items", "not", "if", "then", "else"):
                yield from _subschemas(value, f"{where}/{key}")
            elif key in ("allOf", "anyOf", "oneOf"):
                for index, sub in enumerate(value):
                    yield from _subschemas(sub, f"{where}/{key}/{index}")


def _registry() -> Registry[Any]:
    schemas = [_load(path) for path in SCHEMA_FILES]
    return Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in schemas
    )


# ----------------------------------------------------------- the schema files


def test_there_is_a_v1_schema_for_the_common_part_and_every_record_type() -> None:
    folders = {path.parent.name for path in SCHEMA_FILES}
    assert folders == {"record", *records.RECORD_TYPES}


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_each_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = _load(path)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_each_schema_id_is_its_path(path: Path) -> None:
    expected = f"https://silkline.example/schemas/{path.parent.name}/{path.name}"
    assert _load(path)["$id"] == expected


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_every_object_schema_refuses_unknown_properties(path: Path) -> None:
    open_objects = [
        where
        for where, schema in _subschemas(_load(path))
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False
    ]
    # The common schema leaves the body to the record type's schema.
    assert open_objects == (["/properties/body"] if path.parent.name == "record" else [])


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_every_field_has_a_description(path: Path) -> None:
    schema = _load(path)
    resolver = _registry().resolver(base_uri=schema["$id"])
    undescribed = []
    for where, node in _subschemas(schema):
        if {"if", "then", "else"} & set(where.split("/")):
            continue  # conditions and conditional constraints on fields described elsewhere
        for name, field in node.get("properties", {}).items():
            described = "description" in field
            if not described and "$ref" in field:
                described = "description" in resolver.lookup(field["$ref"]).contents
            if not described:
                undescribed.append(f"{where}/properties/{name}")
    assert undescribed == []


def test_record_types_agree_between_code_and_common_schema() -> None:
    common = _load(SCHEMAS / "record" / "v1.json")
    assert tuple(common["properties"]["record_type"]["enum"]) == records.RECORD_TYPES


def test_quantity_units_and_amount_scales_agree_with_the_units_module() -> None:
    defs = _load(SCHEMAS / "record" / "v1.json")["$defs"]
    assert tuple(defs["quantity"]["properties"]["unit"]["enum"]) == units.QUANTITY_UNITS
    assert tuple(defs["money"]["properties"]["scale"]["enum"]) == units.AMOUNT_SCALES


def test_every_class_annotation_names_a_class() -> None:
    for path in SCHEMA_FILES:
        for where, schema in _subschemas(_load(path)):
            if "x-silkline-class" in schema:
                value = schema["x-silkline-class"]
                assert isinstance(value, str) and value, f"{path}{where}"


def test_sd_digests_are_allowed_exactly_where_a_sensitive_field_lives() -> None:
    for record_type in records.RECORD_TYPES:
        holders = {pointer.rsplit("/", 1)[0] for pointer in records.sensitive_fields(record_type)}
        schema = _load(SCHEMAS / record_type / "v1.json")
        body_has_sd = "_sd" in schema["properties"]
        assert body_has_sd == ("/body" in holders), record_type


# --------------------------------------------------------------- the examples


def test_every_record_type_has_an_example() -> None:
    assert {path.parent.parent.name for path in EXAMPLES} == set(records.RECORD_TYPES)


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_each_example_is_a_valid_payload_of_its_folder_type(path: Path) -> None:
    payload = _load(path)
    assert payload["record_type"] == path.parent.parent.name
    records.validate_payload(payload)


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_each_example_id_is_a_uuid7_of_its_creation_time(path: Path) -> None:
    payload = _load(path)
    assert is_uuid7(payload["id"])
    created = datetime.fromisoformat(payload["created_at"].replace("Z", "+00:00"))
    assert uuid7_unix_ms(payload["id"]) == int(created.timestamp() * 1000)


def test_examples_refer_only_to_records_that_exist_among_the_examples() -> None:
    payloads = [_load(path) for path in EXAMPLES]
    known = {payload["id"] for payload in payloads}
    assert len(known) == len(payloads)
    for payload in payloads:
        assert set(payload["body"].get("related_record_ids", [])) <= known


# The disclosures of the signed-form example, as published in schemas/README.md.
GUJARAT_DISCLOSURES = {
    "/body": (
        "WyJ0ekJFWHpKMEVjMlBHbVEwdEMyZHZBIiwic3VzcGVjdHMiLFt7Im5hbWUiOiJDLiBFeGFtcGxlIiwibmF0aW9u"
        "YWxpdHkiOiJJUiIsInJvbGUiOiJtYXN0ZXIifSx7Im5hbWUiOiJELiBFeGFtcGxlIiwibmF0aW9uYWxpdHkiOiJJ"
        "UiIsInJvbGUiOiJjcmV3In0seyJuYW1lIjoiRS4gRXhhbXBsZSIsIm5hdGlvbmFsaXR5IjoiUEsiLCJyb2xlIjoi"
        "Y3JldyJ9LHsibmFtZSI6IkYuIEV4YW1wbGUiLCJuYXRpb25hbGl0eSI6IlBLIiwicm9sZSI6ImNyZXcifSx7Im5h"
        "bWUiOiJHLiBFeGFtcGxlIiwibmF0aW9uYWxpdHkiOiJQSyIsInJvbGUiOiJjcmV3In1dXQ"
    ),
    "/body/location": (
        "WyJObUlhRlRoSE5ncHdDRFV3anAxTXNRIiwiY29vcmRpbmF0ZXMiLHsibGF0IjoyMS4yMSwibG9uIjo2OC42NH1d"
    ),
}


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def test_signed_form_example_carries_digests_of_its_published_disclosures() -> None:
    signed = _load(SCHEMAS / "seizure-alert" / "examples" / "gujarat-coast-2024-02.json")
    assert records.sensitive_in_clear(signed) == []
    assert signed["_sd_alg"] == "sha-256"

    restored = copy.deepcopy(signed)
    for holder, disclosure in GUJARAT_DISCLOSURES.items():
        target_signed: Any = signed
        target_restored: Any = restored
        for part in holder.split("/")[1:]:
            target_signed, target_restored = target_signed[part], target_restored[part]
        assert target_signed["_sd"] == [_b64url_sha256(disclosure)]
        _salt, name, value = json.loads(_b64url_decode(disclosure))
        target_restored[name] = value

    # With the disclosures put back, the record is still valid and its
    # sensitive fields are in clear again.
    records.validate_payload(restored)
    assert records.sensitive_in_clear(restored) == [
        "/body/location/coordinates",
        "/body/suspects",
    ]
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    for disclosure in GUJARAT_DISCLOSURES.values():
        assert disclosure in readme
