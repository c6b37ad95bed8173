"""The example PKI: one root CA per participant, the hub's server certificate,
agency TLS client and record-signing certificates, CRLs, and the deliberately
broken certificates the refusal tests need.

Everything here is for examples and tests only. The private keys are written in
clear and checked in, so they are public; a real deployment issues its
certificates from each participant's own CA.

The builders are pure (no I/O) so tests of other modules can mint certificates
in memory, including from a CA the server has never heard of.
:func:`write_example_pki` is the only function that touches the file system.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from silkline.formats.checkpoint import cosigner_verifier
from silkline.formats.note import NoteSigner

__all__ = [
    "EXAMPLE_AGENCIES",
    "EXAMPLE_MARKER",
    "HUB",
    "PARTICIPANTS",
    "ROLES",
    "ExampleAgency",
    "OutputDirectoryNotEmptyError",
    "PkiFile",
    "example_pki_files",
    "example_validity",
    "identity_uri",
    "issue_client_certificate",
    "issue_server_certificate",
    "issue_signing_certificate",
    "make_ca",
    "make_crl",
    "write_example_pki",
]

PARTICIPANTS: tuple[str, ...] = ("IN", "KZ", "KG", "TJ", "TM", "UZ", "UNODC", "CARICC")
"""Participants of the example deployment, in the order of the trust bundle."""

HUB = "hub"
"""Operator of the service; its CA issues only the server certificate."""

ROLES: frozenset[str] = frozenset({"publisher", "reader", "feed", "auditor", "analyst", "admin"})
"""Role names the server reads from the ``OU`` attributes of a client certificate."""

EXAMPLE_MARKER = "EXAMPLE ONLY - NOT FOR PRODUCTION"
"""``OU`` of every example CA, so the warning travels with any copied certificate."""

IDENTITY_SCHEME = "silkline"

# P-256 + SHA-256 is the one combination every TLS stack we target accepts,
# BoringSSL (gRPC) included; see SPEC "Trust model".
_CURVE = ec.SECP256R1()
_HASH = hashes.SHA256()

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

_EXPIRED_NOT_BEFORE = datetime(2020, 1, 1, tzinfo=UTC)
_EXPIRED_NOT_AFTER = datetime(2021, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ExampleAgency:
    """One agency client of the example deployment."""

    participant: str
    agency: str
    client: str
    roles: tuple[str, ...]

    @property
    def uri(self) -> str:
        """The identity URI carried in the certificates' SAN."""
        return identity_uri(self.participant, self.agency, self.client)

    @property
    def file_stem(self) -> str:
        """Base name of the agency's files inside its participant's folder."""
        return self.agency.lower()


EXAMPLE_AGENCIES: tuple[ExampleAgency, ...] = (
    ExampleAgency("IN", "NCB", "ops-desk-1", ("publisher", "reader")),
    ExampleAgency("IN", "DRI", "ops-desk-1", ("publisher", "reader")),
    ExampleAgency("IN", "FEED", "seizure-feed-1", ("feed", "publisher")),
    ExampleAgency("KZ", "MVD", "ops-desk-1", ("publisher", "reader")),
    ExampleAgency("KG", "SBNON", "ops-desk-1", ("publisher", "reader")),
    ExampleAgency("TJ", "DCA", "ops-desk-1", ("publisher", "reader")),
    ExampleAgency("TM", "MVD", "ops-desk-1", ("publisher", "reader")),
    ExampleAgency("UZ", "NCDC", "ops-desk-1", ("publisher", "reader")),
    ExampleAgency("UNODC", "AUDIT", "auditor-1", ("auditor",)),
    ExampleAgency("CARICC", "ANALYSIS", "analyst-1", ("analyst", "reader")),
)


class OutputDirectoryNotEmptyError(FileExistsError):
    """The output directory already holds files and overwriting was not asked for."""


@dataclass(frozen=True)
class PkiFile:
    """One file of the example PKI, relative to the output directory."""

    path: PurePosixPath
    content: bytes
    secret: bool
    """Private key: written with mode 0600 instead of 0644."""


def identity_uri(participant: str, agency: str, client: str) -> str:
    """Return the SAN URI naming a client, e.g. ``silkline://IN/NCB/ops-desk-1``."""
    for name, value in (("participant", participant), ("agency", agency), ("client", client)):
        if not _SEGMENT.fullmatch(value):
            # A "/" or space would make the URI parse as a different identity.
            raise ValueError(
                f"{name} {value!r} must be letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
    return f"{IDENTITY_SCHEME}://{participant}/{agency}/{client}"


def example_validity(now: datetime) -> tuple[datetime, datetime]:
    """Return (not_before, not_after) for the valid example certificates.

    not_before is the start of the day before ``now``, so a verifier whose
    clock is a few hours behind still accepts a freshly generated PKI;
    not_after is the start of the same day twenty years after ``now``, so the
    checked-in PKI does not expire under the tests.
    """
    now = _require_aware(now)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1), _add_years(today, 20)


def make_ca(participant: str, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Build a self-signed example root CA for ``participant``.

    Subject ``CN=silkline example CA <P>, OU=EXAMPLE ONLY - NOT FOR PRODUCTION,
    O=<P>``; P-256 key; may sign end-entity certificates and CRLs only
    (pathlen 0).
    """
    if not _SEGMENT.fullmatch(participant):
        raise ValueError(f"participant {participant!r} is not a valid identity segment")
    not_before, not_after = example_validity(now)
    key = ec.generate_private_key(_CURVE)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, participant),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, EXAMPLE_MARKER),
            x509.NameAttribute(NameOID.COMMON_NAME, f"silkline example CA {participant}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(key_cert_sign=True, crl_sign=True),
            critical=True,
        )
        .add_extension(ski, critical=False)
        # Self-signed, but RFC 5280 §4.2.1.1 still recommends AKI and some
        # verifiers (cryptography's own) look for it when building chains.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, _HASH)
    )
    return cert, key


def issue_client_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    participant: str,
    agency: str,
    client: str,
    roles: Iterable[str],
    not_before: datetime,
    not_after: datetime,
    eku_client_auth: bool = True,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Issue a TLS client certificate for ``silkline://<participant>/<agency>/<client>``.

    Subject ``CN=<client>, OU=<role>..., O=<participant>/<agency>`` with one
    ``OU`` per role. The participant is not checked against the CA, so a test
    can mint a certificate that claims another participant's agency. Role
    names are not checked either, so a test can mint an unknown role. With
    ``eku_client_auth=False`` the only EKU is emailProtection, which TLS
    servers must refuse.
    """
    uri = identity_uri(participant, agency, client)
    role_list = list(roles)
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{participant}/{agency}")]
    # One RDN per role keeps each OU a separate value for the server to read.
    attributes += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, r) for r in role_list]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, client))
    eku = (
        ExtendedKeyUsageOID.CLIENT_AUTH if eku_client_auth else ExtendedKeyUsageOID.EMAIL_PROTECTION
    )
    key = ec.generate_private_key(_CURVE)
    cert = _issue(
        ca_cert,
        ca_key,
        subject=x509.Name(attributes),
        public_key=key.public_key(),
        san=[x509.UniformResourceIdentifier(uri)],
        eku=eku,
        not_before=not_before,
        not_after=not_after,
    )
    return cert, key


def issue_signing_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    participant: str,
    agency: str,
    client: str,
    not_before: datetime,
    not_after: datetime,
) -> tuple[x509.Certificate, ed25519.Ed25519PrivateKey]:
    """Issue an Ed25519 record-signing certificate for the same identity URI.

    Kept apart from the TLS key (SPEC "Trust model"): it carries no roles
    and its EKU is codeSigning, so it cannot open a TLS session.
    """
    uri = identity_uri(participant, agency, client)
    key = ed25519.Ed25519PrivateKey.generate()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{participant}/{agency}"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{client} signing"),
        ]
    )
    cert = _issue(
        ca_cert,
        ca_key,
        subject=subject,
        public_key=key.public_key(),
        san=[x509.UniformResourceIdentifier(uri)],
        eku=ExtendedKeyUsageOID.CODE_SIGNING,
        not_before=not_before,
        not_after=not_after,
    )
    return cert, key


def issue_server_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str],
    not_before: datetime,
    not_after: datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Issue a TLS server certificate (EKU serverAuth only) for the given names."""
    if not dns_names and not ip_addresses:
        raise ValueError("a server certificate needs at least one DNS name or IP address")
    san: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    first = dns_names[0] if dns_names else ip_addresses[0]
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _organization(ca_cert)),
            x509.NameAttribute(NameOID.COMMON_NAME, first),
        ]
    )
    key = ec.generate_private_key(_CURVE)
    cert = _issue(
        ca_cert,
        ca_key,
        subject=subject,
        public_key=key.public_key(),
        san=san,
        eku=ExtendedKeyUsageOID.SERVER_AUTH,
        not_before=not_before,
        not_after=not_after,
    )
    return cert, key


def make_crl(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    revoked_serials: Iterable[int],
    this_update: datetime,
    next_update: datetime,
) -> x509.CertificateRevocationList:
    """Build a CRL signed by the CA listing ``revoked_serials`` (keyCompromise).

    The reason is keyCompromise because every example key is public.
    """
    this_update = _require_aware(this_update)
    next_update = _require_aware(next_update)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        # RFC 5280 §5.2.1 and §5.2.3: conforming CAs include both.
        .add_extension(_authority_key_identifier(ca_cert), critical=False)
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(this_update)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    return builder.sign(ca_key, _HASH)


EXAMPLE_LOG_ORIGIN = "silkline.example/log"


def log_verifier_key(key: ed25519.Ed25519PrivateKey, origin: str = EXAMPLE_LOG_ORIGIN) -> str:
    """The C2SP note verifier key line of the log key (what auditors are given)."""
    return NoteSigner(origin, key).verifier.vkey + "\n"


EXAMPLE_WITNESS_NAME = "witness.unodc.example"


def witness_verifier_key(key: ed25519.Ed25519PrivateKey, name: str = EXAMPLE_WITNESS_NAME) -> str:
    """The cosignature/v1 verifier key line of a witness key (what the server is given)."""
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return cosigner_verifier(name, public).vkey + "\n"


def example_pki_files(now: datetime) -> list[PkiFile]:
    """Build every file of the example PKI in memory (the layout in README.md).

    Keys and serials are random, so two calls give different PKIs with the
    same layout and properties.
    """
    not_before, not_after = example_validity(now)
    files: list[PkiFile] = [PkiFile(PurePosixPath("README.md"), _readme().encode(), False)]

    cas: dict[str, tuple[x509.Certificate, ec.EllipticCurvePrivateKey]] = {}
    for participant in (*PARTICIPANTS, HUB):
        ca_cert, ca_key = make_ca(participant, now)
        cas[participant] = (ca_cert, ca_key)
        files += _pair(PurePosixPath(participant, "ca"), ca_cert, ca_key)

    hub_cert, hub_key = cas[HUB]
    server_cert, server_key = issue_server_certificate(
        hub_cert,
        hub_key,
        dns_names=["localhost"],
        ip_addresses=["127.0.0.1"],
        not_before=not_before,
        not_after=not_after,
    )
    files += _pair(PurePosixPath(HUB, "server"), server_cert, server_key)
    # The log's Ed25519 key signs receipts and checkpoints; it is not a TLS key.
    log_key = ed25519.Ed25519PrivateKey.generate()
    files.append(PkiFile(PurePosixPath(HUB, "log.key"), _key_pem(log_key), True))
    files.append(PkiFile(PurePosixPath(HUB, "log.vkey"), log_verifier_key(log_key).encode(), False))
    # A witness run by UNODC: it cosigns checkpoints it found consistent.
    witness_key = ed25519.Ed25519PrivateKey.generate()
    files.append(PkiFile(PurePosixPath("UNODC", "witness.key"), _key_pem(witness_key), True))
    witness_vkey = witness_verifier_key(witness_key).encode()
    files.append(PkiFile(PurePosixPath("UNODC", "witness.vkey"), witness_vkey, False))

    for agency in EXAMPLE_AGENCIES:
        ca_cert, ca_key = cas[agency.participant]
        stem = PurePosixPath(agency.participant, agency.file_stem)
        tls_cert, tls_key = issue_client_certificate(
            ca_cert,
            ca_key,
            participant=agency.participant,
            agency=agency.agency,
            client=agency.client,
            roles=agency.roles,
            not_before=not_before,
            not_after=not_after,
        )
        files += _pair(stem, tls_cert, tls_key)
        signing_cert, signing_key = issue_signing_certificate(
            ca_cert,
            ca_key,
            participant=agency.participant,
            agency=agency.agency,
            client=agency.client,
            not_before=not_before,
            not_after=not_after,
        )
        files += _pair(stem.with_name(f"{stem.name}.signing"), signing_cert, signing_key)

    in_cert, in_key = cas["IN"]
    revoked_cert, revoked_key = issue_client_certificate(
        in_cert,
        in_key,
        participant="IN",
        agency="NCB",
        client="revoked-1",
        roles=("publisher", "reader"),
        not_before=not_before,
        not_after=not_after,
    )
    files += _pair(PurePosixPath("IN", "revoked"), revoked_cert, revoked_key)
    revoked_signer_cert, revoked_signer_key = issue_signing_certificate(
        in_cert,
        in_key,
        participant="IN",
        agency="NCB",
        client="revoked-signer-1",
        not_before=not_before,
        not_after=not_after,
    )
    files += _pair(PurePosixPath("IN", "revoked.signing"), revoked_signer_cert, revoked_signer_key)
    expired_cert, expired_key = issue_client_certificate(
        in_cert,
        in_key,
        participant="IN",
        agency="NCB",
        client="expired-1",
        roles=("publisher", "reader"),
        not_before=_EXPIRED_NOT_BEFORE,
        not_after=_EXPIRED_NOT_AFTER,
    )
    files += _pair(PurePosixPath("IN", "expired"), expired_cert, expired_key)
    noclientauth_cert, noclientauth_key = issue_client_certificate(
        in_cert,
        in_key,
        participant="IN",
        agency="NCB",
        client="noclientauth-1",
        roles=("publisher", "reader"),
        not_before=not_before,
        not_after=not_after,
        eku_client_auth=False,
    )
    files += _pair(PurePosixPath("IN", "noclientauth"), noclientauth_cert, noclientauth_key)
    forged_cert, forged_key = issue_client_certificate(
        in_cert,
        in_key,
        participant="KZ",
        agency="MVD",
        client="x",
        roles=("publisher", "reader"),
        not_before=not_before,
        not_after=not_after,
    )
    files += _pair(PurePosixPath("bad", "kz-minted-by-in"), forged_cert, forged_key)

    for participant in PARTICIPANTS:
        ca_cert, ca_key = cas[participant]
        revoked = (
            [revoked_cert.serial_number, revoked_signer_cert.serial_number]
            if participant == "IN"
            else []
        )
        crl = make_crl(
            ca_cert,
            ca_key,
            revoked_serials=revoked,
            this_update=not_before,
            next_update=not_after,
        )
        files.append(
            PkiFile(
                PurePosixPath(participant, "crl.pem"),
                crl.public_bytes(serialization.Encoding.PEM),
                False,
            )
        )

    # Participants' CAs only: the hub CA must never be able to vouch for a client.
    bundle = b"".join(_cert_pem(cas[p][0]) for p in PARTICIPANTS)
    files.append(PkiFile(PurePosixPath("trust-bundle.pem"), bundle, False))
    return files


def write_example_pki(out: Path, *, force: bool = False, now: datetime | None = None) -> list[Path]:
    """Generate the example PKI into ``out`` and return the paths written.

    Refuses a non-empty ``out`` unless ``force``. With ``force`` the files of
    the layout are replaced and any other file is left alone. Keys get mode
    0600, everything else 0644.
    """
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a directory")
    if not force and out.is_dir() and any(out.iterdir()):
        raise OutputDirectoryNotEmptyError(
            f"{out} is not empty; pass force=True (--force) to overwrite the example PKI in it"
        )
    files = example_pki_files(datetime.now(UTC) if now is None else now)
    written: list[Path] = []
    for pki_file in files:
        target = out.joinpath(*pki_file.path.parts)
        _write_atomically(target, pki_file.content, 0o600 if pki_file.secret else 0o644)
        written.append(target)
    return written


def _issue(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    san: list[x509.GeneralName],
    eku: x509.ObjectIdentifier,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_require_aware(not_before))
        .not_valid_after(_require_aware(not_after))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # digitalSignature alone: ECDHE_ECDSA and TLS 1.3 sign, they never
        # encipher with the certificate key.
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_identifier(ca_cert), critical=False)
        .sign(ca_key, _HASH)
    )


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _authority_key_identifier(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _organization(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if not values:
        raise ValueError(f"CA {cert.subject.rfc4514_string()} has no O attribute")
    value = values[0].value
    return value if isinstance(value, str) else value.decode()


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        # A naive time would be read as UTC by cryptography but as local time
        # by datetime arithmetic, shifting validity by the machine's offset.
        raise ValueError("datetimes must be timezone-aware (use datetime.now(UTC))")
    return moment.astimezone(UTC)


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return moment.replace(year=moment.year + years, day=28)


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pair(
    stem: PurePosixPath,
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
) -> list[PkiFile]:
    return [
        PkiFile(stem.with_name(f"{stem.name}.crt"), _cert_pem(cert), False),
        PkiFile(stem.with_name(f"{stem.name}.key"), _key_pem(key), True),
    ]


def _key_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        # Unencrypted on purpose: these keys are public examples, and demo and
        # tests must load them without a passphrase.
        serialization.NoEncryption(),
    )


def _write_atomically(target: Path, content: bytes, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write a fresh file and rename it over the target: an existing 0644 file
    # never holds key bytes, even for a moment, and a crash leaves no half file.
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, mode)  # mkstemp gives 0600; the umask must not narrow 0644
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _readme() -> str:
    agencies = "\n".join(
        f"| `{a.participant}/{a.file_stem}.crt` | `{a.uri}` | {', '.join(a.roles)} |"
        for a in EXAMPLE_AGENCIES
    )
    participants = " ".join(PARTICIPANTS)
    return f"""\
# FOR EXAMPLES AND TESTS ONLY, NEVER PRODUCTION: every private key here is public, an example key.

This directory is the example PKI of silkline, generated by `silkline pki init`.
The keys are checked in unencrypted, so anyone can impersonate any identity in
it. Every CA carries `OU={EXAMPLE_MARKER}` in its subject. A real
deployment uses certificates from each participant's own CA.

Regenerate it (new keys, new serials, same layout) with:

```
make pki        # runs: silkline pki init --out certs/example --force
```

## Layout

Participants: {participants}, plus `{HUB}` (the operator of the service).
TLS keys are ECDSA P-256 with SHA-256 signatures; record-signing keys are Ed25519.
Keys are unencrypted PKCS#8 PEM. Valid certificates run from the day before
generation for twenty years.

| File | What it is |
|------|------------|
| `<P>/ca.crt`, `<P>/ca.key` | root CA of participant P (and of `{HUB}`), pathlen 0 |
| `<P>/crl.pem` | CRL of P's CA (IN's lists `IN/revoked.crt`; the others are empty) |
| `{HUB}/server.crt`, `.key` | server certificate: `localhost`, `127.0.0.1`, serverAuth |
| `{HUB}/log.key` | the log's Ed25519 key: signs receipts and checkpoints |
| `{HUB}/log.vkey` | its note verifier key for origin `{EXAMPLE_LOG_ORIGIN}` |
| `UNODC/witness.key`, `.vkey` | witness key `{EXAMPLE_WITNESS_NAME}`, cosignature/v1 vkey |
| `<P>/<agency>.crt`, `.key` | agency TLS client certificate: clientAuth, roles as `OU` |
| `<P>/<agency>.signing.crt`, `.key` | agency record-signing certificate (Ed25519) |
| `trust-bundle.pem` | the participants' CA certificates (not `{HUB}`'s): what the server trusts |

Agency clients (the identity is the URI SAN; the roles are the `OU` values):

| Certificate | Identity | Roles |
|-------------|----------|-------|
{agencies}

Certificates that must be refused:

| Certificate | Identity | Why it must be refused |
|-------------|----------|------------------------|
| `IN/revoked.crt` | `silkline://IN/NCB/revoked-1` | listed in `IN/crl.pem` |
| `IN/revoked.signing.crt` | `silkline://IN/NCB/revoked-signer-1` | signing key, in `IN/crl.pem` |
| `IN/expired.crt` | `silkline://IN/NCB/expired-1` | valid 2020-01-01 to 2021-01-01 only |
| `IN/noclientauth.crt` | `silkline://IN/NCB/noclientauth-1` | EKU emailProtection, no clientAuth |
| `bad/kz-minted-by-in.crt` | `silkline://KZ/MVD/x` | claims KZ but issued by IN's CA |
"""
