"""The example PKI: layout, certificate profiles, refusal certificates, CLI.

Every property is checked on a freshly generated PKI and on the checked-in
certs/example, so a stale or hand-edited example PKI fails here.
"""

from __future__ import annotations

import ipaddress
import stat
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from silkline.cli.pki import pki
from silkline.identity import identity_from_certificate
from silkline.pki import (
    EXAMPLE_MARKER,
    OutputDirectoryNotEmptyError,
    example_validity,
    issue_client_certificate,
    make_ca,
    write_example_pki,
)

E = TypeVar("E", bound=x509.ExtensionType)

CHECKED_IN = Path(__file__).resolve().parent.parent / "certs" / "example"

# Written out here rather than imported, so the test pins the layout that the
# demo, the docs and other tests rely on.
PARTICIPANTS = ["IN", "KZ", "KG", "TJ", "TM", "UZ", "UNODC", "CARICC"]


@dataclass(frozen=True)
class Agency:
    participant: str
    agency: str
    client: str
    roles: frozenset[str]

    @property
    def stem(self) -> str:
        return f"{self.participant}/{self.agency.lower()}"

    @property
    def uri(self) -> str:
        return f"silkline://{self.participant}/{self.agency}/{self.client}"


AGENCIES = [
    Agency("IN", "NCB", "ops-desk-1", frozenset({"publisher", "reader"})),
    Agency("IN", "DRI", "ops-desk-1", frozenset({"publisher", "reader"})),
    Agency("IN", "FEED", "seizure-feed-1", frozenset({"feed", "publisher"})),
    Agency("KZ", "MVD", "ops-desk-1", frozenset({"publisher", "reader"})),
    Agency("KG", "SBNON", "ops-desk-1", frozenset({"publisher", "reader"})),
    Agency("TJ", "DCA", "ops-desk-1", frozenset({"publisher", "reader"})),
    Agency("TM", "MVD", "ops-desk-1", frozenset({"publisher", "reader"})),
    Agency("UZ", "NCDC", "ops-desk-1", frozenset({"publisher", "reader"})),
    Agency("UNODC", "AUDIT", "auditor-1", frozenset({"auditor"})),
    Agency("CARICC", "ANALYSIS", "analyst-1", frozenset({"analyst", "reader"})),
]

REFUSED = ["IN/revoked", "IN/expired", "IN/noclientauth", "bad/kz-minted-by-in"]


def expected_layout() -> set[str]:
    files = {"README.md", "trust-bundle.pem", "hub/ca.crt", "hub/ca.key"}
    files |= {"hub/server.crt", "hub/server.key", "hub/log.key", "hub/log.vkey"}
    files |= {"UNODC/witness.key", "UNODC/witness.vkey"}
    files |= {"IN/revoked.signing.crt", "IN/revoked.signing.key"}
    for p in PARTICIPANTS:
        files |= {f"{p}/ca.crt", f"{p}/ca.key", f"{p}/crl.pem"}
    for a in AGENCIES:
        files |= {
            f"{a.stem}.crt",
            f"{a.stem}.key",
            f"{a.stem}.signing.crt",
            f"{a.stem}.signing.key",
        }
    for stem in REFUSED:
        files |= {f"{stem}.crt", f"{stem}.key"}
    return files


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pki") / "example"
    write_example_pki(out)
    return out


@pytest.fixture(params=["generated", "checked-in"])
def pki_dir(request: pytest.FixtureRequest, generated: Path) -> Path:
    if request.param == "generated":
        return generated
    assert CHECKED_IN.is_dir(), "certs/example is missing: run `make pki`"
    return CHECKED_IN


def cert(root: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((root / name).read_bytes())


def ext(c: x509.Certificate, kind: type[E]) -> x509.Extension[E]:
    return c.extensions.get_extension_for_class(kind)


def eku(c: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(ext(c, x509.ExtendedKeyUsage).value)


def subject_values(c: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in c.subject.get_attributes_for_oid(oid)]


def uri_sans(c: x509.Certificate) -> list[str]:
    return ext(c, x509.SubjectAlternativeName).value.get_values_for_type(
        x509.UniformResourceIdentifier
    )


def assert_valid_for_ten_years(c: x509.Certificate) -> None:
    now = datetime.now(UTC)
    assert c.not_valid_before_utc <= now - timedelta(hours=1)
    assert c.not_valid_after_utc >= now + timedelta(days=10 * 366)


def assert_issued_by(c: x509.Certificate, ca: x509.Certificate) -> None:
    c.verify_directly_issued_by(ca)
    aki = ext(c, x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == ext(ca, x509.SubjectKeyIdentifier).value.digest


def assert_tls_signature_profile(c: x509.Certificate) -> None:
    # BoringSSL (gRPC) needs P-256 keys and ECDSA-SHA256 signatures.
    key = c.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert isinstance(c.signature_hash_algorithm, hashes.SHA256)


def assert_key_matches(root: Path, stem: str) -> None:
    key = serialization.load_pem_private_key((root / f"{stem}.key").read_bytes(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public == cert(root, f"{stem}.crt").public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_layout_is_exactly_the_documented_one(pki_dir: Path) -> None:
    found = {p.relative_to(pki_dir).as_posix() for p in pki_dir.rglob("*") if p.is_file()}
    assert found == expected_layout()


def test_readme_first_line_says_examples_and_tests_only(pki_dir: Path) -> None:
    first = (pki_dir / "README.md").read_text().splitlines()[0].lower()
    assert "examples and tests only" in first
    assert "never production" in first
    assert "public" in first
    assert "make pki" in (pki_dir / "README.md").read_text()


def test_every_key_is_unencrypted_pkcs8_and_matches_its_certificate(pki_dir: Path) -> None:
    for key_path in pki_dir.rglob("*.key"):
        assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
        stem = key_path.relative_to(pki_dir).as_posix().removesuffix(".key")
        # The log's and the witness's keys have no certificate: their verifier keys are published.
        if stem not in ("hub/log", "UNODC/witness"):
            assert_key_matches(pki_dir, stem)


def test_keys_are_owner_only_and_certificates_world_readable(generated: Path) -> None:
    # Only the generated tree: git records no permission bits but the executable one.
    for path in generated.rglob("*"):
        if path.is_file():
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o600 if path.suffix == ".key" else 0o644), path


@pytest.mark.parametrize("participant", [*PARTICIPANTS, "hub"])
def test_ca_is_a_self_signed_example_root_with_pathlen_zero(
    pki_dir: Path, participant: str
) -> None:
    ca = cert(pki_dir, f"{participant}/ca.crt")
    assert ca.subject == ca.issuer
    ca.verify_directly_issued_by(ca)
    assert subject_values(ca, NameOID.COMMON_NAME) == [f"silkline example CA {participant}"]
    assert subject_values(ca, NameOID.ORGANIZATION_NAME) == [participant]
    assert subject_values(ca, NameOID.ORGANIZATIONAL_UNIT_NAME) == [EXAMPLE_MARKER]
    basic = ext(ca, x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = ext(ca, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    ext(ca, x509.SubjectKeyIdentifier)
    assert_tls_signature_profile(ca)
    assert_valid_for_ten_years(ca)


def test_server_certificate_names_localhost_and_is_server_auth_only(pki_dir: Path) -> None:
    server = cert(pki_dir, "hub/server.crt")
    hub_ca = cert(pki_dir, "hub/ca.crt")
    assert_issued_by(server, hub_ca)
    san = ext(server, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert eku(server) == {ExtendedKeyUsageOID.SERVER_AUTH}
    usage = ext(server, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert not ext(server, x509.BasicConstraints).value.ca
    assert_tls_signature_profile(server)
    assert_valid_for_ten_years(server)
    names = (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    for name in names:
        verifier = PolicyBuilder().store(Store([hub_ca])).build_server_verifier(name)
        verifier.verify(server, [])


@pytest.mark.parametrize("agency", AGENCIES, ids=lambda a: a.stem)
def test_agency_tls_certificate_carries_identity_and_roles(pki_dir: Path, agency: Agency) -> None:
    client = cert(pki_dir, f"{agency.stem}.crt")
    ca = cert(pki_dir, f"{agency.participant}/ca.crt")
    assert_issued_by(client, ca)
    assert uri_sans(client) == [agency.uri]
    assert subject_values(client, NameOID.COMMON_NAME) == [agency.client]
    assert subject_values(client, NameOID.ORGANIZATION_NAME) == [
        f"{agency.participant}/{agency.agency}"
    ]
    roles = subject_values(client, NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert sorted(roles) == sorted(agency.roles)
    assert eku(client) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    usage = ext(client, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert_tls_signature_profile(client)
    assert_valid_for_ten_years(client)
    verified = PolicyBuilder().store(Store([ca])).build_client_verifier().verify(client, [])
    assert verified.subjects is not None
    assert x509.UniformResourceIdentifier(agency.uri) in verified.subjects
    identity = identity_from_certificate(client)
    assert identity.uri == agency.uri
    assert set(identity.roles) == agency.roles


@pytest.mark.parametrize("agency", AGENCIES, ids=lambda a: a.stem)
def test_agency_signing_certificate_is_ed25519_for_the_same_identity(
    pki_dir: Path, agency: Agency
) -> None:
    signing = cert(pki_dir, f"{agency.stem}.signing.crt")
    assert_issued_by(signing, cert(pki_dir, f"{agency.participant}/ca.crt"))
    assert isinstance(signing.public_key(), ed25519.Ed25519PublicKey)
    assert uri_sans(signing) == [agency.uri]
    assert subject_values(signing, NameOID.COMMON_NAME) == [f"{agency.client} signing"]
    assert subject_values(signing, NameOID.ORGANIZATIONAL_UNIT_NAME) == []
    usage = ext(signing, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert ExtendedKeyUsageOID.CLIENT_AUTH not in eku(signing)
    assert_valid_for_ten_years(signing)


@pytest.mark.parametrize("participant", PARTICIPANTS)
def test_crl_is_signed_by_the_ca_and_only_in_lists_its_revoked_certificate(
    pki_dir: Path, participant: str
) -> None:
    crl = x509.load_pem_x509_crl((pki_dir / participant / "crl.pem").read_bytes())
    ca = cert(pki_dir, f"{participant}/ca.crt")
    ca_key = ca.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey)
    assert crl.is_signature_valid(ca_key)
    assert crl.issuer == ca.subject
    assert crl.next_update_utc is not None
    assert crl.next_update_utc >= datetime.now(UTC) + timedelta(days=10 * 366)
    assert crl.last_update_utc <= datetime.now(UTC)
    serials = {revoked.serial_number for revoked in crl}
    if participant == "IN":
        assert serials == {
            cert(pki_dir, "IN/revoked.crt").serial_number,
            cert(pki_dir, "IN/revoked.signing.crt").serial_number,
        }
    else:
        assert serials == set()


def test_revoked_certificate_is_otherwise_valid(pki_dir: Path) -> None:
    revoked = cert(pki_dir, "IN/revoked.crt")
    assert_issued_by(revoked, cert(pki_dir, "IN/ca.crt"))
    assert uri_sans(revoked) == ["silkline://IN/NCB/revoked-1"]
    assert sorted(subject_values(revoked, NameOID.ORGANIZATIONAL_UNIT_NAME)) == [
        "publisher",
        "reader",
    ]
    assert eku(revoked) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert_valid_for_ten_years(revoked)


def test_expired_certificate_ended_in_2021(pki_dir: Path) -> None:
    expired = cert(pki_dir, "IN/expired.crt")
    assert_issued_by(expired, cert(pki_dir, "IN/ca.crt"))
    assert uri_sans(expired) == ["silkline://IN/NCB/expired-1"]
    assert expired.not_valid_before_utc == datetime(2020, 1, 1, tzinfo=UTC)
    assert expired.not_valid_after_utc == datetime(2021, 1, 1, tzinfo=UTC)


def test_noclientauth_certificate_has_email_protection_only(pki_dir: Path) -> None:
    leaf = cert(pki_dir, "IN/noclientauth.crt")
    ca = cert(pki_dir, "IN/ca.crt")
    assert_issued_by(leaf, ca)
    assert uri_sans(leaf) == ["silkline://IN/NCB/noclientauth-1"]
    assert eku(leaf) == {ExtendedKeyUsageOID.EMAIL_PROTECTION}
    with pytest.raises(VerificationError):
        PolicyBuilder().store(Store([ca])).build_client_verifier().verify(leaf, [])


def test_kz_identity_minted_by_in_chains_to_in_not_kz(pki_dir: Path) -> None:
    forged = cert(pki_dir, "bad/kz-minted-by-in.crt")
    assert uri_sans(forged) == ["silkline://KZ/MVD/x"]
    assert subject_values(forged, NameOID.ORGANIZATION_NAME) == ["KZ/MVD"]
    assert eku(forged) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert_issued_by(forged, cert(pki_dir, "IN/ca.crt"))
    with pytest.raises((ValueError, InvalidSignature)):
        forged.verify_directly_issued_by(cert(pki_dir, "KZ/ca.crt"))


def test_trust_bundle_is_the_participant_cas_in_order_without_hub(pki_dir: Path) -> None:
    bundle = x509.load_pem_x509_certificates((pki_dir / "trust-bundle.pem").read_bytes())
    assert bundle == [cert(pki_dir, f"{p}/ca.crt") for p in PARTICIPANTS]
    assert cert(pki_dir, "hub/ca.crt") not in bundle


def _health_check(
    server_dir: Path, client_dir: Path, client_stem: str, target_name: str
) -> health_pb2.HealthCheckResponse:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    credentials = grpc.ssl_server_credentials(
        [
            (
                (server_dir / "hub/server.key").read_bytes(),
                (server_dir / "hub/server.crt").read_bytes(),
            )
        ],
        root_certificates=(server_dir / "trust-bundle.pem").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        channel_credentials = grpc.ssl_channel_credentials(
            root_certificates=(server_dir / "hub/ca.crt").read_bytes(),
            private_key=(client_dir / f"{client_stem}.key").read_bytes(),
            certificate_chain=(client_dir / f"{client_stem}.crt").read_bytes(),
        )
        options = [("grpc.ssl_target_name_override", target_name)]
        with grpc.secure_channel(f"127.0.0.1:{port}", channel_credentials, options) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            response: health_pb2.HealthCheckResponse = stub.Check(
                health_pb2.HealthCheckRequest(), timeout=10
            )
            return response
    finally:
        server.stop(grace=None)


@pytest.mark.parametrize("target_name", ["localhost", "127.0.0.1"])
def test_grpc_mutual_tls_accepts_the_example_certificates(pki_dir: Path, target_name: str) -> None:
    response = _health_check(pki_dir, pki_dir, "IN/ncb", target_name)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_grpc_mutual_tls_refuses_the_expired_certificate(pki_dir: Path) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _health_check(pki_dir, pki_dir, "IN/expired", "localhost")
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_grpc_mutual_tls_refuses_a_client_from_another_pki(generated: Path, tmp_path: Path) -> None:
    # Same layout, fresh keys: its CAs are not in the server's trust bundle.
    stranger = tmp_path / "stranger"
    write_example_pki(stranger)
    with pytest.raises(grpc.RpcError):
        _health_check(generated, stranger, "IN/ncb", "localhost")


def test_certificate_from_an_unknown_ca_does_not_chain_to_the_participant(
    generated: Path,
) -> None:
    now = datetime.now(UTC)
    rogue_cert, rogue_key = make_ca("IN", now)
    not_before, not_after = example_validity(now)
    leaf, key = issue_client_certificate(
        rogue_cert,
        rogue_key,
        participant="IN",
        agency="NCB",
        client="ops-desk-1",
        roles=["publisher", "reader"],
        not_before=not_before,
        not_after=not_after,
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert uri_sans(leaf) == ["silkline://IN/NCB/ops-desk-1"]
    leaf.verify_directly_issued_by(rogue_cert)
    # Same subject as the real IN CA, different key: only the signature tells them apart.
    real_ca = cert(generated, "IN/ca.crt")
    assert leaf.issuer == real_ca.subject
    with pytest.raises(InvalidSignature):
        leaf.verify_directly_issued_by(real_ca)


def test_issue_client_certificate_refuses_a_uri_breaking_name() -> None:
    now = datetime.now(UTC)
    ca_cert, ca_key = make_ca("IN", now)
    not_before, not_after = example_validity(now)
    with pytest.raises(ValueError, match="client"):
        issue_client_certificate(
            ca_cert,
            ca_key,
            participant="IN",
            agency="NCB",
            client="desk/../KZ",
            roles=["reader"],
            not_before=not_before,
            not_after=not_after,
        )


def test_validity_starts_the_day_before_and_runs_twenty_years() -> None:
    not_before, not_after = example_validity(datetime(2025, 3, 1, 15, 30, tzinfo=UTC))
    assert not_before == datetime(2025, 2, 28, tzinfo=UTC)
    assert not_after == datetime(2045, 3, 1, tzinfo=UTC)


def test_validity_from_29_february_ends_on_28_february_when_that_is_not_a_leap_year() -> None:
    assert example_validity(datetime(2024, 2, 29, tzinfo=UTC))[1] == datetime(
        2044, 2, 29, tzinfo=UTC
    )
    # 2100 is not a leap year (divisible by 100, not by 400).
    assert example_validity(datetime(2080, 2, 29, tzinfo=UTC))[1] == datetime(
        2100, 2, 28, tzinfo=UTC
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_ca("IN", datetime(2025, 1, 1))


def test_write_example_pki_returns_every_file_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    written = write_example_pki(out, now=datetime(2025, 6, 1, tzinfo=UTC))
    assert {p.relative_to(out).as_posix() for p in written} == expected_layout()
    assert cert(out, "IN/ncb.crt").not_valid_before_utc == datetime(2025, 5, 31, tzinfo=UTC)


def test_write_example_pki_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(OutputDirectoryNotEmptyError, match="force"):
        write_example_pki(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_write_example_pki_refuses_a_file_as_output(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(NotADirectoryError):
        write_example_pki(target, force=True)


def test_force_replaces_the_pki_and_keeps_other_files(tmp_path: Path) -> None:
    write_example_pki(tmp_path)
    old_ca = cert(tmp_path, "IN/ca.crt")
    (tmp_path / "IN" / "ca.key").chmod(0o644)
    (tmp_path / "notes.txt").write_text("keep me")
    write_example_pki(tmp_path, force=True)
    assert cert(tmp_path, "IN/ca.crt") != old_ca
    assert stat.S_IMODE((tmp_path / "IN" / "ca.key").stat().st_mode) == 0o600
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()], "temporary files left behind"


def test_cli_init_writes_the_pki_and_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    runner = CliRunner()
    first = runner.invoke(pki, ["init", "--out", str(out)])
    assert first.exit_code == 0, first.output
    # Rich wraps to the terminal width; compare the words, not the line breaks.
    said = " ".join(first.output.split())
    assert "silkline://IN/NCB/ops-desk-1" in said
    assert "never use them in production" in said
    found = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert found == expected_layout()

    second = runner.invoke(pki, ["init", "--out", str(out)])
    assert second.exit_code != 0
    assert "--force" in second.output

    third = runner.invoke(pki, ["init", "--out", str(out), "--force"])
    assert third.exit_code == 0, third.output


def test_log_key_is_an_ed25519_private_key(pki_dir: Path) -> None:
    key = serialization.load_pem_private_key((pki_dir / "hub" / "log.key").read_bytes(), None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
