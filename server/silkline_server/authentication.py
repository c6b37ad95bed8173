"""The one place a TLS caller's certificate is judged.

gRPC's TLS stack verifies the chain against the bundle of every participant's
CA, so on its own it would accept India's CA signing a Kazakh identity. Here a
certificate is accepted only when it was issued by the CA of the participant
its URI SAN names, is within its validity, carries EKU clientAuth and is not
on that participant's CRL. Everything else is refused with a named reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from silkline.identity import Identity, IdentityError, identity_from_certificate

_CA_KEY_TYPES = (
    ec.EllipticCurvePublicKey,
    rsa.RSAPublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
    dsa.DSAPublicKey,
)


class AuthenticationError(Exception):
    """A caller's certificate was refused; the message says why."""


class MissingClientCertificateError(AuthenticationError):
    pass


class MalformedIdentityError(AuthenticationError):
    pass


class UnknownParticipantError(AuthenticationError):
    pass


class CrossParticipantCertificateError(AuthenticationError):
    """The certificate claims one participant but another participant's CA issued it."""


class CertificateExpiredError(AuthenticationError):
    pass


class CertificateNotYetValidError(AuthenticationError):
    pass


class MissingClientAuthUsageError(AuthenticationError):
    pass


class RevokedCertificateError(AuthenticationError):
    pass


class StaleRevocationListError(AuthenticationError):
    """The participant's CRL is past its next update: fail closed rather than trust it."""


class TrustConfigurationError(Exception):
    """A participant's CA or CRL file cannot be used; the server refuses to start."""


@dataclass(frozen=True)
class ParticipantTrust:
    """One participant's CA certificate and its current revocation list."""

    participant: str
    ca: x509.Certificate
    crl: x509.CertificateRevocationList | None

    @classmethod
    def load(cls, participant: str, ca_path: Path, crl_path: Path | None) -> ParticipantTrust:
        try:
            ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise TrustConfigurationError(
                f"{participant}: cannot read CA {ca_path}: {exc}"
            ) from exc
        crl = None
        if crl_path is not None:
            try:
                crl = x509.load_pem_x509_crl(crl_path.read_bytes())
            except (OSError, ValueError) as exc:
                raise TrustConfigurationError(
                    f"{participant}: cannot read CRL {crl_path}: {exc}"
                ) from exc
            public_key = ca.public_key()
            # CRLs can only be signed by the key types a CA may hold.
            if not isinstance(public_key, _CA_KEY_TYPES) or not crl.is_signature_valid(public_key):
                raise TrustConfigurationError(
                    f"{participant}: CRL {crl_path} is not signed by the CA {ca_path}"
                )
        return cls(participant, ca, crl)


@dataclass(frozen=True)
class AuthenticatedCaller:
    """An accepted caller: its identity and the certificate it was read from."""

    identity: Identity
    certificate_sha256: str
    certificate_not_after: datetime


class CallerAuthenticator:
    """Maps a verified TLS peer certificate to an Identity, or refuses it."""

    def __init__(self, participants: Mapping[str, ParticipantTrust]) -> None:
        if not participants:
            # An empty trust set would refuse everyone; make the mistake loud at start-up.
            raise TrustConfigurationError("no participants configured: nobody could connect")
        self._participants = dict(participants)

    @property
    def participants(self) -> tuple[str, ...]:
        return tuple(sorted(self._participants))

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
        trust = self._participants.get(identity.participant)
        if trust is None:
            raise UnknownParticipantError(
                f"{identity.uri}: participant {identity.participant!r} is not in this network"
            )
        try:
            cert.verify_directly_issued_by(trust.ca)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CrossParticipantCertificateError(
                f"{identity.uri} claims participant {identity.participant} but was issued by "
                f"{cert.issuer.rfc4514_string()}, not by {identity.participant}'s CA "
                f"{trust.ca.subject.rfc4514_string()}"
            ) from exc
        if now < cert.not_valid_before_utc:
            raise CertificateNotYetValidError(
                f"{identity.uri}: certificate not valid before {_utc(cert.not_valid_before_utc)}"
            )
        if now > cert.not_valid_after_utc:
            raise CertificateExpiredError(
                f"{identity.uri}: certificate expired at {_utc(cert.not_valid_after_utc)}"
            )
        if not _has_client_auth(cert):
            raise MissingClientAuthUsageError(
                f"{identity.uri}: certificate lacks extended key usage clientAuth"
            )
        self._check_revocation(trust, cert, identity, now)
        return AuthenticatedCaller(
            identity=identity,
            certificate_sha256=cert.fingerprint(hashes.SHA256()).hex(),
            certificate_not_after=cert.not_valid_after_utc,
        )

    @staticmethod
    def _check_revocation(
        trust: ParticipantTrust, cert: x509.Certificate, identity: Identity, now: datetime
    ) -> None:
        if trust.crl is None:
            return
        next_update = trust.crl.next_update_utc
        if next_update is not None and now > next_update:
            raise StaleRevocationListError(
                f"{identity.uri}: {trust.participant}'s CRL expired at "
                f"{_utc(next_update)}; refusing until it is renewed"
            )
        if trust.crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise RevokedCertificateError(
                f"{identity.uri}: certificate serial {cert.serial_number:x} is revoked by "
                f"{trust.participant}'s CRL"
            )


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _has_client_auth(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        # We require the usage to be stated, not implied by its absence.
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in eku
