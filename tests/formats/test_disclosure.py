"""Selective disclosure (RFC 9901 digests on a JSON payload) against the RFC's own examples."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silkline.formats.disclosure import (
    SD_ALG,
    ClaimNameCollisionError,
    Disclosure,
    DisclosureError,
    DuplicateDigestError,
    MalformedDisclosureError,
    ReservedClaimNameError,
    UnconcealablePathError,
    UnreferencedDisclosureError,
    UnsupportedHashAlgorithmError,
    conceal,
    digest_of,
    new_disclosure,
    parse_disclosure,
    reveal,
)

from ..vectors import load_vectors


def _load_vectors(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = load_vectors(f"{name}/vectors.json")
    return loaded


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return _load_vectors("sd-jwt")


def _encode(content: Any) -> str:
    """A disclosure string for any JSON content, however malformed as a disclosure."""
    text = json.dumps(content, ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def _encode_raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


RECORD: dict[str, Any] = {
    "type": "seizure-alert",
    "body": {
        "when": "2021-09-13",
        "where": "Mundra port",
        "items": [{"drug": "heroin", "quantity": 2988, "unit": "kg"}],
        "suspects": [{"name": "A. Example", "nationality": "XX"}],
        "conveyance": {"vessel": "MV Example", "master": "B. Example"},
    },
}


# --- RFC 9901 examples ---


def test_object_property_vector_decodes_and_hashes_to_the_rfc_digest(
    vectors: dict[str, Any],
) -> None:
    case = vectors["object_property"]
    salt, name, value = json.loads(case["array_json"])
    disclosure = parse_disclosure(case["disclosure"])
    assert (disclosure.salt, disclosure.name, disclosure.value) == (salt, name, value)
    assert disclosure.encoded == case["disclosure"]
    assert disclosure.digest == case["digest"]
    assert digest_of(case["disclosure"]) == case["digest"]


def test_equivalent_encodings_carry_the_same_claim_under_different_digests(
    vectors: dict[str, Any],
) -> None:
    case = vectors["object_property"]
    claim = tuple(json.loads(case["array_json"]))
    encodings = [case["disclosure"], *case["equivalent_encodings_same_claim_different_digest"]]
    parsed = [parse_disclosure(encoded) for encoded in encodings]
    assert all((d.salt, d.name, d.value) == claim for d in parsed)
    assert len({d.digest for d in parsed}) == len(encodings)


def test_new_disclosure_writes_compact_utf8_json_like_the_rfc_no_whitespace_example(
    vectors: dict[str, Any],
) -> None:
    case = vectors["object_property"]
    salt, name, value = json.loads(case["array_json"])
    compact = case["equivalent_encodings_same_claim_different_digest"][1]
    disclosure = new_disclosure(name, value, salt=salt)
    assert disclosure.encoded == compact
    assert disclosure == parse_disclosure(compact)


def test_array_element_vector_decodes_and_hashes_to_the_rfc_digest(
    vectors: dict[str, Any],
) -> None:
    case = vectors["array_element"]
    salt, value = json.loads(case["array_json"])
    disclosure = parse_disclosure(case["disclosure"])
    assert (disclosure.salt, disclosure.name, disclosure.value) == (salt, None, value)
    assert disclosure.digest == case["digest"]


def test_array_element_vector_reveals_in_place_or_is_withheld(vectors: dict[str, Any]) -> None:
    case = vectors["array_element"]
    revealed = reveal(case["embedded_as"], [case["disclosure"]])
    assert revealed.payload == {"nationalities": ["DE", "FR", "US"]}
    assert [(r.pointer, r.disclosure.encoded) for r in revealed.revealed] == [
        ("/nationalities/1", case["disclosure"])
    ]
    assert reveal(case["embedded_as"], []).payload == {"nationalities": ["DE", "US"]}


def test_object_property_vector_reveals_into_the_object_holding_its_digest(
    vectors: dict[str, Any],
) -> None:
    case = vectors["object_property"]
    concealed = {"_sd": [case["digest"]], "iss": "x", "_sd_alg": "sha-256"}
    revealed = reveal(concealed, [case["disclosure"]])
    assert revealed.payload == {"iss": "x", "family_name": "Möbius"}
    assert [r.pointer for r in revealed.revealed] == ["/family_name"]


# --- new_disclosure ---


def test_new_disclosures_get_fresh_128_bit_base64url_salts() -> None:
    first, second = new_disclosure("n", 1), new_disclosure("n", 1)
    assert first.salt != second.salt and first.digest != second.digest
    assert len(base64.urlsafe_b64decode(first.salt + "==")) == 16
    assert parse_disclosure(first.encoded) == first


@pytest.mark.parametrize("name", ["_sd", "...", "_sd_alg"])
def test_new_disclosure_refuses_reserved_names(name: str) -> None:
    with pytest.raises(ReservedClaimNameError):
        new_disclosure(name, 1)


def test_new_disclosure_refuses_values_that_are_not_json() -> None:
    with pytest.raises(MalformedDisclosureError, match="not JSON-serialisable"):
        new_disclosure("n", float("nan"))
    with pytest.raises(MalformedDisclosureError, match="not JSON-serialisable"):
        new_disclosure("n", {1j})


# --- conceal ---


def test_conceal_replaces_properties_by_sorted_digests_and_leaves_the_input_alone() -> None:
    original = copy.deepcopy(RECORD)
    concealed, disclosures = conceal(RECORD, [("body", "suspects"), ("body", "conveyance")])
    assert original == RECORD
    assert concealed["_sd_alg"] == SD_ALG
    assert "suspects" not in concealed["body"] and "conveyance" not in concealed["body"]
    assert concealed["body"]["_sd"] == sorted(d.digest for d in disclosures)
    assert [(d.name, d.value) for d in disclosures] == [
        ("suspects", RECORD["body"]["suspects"]),
        ("conveyance", RECORD["body"]["conveyance"]),
    ]
    assert "Example" not in json.dumps({k: v for k, v in concealed["body"].items()})


def test_conceal_skips_absent_properties() -> None:
    concealed, disclosures = conceal({"a": 1}, [("b",), ("c", "d")])
    assert concealed == {"a": 1, "_sd_alg": "sha-256"}
    assert disclosures == []


@pytest.mark.parametrize(
    "path", [("_sd",), ("_sd_alg",), ("body", "_sd"), ("...",), ("body", "_sd", "x")]
)
def test_conceal_refuses_reserved_names(path: tuple[str, ...]) -> None:
    with pytest.raises(ReservedClaimNameError, match="reserved"):
        conceal(RECORD, [path])


@pytest.mark.parametrize(
    "payload",
    [{"_sd": []}, {"a": {"_sd_alg": "sha-256"}}, {"a": [{"...": "x"}]}],
    ids=["sd", "nested-sd-alg", "ellipsis-in-array"],
)
def test_conceal_refuses_payloads_that_already_use_digest_syntax(payload: dict[str, Any]) -> None:
    with pytest.raises(ReservedClaimNameError):
        conceal(payload, [])


def test_conceal_refuses_paths_it_cannot_follow() -> None:
    with pytest.raises(UnconcealablePathError, match="root"):
        conceal(RECORD, [()])
    with pytest.raises(UnconcealablePathError, match="/body/items"):
        conceal(RECORD, [("body", "items", "0")])


# --- reveal: round trips ---


def test_revealing_every_disclosure_gives_back_the_original() -> None:
    concealed, disclosures = conceal(RECORD, [("body", "suspects"), ("body", "where"), ("type",)])
    revealed = reveal(concealed, [d.encoded for d in disclosures])
    assert revealed.payload == RECORD
    assert {r.pointer: r.disclosure for r in revealed.revealed} == {
        "/body/suspects": disclosures[0],
        "/body/where": disclosures[1],
        "/type": disclosures[2],
    }


def test_revealing_a_subset_withholds_the_rest_without_touching_the_signed_payload() -> None:
    concealed, disclosures = conceal(RECORD, [("body", "suspects"), ("body", "conveyance")])
    signed = copy.deepcopy(concealed)
    revealed = reveal(concealed, [disclosures[1].encoded])
    assert concealed == signed
    expected = copy.deepcopy(RECORD)
    del expected["body"]["suspects"]
    assert revealed.payload == expected
    assert [r.pointer for r in revealed.revealed] == ["/body/conveyance"]


def test_revealing_nothing_removes_all_digest_syntax() -> None:
    concealed, _ = conceal(RECORD, [("body",)])
    assert reveal(concealed, []).payload == {"type": "seizure-alert"}


def test_nested_disclosures_reveal_inner_claims_inside_outer_ones() -> None:
    concealed, (suspects, body) = conceal(RECORD, [("body", "suspects"), ("body",)])
    assert concealed == {"type": "seizure-alert", "_sd": [body.digest], "_sd_alg": "sha-256"}
    assert body.value["_sd"] == [suspects.digest]

    both = reveal(concealed, [suspects.encoded, body.encoded])
    assert both.payload == RECORD
    assert [r.pointer for r in both.revealed] == ["/body", "/body/suspects"]

    outer_only = reveal(concealed, [body.encoded]).payload
    assert "suspects" not in outer_only["body"] and "_sd" not in outer_only["body"]

    with pytest.raises(UnreferencedDisclosureError):
        reveal(concealed, [suspects.encoded])


def test_json_pointers_escape_tilde_and_slash_rfc6901() -> None:
    concealed, disclosures = conceal({"a/b": {"c~d": 1}}, [("a/b", "c~d")])
    revealed = reveal(concealed, [disclosures[0].encoded])
    assert revealed.revealed[0].pointer == "/a~1b/c~0d"


def test_array_pointers_count_the_elements_that_remain() -> None:
    kept, withheld = _encode(["s1", "kept"]), _encode(["s2", "withheld"])
    payload = {"list": [{"...": digest_of(withheld)}, "clear", {"...": digest_of(kept)}]}
    revealed = reveal(payload, [kept])
    assert revealed.payload == {"list": ["clear", "kept"]}
    assert revealed.revealed[0].pointer == "/list/1"


# --- reveal: refusals ---


@pytest.mark.parametrize(
    ("encoded", "words"),
    [
        pytest.param("", "non-empty base64url", id="empty"),
        pytest.param(_encode(["s", "n", 1]) + "=", "without padding", id="padded"),
        pytest.param(_encode(["s", "n", 1]).replace("W", "+"), "base64url", id="std-alphabet"),
        pytest.param("WyJzIiwgIm4iLCAxXQ" + "AAA", "length", id="impossible-length"),
        pytest.param("WyJzIiwgIm4iLCAxXR", "canonical", id="non-canonical"),
        pytest.param(_encode_raw("not json"), "not JSON", id="not-json"),
        pytest.param(
            base64.urlsafe_b64encode(b'["s", "\xff", 1]').decode().rstrip("="),
            "UTF-8",
            id="not-utf8",
        ),
        pytest.param(_encode({"salt": "s"}), "JSON array", id="object"),
        pytest.param(_encode(["s"]), "array of 1", id="one-element"),
        pytest.param(_encode(["s", "n", 1, 2]), "array of 4", id="four-elements"),
        pytest.param(_encode([1, "n", 1]), "salt must be a string", id="numeric-salt"),
        pytest.param(_encode(["s", 7, 1]), "name must be a string", id="numeric-name"),
        pytest.param(_encode_raw('["s","n",{"a":1,"a":2}]'), "repeats the key", id="dup-key"),
        pytest.param(_encode_raw('["s","n",NaN]'), "NaN", id="nan"),
        pytest.param("é", "base64url", id="non-ascii"),
    ],
)
def test_malformed_disclosures_are_refused_with_what_is_wrong(encoded: str, words: str) -> None:
    with pytest.raises(MalformedDisclosureError, match=words):
        parse_disclosure(encoded)
    with pytest.raises(MalformedDisclosureError):
        reveal({"_sd": []}, [encoded])


def test_a_disclosure_whose_digest_is_nowhere_in_the_payload_is_refused() -> None:
    concealed, _ = conceal(RECORD, [("body", "suspects")])
    stranger = new_disclosure("suspects", [{"name": "Someone Else"}])
    with pytest.raises(UnreferencedDisclosureError, match=stranger.digest):
        reveal(concealed, [stranger.encoded])


def test_a_digest_listed_twice_in_one_sd_array_is_refused() -> None:
    disclosure = new_disclosure("n", 1)
    with pytest.raises(DuplicateDigestError, match="more than once"):
        reveal({"_sd": [disclosure.digest, disclosure.digest]}, [disclosure.encoded])


def test_a_digest_in_two_places_is_refused_even_without_its_disclosure() -> None:
    digest = new_disclosure("n", 1).digest
    with pytest.raises(DuplicateDigestError):
        reveal({"_sd": [digest], "a": {"_sd": [digest]}}, [])
    with pytest.raises(DuplicateDigestError):
        reveal({"_sd": [digest], "a": [{"...": digest}]}, [])


def test_the_same_disclosure_given_twice_is_refused() -> None:
    concealed, (disclosure,) = conceal(RECORD, [("type",)])
    with pytest.raises(DuplicateDigestError, match="given twice"):
        reveal(concealed, [disclosure.encoded, disclosure.encoded])


@pytest.mark.parametrize("name", ["_sd", "...", "_sd_alg"])
def test_a_disclosure_named_with_a_reserved_name_is_refused(name: str) -> None:
    encoded = _encode(["salt", name, 1])
    with pytest.raises(ReservedClaimNameError, match="RFC 9901"):
        reveal({"_sd": [digest_of(encoded)]}, [encoded])


def test_a_disclosed_name_already_present_in_clear_is_refused() -> None:
    disclosure = new_disclosure("type", "something-else")
    concealed = {"type": "seizure-alert", "_sd": [disclosure.digest]}
    with pytest.raises(ClaimNameCollisionError, match="'type'"):
        reveal(concealed, [disclosure.encoded])


def test_two_disclosures_of_the_same_name_at_one_level_are_refused() -> None:
    first, second = new_disclosure("n", 1), new_disclosure("n", 2)
    concealed = {"_sd": sorted([first.digest, second.digest])}
    with pytest.raises(ClaimNameCollisionError):
        reveal(concealed, [first.encoded, second.encoded])


@pytest.mark.parametrize("algorithm", ["sha-512", "SHA-256", "sha256", None, 256])
def test_any_sd_alg_but_sha256_is_refused(algorithm: Any) -> None:
    concealed, disclosures = conceal(RECORD, [("type",)])
    concealed["_sd_alg"] = algorithm
    with pytest.raises(UnsupportedHashAlgorithmError):
        reveal(concealed, [d.encoded for d in disclosures])


def test_a_payload_without_sd_alg_defaults_to_sha256() -> None:
    concealed, disclosures = conceal(RECORD, [("type",)])
    del concealed["_sd_alg"]
    assert reveal(concealed, [d.encoded for d in disclosures]).payload == RECORD


def test_an_object_disclosure_in_an_array_slot_is_refused() -> None:
    disclosure = new_disclosure("n", 1)
    with pytest.raises(MalformedDisclosureError, match="needs \\[salt, value\\]"):
        reveal({"list": [{"...": disclosure.digest}]}, [disclosure.encoded])


def test_an_array_element_disclosure_in_an_sd_array_is_refused() -> None:
    encoded = _encode(["salt", "value"])
    with pytest.raises(MalformedDisclosureError, match="needs \\[salt, name, value\\]"):
        reveal({"_sd": [digest_of(encoded)]}, [encoded])


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"_sd": "digest"}, "array of digest strings"),
        ({"a": {"_sd": [1]}}, "array of digest strings"),
        ({"a": [{"...": 1}]}, "no other key"),
        ({"a": [{"...": "digest", "b": 1}]}, "no other key"),
        ({"a": {"_sd_alg": "sha-256"}}, "only at the top level"),
    ],
)
def test_malformed_digest_structures_are_refused(payload: dict[str, Any], words: str) -> None:
    with pytest.raises(MalformedDisclosureError, match=words):
        reveal(payload, [])


def test_deeply_nested_disclosures_are_refused_not_crashing() -> None:
    encoded = _encode_raw('["s","n",' + "[" * 100_000 + "]" * 100_000 + "]")
    with pytest.raises(MalformedDisclosureError, match="nested too deeply"):
        parse_disclosure(encoded)


def test_a_single_string_is_not_mistaken_for_a_list_of_disclosures() -> None:
    concealed, (disclosure,) = conceal(RECORD, [("type",)])
    with pytest.raises(TypeError, match="not one string"):
        reveal(concealed, disclosure.encoded)


def test_every_refusal_is_a_disclosure_error_and_a_value_error() -> None:
    for error in (
        MalformedDisclosureError,
        UnreferencedDisclosureError,
        DuplicateDigestError,
        ReservedClaimNameError,
        ClaimNameCollisionError,
        UnsupportedHashAlgorithmError,
        UnconcealablePathError,
    ):
        assert issubclass(error, DisclosureError)
    assert issubclass(DisclosureError, ValueError)


# --- properties ---

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
NAMES = TEXT.filter(lambda name: name not in {"_sd", "_sd_alg", "..."})
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(NAMES, children, max_size=4),
    max_leaves=12,
)
PAYLOADS = st.dictionaries(NAMES, JSON_VALUES, max_size=6)


@settings(max_examples=150, deadline=None)
@given(payload=PAYLOADS, data=st.data())
def test_reveal_of_conceal_gives_back_exactly_the_payload(
    payload: dict[str, Any], data: st.DataObject
) -> None:
    hidden = data.draw(
        st.lists(st.sampled_from(sorted(payload)), unique=True) if payload else st.just([]),
        label="hidden",
    )
    concealed, disclosures = conceal(payload, [(name,) for name in hidden])
    assert not set(hidden) & set(concealed)
    revealed = reveal(concealed, [d.encoded for d in disclosures])
    assert revealed.payload == payload
    assert sorted(r.disclosure.name or "" for r in revealed.revealed) == sorted(hidden)


@settings(max_examples=150, deadline=None)
@given(payload=PAYLOADS, data=st.data())
def test_revealing_a_subset_yields_the_payload_minus_the_withheld_keys(
    payload: dict[str, Any], data: st.DataObject
) -> None:
    names = sorted(payload)
    hidden = data.draw(st.lists(st.sampled_from(names), unique=True) if names else st.just([]))
    concealed, disclosures = conceal(payload, [(name,) for name in hidden])
    signed = copy.deepcopy(concealed)
    released = data.draw(
        st.lists(st.sampled_from(disclosures), unique_by=lambda d: d.encoded)
        if disclosures
        else st.just([])
    )
    withheld = set(hidden) - {d.name for d in released}
    revealed = reveal(concealed, [d.encoded for d in released])
    assert revealed.payload == {k: v for k, v in payload.items() if k not in withheld}
    assert concealed == signed


BASE64URL_AND_OTHERS = st.sampled_from(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= .é"
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, data=st.data())
def test_any_single_changed_character_makes_a_disclosure_unreferenced_or_malformed(
    value: Any, data: st.DataObject
) -> None:
    concealed, (disclosure,) = conceal({"suspects": value}, [("suspects",)])
    index = data.draw(st.integers(0, len(disclosure.encoded) - 1), label="index")
    replacement = data.draw(
        BASE64URL_AND_OTHERS.filter(lambda c: c != disclosure.encoded[index]), label="char"
    )
    changed = disclosure.encoded[:index] + replacement + disclosure.encoded[index + 1 :]
    with pytest.raises((UnreferencedDisclosureError, MalformedDisclosureError)):
        reveal(concealed, [changed])


def test_disclosure_dataclass_digest_matches_digest_of() -> None:
    disclosure = Disclosure(encoded=_encode(["s", "v"]), salt="s", name=None, value="v")
    assert disclosure.digest == digest_of(disclosure.encoded)
