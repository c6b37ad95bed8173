"""Which CA may speak for which participant, and the checks every certificate passes.

One participant, one root CA: a certificate is trusted for participant P only
when P's CA issued it, it is within its validity at the moment that matters,
and P's revocation list does not name it. The server applies these checks to
TLS callers and to record signers; an auditor applies the same code offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from silkline.identity import Identity

# CRLs and certificates can only be signed by the key types a CA may hold.
_CA_KEY_TYPES = (
    ec.EllipticCurvePublicKey,
    rsa.RSAPublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
    dsa.DSAPublicKey,
)


class CertificateRefusedError(Exception):
    """A certificate cannot speak for the identity it claims; the message says why."""


class UnknownParticipantError(CertificateRefusedError):
    pass


class CrossParticipantCertificateError(CertificateRefusedError):
    """The certificate claims one participant but another participant's CA issued it."""


class CertificateExpiredError(CertificateRefusedError):
    pass


class CertificateNotYetValidError(CertificateRefusedError):
    pass


class RevokedCertificateError(CertificateRefusedError):
    pass


class StaleRevocationListError(CertificateRefusedError):
    """The participant's CRL is past its next update: fail closed rather than trust it."""


class TrustConfigurationError(Exception):
    """A participant's CA or CRL cannot be used; nothing may be judged with it."""


def utc_text(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


@dataclass(frozen=True)
class ParticipantTrust:
    """One participant's CA certificate and its current revocation list."""

    participant: str
    ca: x509.Certificate
    crl: x509.CertificateRevocationList | None

    @classmethod
    def load(cls, participant: str, ca_path: Path, crl_path: Path | None) -> ParticipantTrust:
        try:
            ca_pem = ca_path.read_bytes()
            crl_pem = crl_path.read_bytes() if crl_path is not None else None
        except OSError as exc:
            raise TrustConfigurationError(f"{participant}: {exc}") from exc
        return cls.from_pem(participant, ca_pem, crl_pem, source=str(ca_path))

    @classmethod
    def from_pem(
        cls, participant: str, ca_pem: bytes, crl_pem: bytes | None, *, source: str = "CA"
    ) -> ParticipantTrust:
        try:
            ca = x509.load_pem_x509_certificate(ca_pem)
        except ValueError as exc:
            raise TrustConfigurationError(f"{participant}: cannot read CA {source}: {exc}") from exc
        crl = None
        if crl_pem is not None:
            try:
                crl = x509.load_pem_x509_crl(crl_pem)
            except ValueError as exc:
                raise TrustConfigurationError(f"{participant}: cannot read CRL: {exc}") from exc
            public_key = ca.public_key()
            if not isinstance(public_key, _CA_KEY_TYPES) or not crl.is_signature_valid(public_key):
                raise TrustConfigurationError(
                    f"{participant}: CRL is not signed by the CA {source}"
                )
        return cls(participant, ca, crl)

    def check_issued(self, cert: x509.Certificate, identity: Identity) -> None:
        """Refuse unless this participant's CA signed `cert`."""
        try:
            cert.verify_directly_issued_by(self.ca)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CrossParticipantCertificateError(
                f"{identity.uri} claims participant {identity.participant} but was issued by "
                f"{cert.issuer.rfc4514_string()}, not by {identity.participant}'s CA "
                f"{self.ca.subject.rfc4514_string()}"
            ) from exc

    def check_not_revoked(
        self,
        cert: x509.Certificate,
        identity: Identity,
        moment: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Refuse a certificate on the CRL, or any certificate while the CRL is stale.

        `historical` asks whether the certificate was revoked at `moment` in the
        past (a record verified years after it was signed): later revocations
        and a CRL that has since gone stale do not count then.
        """
        if self.crl is None:
            return
        next_update = self.crl.next_update_utc
        if not historical and next_update is not None and moment > next_update:
            raise StaleRevocationListError(
                f"{identity.uri}: {self.participant}'s CRL expired at {utc_text(next_update)}; "
                "refusing until it is renewed"
            )
        entry = self.crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None and (not historical or entry.revocation_date_utc <= moment):
            raise RevokedCertificateError(
                f"{identity.uri}: certificate serial {cert.serial_number:x} is revoked by "
                f"{self.participant}'s CRL since {utc_text(entry.revocation_date_utc)}"
            )


def check_valid_at(cert: x509.Certificate, identity: Identity, moment: datetime, what: str) -> None:
    """Refuse unless `moment` ({what}: now, or when the record was created) is within validity."""
    if moment < cert.not_valid_before_utc:
        raise CertificateNotYetValidError(
            f"{identity.uri}: certificate not valid before {utc_text(cert.not_valid_before_utc)} "
            f"({what} is {utc_text(moment)})"
        )
    if moment > cert.not_valid_after_utc:
        raise CertificateExpiredError(
            f"{identity.uri}: certificate expired at {utc_text(cert.not_valid_after_utc)} "
            f"({what} is {utc_text(moment)})"
        )


class TrustStore:
    """Every participant's trust, looked up by the participant a certificate claims."""

    def __init__(self, participants: Mapping[str, ParticipantTrust]) -> None:
        if not participants:
            # An empty trust set would refuse everyone; make the mistake loud.
            raise TrustConfigurationError("no participants configured: nothing can be trusted")
        self._participants = dict(participants)

    @classmethod
    def from_folder(cls, folder: Path, participants: Iterable[str] | None = None) -> TrustStore:
        """Load `<folder>/<P>/ca.crt` (and `crl.pem` when present), the example PKI layout."""
        codes = participants or sorted(
            p.parent.name for p in folder.glob("*/ca.crt") if p.parent.name != "hub"
        )
        trusts = {}
        for code in codes:
            crl = folder / code / "crl.pem"
            trusts[code] = ParticipantTrust.load(
                code, folder / code / "ca.crt", crl if crl.exists() else None
            )
        return cls(trusts)

    @property
    def participants(self) -> tuple[str, ...]:
        return tuple(sorted(self._participants))

    def for_identity(self, identity: Identity) -> ParticipantTrust:
        trust = self._participants.get(identity.participant)
        if trust is None:
            raise UnknownParticipantError(
                f"{identity.uri}: participant {identity.participant!r} is not in this network"
            )
        return trust

    def ca_certificates(self) -> dict[str, x509.Certificate]:
        return {code: trust.ca for code, trust in sorted(self._participants.items())}
