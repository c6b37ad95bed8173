"""Server configuration parsing refuses what it does not understand."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline.formats.checkpoint import cosigner_verifier
from silkline_server.config import ConfigError, load_config, parse_config

from .conftest import DEV_CONFIG, EXAMPLE


def test_the_dev_config_resolves_paths_against_its_folder() -> None:
    config = load_config(DEV_CONFIG)
    assert config.server_certificate == (EXAMPLE / "hub" / "server.crt").resolve()
    assert {p.code for p in config.participants} == {
        "IN",
        "KZ",
        "KG",
        "TJ",
        "TM",
        "UZ",
        "UNODC",
        "CARICC",
    }
    assert config.database == f"sqlite:///{(DEV_CONFIG.parent / 'silkline-dev.db').resolve()}"


def dev_raw() -> dict[str, object]:
    return tomllib.loads(DEV_CONFIG.read_text())


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda raw: raw.update(listn="x"), "unknown key(s) ['listn']"),
        (lambda raw: raw["tls"].update(cert="x"), "[tls]: unknown key(s) ['cert']"),
        (lambda raw: raw["participants"]["IN"].update(crl_path="x"), "[participants.IN]"),
        (lambda raw: raw.update(grace_period_s="ten"), "'grace_period_s' has the wrong type"),
        (lambda raw: raw.update(max_message_bytes=True), "'max_message_bytes' has the wrong type"),
        (lambda raw: raw.update(log_format="xml"), "log_format must be one of"),
        (lambda raw: raw.update(participants={}), "[participants.<CODE>] tables are required"),
        (lambda raw: raw["tls"].pop("private_key"), "'private_key' (a file path) is required"),
    ],
)
def test_mistakes_are_refused_with_the_key_named(change, words: str) -> None:  # type: ignore[no-untyped-def]
    raw = dev_raw()
    change(raw)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base=DEV_CONFIG.parent)
    assert words in str(caught.value)


def test_absolute_and_postgres_urls_are_kept(tmp_path: Path) -> None:
    raw = dev_raw()
    raw["database"] = "postgresql+psycopg://silkline@db.example/silkline"
    assert parse_config(raw, base=tmp_path).database == raw["database"]
    raw["database"] = f"sqlite:///{tmp_path}/x.db"
    assert parse_config(raw, base=DEV_CONFIG.parent).database == raw["database"]


def _cosigner_vkey(name: str = "witness.uz.example") -> str:
    key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    return cosigner_verifier(name, key).vkey


def test_the_dev_config_trusts_the_example_witness() -> None:
    (witness,) = load_config(DEV_CONFIG).witnesses
    assert witness.vkey + "\n" == (EXAMPLE / "UNODC" / "witness.vkey").read_text()


def test_witness_keys_are_cosignature_v1_verifier_keys() -> None:
    raw = dev_raw()
    vkey = _cosigner_vkey()
    raw["witnesses"] = {"keys": [vkey]}
    (witness,) = parse_config(raw, base=DEV_CONFIG.parent).witnesses
    assert (witness.name, witness.vkey) == ("witness.uz.example", vkey)


@pytest.mark.parametrize(
    ("witnesses", "words"),
    [
        ({"key": []}, "[witnesses]: unknown key(s) ['key']"),
        ({"keys": "x"}, "'keys' has the wrong type"),
        ({"keys": [1]}, "keys[0] must be a verifier key string"),
        ({"keys": ["not a vkey"]}, "keys[0]: verifier key must be"),
        (
            {"keys": [(EXAMPLE / "hub" / "log.vkey").read_text().strip()]},
            "witnesses cosign with cosignature/v1 keys (type 0x04)",
        ),
    ],
)
def test_a_bad_witness_key_is_refused_with_its_position(
    witnesses: dict[str, object], words: str
) -> None:
    raw = dev_raw()
    raw["witnesses"] = witnesses
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base=DEV_CONFIG.parent)
    assert words in str(caught.value)


def test_a_witness_listed_twice_is_refused() -> None:
    raw = dev_raw()
    vkey = _cosigner_vkey()
    raw["witnesses"] = {"keys": [vkey, vkey]}
    with pytest.raises(ConfigError, match=r"keys\[1\] \(witness.uz.example\) is listed twice"):
        parse_config(raw, base=DEV_CONFIG.parent)


def test_metrics_are_off_unless_configured() -> None:
    assert load_config(DEV_CONFIG).metrics_listen is None


@pytest.mark.parametrize("listen", ["127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464", "host:0"])
def test_a_metrics_listen_address_is_kept(listen: str) -> None:
    raw = dev_raw()
    raw["metrics"] = {"listen": listen}
    assert parse_config(raw, base=DEV_CONFIG.parent).metrics_listen == listen


@pytest.mark.parametrize(
    ("metrics", "words"),
    [
        ({"listen": "9464"}, "[metrics] listen: '9464' is not HOST:PORT"),
        ({"listen": "localhost:http"}, "is not HOST:PORT"),
        ({"listen": "127.0.0.1:65536"}, "is not HOST:PORT"),
        ({"listen": ":9464"}, "is not HOST:PORT"),
        ({"listen": "::1:9464"}, "an IPv6 address in brackets"),
        ({"listen": "127.0.0.1:-1"}, "is not HOST:PORT"),
        ({"listen": 9464}, "'listen' has the wrong type"),
        ({"listen": ""}, "leave [metrics] out for no endpoint"),
        ({"listen": "127.0.0.1:7443"}, "is the gRPC listen address"),
        ({"listen": "0.0.0.0:7443"}, "is the gRPC listen address"),
        ({"port": 9464}, "[metrics]: unknown key(s) ['port']"),
    ],
)
def test_a_bad_metrics_listen_address_is_refused(metrics: object, words: str) -> None:
    raw = dev_raw()
    raw["metrics"] = metrics
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base=DEV_CONFIG.parent)
    assert words in str(caught.value)


def test_metrics_must_be_a_table() -> None:
    raw = dev_raw()
    raw["metrics"] = "127.0.0.1:9464"
    with pytest.raises(ConfigError, match="'metrics' must be a table"):
        parse_config(raw, base=DEV_CONFIG.parent)
