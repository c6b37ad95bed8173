"""Who a certificate speaks for: participant, agency, client name and roles.

The identity is read from exactly one URI SAN of the form
``silkline://<PARTICIPANT>/<AGENCY>/<client>``; roles from the subject's
organizationalUnitName attributes that name a known role. Whether the
certificate may speak for that participant (chain, validity, revocation) is
decided elsewhere: on the server by ``silkline_server.authentication``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

SCHEME = "silkline"
ROLES = ("publisher", "reader", "feed", "auditor", "analyst", "admin")

_PARTICIPANT = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_AGENCY = re.compile(r"[A-Z][A-Z0-9_-]{0,31}")
_CLIENT = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class IdentityError(ValueError):
    """A certificate or URI does not carry a well-formed silkline identity."""


@dataclass(frozen=True)
class Identity:
    """A caller or signer as named by its certificate."""

    participant: str
    agency: str
    client: str
    roles: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"{SCHEME}://{self.participant}/{self.agency}/{self.client}"

    @property
    def agency_path(self) -> str:
        """``P/AGENCY``, the form recipients and rules use."""
        return f"{self.participant}/{self.agency}"


def parse_identity_uri(uri: str) -> tuple[str, str, str]:
    """Split ``silkline://P/AGENCY/client`` into its three parts, or raise IdentityError."""
    prefix = f"{SCHEME}://"
    if not uri.startswith(prefix):
        raise IdentityError(f"identity URI must start with {prefix!r}: {uri!r}")
    parts = uri[len(prefix) :].split("/")
    if len(parts) != 3:
        raise IdentityError(f"identity URI must be {prefix}PARTICIPANT/AGENCY/client: {uri!r}")
    participant, agency, client = parts
    if not _PARTICIPANT.fullmatch(participant):
        raise IdentityError(f"participant code {participant!r} in {uri!r} is not upper-case A-Z0-9")
    if not _AGENCY.fullmatch(agency):
        raise IdentityError(f"agency code {agency!r} in {uri!r} is not upper-case A-Z0-9_-")
    if not _CLIENT.fullmatch(client):
        raise IdentityError(f"client name {client!r} in {uri!r} is not lower-case a-z0-9._-")
    return participant, agency, client


def identity_uris(cert: x509.Certificate) -> list[str]:
    """Every URI SAN of the certificate that uses the silkline scheme."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    return [u for u in uris if u.startswith(f"{SCHEME}:")]


def certificate_roles(cert: x509.Certificate) -> tuple[str, ...]:
    """Known role names carried as subject OU attributes, in the order of ROLES."""
    values = {
        attr.value
        for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        if isinstance(attr.value, str)
    }
    return tuple(role for role in ROLES if role in values)


def identity_from_certificate(cert: x509.Certificate) -> Identity:
    """The identity a certificate claims; IdentityError unless it names exactly one."""
    uris = identity_uris(cert)
    if not uris:
        raise IdentityError("certificate has no silkline:// URI SAN naming its participant")
    if len(uris) > 1:
        raise IdentityError(f"certificate names more than one identity: {', '.join(uris)}")
    participant, agency, client = parse_identity_uri(uris[0])
    return Identity(participant, agency, client, certificate_roles(cert))
