"""Properties of sealing and checking records, for arbitrary valid seizure alerts (in-process).

Authoring (build_payload, seal_record) against the checks the server and the
offline verifier share (silkline.record_checks), and against the server's
admission, which adds the size limit, canonical spelling and the caller.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silkline.authoring import SealedRecord, build_payload, seal_record
from silkline.formats import disclosure as sd
from silkline.formats import dsse
from silkline.record_checks import (
    RecordRefusedError,
    check_body,
    check_signature,
    check_signer,
    parse_record,
)
from silkline.records import sensitive_fields
from silkline_server.admission import Admission

from .conftest import example_trust, seizure_body, signing_identity

TRUST = example_trust()
NCB = signing_identity("IN", "ncb")
SENSITIVE = sensitive_fields("seizure-alert", 1)
SUSPECTS, COORDINATES = "/body/suspects", "/body/location/coordinates"

# In-process checks are fast; enough examples to explore, few enough to stay quick.
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- strategies


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any Unicode text that UTF-8 can carry (so no lone surrogates)."""
    return st.text(st.characters(codec="utf-8"), min_size=1, max_size=max_size)


countries = st.sampled_from(["IN", "KZ", "KG", "TJ", "TM", "UZ", "AF", "IR", "PK", "AE"])
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-3))]
)
instants = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2026, 11, 1), timezones=offsets
).map(datetime.isoformat)
route_points = st.one_of(countries, st.fixed_dictionaries({"name": texts(), "country": countries}))


@st.composite
def quantities(draw: st.DrawFn) -> dict[str, Any]:
    unit = draw(st.sampled_from(["kg", "g", "tonne", "quintal", "tablets", "litre"]))
    if unit == "tablets":
        value: int | float = draw(st.integers(min_value=1, max_value=10**8))
    else:
        value = draw(
            st.one_of(
                st.integers(min_value=1, max_value=10**6),
                st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False),
            )
        )
    return {"value": value, "unit": unit}


items = st.fixed_dictionaries(
    {
        "drug": st.sampled_from(["heroin", "opium", "hashish", "methamphetamine", "cocaine"]),
        "quantity": quantities(),
    },
    optional={
        "substance": texts(),
        "estimated_value": st.fixed_dictionaries(
            {
                "amount": st.floats(min_value=0, max_value=1e9, allow_nan=False),
                "currency": st.sampled_from(["INR", "USD", "KZT", "UZS"]),
            },
            optional={"scale": st.sampled_from(["unit", "lakh", "crore"])},
        ),
    },
)
persons = st.fixed_dictionaries(
    {"name": texts()},
    optional={
        "aliases": st.lists(texts(), unique=True, max_size=2),
        "nationality": countries,
        "date_of_birth": st.dates(date(1940, 1, 1), date(2008, 12, 31)).map(date.isoformat),
        "passport_number": st.text("ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=1, max_size=32),
        "role": texts(),
    },
)
coordinates = st.fixed_dictionaries(
    {
        "lat": st.floats(min_value=-90, max_value=90, allow_nan=False),
        "lon": st.floats(min_value=-180, max_value=180, allow_nan=False),
    }
)


@st.composite
def seizure_bodies(draw: st.DrawFn, *, with_sensitive: bool | None = None) -> dict[str, Any]:
    """A valid seizure-alert body; `with_sensitive` forces suspects and coordinates in or out."""
    location: dict[str, Any] = {
        "kind": draw(st.sampled_from(["port", "border-crossing", "airport", "road", "sea"])),
        "name": draw(texts()),
        "country": draw(countries),
    }
    body: dict[str, Any] = {
        "seized_at": draw(instants),
        "location": location,
        "conveyance": draw(
            st.fixed_dictionaries(
                {"kind": st.sampled_from(["vessel", "container", "truck", "car", "postal"])},
                optional={"identifier": texts()},
            )
        ),
        "concealment": draw(texts(200)),
        "route": draw(
            st.fixed_dictionaries(
                {"origin": route_points, "destination": route_points},
                optional={"transit": st.lists(route_points, max_size=3)},
            )
        ),
        "items": draw(st.lists(items, min_size=1, max_size=3)),
    }
    for name, strategy in (("case_reference", texts()), ("notes", texts(300))):
        if draw(st.booleans()):
            body[name] = draw(strategy)
    if with_sensitive is None:
        has_suspects, has_coordinates = draw(st.booleans()), draw(st.booleans())
    else:
        has_suspects = has_coordinates = with_sensitive
    if has_suspects:
        body["suspects"] = draw(st.lists(persons, min_size=1, max_size=3))
    if has_coordinates:
        location["coordinates"] = draw(coordinates)
    return body


distributions = st.fixed_dictionaries(
    {
        "tlp": st.sampled_from(["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]),
        "recipients": st.lists(
            st.sampled_from(["UZ", "KZ", "UNODC", "KZ/MVD", "UZ/NCDC"]), unique=True, max_size=3
        ),
        "handling": st.lists(st.sampled_from(["H0", "H1", "H2"]), unique=True, max_size=2).map(
            lambda codes: [{"code": code} for code in codes]
        ),
        "grading": st.fixed_dictionaries(
            {
                "source": st.sampled_from("ABCX"),
                "information": st.integers(min_value=1, max_value=4),
            }
        ),
    }
)


def payload_of(body: dict[str, Any], distribution: dict[str, Any]) -> dict[str, Any]:
    return build_payload("seizure-alert", body, originator=NCB.identity, **distribution)


# ---------------------------------------------------------------- sign, then verify


@PROPERTY
@given(body=seizure_bodies(), distribution=distributions)
def test_every_valid_seizure_alert_verifies_after_sealing_and_reveals_what_was_signed(
    body: dict[str, Any], distribution: dict[str, Any]
) -> None:
    payload = payload_of(body, distribution)

    sealed = seal_record(payload, NCB)
    record = parse_record(sealed.envelope)
    signer = check_signer(record, sealed.signer_certificate_der, TRUST, now=datetime.now(UTC))
    check_signature(record, signer)
    checked = check_body(record, sealed.disclosures)

    assert checked.revealed == payload
    present = {pointer for pointer in SENSITIVE if _has(payload, pointer)}
    assert {(d.pointer, d.field_class) for d in checked.disclosures} == {
        (pointer, SENSITIVE[pointer]) for pointer in present
    }
    assert not any(_has(record.payload, pointer) for pointer in SENSITIVE)
    # Offline, years later: the same checks without "now".
    check_signature(record, check_signer(record, sealed.signer_certificate_der, TRUST, now=None))


@PROPERTY
@given(body=seizure_bodies(), distribution=distributions)
def test_the_server_admits_every_sealed_valid_seizure_alert(
    body: dict[str, Any], distribution: dict[str, Any]
) -> None:
    sealed = seal_record(payload_of(body, distribution), NCB)

    admitted = _admit(sealed.envelope, sealed.disclosures)

    assert admitted.record_id == sealed.record_id
    assert admitted.envelope == sealed.envelope
    assert sorted(d.disclosure for d in admitted.disclosures) == sorted(sealed.disclosures)


# ---------------------------------------------------------------- a reader holds a subset


@PROPERTY
@given(
    body=seizure_bodies(with_sensitive=True),
    distribution=distributions,
    kept=st.sets(st.sampled_from([SUSPECTS, COORDINATES])),
    data=st.data(),
)
def test_a_reader_given_some_disclosures_verifies_the_signature_and_each_one_it_holds(
    body: dict[str, Any], distribution: dict[str, Any], kept: set[str], data: st.DataObject
) -> None:
    payload = payload_of(body, distribution)
    sealed = seal_record(payload, NCB)
    by_pointer = {_pointer_of(d): d for d in sealed.disclosures}
    given_to_reader = data.draw(st.permutations([by_pointer[p] for p in sorted(kept)]))

    record = parse_record(sealed.envelope)
    check_signature(record, check_signer(record, sealed.signer_certificate_der, TRUST, now=None))
    checked = check_body(record, given_to_reader)

    assert {d.pointer for d in checked.disclosures} == kept
    assert _has(checked.revealed, SUSPECTS) == (SUSPECTS in kept)
    assert _has(checked.revealed, COORDINATES) == (COORDINATES in kept)
    # What the reader holds is exactly what was signed; what it lacks is simply absent.
    assert checked.revealed == _without(payload, {SUSPECTS, COORDINATES} - kept)


# ---------------------------------------------------------------- one flipped byte


@pytest.fixture(scope="module")
def sealed_alert() -> SealedRecord:
    """IN/NCB's Mundra alert with its two disclosures, sealed once."""
    return seal_record(
        build_payload("seizure-alert", seizure_body(), originator=NCB.identity, tlp="AMBER"), NCB
    )


def _flip(data: bytes, index: int, mask: int) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


flip_masks = st.integers(min_value=1, max_value=255)


def test_the_flip_properties_start_from_a_record_that_is_admitted(
    sealed_alert: SealedRecord,
) -> None:
    assert dsse.parse_envelope(sealed_alert.envelope).payload_type == dsse.RECORD_PAYLOAD_TYPE
    assert _admit(sealed_alert.envelope, sealed_alert.disclosures).record_id == (
        sealed_alert.record_id
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), mask=flip_masks)
def test_any_single_flipped_byte_of_the_envelope_is_refused(
    sealed_alert: SealedRecord, data: st.DataObject, mask: int
) -> None:
    # Judged by admission, not record_checks alone: flipping a lone "+" of a
    # base64 field to "-" spells the same bytes in the URL-safe alphabet, which
    # only the canonical-form check refuses (the signed bytes are unchanged).
    index = data.draw(st.integers(min_value=0, max_value=len(sealed_alert.envelope) - 1))
    flipped = _flip(sealed_alert.envelope, index, mask)

    with pytest.raises(RecordRefusedError):
        _admit(flipped, sealed_alert.disclosures)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), mask=flip_masks)
def test_any_single_flipped_byte_of_a_disclosure_is_refused(
    sealed_alert: SealedRecord, data: st.DataObject, mask: int
) -> None:
    which = data.draw(st.integers(min_value=0, max_value=len(sealed_alert.disclosures) - 1))
    encoded = sealed_alert.disclosures[which].encode("ascii")
    index = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    disclosures = list(sealed_alert.disclosures)
    disclosures[which] = _flip(encoded, index, mask).decode("latin-1")
    record = parse_record(sealed_alert.envelope)

    with pytest.raises(RecordRefusedError):
        check_body(record, disclosures)
    with pytest.raises(RecordRefusedError):
        _admit(sealed_alert.envelope, disclosures)


# ---------------------------------------------------------------- helpers


def _admit(envelope: bytes, disclosures: tuple[str, ...] | list[str]) -> Any:
    return Admission(TRUST).admit(
        NCB.identity, envelope, list(disclosures), NCB.certificate_der, datetime.now(UTC)
    )


def _tokens(pointer: str) -> list[str]:
    return pointer.lstrip("/").split("/")


def _has(document: dict[str, Any], pointer: str) -> bool:
    node: Any = document
    for token in _tokens(pointer):
        if not isinstance(node, dict) or token not in node:
            return False
        node = node[token]
    return True


def _without(document: dict[str, Any], pointers: set[str]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(document))
    for pointer in pointers:
        *parents, last = _tokens(pointer)
        node = copied
        for token in parents:
            node = node[token]
        node.pop(last, None)
    return copied


def _pointer_of(encoded: str) -> str:
    name = sd.parse_disclosure(encoded).name
    return {"suspects": SUSPECTS, "coordinates": COORDINATES}[str(name)]
