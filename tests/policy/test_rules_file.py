"""The rules file: the example parses; every kind of mistake is refused at its line and column."""

from __future__ import annotations

import hashlib
import textwrap
import tomllib
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509

from silkline.identity import identity_from_certificate
from silkline.policy import RulesError, RulesProblem, load_rules, parse_rules
from silkline.policy.locate import Position, index_source

from ..conftest import EXAMPLE, REPO

NETWORK = REPO / "deploy" / "rules" / "network.toml"

# A small valid file that the refusal tests extend. Line numbers matter below:
# the last line of HEAD is line 14.
HEAD = """\
version = 1

[network]
name = "test network"
rules_date = 2025-01-01

[field_classes.personal_data]
description = "persons"

[participants.IN]
name = "India"
[participants.IN.agencies.NCB]
roles = ["publisher", "reader"]
[participants.UZ]
"""
HEAD_LINES = 14
UZ_NAME = 'name = "Uzbekistan"\n'  # line 15


def refusal(text: str) -> RulesError:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.toml")
    return caught.value


def located(error: RulesError) -> list[str]:
    return str(error).splitlines()


def agreement(**overrides: str) -> str:
    """An [[agreements]] table, one key per line, in this order (overrides replace lines)."""
    lines = {
        "id": '"in-uz-2018"',
        "title": '"IN-UZ"',
        "legal_reference": '"New Delhi, 2018"',
        "parties": '["IN", "UZ"]',
        "record_types": '["seizure-alert"]',
        "field_classes": '["personal_data"]',
        "onward_sharing": "false",
        "valid_from": "2018-10-01",
    }
    lines.update(overrides)
    body = "".join(f"{key} = {value}\n" for key, value in lines.items() if value != "<absent>")
    return "[[agreements]]\n" + body


# ------------------------------------------------------------- the example


def test_the_example_network_file_parses() -> None:
    rules = load_rules(NETWORK)
    assert set(rules.participants) == {"IN", "KZ", "KG", "TJ", "TM", "UZ", "UNODC", "CARICC"}
    assert [a.id for a in rules.agreements] == ["multilateral-2023", "in-uz-2018"]
    in_uz = rules.agreements[1]
    assert in_uz.parties == ("IN", "UZ")
    assert in_uz.field_classes == {"personal_data", "location_precise"}
    assert in_uz.record_types == {"seizure-alert", "case-evidence", "arrest", "prosecution"}
    assert in_uz.valid_from == date(2018, 10, 1) and in_uz.valid_until is None
    multilateral = rules.agreements[0]
    assert multilateral.field_classes == frozenset() and not multilateral.onward_sharing
    assert len(multilateral.record_types) == 8
    assert rules.restrictions[0].id == "tm-no-personal-data"
    assert rules.restrictions[0].no_send == rules.restrictions[0].no_receive == {"personal_data"}
    assert rules.retention_days("IN", "personal_data") == 1825
    assert rules.retention_days("UZ", "personal_data") == 1095
    assert rules.retention_days("KZ", "personal_data") == 365
    assert rules.retention_days("TM", "personal_data") is None
    assert rules.sha256 == hashlib.sha256(NETWORK.read_bytes()).hexdigest()
    assert rules.source == str(NETWORK)


def test_the_example_agencies_and_roles_are_those_of_the_example_certificates() -> None:
    rules = load_rules(NETWORK)
    from_rules = {
        (agency.participant, agency.code): agency.roles
        for participant in rules.participants.values()
        for agency in participant.agencies.values()
    }
    from_certificates = {}
    for participant in rules.participants:
        for path in sorted((EXAMPLE / participant).glob("*.crt")):
            if path.name == "ca.crt" or ".signing." in path.name:
                continue
            cert = x509.load_pem_x509_certificate(path.read_bytes())
            identity = identity_from_certificate(cert)
            if identity.client.startswith(("revoked", "expired", "noclientauth")):
                continue
            from_certificates[identity.participant, identity.agency] = frozenset(identity.roles)
    assert from_rules == from_certificates


def test_an_agency_entry_is_cited_by_its_place_in_the_file() -> None:
    rules = load_rules(NETWORK)
    entry = rules.agency("KZ", "MVD")
    assert entry is not None and entry.id == "participants.KZ.agencies.MVD"
    assert rules.agency("KZ", "NOPE") is None


# ----------------------------------------------------------------- refusals


def test_a_toml_syntax_error_keeps_tomllib_line_and_column() -> None:
    text = HEAD + 'name = "Uzbekistan"\n[[agreements]]\nid = "x\n'
    error = refusal(text)
    # Line 17 is `id = "x`: the string is not closed at column 8, the line's end.
    assert located(error) == ["rules.toml:17:8: TOML syntax: Illegal character '\\n'"]


def test_a_syntax_error_at_the_end_of_the_file_points_past_the_last_line() -> None:
    error = refusal('version = 1\nparties = ["IN",\n')
    (problem,) = error.problems
    assert (problem.line, problem.column) == (3, 1)
    assert problem.message.startswith("TOML syntax: ")
    assert problem.message.endswith("(at end of file)")


def test_an_unknown_key_is_refused_with_a_suggestion() -> None:
    text = HEAD + UZ_NAME + agreement(parties="<absent>") + 'partys = ["IN", "UZ"]\n'
    error = refusal(text)
    # [[agreements]] is line 16; its seven keys fill 17 to 23; `partys` is line 24.
    assert located(error) == [
        'rules.toml:16:1: agreements[0]: missing required key "parties" '
        "(a list of at least two participant codes)",
        'rules.toml:24:1: unknown key "partys" in agreements[0]; expected one of: id, title, '
        "legal_reference, parties, record_types, field_classes, onward_sharing, valid_from, "
        'valid_until, note (did you mean "parties"?)',
    ]


def test_an_unknown_key_inside_an_agency_is_refused_at_its_column() -> None:
    text = HEAD.replace('roles = ["publisher", "reader"]', 'roles = ["reader"]\n  rolse = []')
    error = refusal(text + UZ_NAME)
    (problem,) = error.problems
    assert (problem.line, problem.column) == (14, 3)
    assert 'did you mean "roles"?' in problem.message
    assert problem.path == "participants.IN.agencies.NCB.rolse"


def test_a_value_of_the_wrong_type_is_refused_at_the_value() -> None:
    text = HEAD + UZ_NAME + agreement(onward_sharing='"no"')
    (problem,) = refusal(text).problems
    # `onward_sharing = "no"` is line 23; the value starts at column 18.
    assert (problem.line, problem.column) == (23, 18)
    assert problem.message == (
        "agreements[0].onward_sharing: expected true or false (may recipients pass it on?), "
        "found the string \"no\""
    )


def test_a_date_written_as_text_is_refused_and_says_how_to_write_it() -> None:
    text = HEAD + UZ_NAME + agreement(valid_from='"2018-10-01"')
    (problem,) = refusal(text).problems
    assert (problem.line, problem.column) == (24, 14)
    assert "a date such as 2018-10-01 (no quotes, no time of day)" in problem.message


def test_a_date_with_a_time_of_day_is_refused() -> None:
    text = HEAD + UZ_NAME + agreement(valid_from="2018-10-01T00:00:00Z")
    (problem,) = refusal(text).problems
    assert (problem.line, problem.column) == (24, 14)
    assert "found the date-time 2018-10-01T00:00:00+00:00" in problem.message


def test_a_missing_required_key_is_reported_at_its_table_header() -> None:
    # [participants.UZ] (line 14) has no name.
    error = refusal(HEAD)
    assert located(error) == [
        'rules.toml:14:1: participants.UZ: missing required key "name" '
        "(the participant's full name)"
    ]


def test_a_missing_network_table_is_reported_at_the_start_of_the_file() -> None:
    text = HEAD.replace('[network]\nname = "test network"\nrules_date = 2025-01-01\n', "")
    (problem,) = refusal(text + UZ_NAME).problems
    assert (problem.line, problem.column) == (1, 1)
    assert "missing required key \"network\"" in problem.message


def test_a_reference_to_an_undefined_participant_is_refused_at_the_element() -> None:
    text = HEAD + UZ_NAME + agreement(parties='["IN", "UX"]')
    (problem,) = refusal(text).problems
    # `parties = ["IN", "UX"]`: line 20, "UX" starts at column 18.
    assert (problem.line, problem.column) == (20, 18)
    assert problem.path == "agreements[0].parties[1]"
    assert problem.message == (
        'agreements[0].parties[1]: "UX" is not a participant defined in this file; '
        'expected one of: IN, UZ (did you mean "UZ"?)'
    )


def test_restrictions_and_retention_must_name_defined_participants() -> None:
    text = (
        HEAD
        + UZ_NAME
        + "[[restrictions]]\n"  # 16
        + 'id = "tm-no-personal-data"\n'  # 17
        + 'participant = "TM"\n'  # 18
        + 'no_send = ["personal_data"]\n'  # 19
        + "[[retention]]\n"  # 20
        + 'id = "kz-1y"\n'  # 21
        + 'participant = "KZ"\n'  # 22
        + 'field_class = "personal_data"\n'  # 23
        + "days = 365\n"  # 24
    )
    problems = refusal(text).problems
    assert [(p.line, p.column, p.path) for p in problems] == [
        (18, 15, "restrictions[0].participant"),
        (22, 15, "retention[0].participant"),
    ]


def test_an_unknown_record_type_is_refused_with_a_suggestion() -> None:
    text = HEAD + UZ_NAME + agreement(record_types='["seizure-alert", "seizure_alert"]')
    (problem,) = refusal(text).problems
    # `record_types = ["seizure-alert", "seizure_alert"]`: the second element is at column 34.
    assert (problem.line, problem.column) == (21, 34)
    assert 'unknown record type "seizure_alert"' in problem.message
    assert 'did you mean "seizure-alert"?' in problem.message


def test_an_unknown_role_is_refused_with_a_suggestion() -> None:
    text = HEAD.replace('["publisher", "reader"]', '["publisher", "raeder"]') + UZ_NAME
    (problem,) = refusal(text).problems
    assert (problem.line, problem.column) == (13, 23)
    assert 'unknown role "raeder"' in problem.message
    assert 'did you mean "reader"?' in problem.message


def test_an_undeclared_field_class_is_refused() -> None:
    text = HEAD + UZ_NAME + agreement(field_classes='["personal_data", "personal_date"]')
    (problem,) = refusal(text).problems
    assert (problem.line, problem.column) == (22, 35)
    assert '"personal_date" is not a field class declared under [field_classes]' in problem.message
    assert 'did you mean "personal_data"?' in problem.message


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[participants.in]\nname = "x"\n', 'participant code "in" is not valid'),
        ('[participants.I]\nname = "x"\n', 'participant code "I" is not valid'),
        ('[participants.UZ.agencies.ncdc]\nroles = ["reader"]\n', 'agency code "ncdc" is not'),
        ('[participants.UZ.agencies."N C"]\nroles = []\n', 'agency code "N C" is not valid'),
    ],
)
def test_codes_must_be_those_certificates_can_carry(table: str, message: str) -> None:
    (problem,) = refusal(HEAD + UZ_NAME + table).problems
    assert (problem.line, problem.column) == (16, 1)
    assert message in problem.message


def test_a_duplicate_id_is_refused_and_names_the_first_use() -> None:
    text = HEAD + UZ_NAME + agreement() + agreement(parties='["UZ", "IN"]')
    (problem,) = refusal(text).problems
    # The second [[agreements]] starts at line 25; its id is on line 26, value at column 6.
    assert (problem.line, problem.column) == (26, 6)
    assert problem.message == (
        'agreements[1].id: id "in-uz-2018" is already used by agreements[0] (line 16); '
        "ids must be unique in the file"
    )


def test_ids_are_unique_across_agreements_restrictions_and_retention() -> None:
    text = (
        HEAD
        + UZ_NAME
        + agreement()
        + "[[retention]]\n"  # 25
        + 'id = "in-uz-2018"\n'  # 26
        + 'participant = "UZ"\n'
        + 'field_class = "personal_data"\n'
        + "days = 30\n"
    )
    (problem,) = refusal(text).problems
    assert (problem.line, problem.column, problem.path) == (26, 6, "retention[0].id")


def test_an_agreement_that_ends_before_it_starts_is_refused() -> None:
    text = HEAD + UZ_NAME + agreement(valid_until="2018-09-30")
    (problem,) = refusal(text).problems
    assert (problem.line, problem.column) == (25, 15)
    assert problem.message == (
        "agreements[0].valid_until: 2018-09-30 is before valid_from 2018-10-01; "
        "expected a date on or after it"
    )


def test_an_agreement_needs_two_parties() -> None:
    text = HEAD + UZ_NAME + agreement(parties='["IN"]')
    (problem,) = refusal(text).problems
    assert (problem.line, problem.column) == (20, 11)
    assert "expected at least two participants, found 1" in problem.message


def test_retention_must_be_a_positive_number_of_days_and_one_per_class() -> None:
    retention = (
        "[[retention]]\n"
        'id = "{id}"\n'
        'participant = "IN"\n'
        'field_class = "personal_data"\n'
        "days = {days}\n"
    )
    text = (
        HEAD
        + UZ_NAME
        + retention.format(id="in-a", days=0)  # 16-20
        + retention.format(id="in-b", days=30)  # 21-25
    )
    problems = refusal(text).problems
    assert [(p.line, p.column) for p in problems] == [(20, 8), (21, 1)]
    assert "at least 1, found 0" in problems[0].message
    assert "a second retention period for IN personal_data" in problems[1].message


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = (
        "version = 2\n"  # 1
        "[network]\n"  # 2
        'name = "x"\n'  # 3
        'rules_date = "2025-01-01"\n'  # 4
        "[participants.IN]\n"  # 5
        'name = "India"\n'  # 6
        "[participants.IN.agencies.NCB]\n"  # 7
        'roles = ["reader"]\n'  # 8
        'colour = "blue"\n'  # 9
        "[[agreements]]\n"  # 10
        'id = "a"\n'  # 11
        'title = "t"\n'  # 12
        'legal_reference = "r"\n'  # 13
        'parties = ["IN", "KZ"]\n'  # 14
        'record_types = ["seizure-alert", "weather"]\n'  # 15
        "field_classes = []\n"  # 16
        "onward_sharing = true\n"  # 17
        "valid_from = 2020-01-01\n"  # 18
        "valid_until = 2019-12-31\n"  # 19
    )
    error = refusal(text)
    assert [(p.line, p.column) for p in error.problems] == [
        (1, 11),
        (4, 14),
        (9, 1),
        (14, 18),
        (15, 34),
        (19, 15),
    ]
    lines = located(error)
    assert len(lines) == 6 and all(line.startswith("rules.toml:") for line in lines)


def test_the_error_lists_each_problem_as_file_line_column_message() -> None:
    problems = [RulesProblem(3, 7, "a", "second"), RulesProblem(1, 2, "b", "first")]
    error = RulesError("x.toml", problems)
    assert str(error) == "x.toml:1:2: first\nx.toml:3:7: second"
    assert isinstance(error, ValueError)


def test_a_file_that_is_not_utf8_is_refused_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes(b'version = 1\nname = "Tashk\xe9nt"\n')
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 14)
    assert "not UTF-8" in problem.message


# ------------------------------------------------------------ the locator


def test_the_locator_finds_keys_in_every_toml_form() -> None:
    text = textwrap.dedent(
        """\
        top = 1
        [ "quoted table" . inner ]
        a.b = "x"   # dotted key
        'lit key' = { k = 1, nested = { deep = [10, 20] } }
        [[rows]]
        v = '''
        multi [not a header]
        line'''
        [[rows]]
        v = [
          "one",  # comment, with ] inside
          { w = 2 },
        ]
        [rows.sub]
        when = 1979-05-27 07:32:00
        after = true
        """
    )
    tomllib.loads(text)  # the locator only ever sees valid TOML
    positions = index_source(text)
    assert positions.key(("top",)) == Position(1, 1)
    assert positions.key(("quoted table", "inner")) == Position(2, 1)
    assert positions.key(("quoted table", "inner", "a", "b")) == Position(3, 1)
    assert positions.value(("quoted table", "inner", "a", "b")) == Position(3, 7)
    assert positions.key(("quoted table", "inner", "lit key", "k")) == Position(4, 15)
    deep = ("quoted table", "inner", "lit key", "nested", "deep")
    assert positions.key((*deep, 1)) == Position(4, 45)
    assert positions.key(("rows", 0)) == Position(5, 1)
    assert positions.key(("rows", 1)) == Position(9, 1)
    assert positions.key(("rows", 1, "v", 1, "w")) == Position(12, 5)
    assert positions.key(("rows", 1, "sub")) == Position(14, 1)
    assert positions.value(("rows", 1, "sub", "after")) == Position(16, 9)
    # Unknown paths fall back to the nearest enclosing table the scan saw.
    assert positions.key(("rows", 1, "sub", "missing")) == Position(14, 1)
    assert positions.key(("nowhere",)) == Position(1, 1)


def test_the_locator_counts_columns_in_characters() -> None:
    positions = index_source('name = "Ташкент"\n[a]\n"ключ" = 2\n')
    assert positions.value(("name",)) == Position(1, 8)
    assert positions.key(("a", "ключ")) == Position(3, 1)
    assert positions.value(("a", "ключ")) == Position(3, 10)
