"""Record payload validation, sensitive-field discovery and record identifiers."""

from __future__ import annotations

import copy
import json
import pickle
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkline import records
from silkline.formats import disclosure as sd
from silkline.records import (
    SchemaLoadError,
    SchemaViolationError,
    UnknownRecordTypeError,
    UnknownSchemaVersionError,
    Violation,
    load_schema,
    sensitive_fields,
    sensitive_in_clear,
    validate_payload,
    validate_revealed,
)
from silkline.uuid7 import is_uuid7, uuid7, uuid7_unix_ms

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def example(record_type: str, name: str) -> dict[str, Any]:
    path = SCHEMAS / record_type / "examples" / f"{name}.json"
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return payload


@pytest.fixture
def mundra() -> dict[str, Any]:
    """The Mundra port seizure alert, with suspects and coordinates in clear."""
    return example("seizure-alert", "mundra-port-heroin-2021-09")


def violations_of(payload: object) -> list[Violation]:
    with pytest.raises(SchemaViolationError) as refused:
        validate_payload(payload)  # type: ignore[arg-type]
    return list(refused.value.violations)


def pointers_of(payload: object) -> list[str]:
    return [violation.pointer for violation in violations_of(payload)]


def message_at(payload: object, pointer: str) -> str:
    found = [v.message for v in violations_of(payload) if v.pointer == pointer]
    assert found, f"no violation at {pointer}"
    return found[0]


# ------------------------------------------------------------ every violation


def test_every_violation_is_named_with_its_pointer(mundra: dict[str, Any]) -> None:
    mundra["distribution"]["tlp"] = "YELLOW"
    del mundra["body"]["seized_at"]
    mundra["body"]["items"][0]["quantity"] = {"value": -3000, "unit": "lb"}

    assert violations_of(mundra) == [
        Violation(
            "/body/items/0/quantity/unit",
            'must be one of: "kg", "g", "tonne", "quintal", "tablets", "litre"',
        ),
        Violation("/body/items/0/quantity/value", "must be greater than 0"),
        Violation("/body/seized_at", "is required"),
        Violation(
            "/distribution/tlp", 'must be one of: "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"'
        ),
    ]


def test_the_error_message_lists_all_violations(mundra: dict[str, Any]) -> None:
    mundra["grading"] = {"source": "E", "information": 6}
    with pytest.raises(SchemaViolationError) as refused:
        validate_payload(mundra)
    text = str(refused.value)
    assert "2 violations" in text
    assert "/grading/information: must be at most 4" in text
    assert '/grading/source: must be one of: "A", "B", "C", "X"' in text
    assert refused.value.pointers == ("/grading/information", "/grading/source")


def test_violations_sort_array_indexes_as_numbers(mundra: dict[str, Any]) -> None:
    item = mundra["body"]["items"][0]
    mundra["body"]["items"] = [copy.deepcopy(item) for _ in range(12)]
    for index in (2, 10):
        mundra["body"]["items"][index]["drug"] = "khat"
    assert pointers_of(mundra) == ["/body/items/2/drug", "/body/items/10/drug"]


def test_common_and_body_violations_are_reported_together(mundra: dict[str, Any]) -> None:
    mundra["originator"]["participant"] = "india"
    mundra["body"]["conveyance"]["kind"] = "camel"
    assert pointers_of(mundra) == ["/body/conveyance/kind", "/originator/participant"]


# -------------------------------------------------------------- common part


def test_an_unknown_record_type_is_refused_and_its_body_not_guessed(
    mundra: dict[str, Any],
) -> None:
    mundra["record_type"] = "weather-report"
    assert pointers_of(mundra) == ["/record_type"]


def test_an_unknown_schema_version_is_refused(mundra: dict[str, Any]) -> None:
    mundra["schema_version"] = 2
    assert violations_of(mundra) == [Violation("/schema_version", "must be 1")]


def test_a_boolean_is_not_a_schema_version(mundra: dict[str, Any]) -> None:
    mundra["schema_version"] = True
    assert violations_of(mundra) == [
        Violation("/schema_version", "must be 1"),
        Violation("/schema_version", "must be an integer"),
    ]


def test_an_extra_top_level_property_is_refused(mundra: dict[str, Any]) -> None:
    mundra["signature"] = "abc"
    (violation,) = violations_of(mundra)
    assert violation.pointer == "/signature"
    assert violation.message.startswith("is not allowed here; allowed: _sd_alg, body,")


def test_an_extra_body_property_is_refused_at_its_own_pointer(mundra: dict[str, Any]) -> None:
    mundra["body"]["location"]["port_code"] = "INMUN1"
    mundra["body"]["items"][0]["purity"] = 0.8
    assert pointers_of(mundra) == ["/body/items/0/purity", "/body/location/port_code"]


def test_h3_handling_needs_its_text(mundra: dict[str, Any]) -> None:
    mundra["distribution"]["handling"] = [{"code": "H3"}]
    assert violations_of(mundra) == [
        Violation("/distribution/handling/0/text", "is required when the handling code is H3")
    ]


def test_handling_text_is_refused_with_other_codes(mundra: dict[str, Any]) -> None:
    mundra["distribution"]["handling"] = [{"code": "H1", "text": "only for the NCB"}]
    assert violations_of(mundra) == [
        Violation("/distribution/handling/0/text", "is allowed only when the handling code is H3")
    ]


def test_h3_with_its_text_is_accepted(mundra: dict[str, Any]) -> None:
    mundra["distribution"]["handling"] = [{"code": "H3", "text": "Not before 2021-10-01."}]
    validate_payload(mundra)


@pytest.mark.parametrize("recipient", ["UZ", "UNODC", "CARICC", "KZ/MVD", "IN/NCB", "UZ/NAC_2"])
def test_recipients_are_participants_or_agencies(mundra: dict[str, Any], recipient: str) -> None:
    mundra["distribution"]["recipients"] = [recipient]
    validate_payload(mundra)


@pytest.mark.parametrize("recipient", ["uz", "K", "KZ/", "KZ/MVD/desk", "/MVD", "KZ MVD"])
def test_malformed_recipients_are_refused(mundra: dict[str, Any], recipient: str) -> None:
    mundra["distribution"]["recipients"] = [recipient]
    assert pointers_of(mundra) == ["/distribution/recipients/0"]


@pytest.mark.parametrize(
    ("record_id", "why"),
    [
        ("017bed4c-3640-42fd-abd8-5f54157d7725", "version 4"),
        ("017bed4c-3640-12fd-abd8-5f54157d7725", "version 1"),
        ("017bed4c-3640-72fd-cbd8-5f54157d7725", "variant 110"),
        ("017bed4c-3640-72fd-7bd8-5f54157d7725", "variant 0"),
        ("017BED4C-3640-72FD-ABD8-5F54157D7725", "upper case"),
        ("017bed4c364072fdabd85f54157d7725", "no hyphens"),
        ("{017bed4c-3640-72fd-abd8-5f54157d7725}", "braces"),
        ("017bed4c-3640-72fd-abd8-5f54157d7725\n", "trailing newline"),
        (str(uuid.uuid4()), "a random UUIDv4"),
    ],
)
def test_ids_that_are_not_canonical_uuid7_are_refused(
    mundra: dict[str, Any], record_id: str, why: str
) -> None:
    mundra["id"] = record_id
    assert message_at(mundra, "/id").startswith("must be a UUIDv7 in lower-case canonical form"), (
        why
    )


@pytest.mark.parametrize(
    "created_at",
    [
        "2021-09-16T12:00:00+05:30",
        "2021-09-16T06:30:00",
        "2021-09-16T06:30:00z",
        "2021-09-16 06:30:00Z",
        "2021-09-16",
        "2021-02-30T06:30:00Z",
        "2021-09-16T24:30:00Z",
        "2021-09-16T06:30:00.Z",
        "2021-09-16T06:30:00Z\n",
    ],
)
def test_created_at_must_be_rfc3339_utc_with_z(mundra: dict[str, Any], created_at: str) -> None:
    mundra["created_at"] = created_at
    assert violations_of(mundra) == [
        Violation(
            "/created_at",
            "must be an RFC 3339 date-time in UTC ending in Z, e.g. 2026-11-25T10:00:00Z",
        )
    ]


@pytest.mark.parametrize(
    "created_at",
    ["2021-09-16T06:30:00Z", "2021-09-16T06:30:00.123Z", "2016-12-31T23:59:60Z"],
)
def test_created_at_in_utc_is_accepted(mundra: dict[str, Any], created_at: str) -> None:
    mundra["created_at"] = created_at
    validate_payload(mundra)


# --------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "seized_at",
    [
        "2021-09-13T11:00:00+05:30",
        "2021-09-13T05:30:00Z",
        "2021-09-13t05:30:00.5z",
        "2024-02-29T00:00:00-03:00",
        "2016-12-31T23:59:60Z",
        "2017-01-01T05:29:60+05:30",
    ],
)
def test_body_times_accept_any_rfc3339_offset(mundra: dict[str, Any], seized_at: str) -> None:
    mundra["body"]["seized_at"] = seized_at
    validate_payload(mundra)


@pytest.mark.parametrize(
    "seized_at",
    [
        "2021-09-13T11:00:00",
        "2021-09-13",
        "2023-02-29T10:00:00Z",
        "2021-13-01T10:00:00Z",
        "2021-09-13T10:60:00Z",
        "2021-09-13T10:00:60Z",
        "2021-09-13T10:00:00+24:00",
        "2021-09-13T10:00:00+0530",
        "13/09/2021 11:00",
        "\uff12\uff10\uff12\uff11-09-13T10:00:00Z",  # full-width digits
    ],
)
def test_body_times_must_be_rfc3339(mundra: dict[str, Any], seized_at: str) -> None:
    mundra["body"]["seized_at"] = seized_at
    assert message_at(mundra, "/body/seized_at").startswith("must be an RFC 3339 date-time")


@pytest.mark.parametrize(
    "date", ["1986-02-29", "86-04-02", "1986-4-2", "19860402", "1986-04-02T00:00:00Z"]
)
def test_dates_must_be_rfc3339_full_dates(mundra: dict[str, Any], date: str) -> None:
    mundra["body"]["suspects"][0]["date_of_birth"] = date
    assert violations_of(mundra) == [
        Violation("/body/suspects/0/date_of_birth", "must be an RFC 3339 date, YYYY-MM-DD")
    ]


def test_patterns_follow_ecma_262_not_python(mundra: dict[str, Any]) -> None:
    # Python's "$" also matches before a final newline; JSON Schema's (ECMA-262) does not.
    mundra["body"]["location"]["country"] = "IN\n"
    mundra["body"]["items"][0]["estimated_value"]["currency"] = "INR\n"
    mundra["distribution"]["recipients"] = ["UZ\n"]
    assert pointers_of(mundra) == [
        "/body/items/0/estimated_value/currency",
        "/body/location/country",
        "/distribution/recipients/0",
    ]


# ------------------------------------------------------------ record bodies


def test_a_route_point_reports_what_its_closest_form_lacks(mundra: dict[str, Any]) -> None:
    mundra["body"]["route"]["origin"] = {"name": "Kandahar"}
    assert violations_of(mundra) == [Violation("/body/route/origin/country", "is required")]


def test_a_route_point_of_no_allowed_form_says_which_forms_are_allowed(
    mundra: dict[str, Any],
) -> None:
    mundra["body"]["route"]["transit"] = [42, "IR"]
    (violation,) = violations_of(mundra)
    assert violation.pointer == "/body/route/transit/0"
    assert violation.message.startswith('must be a country code such as "IR" or a place')


def test_a_lower_case_country_code_in_a_route_is_refused(mundra: dict[str, Any]) -> None:
    mundra["body"]["route"]["destination"] = "in"
    assert violations_of(mundra) == [
        Violation(
            "/body/route/destination",
            "must be an ISO 3166-1 alpha-2 country code (two upper-case letters)",
        )
    ]


def test_a_seizure_needs_at_least_one_item(mundra: dict[str, Any]) -> None:
    mundra["body"]["items"] = []
    assert violations_of(mundra) == [Violation("/body/items", "must have at least 1 item")]


def test_tablets_are_counted_in_whole_numbers(mundra: dict[str, Any]) -> None:
    mundra["body"]["items"][0] = {
        "drug": "pharmaceutical-tablets",
        "quantity": {"value": 1.84, "unit": "tablets"},
    }
    assert violations_of(mundra) == [
        Violation("/body/items/0/quantity/value", "must be a whole number of tablets")
    ]


def test_estimated_value_scale_and_currency_are_checked(mundra: dict[str, Any]) -> None:
    mundra["body"]["items"][0]["estimated_value"] = {
        "amount": -1,
        "currency": "rupees",
        "scale": "million",
    }
    assert pointers_of(mundra) == [
        "/body/items/0/estimated_value/amount",
        "/body/items/0/estimated_value/currency",
        "/body/items/0/estimated_value/scale",
    ]


def test_a_body_that_is_not_an_object_is_one_violation(mundra: dict[str, Any]) -> None:
    mundra["body"] = ["heroin"]
    assert violations_of(mundra) == [Violation("/body", "must be a JSON object")]


@pytest.mark.parametrize("payload", [None, [], "record", 42])
def test_a_payload_that_is_not_an_object_is_refused(payload: object) -> None:
    assert violations_of(payload) == [Violation("", "must be a JSON object")]


def test_messages_never_repeat_the_submitted_value(mundra: dict[str, Any]) -> None:
    name = "Secret Suspect " * 40
    mundra["body"]["suspects"][0]["name"] = name
    mundra["body"]["suspects"][0]["nationality"] = "Indian national, ID 1234"
    for violation in violations_of(mundra):
        assert "Secret" not in str(violation) and "1234" not in str(violation)


def test_sd_digests_are_refused_where_no_sensitive_field_lives() -> None:
    training = example("training", "maritime-interdiction-new-delhi-2024-11")
    training["body"]["_sd"] = ["MaDY2dI0JYCSZ5dRqT3BeDDKKPTSv3zWX33Oxe0Izp0"]
    assert pointers_of(training) == ["/body/_sd"]


def test_sd_digests_must_be_sha256_base64url(mundra: dict[str, Any]) -> None:
    mundra["body"]["_sd"] = ["not a digest", "MaDY2dI0JYCSZ5dRqT3BeDDKKPTSv3zWX33Oxe0Izp0"]
    mundra["_sd_alg"] = "sha-512"
    assert pointers_of(mundra) == ["/_sd_alg", "/body/_sd/0"]


def test_a_decided_prosecution_needs_its_decision_date() -> None:
    convicted = example("prosecution", "termez-heroin-convicted-2024")
    del convicted["body"]["decided_at"]
    assert violations_of(convicted) == [
        Violation(
            "/body/decided_at",
            "is required when the status is convicted, acquitted or dismissed",
        )
    ]
    convicted["body"]["status"] = "pending"
    validate_payload(convicted)


def test_case_evidence_hashes_are_sha256_hex() -> None:
    evidence = example("case-evidence", "mundra-port-exhibits-2021")
    evidence["body"]["evidence"][0]["sha256"] = "F80E89A7"
    evidence["body"]["chain_of_custody"][2]["to_agency"] = "NIA"
    assert pointers_of(evidence) == [
        "/body/chain_of_custody/2/to_agency",
        "/body/evidence/0/sha256",
    ]


CrossFieldCase = tuple[str, str, Callable[[dict[str, Any]], None], str, str]

CROSS_FIELD_CASES: list[CrossFieldCase] = [
    (
        "rehabilitation",
        "tashkent-region-2024",
        lambda body: body["period"].update({"from": "2025-01-01"}),
        "/body/period/to",
        "must not be before from",
    ),
    (
        "rehabilitation",
        "tashkent-region-2024",
        lambda body: body.update({"people_completed": 1461}),
        "/body/people_completed",
        "value must not exceed people_treated",
    ),
    (
        "training",
        "maritime-interdiction-new-delhi-2024-11",
        lambda body: body["held_at"].update({"end": "2024-11-17"}),
        "/body/held_at/end",
        "must not be before start",
    ),
    (
        "joint-operation",
        "northern-route-2024",
        lambda body: body["period"].update({"to": "2024-02-29"}),
        "/body/period/to",
        "must not be before from",
    ),
    (
        "livelihood",
        "chui-valley-2024",
        lambda body: body["period"].update({"to": "2023-12-31"}),
        "/body/period/to",
        "must not be before from",
    ),
    (
        "arrest",
        "gujarat-coast-crew-2024-02",
        lambda body: body.update(
            {"count": 1, "persons": [{"name": "C. Example"}, {"name": "D. Example"}]}
        ),
        "/body/persons",
        "number of entries must not exceed count",
    ),
    (
        "prosecution",
        "termez-heroin-convicted-2024",
        lambda body: body.update({"defendants_count": 1}),
        "/body/defendants",
        "number of entries must not exceed defendants_count",
    ),
]


@pytest.mark.parametrize(
    ("record_type", "name", "change", "pointer", "message"),
    CROSS_FIELD_CASES,
    ids=[f"{case[0]}:{case[3]}" for case in CROSS_FIELD_CASES],
)
def test_rules_that_compare_two_fields(
    record_type: str,
    name: str,
    change: Callable[[dict[str, Any]], None],
    pointer: str,
    message: str,
) -> None:
    payload = example(record_type, name)
    change(payload["body"])
    assert violations_of(payload) == [Violation(pointer, message)]


def test_a_one_day_period_is_accepted() -> None:
    payload = example("rehabilitation", "tashkent-region-2024")
    payload["body"]["period"] = {"from": "2024-06-26", "to": "2024-06-26"}
    validate_payload(payload)


# --------------------------------------------------------- sensitive fields


def test_seizure_alert_sensitive_fields() -> None:
    assert sensitive_fields("seizure-alert") == {
        "/body/location/coordinates": "location_precise",
        "/body/suspects": "personal_data",
    }


def test_each_record_type_names_its_sensitive_fields() -> None:
    assert sensitive_fields("arrest") == {
        "/body/location/coordinates": "location_precise",
        "/body/persons": "personal_data",
    }
    assert sensitive_fields("prosecution") == {"/body/defendants": "personal_data"}
    assert sensitive_fields("livelihood") == {"/body/beneficiary_list": "personal_data"}
    assert sensitive_fields("case-evidence") == {"/body/court_evidence": "court_evidence"}
    for record_type in ("training", "rehabilitation", "joint-operation"):
        assert sensitive_fields(record_type) == {}


def test_sensitive_fields_returns_a_copy() -> None:
    sensitive_fields("seizure-alert").clear()
    assert "/body/suspects" in sensitive_fields("seizure-alert")


def test_sensitive_fields_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(UnknownRecordTypeError, match="weather-report"):
        sensitive_fields("weather-report")
    with pytest.raises(UnknownRecordTypeError, match="'record'"):
        sensitive_fields("record")
    with pytest.raises(UnknownSchemaVersionError, match="known versions: 1"):
        sensitive_fields("seizure-alert", 2)


def test_suspects_and_coordinates_in_clear_are_found(mundra: dict[str, Any]) -> None:
    assert sensitive_in_clear(mundra) == ["/body/location/coordinates", "/body/suspects"]
    del mundra["body"]["location"]["coordinates"]
    assert sensitive_in_clear(mundra) == ["/body/suspects"]


def test_a_payload_without_sensitive_fields_in_clear_has_none() -> None:
    assert sensitive_in_clear(example("seizure-alert", "gujarat-coast-2024-02")) == []


def test_an_empty_suspect_list_is_still_personal_data_in_clear(mundra: dict[str, Any]) -> None:
    # Present is present: even an empty list tells a reader there were no suspects.
    mundra["body"]["suspects"] = []
    assert "/body/suspects" in sensitive_in_clear(mundra)


def test_sensitive_in_clear_refuses_an_unknown_record_type(mundra: dict[str, Any]) -> None:
    mundra["record_type"] = "weather-report"
    with pytest.raises(UnknownRecordTypeError):
        sensitive_in_clear(mundra)


def test_a_class_on_a_referenced_schema_and_a_new_class_name_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copied)
    path = copied / "training" / "v1.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    # The class set is open: a new name needs no code change.
    schema["properties"]["venue"]["x-silkline-class"] = "venue_security"
    path.write_text(json.dumps(schema), encoding="utf-8")
    common_path = copied / "record" / "v1.json"
    common = json.loads(common_path.read_text(encoding="utf-8"))
    common["$defs"]["place"]["properties"]["name"]["x-silkline-class"] = "place_name"
    common_path.write_text(json.dumps(common), encoding="utf-8")
    monkeypatch.setenv(records.SCHEMAS_DIR_ENV, str(copied))

    assert sensitive_fields("training") == {
        "/body/venue": "venue_security",
        "/body/venue/name": "place_name",
    }


# ------------------------------------------------------------ schema files


def test_load_schema_gives_the_body_schema_of_a_type() -> None:
    schema = load_schema("seizure-alert")
    assert schema["$id"] == "https://silkline.example/schemas/seizure-alert/v1.json"
    assert schema["properties"]["suspects"]["x-silkline-class"] == "personal_data"
    assert load_schema("record")["$id"] == "https://silkline.example/schemas/record/v1.json"


def test_load_schema_cannot_be_corrupted_by_its_caller(mundra: dict[str, Any]) -> None:
    load_schema("seizure-alert")["required"].clear()
    del mundra["body"]["seized_at"]
    assert pointers_of(mundra) == ["/body/seized_at"]


def test_load_schema_refuses_unknown_types_and_versions() -> None:
    with pytest.raises(UnknownRecordTypeError, match="known types: seizure-alert"):
        load_schema("weather-report")
    with pytest.raises(UnknownSchemaVersionError) as refused:
        load_schema("arrest", 7)
    assert isinstance(refused.value, UnknownRecordTypeError)
    assert "version 7" in str(refused.value)


def test_the_schemas_folder_can_be_chosen_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mundra: dict[str, Any]
) -> None:
    copied = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copied)
    path = copied / "seizure-alert" / "v1.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["required"].append("case_reference")
    path.write_text(json.dumps(schema), encoding="utf-8")
    monkeypatch.setenv(records.SCHEMAS_DIR_ENV, str(copied))

    assert records.schemas_dir() == copied
    del mundra["body"]["case_reference"]
    assert pointers_of(mundra) == ["/body/case_reference"]


def test_the_repository_schemas_are_used_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(records.SCHEMAS_DIR_ENV, raising=False)
    assert records.schemas_dir().resolve() in {
        SCHEMAS.resolve(),
        (Path(records.__file__).parent / "schemas").resolve(),
    }


def test_a_missing_schemas_folder_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mundra: dict[str, Any]
) -> None:
    monkeypatch.setenv(records.SCHEMAS_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(SchemaLoadError, match="SILKLINE_SCHEMAS_DIR"):
        validate_payload(mundra)


def test_a_folder_without_the_common_schema_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(records.SCHEMAS_DIR_ENV, str(tmp_path))
    with pytest.raises(SchemaLoadError, match=r"record/v1\.json"):
        load_schema("arrest")


def test_a_schema_whose_id_is_not_its_path_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copied)
    path = copied / "arrest" / "v1.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["$id"] = "https://silkline.example/schemas/arrests/v1.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    monkeypatch.setenv(records.SCHEMAS_DIR_ENV, str(copied))
    with pytest.raises(SchemaLoadError, match=r"\$id must be"):
        load_schema("arrest")


def test_an_invalid_schema_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copied = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copied)
    path = copied / "arrest" / "v1.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"]["count"]["minimum"] = "one"
    path.write_text(json.dumps(schema), encoding="utf-8")
    monkeypatch.setenv(records.SCHEMAS_DIR_ENV, str(copied))
    with pytest.raises(SchemaLoadError, match="not a valid draft 2020-12 schema"):
        load_schema("arrest")


def test_errors_survive_pickling(mundra: dict[str, Any]) -> None:
    # A refusal raised in a worker process is re-raised in its parent.
    mundra["grading"]["source"] = "E"
    with pytest.raises(SchemaViolationError) as refused:
        validate_payload(mundra)
    errors: list[Exception] = [
        refused.value,
        UnknownRecordTypeError("weather-report"),
        UnknownSchemaVersionError("arrest", 7, [1]),
    ]
    for error in errors:
        copied = pickle.loads(pickle.dumps(error))
        assert type(copied) is type(error)
        assert str(copied) == str(error)
    assert pickle.loads(pickle.dumps(refused.value)).violations == refused.value.violations


def test_record_types_are_the_eight_of_the_specification() -> None:
    assert records.RECORD_TYPES == (
        "seizure-alert",
        "case-evidence",
        "arrest",
        "prosecution",
        "training",
        "rehabilitation",
        "livelihood",
        "joint-operation",
    )


# ---------------------------------------- inlined references, revealed forms

# An example of each record type; for the types with sensitive fields, one
# that carries them, and one signed payload whose disclosures are withheld.
EXAMPLES = [
    SCHEMAS / record_type / "examples" / f"{name}.json"
    for record_type, name in (
        ("seizure-alert", "mundra-port-heroin-2021-09"),
        ("seizure-alert", "gujarat-coast-2024-02"),
        ("case-evidence", "mundra-port-exhibits-2021"),
        ("arrest", "gujarat-coast-crew-2024-02"),
        ("prosecution", "termez-heroin-convicted-2024"),
        ("training", "maritime-interdiction-new-delhi-2024-11"),
        ("rehabilitation", "tashkent-region-2024"),
        ("livelihood", "chui-valley-2024"),
        ("joint-operation", "northern-route-2024"),
    )
]

# Ways to change one value of a payload; each returns False where it does not apply.
_Change = Callable[[Any, Any], bool]


def _set_to(value: object) -> _Change:
    def change(container: Any, key: Any) -> bool:
        container[key] = copy.deepcopy(value)
        return True

    return change


def _remove(container: Any, key: Any) -> bool:
    del container[key]
    return True


def _add_a_field(container: Any, key: Any) -> bool:
    if not isinstance(container[key], dict):
        return False
    container[key]["unexpected"] = 1
    return True


def _repeat_the_last_item(container: Any, key: Any) -> bool:
    if not isinstance(container[key], list) or not container[key]:
        return False
    container[key].append(copy.deepcopy(container[key][-1]))
    return True


CHANGES: dict[str, _Change] = {
    "null": _set_to(None),
    "text": _set_to("x"),
    "negative": _set_to(-1),
    "fraction": _set_to(1.5),
    "true": _set_to(True),
    "object": _set_to({"name": "x"}),
    "array": _set_to([]),
    "removed": _remove,
    "extra field": _add_a_field,
    "repeated item": _repeat_the_last_item,
}


def places(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value below ``node``."""
    if not isinstance(node, dict | list):
        return
    for key, child in node.items() if isinstance(node, dict) else enumerate(node):
        yield (*path, key)
        yield from places(child, (*path, key))


# An object or an array set to any other type fails the same way as set to null.
CONTAINER_CHANGES = ("null", "array", "object", "removed", "extra field", "repeated item")


def variants(payload: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The payload with one value changed, for every value and every change that applies."""
    for path in places(payload):
        for name, change in CHANGES.items():
            variant = copy.deepcopy(payload)
            container = variant
            for key in path[:-1]:
                container = container[key]
            if isinstance(container[path[-1]], dict | list) and name not in CONTAINER_CHANGES:
                continue
            if change(container, path[-1]):
                yield f"{name} at {path}", variant


def outcome(validate: Callable[..., None], payload: object, **arguments: Any) -> Any:
    """The violations ``validate`` finds in ``payload``, or None when it accepts it."""
    try:
        validate(payload, **arguments)
    except SchemaViolationError as refused:
        return list(refused.violations)
    return None


def signed_and_revealed(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload as its originator signs it, every sensitive field concealed, and revealed."""
    if "_sd_alg" in payload:  # signed already, and its disclosures withheld
        return payload, sd.reveal(payload, []).payload
    paths = [tuple(pointer.split("/")[1:]) for pointer in sensitive_fields(payload["record_type"])]
    concealed, _ = sd.conceal(payload, paths)
    return concealed, payload


def copy_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Any]], None]
) -> None:
    """Use a copy of the schemas folder, with ``change`` applied to {type name: schema}."""
    copied = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copied)
    paths = {path.parent.name: path for path in copied.glob("*/v1.json")}
    schemas = {name: json.loads(path.read_text(encoding="utf-8")) for name, path in paths.items()}
    change(schemas)
    for name, schema in schemas.items():
        paths[name].write_text(json.dumps(schema), encoding="utf-8")
    monkeypatch.setenv(records.SCHEMAS_DIR_ENV, str(copied))


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_inlined_references_validate_as_the_schemas_are_written(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = json.loads(path.read_text(encoding="utf-8"))
    monkeypatch.delenv(records.SCHEMAS_DIR_ENV, raising=False)
    assert records._schema_set(records.schemas_dir()).inlined
    inlined = [(label, outcome(validate_payload, v)) for label, v in variants(payload)]

    # A dynamic anchor that nothing refers to changes no outcome, but the
    # folder's $refs are then resolved through the registry on every record.
    def anchor(schemas: dict[str, Any]) -> None:
        schemas["record"]["$defs"]["text"]["$dynamicAnchor"] = "text"

    copy_schemas(tmp_path, monkeypatch, anchor)
    assert not records._schema_set(records.schemas_dir()).inlined
    as_written = [(label, outcome(validate_payload, v)) for label, v in variants(payload)]

    assert inlined == as_written
    assert any(violations for _, violations in inlined)


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_a_revealed_payload_has_the_violations_of_a_full_validation(path: Path) -> None:
    signed, payload = signed_and_revealed(json.loads(path.read_text(encoding="utf-8")))
    validate_payload(signed)
    validate_revealed(payload, signed=signed)

    for label, revealed in variants(payload):
        assert outcome(validate_revealed, revealed, signed=signed) == outcome(
            validate_payload, revealed
        ), label


def test_a_disclosed_value_is_validated_at_its_own_pointer(mundra: dict[str, Any]) -> None:
    signed, _ = signed_and_revealed(mundra)
    mundra["body"]["suspects"][1] = {"nationality": "in"}
    mundra["body"]["location"]["coordinates"]["lat"] = 91

    with pytest.raises(SchemaViolationError) as refused:
        validate_revealed(mundra, signed=signed)

    assert refused.value.violations == (
        Violation("/body/location/coordinates/lat", "must be at most 90"),
        Violation("/body/suspects/1/name", "is required"),
        Violation(
            "/body/suspects/1/nationality",
            "must be an ISO 3166-1 alpha-2 country code (two upper-case letters)",
        ),
    )


def test_a_revealed_payload_is_held_to_the_rules_that_compare_two_fields() -> None:
    payload = example("arrest", "gujarat-coast-crew-2024-02")
    payload["body"]["count"] = 1
    payload["body"]["persons"] = [{"name": "C. Example"}]
    signed, _ = signed_and_revealed(payload)
    payload["body"]["persons"].append({"name": "D. Example"})

    with pytest.raises(SchemaViolationError) as refused:
        validate_revealed(payload, signed=signed)

    assert refused.value.violations == (
        Violation("/body/persons", "number of entries must not exceed count"),
    )


def test_a_constraint_on_the_fields_beside_a_disclosed_one_is_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mundra: dict[str, Any]
) -> None:
    def precision_with_coordinates(schemas: dict[str, Any]) -> None:
        location = schemas["record"]["$defs"]["location"]
        location["properties"]["precision_m"] = {"type": "number"}
        location["dependentRequired"] = {"coordinates": ["precision_m"]}

    copy_schemas(tmp_path, monkeypatch, precision_with_coordinates)
    signed, _ = signed_and_revealed(mundra)
    validate_payload(signed)

    with pytest.raises(SchemaViolationError) as refused:
        validate_revealed(mundra, signed=signed)

    assert refused.value.violations == (
        Violation("/body/location", "violates the schema's dependentRequired constraint"),
    )


def test_a_disclosed_value_is_checked_against_every_schema_that_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mundra: dict[str, Any]
) -> None:
    def a_constraint_beside_the_reference(schemas: dict[str, Any]) -> None:
        schemas["seizure-alert"]["properties"]["location"]["required"] = ["kind"]

    copy_schemas(tmp_path, monkeypatch, a_constraint_beside_the_reference)
    signed, _ = signed_and_revealed(mundra)
    mundra["body"]["location"]["coordinates"]["lat"] = 91

    with pytest.raises(SchemaViolationError) as refused:
        validate_revealed(mundra, signed=signed)

    assert refused.value.violations == (
        Violation("/body/location/coordinates/lat", "must be at most 90"),
    )


def test_a_schema_that_refers_to_itself_is_followed_as_deep_as_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mundra: dict[str, Any]
) -> None:
    def associates(schemas: dict[str, Any]) -> None:
        person = schemas["record"]["$defs"]["person"]
        person["properties"]["associates"] = {"$ref": "#/$defs/persons"}

    copy_schemas(tmp_path, monkeypatch, associates)
    suspect = mundra["body"]["suspects"][0]
    suspect["associates"] = [{"name": "A", "associates": [{"nationality": "in"}]}]

    assert pointers_of(mundra) == [
        "/body/suspects/0/associates/0/associates/0/name",
        "/body/suspects/0/associates/0/associates/0/nationality",
    ]


def test_a_reference_beside_other_constraints_is_checked_with_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mundra: dict[str, Any]
) -> None:
    def one_suspect(schemas: dict[str, Any]) -> None:
        schemas["seizure-alert"]["properties"]["suspects"]["maxItems"] = 1

    copy_schemas(tmp_path, monkeypatch, one_suspect)
    mundra["body"]["suspects"][1]["nationality"] = "in"

    assert violations_of(mundra) == [
        Violation("/body/suspects", "must have at most 1 items"),
        Violation(
            "/body/suspects/1/nationality",
            "must be an ISO 3166-1 alpha-2 country code (two upper-case letters)",
        ),
    ]


def test_references_that_only_refer_to_each_other_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mundra: dict[str, Any]
) -> None:
    def loop(schemas: dict[str, Any]) -> None:
        schemas["record"]["$defs"]["loop_a"] = {"$ref": "#/$defs/loop_b"}
        schemas["record"]["$defs"]["loop_b"] = {"$ref": "#/$defs/loop_a"}
        schemas["seizure-alert"]["properties"]["loop"] = {"$ref": "../record/v1.json#/$defs/loop_a"}

    copy_schemas(tmp_path, monkeypatch, loop)
    with pytest.raises(SchemaLoadError, match="only leads back to itself"):
        validate_payload(mundra)


# ---------------------------------------------------------------- UUIDv7


def test_uuid7_sets_version_and_variant_bits() -> None:
    value = uuid7()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert (value.int >> 76) & 0xF == 0x7
    assert (value.int >> 62) & 0b11 == 0b10


def test_uuid7_carries_the_unix_milliseconds() -> None:
    value = uuid7(1_631_773_800_000)
    assert value.int >> 80 == 1_631_773_800_000
    assert uuid7_unix_ms(value) == 1_631_773_800_000
    assert str(value).startswith("017bed4c-3640-7")


@given(st.integers(min_value=0, max_value=(1 << 48) - 2), st.integers(min_value=1, max_value=10**6))
def test_uuid7_sorts_by_time(earlier: int, gap: int) -> None:
    later = min(earlier + gap, (1 << 48) - 1)
    assert uuid7(earlier) < uuid7(later)
    assert str(uuid7(earlier)) < str(uuid7(later))
    assert is_uuid7(str(uuid7(earlier)))


def test_uuid7s_made_now_increase_across_milliseconds() -> None:
    made = [uuid7(ms) for ms in range(1_700_000_000_000, 1_700_000_000_050)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_uuid7_refuses_a_time_that_does_not_fit_48_bits() -> None:
    with pytest.raises(ValueError, match="2\\*\\*48"):
        uuid7(1 << 48)
    with pytest.raises(ValueError):
        uuid7(-1)


def test_is_uuid7_accepts_only_canonical_v7() -> None:
    value = str(uuid7())
    assert is_uuid7(value)
    assert not is_uuid7(str(uuid.uuid4()))
    assert not is_uuid7(str(uuid.uuid1()))
    assert not is_uuid7(value.upper())
    assert not is_uuid7(value.replace("-", ""))
    assert not is_uuid7(value + "\n")
    assert not is_uuid7(f"urn:uuid:{value}")


def test_uuid7_unix_ms_refuses_other_versions() -> None:
    with pytest.raises(ValueError, match="not a UUIDv7"):
        uuid7_unix_ms(uuid.uuid4())


def test_a_fresh_uuid7_is_a_valid_record_id(mundra: dict[str, Any]) -> None:
    mundra["id"] = str(uuid7())
    validate_payload(mundra)
