"""Decision properties (hypothesis): the originator's controls and fewer agreements only narrow."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

from hypothesis import given, settings
from hypothesis import strategies as st

from silkline.policy import TLP_LEVELS, Decision, Reader, RecordFacts, Rules, decide, parse_rules
from silkline.policy.decision import HANDLING_CODES
from silkline.records import RECORD_TYPES

from .test_decisions import TABLE_RULES

RULES = parse_rules(TABLE_RULES, "table.toml")
AGENCIES = sorted(
    (agency.participant, agency.code)
    for participant in RULES.participants.values()
    for agency in participant.agencies.values()
)
PARTICIPANTS = sorted(RULES.participants)
CLASSES = ("personal_data", "location_precise", "court_evidence", "undeclared_class")
RECIPIENTS = tuple(PARTICIPANTS) + tuple(f"{p}/{a}" for p, a in AGENCIES) + ("XX", "IN/OTHER")
_VIEW_RANK = {"none": 0, "metadata": 1, "full": 2}

readers = st.one_of(
    st.sampled_from(AGENCIES).map(lambda pa: Reader(*pa)),
    st.builds(Reader, st.sampled_from([*PARTICIPANTS, "XX"]), st.sampled_from(["NCB", "NOPE"])),
)
moments = st.dates(date(2009, 1, 1), date(2035, 12, 31)).map(
    lambda day: datetime.combine(day, time(12), UTC)
)


@st.composite
def records(draw: st.DrawFn) -> RecordFacts:
    participant, agency = draw(st.sampled_from(AGENCIES))
    return RecordFacts(
        record_id="0190d3a0-0000-7000-8000-000000000000",
        record_type=draw(st.sampled_from(RECORD_TYPES)),
        originator_participant=participant,
        originator_agency=agency,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        tlp=draw(st.sampled_from(TLP_LEVELS)),
        recipients=tuple(draw(st.lists(st.sampled_from(RECIPIENTS), unique=True, max_size=5))),
        handling=tuple(draw(st.lists(st.sampled_from(HANDLING_CODES), unique=True, max_size=3))),
        field_classes=frozenset(draw(st.lists(st.sampled_from(CLASSES), unique=True))),
    )


def grants_no_more(narrower: Decision, wider: Decision) -> bool:
    """Whether ``narrower`` gives nothing that ``wider`` does not."""
    return (
        _VIEW_RANK[narrower.view] <= _VIEW_RANK[wider.view]
        and (wider.allowed or not narrower.allowed)
        and narrower.disclosed <= wider.disclosed
        and (wider.onward_sharing or not narrower.onward_sharing)
    )


@settings(max_examples=400)
@given(readers, records(), moments, st.data())
def test_a_narrower_tlp_label_never_grants_more(
    reader: Reader, record: RecordFacts, at: datetime, data: st.DataObject
) -> None:
    level = TLP_LEVELS.index(record.tlp)
    narrower_tlp = data.draw(st.sampled_from(TLP_LEVELS[level:]))
    wider = decide(reader, record, RULES, at=at)
    narrower = decide(reader, replace(record, tlp=narrower_tlp), RULES, at=at)
    assert grants_no_more(narrower, wider)


@settings(max_examples=400)
@given(readers, records(), moments, st.data())
def test_fewer_recipients_never_grant_more(
    reader: Reader, record: RecordFacts, at: datetime, data: st.DataObject
) -> None:
    kept = data.draw(st.sets(st.sampled_from(record.recipients))) if record.recipients else set()
    fewer = tuple(r for r in record.recipients if r in kept)
    wider = decide(reader, record, RULES, at=at)
    narrower = decide(reader, replace(record, recipients=fewer), RULES, at=at)
    assert grants_no_more(narrower, wider)


@settings(max_examples=400)
@given(readers, records(), moments, st.sampled_from([*HANDLING_CODES, "H9"]))
def test_adding_a_handling_code_never_grants_more(
    reader: Reader, record: RecordFacts, at: datetime, code: str
) -> None:
    wider = decide(reader, record, RULES, at=at)
    handling = record.handling if code in record.handling else (*record.handling, code)
    narrower = decide(reader, replace(record, handling=handling), RULES, at=at)
    assert grants_no_more(narrower, wider)
    if code == "H2" and narrower.allowed:
        assert not narrower.onward_sharing


@settings(max_examples=300)
@given(readers, records(), moments, st.data())
def test_removing_an_agreement_never_grants_more(
    reader: Reader, record: RecordFacts, at: datetime, data: st.DataObject
) -> None:
    agreements = RULES.agreements
    kept = data.draw(st.lists(st.sampled_from(agreements), unique_by=lambda a: a.id))
    fewer = replace(RULES, agreements=tuple(a for a in agreements if a in kept))
    wider = decide(reader, record, RULES, at=at)
    narrower = decide(reader, record, fewer, at=at)
    assert grants_no_more(narrower, wider)


NO_AGREEMENTS: Rules = replace(RULES, agreements=())


@settings(max_examples=400)
@given(readers, records(), moments)
def test_without_agreements_nothing_reaches_another_participant(
    reader: Reader, record: RecordFacts, at: datetime
) -> None:
    decision = decide(reader, record, NO_AGREEMENTS, at=at)
    if reader.participant != record.originator_participant:
        assert decision.view in ("none", "metadata")
        assert decision.disclosed == frozenset()
        assert not decision.onward_sharing


@settings(max_examples=300)
@given(readers, records(), moments)
def test_decisions_are_deterministic_and_the_memo_changes_nothing(
    reader: Reader, record: RecordFacts, at: datetime
) -> None:
    warm = decide(reader, record, RULES, at=at)
    cold = decide(reader, record, parse_rules(TABLE_RULES, "table.toml"), at=at)
    assert warm == cold
    assert decide(reader, record, RULES, at=at) == warm


@settings(max_examples=300)
@given(
    st.builds(Reader, st.text(max_size=8), st.text(max_size=8), st.text(max_size=8)),
    st.builds(
        RecordFacts,
        record_id=st.text(max_size=8),
        record_type=st.one_of(st.sampled_from(RECORD_TYPES), st.text(max_size=12)),
        originator_participant=st.one_of(st.sampled_from(PARTICIPANTS), st.text(max_size=4)),
        originator_agency=st.text(max_size=8),
        created_at=st.datetimes(timezones=st.just(UTC)),
        tlp=st.one_of(st.sampled_from(TLP_LEVELS), st.text(max_size=12)),
        recipients=st.lists(st.text(max_size=10), max_size=4).map(tuple),
        handling=st.lists(st.text(max_size=4), max_size=3).map(tuple),
        field_classes=st.frozensets(st.text(max_size=12), max_size=3),
    ),
    st.datetimes(timezones=st.sampled_from([UTC, None])),
)
def test_any_input_gets_a_decision_and_never_an_exception(
    reader: Reader, record: RecordFacts, at: datetime
) -> None:
    decision = decide(reader, record, RULES, at=at)
    assert decision.allowed == (decision.view != "none")
    assert decision.disclosed <= record.field_classes
    assert decision.withheld == record.field_classes - decision.disclosed
    assert decision.reasons
