"""CallerAuthenticator judges each checked-in example certificate, in process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from silkline import pki
from silkline.trust import TrustStore
from silkline_server.authentication import (
    AuthenticationError,
    CallerAuthenticator,
    CertificateExpiredError,
    CrossParticipantCertificateError,
    MalformedIdentityError,
    MissingClientAuthUsageError,
    MissingClientCertificateError,
    ParticipantTrust,
    RevokedCertificateError,
    StaleRevocationListError,
    TrustConfigurationError,
    UnknownParticipantError,
)

from .conftest import EXAMPLE

PARTICIPANTS = ("IN", "KZ", "KG", "TJ", "TM", "UZ", "UNODC", "CARICC")


@pytest.fixture(scope="module")
def authenticator() -> CallerAuthenticator:
    return CallerAuthenticator(TrustStore.from_folder(EXAMPLE, PARTICIPANTS))


def pem(relative: str) -> bytes:
    return (EXAMPLE / f"{relative}.crt").read_bytes()


@pytest.mark.parametrize(
    ("relative", "uri", "roles"),
    [
        ("IN/ncb", "silkline://IN/NCB/ops-desk-1", ("publisher", "reader")),
        ("IN/feed", "silkline://IN/FEED/seizure-feed-1", ("publisher", "feed")),
        ("KZ/mvd", "silkline://KZ/MVD/ops-desk-1", ("publisher", "reader")),
        ("UZ/ncdc", "silkline://UZ/NCDC/ops-desk-1", ("publisher", "reader")),
        ("UNODC/audit", "silkline://UNODC/AUDIT/auditor-1", ("auditor",)),
        ("CARICC/analysis", "silkline://CARICC/ANALYSIS/analyst-1", ("reader", "analyst")),
    ],
)
def test_agency_certificates_are_accepted_with_identity_and_roles(
    authenticator: CallerAuthenticator, relative: str, uri: str, roles: tuple[str, ...]
) -> None:
    caller = authenticator.authenticate(pem(relative))
    assert caller.identity.uri == uri
    assert caller.identity.roles == roles
    assert len(caller.certificate_sha256) == 64


@pytest.mark.parametrize(
    ("relative", "error", "words"),
    [
        ("bad/kz-minted-by-in", CrossParticipantCertificateError, "claims participant KZ"),
        ("IN/revoked", RevokedCertificateError, "revoked by IN's CRL"),
        ("IN/expired", CertificateExpiredError, "expired at 2021-01-01"),
        ("IN/noclientauth", MissingClientAuthUsageError, "clientAuth"),
        ("hub/server", MalformedIdentityError, "no silkline:// URI SAN"),
        ("IN/ncb.signing", MissingClientAuthUsageError, "clientAuth"),
    ],
)
def test_refused_certificates_name_the_reason(
    authenticator: CallerAuthenticator, relative: str, error: type[AuthenticationError], words: str
) -> None:
    with pytest.raises(error, match=words):
        authenticator.authenticate(pem(relative))


def test_no_certificate_is_refused(authenticator: CallerAuthenticator) -> None:
    with pytest.raises(MissingClientCertificateError):
        authenticator.authenticate(None)


def test_participant_outside_the_network_is_refused(tmp_path: Path) -> None:
    only_in = CallerAuthenticator(TrustStore.from_folder(EXAMPLE, ["IN"]))
    with pytest.raises(UnknownParticipantError, match="'KZ' is not in this network"):
        only_in.authenticate(pem("KZ/mvd"))


def test_certificate_from_an_unknown_ca_claiming_in_is_refused(
    authenticator: CallerAuthenticator,
) -> None:
    now = datetime.now(UTC)
    rogue_ca, rogue_key = pki.make_ca("IN", now)
    cert, _ = pki.issue_client_certificate(
        rogue_ca,
        rogue_key,
        participant="IN",
        agency="NCB",
        client="rogue",
        roles=("publisher",),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=1),
    )
    with pytest.raises(CrossParticipantCertificateError):
        authenticator.authenticate(cert.public_bytes(serialization.Encoding.PEM))


def test_a_stale_crl_refuses_everyone_of_that_participant(
    authenticator: CallerAuthenticator,
) -> None:
    far_future = datetime(2200, 1, 1, tzinfo=UTC)
    with pytest.raises((StaleRevocationListError, CertificateExpiredError)):
        authenticator.authenticate(pem("IN/ncb"), now=far_future)
    trust = ParticipantTrust.load("IN", EXAMPLE / "IN" / "ca.crt", EXAMPLE / "IN" / "crl.pem")
    assert trust.crl is not None and trust.crl.next_update_utc is not None
    just_after_crl = trust.crl.next_update_utc + timedelta(seconds=1)
    ncb_not_after = authenticator.authenticate(pem("IN/ncb")).certificate_not_after
    if just_after_crl < ncb_not_after:
        with pytest.raises(StaleRevocationListError):
            authenticator.authenticate(pem("IN/ncb"), now=just_after_crl)


def test_a_crl_signed_by_another_ca_stops_the_server_from_starting() -> None:
    with pytest.raises(TrustConfigurationError, match="not signed by the CA"):
        ParticipantTrust.load("KZ", EXAMPLE / "KZ" / "ca.crt", EXAMPLE / "IN" / "crl.pem")


def test_an_empty_trust_set_is_refused() -> None:
    with pytest.raises(TrustConfigurationError):
        TrustStore({})
