"""Identity URIs and their parsing."""

from __future__ import annotations

import pytest

from silkline.identity import IdentityError, parse_identity_uri


def test_a_well_formed_uri_splits_into_participant_agency_and_client() -> None:
    assert parse_identity_uri("silkline://CARICC/ANALYSIS/analyst-1") == (
        "CARICC",
        "ANALYSIS",
        "analyst-1",
    )


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("https://IN/NCB/x", "must start with"),
        ("silkline://IN/NCB", "PARTICIPANT/AGENCY/client"),
        ("silkline://IN/NCB/x/y", "PARTICIPANT/AGENCY/client"),
        ("silkline://in/NCB/x", "participant code"),
        ("silkline://IN/ncb/x", "agency code"),
        ("silkline://IN/NCB/Desk 1", "client name"),
        ("silkline://IN/NCB/", "client name"),
    ],
)
def test_malformed_uris_are_refused_with_what_is_wrong(uri: str, words: str) -> None:
    with pytest.raises(IdentityError, match=words):
        parse_identity_uri(uri)
