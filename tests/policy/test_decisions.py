"""Decisions: a table of cases under rules written for it, and the scenario of network.toml."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from silkline.authoring import build_payload, load_signing_identity, seal_record
from silkline.policy import Decision, Reader, RecordFacts, Rules, decide, load_rules, parse_rules
from silkline.policy.decision import H1_NOTICE, H3_NOTICE
from silkline.record_checks import check_body, parse_record

from ..conftest import EXAMPLE, REPO

NETWORK = REPO / "deploy" / "rules" / "network.toml"
AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

PD, LP, CE = "personal_data", "location_precise", "court_evidence"

# Rules written for the table: every line below exists for at least one case.
TABLE_RULES = """\
version = 1
[network]
name = "decision table"
rules_date = 2026-01-01

[field_classes.personal_data]
description = "persons"
[field_classes.location_precise]
description = "coordinates"
[field_classes.court_evidence]
description = "evidence"

[participants.IN]
name = "India"
[participants.IN.agencies.NCB]
roles = ["publisher", "reader"]
[participants.IN.agencies.DRI]
roles = ["publisher", "reader"]
[participants.IN.agencies.FEED]
roles = ["feed", "publisher"]
[participants.IN.agencies.OVERSIGHT]
roles = ["auditor", "reader"]

[participants.UZ]
name = "Uzbekistan"
[participants.UZ.agencies.NCDC]
roles = ["publisher", "reader"]
[participants.UZ.agencies.CUSTOMS]
roles = ["reader"]

[participants.KZ]
name = "Kazakhstan"
[participants.KZ.agencies.MVD]
roles = ["publisher", "reader"]

[participants.KG]
name = "Kyrgyzstan"
[participants.KG.agencies.SBNON]
roles = ["publisher", "reader"]

[participants.TJ]
name = "Tajikistan"
[participants.TJ.agencies.DCA]
roles = ["publisher", "reader"]
[participants.TJ.agencies.SUSPENDED]
roles = []

[participants.TM]
name = "Turkmenistan"
[participants.TM.agencies.MVD]
roles = ["publisher", "reader"]

[participants.UNODC]
name = "UNODC"
[participants.UNODC.agencies.AUDIT]
roles = ["auditor"]

[participants.CARICC]
name = "CARICC"
[participants.CARICC.agencies.ANALYSIS]
roles = ["analyst", "reader"]
[participants.CARICC.agencies.STATS]
roles = ["analyst"]

[[agreements]]
id = "multi"
title = "multilateral, no sensitive classes"
legal_reference = "test"
parties = ["IN", "UZ", "KZ", "KG", "TM", "UNODC", "CARICC"]
record_types = ["seizure-alert", "case-evidence", "arrest", "prosecution", "training",
                "rehabilitation", "livelihood", "joint-operation"]
field_classes = []
onward_sharing = false
valid_from = 2023-01-01

[[agreements]]
id = "in-uz"
title = "bilateral with personal data"
legal_reference = "test"
parties = ["IN", "UZ"]
record_types = ["seizure-alert", "case-evidence", "arrest", "prosecution"]
field_classes = ["personal_data", "location_precise"]
onward_sharing = false
valid_from = 2018-10-01

[[agreements]]
id = "in-kz-expired"
title = "expired"
legal_reference = "test"
parties = ["IN", "KZ"]
record_types = ["seizure-alert"]
field_classes = ["personal_data"]
onward_sharing = true
valid_from = 2015-01-01
valid_until = 2020-12-31

[[agreements]]
id = "in-kg-future"
title = "not yet in force"
legal_reference = "test"
parties = ["IN", "KG"]
record_types = ["seizure-alert"]
field_classes = ["location_precise"]
onward_sharing = true
valid_from = 2030-01-01

[[agreements]]
id = "in-tj-training"
title = "training only"
legal_reference = "test"
parties = ["IN", "TJ"]
record_types = ["training"]
field_classes = []
onward_sharing = true
valid_from = 2020-01-01

[[agreements]]
id = "uz-kz-evidence"
title = "evidence"
legal_reference = "test"
parties = ["UZ", "KZ"]
record_types = ["case-evidence"]
field_classes = ["court_evidence", "personal_data"]
onward_sharing = true
valid_from = 2022-01-01

[[agreements]]
id = "kz-tj-2010"
title = "long expired"
legal_reference = "test"
parties = ["KZ", "TJ"]
record_types = ["seizure-alert"]
field_classes = []
onward_sharing = true
valid_from = 2010-01-01
valid_until = 2015-12-31

[[agreements]]
id = "kg-tj-2031"
title = "far future"
legal_reference = "test"
parties = ["KG", "TJ"]
record_types = ["seizure-alert"]
field_classes = []
onward_sharing = true
valid_from = 2031-01-01

[[agreements]]
id = "tj-uz-ends-today"
title = "last day is the decision day"
legal_reference = "test"
parties = ["TJ", "UZ"]
record_types = ["seizure-alert"]
field_classes = []
onward_sharing = true
valid_from = 2020-01-01
valid_until = 2026-01-15

[[agreements]]
id = "tm-uz-pd"
title = "would cover personal data"
legal_reference = "test"
parties = ["TM", "UZ"]
record_types = ["seizure-alert"]
field_classes = ["personal_data"]
onward_sharing = true
valid_from = 2020-01-01

[[restrictions]]
id = "tm-no-personal-data"
participant = "TM"
no_send = ["personal_data"]
no_receive = ["personal_data"]

[[restrictions]]
id = "uz-no-send-location"
participant = "UZ"
no_send = ["location_precise"]
"""


@pytest.fixture(scope="module")
def rules() -> Rules:
    return parse_rules(TABLE_RULES, "table.toml")


def facts(
    origin: str,
    record_type: str = "seizure-alert",
    tlp: str = "GREEN",
    recipients: tuple[str, ...] = (),
    handling: tuple[str, ...] = (),
    classes: frozenset[str] = frozenset(),
) -> RecordFacts:
    participant, agency = origin.split("/")
    return RecordFacts(
        record_id="0190d3a0-0000-7000-8000-000000000000",
        record_type=record_type,
        originator_participant=participant,
        originator_agency=agency,
        created_at=datetime(2026, 1, 10, tzinfo=UTC),
        tlp=tlp,
        recipients=recipients,
        handling=handling,
        field_classes=classes,
    )


def reader(path: str) -> Reader:
    participant, agency = path.split("/")
    return Reader(participant, agency)


@dataclass(frozen=True)
class Case:
    name: str
    reader: str
    record: RecordFacts
    view: str
    cite: str
    disclosed: frozenset[str] = frozenset()
    withheld: frozenset[str] = frozenset()
    onward: bool | None = None

    def __str__(self) -> str:
        return self.name


F = frozenset
BOTH = F({PD, LP})

CASES = [
    # --- who reads: roles come from the rules file
    Case("unknown participant", "XX/Y", facts("IN/NCB"), "none", "participants", withheld=F()),
    Case("unknown agency of a known participant", "IN/NOPE", facts("UZ/NCDC"), "none",
         "participants.IN"),
    Case("feed and publisher cannot read", "IN/FEED", facts("IN/NCB", classes=BOTH), "none",
         "participants.IN.agencies.FEED", withheld=BOTH),
    Case("suspended agency (no roles) cannot read", "TJ/SUSPENDED", facts("TJ/DCA"), "none",
         "participants.TJ.agencies.SUSPENDED"),
    Case("analyst without reader cannot read", "CARICC/STATS", facts("IN/NCB"), "none",
         "participants.CARICC.agencies.STATS"),
    Case("auditor sees metadata of an AMBER record", "UNODC/AUDIT",
         facts("IN/NCB", tlp="AMBER", recipients=("UZ",), classes=BOTH), "metadata",
         "participants.UNODC.agencies.AUDIT", withheld=BOTH, onward=False),
    Case("auditor sees metadata of a RED record", "UNODC/AUDIT",
         facts("UZ/NCDC", tlp="RED"), "metadata", "participants.UNODC.agencies.AUDIT"),
    Case("auditor sees metadata even without any agreement", "UNODC/AUDIT",
         facts("TJ/DCA", record_type="arrest", classes=F({PD})), "metadata",
         "participants.UNODC.agencies.AUDIT", withheld=F({PD})),
    Case("reader and auditor falls back to metadata when reading is denied", "IN/OVERSIGHT",
         facts("UZ/NCDC", tlp="RED", classes=F({PD})), "metadata",
         "participants.IN.agencies.OVERSIGHT", withheld=F({PD})),
    Case("reader and auditor reads what a reader may", "IN/OVERSIGHT",
         facts("IN/NCB", classes=F({PD})), "full", "record.originator", disclosed=F({PD})),
    # --- the originator's own participant
    Case("originator sees its own RED record in full", "IN/NCB",
         facts("IN/NCB", tlp="RED", classes=BOTH), "full", "record.originator", disclosed=BOTH,
         onward=False),
    Case("originator sees its own record whatever the handling", "IN/NCB",
         facts("IN/NCB", tlp="AMBER", handling=("H9",), classes=BOTH), "full",
         "record.originator", disclosed=BOTH),
    Case("same participant, AMBER, not a recipient: allowed", "IN/DRI",
         facts("IN/NCB", tlp="AMBER", recipients=("UZ",), classes=BOTH), "full",
         "record.originator", disclosed=BOTH),
    Case("same participant, GREEN", "IN/DRI", facts("IN/NCB", classes=BOTH), "full",
         "record.distribution.tlp", disclosed=BOTH),
    Case("same participant, CLEAR", "IN/DRI", facts("IN/NCB", tlp="CLEAR"), "full",
         "record.distribution.tlp", onward=True),
    Case("same participant, AMBER+STRICT, agency not named", "IN/DRI",
         facts("IN/NCB", tlp="AMBER+STRICT", recipients=("UZ/NCDC",), classes=BOTH), "none",
         "record.distribution.recipients", withheld=BOTH),
    Case("same participant, AMBER+STRICT, agency named", "IN/DRI",
         facts("IN/NCB", tlp="AMBER+STRICT", recipients=("IN/DRI",), classes=BOTH), "full",
         "record.distribution.recipients", disclosed=BOTH, onward=False),
    Case("same participant, RED names only the participant", "IN/DRI",
         facts("IN/NCB", tlp="RED", recipients=("IN",)), "none",
         "record.distribution.recipients"),
    Case("same participant, RED, agency named: no onward sharing", "IN/DRI",
         facts("IN/NCB", tlp="RED", recipients=("IN/DRI",)), "full", "record.distribution.tlp",
         onward=False),
    Case("restrictions do not apply inside one participant", "UZ/CUSTOMS",
         facts("UZ/NCDC", classes=F({LP})), "full", "record.originator", disclosed=F({LP})),
    # --- another participant: agreements
    Case("bilateral covers both classes", "UZ/NCDC",
         facts("IN/NCB", tlp="AMBER", recipients=("UZ",), classes=BOTH), "full",
         "agreements.in-uz", disclosed=BOTH, onward=False),
    Case("multilateral alone covers training", "UZ/NCDC",
         facts("IN/NCB", record_type="training"), "full", "agreements.multi", onward=False),
    Case("bilateral does not cover livelihood: personal data withheld", "UZ/NCDC",
         facts("IN/NCB", record_type="livelihood", classes=F({PD})), "full", "agreements.multi",
         withheld=F({PD})),
    Case("expired bilateral does not count", "KZ/MVD", facts("IN/NCB", classes=F({PD})), "full",
         "agreements.multi", withheld=F({PD})),
    Case("bilateral not yet in force does not count", "KG/SBNON",
         facts("IN/NCB", classes=F({LP})), "full", "agreements.multi", withheld=F({LP})),
    Case("no agreement for the record type", "TJ/DCA", facts("IN/NCB", classes=F({PD})), "none",
         "agreements", withheld=F({PD})),
    Case("an agreement that does not cover the type is cited", "TJ/DCA", facts("IN/NCB"),
         "none", "agreements.in-tj-training"),
    Case("agreement for training only", "TJ/DCA", facts("IN/NCB", record_type="training"),
         "full", "agreements.in-tj-training", onward=True),
    Case("evidence agreement covers court evidence", "KZ/MVD",
         facts("UZ/NCDC", record_type="case-evidence", classes=F({CE, PD})), "full",
         "agreements.uz-kz-evidence", disclosed=F({CE, PD})),
    Case("agreements are symmetric", "UZ/NCDC",
         facts("KZ/MVD", record_type="case-evidence", classes=F({CE})), "full",
         "agreements.uz-kz-evidence", disclosed=F({CE})),
    Case("several agreements: their classes add up, one forbids onward sharing", "KZ/MVD",
         facts("UZ/NCDC", record_type="case-evidence"), "full", "agreements.multi",
         onward=False),
    Case("only link expired", "KZ/MVD", facts("TJ/DCA"), "none", "agreements.kz-tj-2010"),
    Case("only link not yet in force", "KG/SBNON", facts("TJ/DCA"), "none",
         "agreements.kg-tj-2031"),
    Case("agreement in force on its last day", "UZ/NCDC", facts("TJ/DCA"), "full",
         "agreements.tj-uz-ends-today", onward=True),
    Case("analyst with reader role reads as a reader", "CARICC/ANALYSIS",
         facts("IN/NCB", tlp="AMBER", recipients=("CARICC",), classes=BOTH), "full",
         "agreements.multi", withheld=BOTH),
    # --- the originator's TLP and recipients, across participants
    Case("AMBER, participant not a recipient", "UZ/NCDC",
         facts("IN/NCB", tlp="AMBER", recipients=("KZ",), classes=BOTH), "none",
         "record.distribution.recipients", withheld=BOTH),
    Case("AMBER with no recipients reaches no other participant", "UZ/NCDC",
         facts("IN/NCB", tlp="AMBER"), "none", "record.distribution.recipients"),
    Case("AMBER, another agency of the participant named", "UZ/NCDC",
         facts("IN/NCB", tlp="AMBER", recipients=("UZ/CUSTOMS",), classes=BOTH), "full",
         "record.distribution.recipients", disclosed=BOTH),
    Case("AMBER+STRICT, only the participant named", "UZ/NCDC",
         facts("IN/NCB", tlp="AMBER+STRICT", recipients=("UZ",)), "none",
         "record.distribution.recipients"),
    Case("AMBER+STRICT, agency named", "UZ/NCDC",
         facts("IN/NCB", tlp="AMBER+STRICT", recipients=("UZ/NCDC",), classes=F({PD})), "full",
         "record.distribution.tlp", disclosed=F({PD}), onward=False),
    Case("AMBER+STRICT, another agency named", "UZ/CUSTOMS",
         facts("IN/NCB", tlp="AMBER+STRICT", recipients=("UZ/NCDC",)), "none",
         "record.distribution.recipients"),
    Case("RED, agency named", "UZ/NCDC", facts("IN/NCB", tlp="RED", recipients=("UZ/NCDC",)),
         "full", "record.distribution.tlp", onward=False),
    Case("RED, no recipients", "UZ/NCDC", facts("IN/NCB", tlp="RED"), "none",
         "record.distribution.recipients"),
    Case("GREEN is not narrowed by recipients", "UZ/NCDC",
         facts("IN/NCB", recipients=("KZ",), classes=F({PD})), "full", "record.distribution.tlp",
         disclosed=F({PD})),
    Case("CLEAR", "UZ/NCDC", facts("IN/NCB", tlp="CLEAR"), "full", "record.distribution.tlp"),
    Case("an unknown TLP label denies", "UZ/NCDC", facts("IN/NCB", tlp="WHITE"), "none",
         "record.distribution.tlp"),
    Case("a lower-case TLP label is unknown", "UZ/NCDC", facts("IN/NCB", tlp="green"), "none",
         "record.distribution.tlp"),
    Case("an unknown handling code denies", "UZ/NCDC", facts("IN/NCB", handling=("H9",)), "none",
         "record.distribution.handling"),
    # --- handling codes
    Case("H2 turns onward sharing off", "TJ/DCA",
         facts("IN/NCB", record_type="training", handling=("H2",)), "full",
         "record.distribution.handling", onward=False),
    Case("H0 restricts nothing", "TJ/DCA",
         facts("IN/NCB", record_type="training", handling=("H0",)), "full",
         "agreements.in-tj-training", onward=True),
    # --- national restrictions
    Case("TM may not receive personal data", "TM/MVD", facts("IN/NCB", classes=BOTH), "full",
         "restrictions.tm-no-personal-data", withheld=BOTH),
    Case("TM may not send personal data", "UZ/NCDC", facts("TM/MVD", classes=F({PD})), "full",
         "restrictions.tm-no-personal-data", withheld=F({PD})),
    Case("UZ may not send precise locations, even where an agreement covers them", "IN/NCB",
         facts("UZ/NCDC", classes=BOTH), "full", "restrictions.uz-no-send-location",
         disclosed=F({PD}), withheld=F({LP})),
    Case("a class neither covered nor sendable names both reasons", "KZ/MVD",
         facts("UZ/NCDC", record_type="case-evidence", classes=F({LP})), "full",
         "restrictions.uz-no-send-location", withheld=F({LP})),
    # --- record types
    Case("an unknown record type denies", "UZ/NCDC", facts("IN/NCB", record_type="weather"),
         "none", "record.record_type"),
]  # fmt: skip


def test_the_table_has_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_decision(case: Case, rules: Rules) -> None:
    decision = decide(reader(case.reader), case.record, rules, at=AT)
    explanation = "\n".join(str(reason) for reason in decision.reasons)
    assert decision.view == case.view, explanation
    assert decision.allowed == (case.view != "none")
    assert decision.disclosed == case.disclosed, explanation
    # Withheld is what the record carries and the reader does not get.
    assert decision.withheld == case.record.field_classes - case.disclosed, explanation
    if case.withheld:
        assert decision.withheld == case.withheld, explanation
    assert case.cite in decision.cites, explanation
    if case.onward is not None:
        assert decision.onward_sharing is case.onward, explanation
    if case.view != "full":
        assert not decision.onward_sharing
    assert decision.rules_sha256 == rules.sha256


def test_every_withheld_class_has_a_reason_that_names_it(rules: Rules) -> None:
    for case in CASES:
        decision = decide(reader(case.reader), case.record, rules, at=AT)
        if decision.view != "full":
            continue
        for field_class in decision.withheld:
            assert any(
                reason.text.startswith(f"{field_class} withheld") for reason in decision.reasons
            ), case.name


def test_a_class_neither_covered_nor_sendable_cites_the_agreement_and_the_restriction(
    rules: Rules,
) -> None:
    record = facts("UZ/NCDC", record_type="case-evidence", classes=F({LP}))
    decision = decide(reader("KZ/MVD"), record, rules, at=AT)
    about_location = [r.cite for r in decision.reasons if r.text.startswith(LP)]
    assert about_location == ["agreements.multi", "restrictions.uz-no-send-location"]


def test_h1_and_h3_notices_travel_with_every_view_but_none(rules: Rules) -> None:
    record = facts("IN/NCB", tlp="AMBER", recipients=("UZ",), handling=("H1", "H3"))
    for path, view in (("UZ/NCDC", "full"), ("UNODC/AUDIT", "metadata"), ("KZ/MVD", "none")):
        decision = decide(reader(path), record, rules, at=AT)
        assert decision.view == view
        expected = (H1_NOTICE, H3_NOTICE) if view != "none" else ()
        assert decision.notices == expected


def test_the_h1_notice_says_what_it_means() -> None:
    assert H1_NOTICE == "H1: not for use as court evidence without the originator's permission"


def test_agreements_are_judged_on_the_utc_date_of_the_decision(rules: Rules) -> None:
    record = facts("TJ/DCA")
    last_day = datetime(2026, 1, 15, 23, 59, tzinfo=UTC)
    # 2026-01-16 01:00 in Tashkent (UTC+5) is still 2026-01-15 in UTC.
    tashkent = datetime(2026, 1, 16, 1, 0, tzinfo=timezone(timedelta(hours=5)))
    day_after = datetime(2026, 1, 16, 0, 0, tzinfo=UTC)
    assert decide(reader("UZ/NCDC"), record, rules, at=last_day).view == "full"
    assert decide(reader("UZ/NCDC"), record, rules, at=tashkent).view == "full"
    after = decide(reader("UZ/NCDC"), record, rules, at=day_after)
    assert after.view == "none"
    assert "agreements.tj-uz-ends-today" in after.cites


def test_a_naive_decision_time_denies_instead_of_guessing_the_zone(rules: Rules) -> None:
    decision = decide(reader("IN/NCB"), facts("IN/NCB"), rules, at=datetime(2026, 1, 15))
    assert (decision.allowed, decision.view) == (False, "none")
    assert decision.reasons[0].cite == "evaluator"
    assert "ValueError" in decision.reasons[0].text


def test_an_error_while_evaluating_denies_and_never_raises(rules: Rules) -> None:
    broken_rules: Any = object()
    decision = decide(reader("IN/NCB"), facts("IN/NCB"), broken_rules, at=AT)
    assert (decision.allowed, decision.view, decision.cites) == (False, "none", ("evaluator",))
    assert decision.rules_sha256 == ""
    no_classes: Any = None
    broken_record = replace(facts("IN/NCB"), field_classes=no_classes)
    decision = decide(reader("UZ/NCDC"), broken_record, rules, at=AT)
    assert (decision.allowed, decision.cites) == (False, ("evaluator",))
    assert "TypeError" in decision.reasons[0].text


def test_reasons_come_in_a_stable_order(rules: Rules) -> None:
    record = facts("IN/NCB", tlp="AMBER", recipients=("TM",), handling=("H2",), classes=BOTH)
    first = decide(reader("TM/MVD"), record, rules, at=AT)
    fresh = decide(reader("TM/MVD"), record, parse_rules(TABLE_RULES, "table.toml"), at=AT)
    assert first == fresh
    assert first.cites == (
        "participants.TM.agencies.MVD",
        "agreements.multi",
        "record.distribution.tlp",
        "record.distribution.recipients",
        "agreements.multi",  # location_precise: no agreement covers it
        "agreements.multi",  # personal_data: no agreement covers it
        "restrictions.tm-no-personal-data",  # personal_data: TM may not receive it
        "agreements.multi",  # onward sharing
        "record.distribution.handling",  # H2
    )


def test_a_decision_serialises_to_json_with_sorted_classes(rules: Rules) -> None:
    decision = decide(reader("KZ/MVD"), facts("IN/NCB", classes=BOTH), rules, at=AT)
    document = json.loads(json.dumps(decision.to_json()))
    assert document["view"] == "full"
    assert document["withheld"] == [LP, PD]
    assert document["reasons"][0] == {
        "cite": "participants.KZ.agencies.MVD",
        "text": "KZ/MVD has the reader role",
    }


# -------------------------------------------------- the scenario of network.toml


def scenario_record() -> RecordFacts:
    """IN/NCB's seizure alert with suspects and coordinates, AMBER, for UZ and KZ."""
    return RecordFacts(
        record_id="0190d3a0-0000-7000-8000-000000000001",
        record_type="seizure-alert",
        originator_participant="IN",
        originator_agency="NCB",
        created_at=AT,
        tlp="AMBER",
        recipients=("UZ", "KZ"),
        handling=("H1",),
        field_classes=BOTH,
    )


def decide_on_network(path: str, record: RecordFacts) -> Decision:
    return decide(reader(path), record, load_rules(NETWORK), at=AT)


def test_scenario_uz_sees_suspects_and_coordinates() -> None:
    decision = decide_on_network("UZ/NCDC", scenario_record())
    assert (decision.allowed, decision.view) == (True, "full")
    assert decision.disclosed == BOTH and decision.withheld == frozenset()
    assert "agreements.in-uz-2018" in decision.cites
    assert decision.notices == (H1_NOTICE,)
    assert decision.onward_sharing is False


def test_scenario_kz_sees_the_alert_and_is_told_what_was_withheld() -> None:
    decision = decide_on_network("KZ/MVD", scenario_record())
    assert (decision.allowed, decision.view) == (True, "full")
    assert decision.disclosed == frozenset() and decision.withheld == BOTH
    withheld_reasons = [r for r in decision.reasons if " withheld: " in r.text]
    assert [(r.cite, r.text.split(" ")[0]) for r in withheld_reasons] == [
        ("agreements.multilateral-2023", LP),
        ("agreements.multilateral-2023", PD),
    ]


def test_scenario_tm_is_denied_as_it_is_not_a_recipient() -> None:
    decision = decide_on_network("TM/MVD", scenario_record())
    assert (decision.allowed, decision.view) == (False, "none")
    assert decision.reasons[-1].cite == "record.distribution.recipients"
    assert decision.reasons[-1].text == "TM is not named in the recipients (UZ, KZ): denied"


def test_scenario_unodc_auditor_sees_metadata_only() -> None:
    decision = decide_on_network("UNODC/AUDIT", scenario_record())
    assert (decision.allowed, decision.view) == (True, "metadata")
    assert decision.disclosed == frozenset() and decision.withheld == BOTH
    assert decision.cites == ("participants.UNODC.agencies.AUDIT",)


def test_scenario_from_a_sealed_record() -> None:
    """The facts come from a real signed record: header and disclosure classes."""
    folder = EXAMPLE / "IN"
    signer = load_signing_identity(folder / "ncb.signing.key", folder / "ncb.signing.crt")
    example = REPO / "schemas" / "seizure-alert" / "examples" / "mundra-port-heroin-2021-09.json"
    body = json.loads(example.read_text(encoding="utf-8"))["body"]
    payload = build_payload(
        "seizure-alert", body, originator=signer.identity, tlp="AMBER", recipients=["UZ", "KZ"]
    )
    sealed = seal_record(payload, signer)
    record = parse_record(sealed.envelope)
    classes = [d.field_class for d in check_body(record, sealed.disclosures).disclosures]
    record_facts = RecordFacts.from_header(record.header, classes)
    assert record_facts.field_classes == BOTH
    views = {
        path: (d.view, d.disclosed)
        for path in ("UZ/NCDC", "KZ/MVD", "TM/MVD", "UNODC/AUDIT")
        for d in [decide_on_network(path, record_facts)]
    }
    assert views == {
        "UZ/NCDC": ("full", BOTH),
        "KZ/MVD": ("full", frozenset()),
        "TM/MVD": ("none", frozenset()),
        "UNODC/AUDIT": ("metadata", frozenset()),
    }
