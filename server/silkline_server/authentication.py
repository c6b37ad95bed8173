"""The one place a TLS caller's certificate is judged.

gRPC's TLS stack verifies the chain against the bundle of every participant's
CA, so on its own it would accept India's CA signing a Kazakh identity. Here a
certificate is accepted only when it was issued by the CA of the participant
its URI SAN names, is within its validity, carries EKU clientAuth and is not
on that participant's CRL (silkline.trust). Everything else is refused with a
named reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from silkline.identity import Identity, IdentityError, identity_from_certificate
from silkline.trust import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateRefusedError,
    CrossParticipantCertificateError,
    ParticipantTrust,
    RevokedCertificateError,
    StaleRevocationListError,
    TrustConfigurationError,
    TrustStore,
    UnknownParticipantError,
    check_valid_at,
)

__all__ = [
    "AuthenticatedCaller",
    "AuthenticationError",
    "CallerAuthenticator",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "CrossParticipantCertificateError",
    "MalformedIdentityError",
    "MissingClientAuthUsageError",
    "MissingClientCertificateError",
    "ParticipantTrust",
    "RevokedCertificateError",
    "StaleRevocationListError",
    "TrustConfigurationError",
    "UnknownParticipantError",
]

# Every refusal of a caller, whether found here or by silkline.trust.
AuthenticationError = CertificateRefusedError


class MissingClientCertificateError(CertificateRefusedError):
    pass


class MalformedIdentityError(CertificateRefusedError):
    pass


class MissingClientAuthUsageError(CertificateRefusedError):
    pass


@dataclass(frozen=True)
class AuthenticatedCaller:
    """An accepted caller: its identity and the certificate it was read from."""

    identity: Identity
    certificate_sha256: str
    certificate_not_after: datetime


class CallerAuthenticator:
    """Maps a verified TLS peer certificate to an Identity, or refuses it."""

    def __init__(self, trust: TrustStore) -> None:
        self._trust = trust

    @property
    def participants(self) -> tuple[str, ...]:
        return self._trust.participants

    def authenticate(
        self, cert_pem: bytes | None, now: datetime | None = None
    ) -> AuthenticatedCaller:
        """The caller's identity if its certificate passes every check; raises otherwise."""
        if not cert_pem:
            raise MissingClientCertificateError("no client certificate was presented")
        now = now or datetime.now(UTC)
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as exc:
            raise MalformedIdentityError(f"client certificate cannot be parsed: {exc}") from exc
        try:
            identity = identity_from_certificate(cert)
        except IdentityError as exc:
            raise MalformedIdentityError(str(exc)) from exc
        trust = self._trust.for_identity(identity)
        trust.check_issued(cert, identity)
        check_valid_at(cert, identity, now, "now")
        if not _has_client_auth(cert):
            raise MissingClientAuthUsageError(
                f"{identity.uri}: certificate lacks extended key usage clientAuth"
            )
        trust.check_not_revoked(cert, identity, now)
        return AuthenticatedCaller(
            identity=identity,
            certificate_sha256=cert.fingerprint(hashes.SHA256()).hex(),
            certificate_not_after=cert.not_valid_after_utc,
        )


def _has_client_auth(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        # We require the usage to be stated, not implied by its absence.
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in eku
