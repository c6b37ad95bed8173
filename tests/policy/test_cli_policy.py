"""`silkline policy check` and `silkline policy explain`, offline and with --record."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from silkline.authoring import build_payload, load_signing_identity, seal_record
from silkline.bundle import bundle_from_parts
from silkline.cli.main import cli
from silkline.cli.policy import policy

from ..conftest import EXAMPLE, REPO, ServerProcess

NETWORK = REPO / "deploy" / "rules" / "network.toml"
MUNDRA = REPO / "schemas" / "seizure-alert" / "examples" / "mundra-port-heroin-2021-09.json"


def run(*args: str) -> Result:
    return CliRunner().invoke(policy, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """IN/NCB's seizure alert (suspects, coordinates; AMBER for UZ and KZ; H1) as two bundles:
    the originator's copy with every disclosure, and KZ's copy with none."""
    folder = EXAMPLE / "IN"
    signer = load_signing_identity(folder / "ncb.signing.key", folder / "ncb.signing.crt")
    body = json.loads(MUNDRA.read_text(encoding="utf-8"))["body"]
    payload = build_payload(
        "seizure-alert",
        body,
        originator=signer.identity,
        tlp="AMBER",
        recipients=["UZ", "KZ"],
        handling=[{"code": "H1"}],
    )
    sealed = seal_record(payload, signer)
    out = tmp_path_factory.mktemp("bundles")
    paths = {}
    for name, disclosures in (("full", sealed.disclosures), ("kz-copy", ())):
        bundle = bundle_from_parts(
            sealed.envelope, sealed.signer_certificate_der, disclosures, receipt=None
        )
        paths[name] = out / f"{name}.json"
        paths[name].write_text(json.dumps(bundle.to_json()), encoding="utf-8")
    return paths


def explain_json(reader: str, bundle: Path, *extra: str) -> dict[str, Any]:
    result = run(
        "explain", "--reader", reader, "--bundle", str(bundle), "--rules", str(NETWORK),
        "--at", "2026-01-15", "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


# ------------------------------------------------------------------- check


def test_check_accepts_the_example_rules_with_a_one_line_summary() -> None:
    result = run("check", str(NETWORK))
    assert result.exit_code == 0, result.output
    sha256 = hashlib.sha256(NETWORK.read_bytes()).hexdigest()
    assert result.stdout == (
        f"ok {NETWORK}: 8 participants, 10 agencies, 2 agreements, 1 restriction, "
        f"3 retention periods; sha256 {sha256}\n"
    )


def test_check_reports_every_problem_with_line_and_column_and_exits_5(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    text = NETWORK.read_text(encoding="utf-8")
    text = text.replace('parties = ["IN", "UZ"]', 'parties = ["IN", "UX"]')
    text = text.replace("onward_sharing = false  # no", "onward_sharing = 0  # no")
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    parties_line = next(i for i, line in enumerate(lines, 1) if '"UX"' in line)
    onward_line = next(i for i, line in enumerate(lines, 1) if "onward_sharing = 0" in line)

    result = run("check", str(path))

    assert result.exit_code == 5
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f'{path}:{parties_line}:18: agreements[1].parties[1]: "UX" is not a participant defined '
        "in this file; expected one of: CARICC, IN, KG, KZ, TJ, TM, UNODC, UZ "
        '(did you mean "UZ"?)',
        f"{path}:{onward_line}:18: agreements[1].onward_sharing: expected true or false "
        "(may recipients pass it on?), found the integer 0",
        f"{path}: refused, 2 problems",
    ]


def test_check_reports_a_syntax_error_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "syntax.toml"
    path.write_text('version = 1\n[network\nname = "x"\n', encoding="utf-8")
    result = run("check", str(path))
    assert result.exit_code == 5
    assert result.stderr.startswith(f"{path}:2:9: TOML syntax: ")


def test_check_json_lists_the_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("version = 1\nverison = 1\n", encoding="utf-8")
    result = run("check", str(path), "--json")
    assert result.exit_code == 5
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert {"line": 2, "column": 1, "path": "verison"} in [
        {k: p[k] for k in ("line", "column", "path")} for p in document["problems"]
    ]


def test_check_notes_a_schema_class_the_rules_do_not_declare(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    text = NETWORK.read_text(encoding="utf-8")
    section = (
        "[field_classes.court_evidence]\n"
        'description = "Material gathered for use as evidence in court proceedings."\n'
    )
    assert section in text
    path.write_text(text.replace(section, ""), encoding="utf-8")
    result = run("check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok {path}: ")
    assert result.stderr == (
        "note: field class 'court_evidence' is used by the record schemas but not declared in "
        "the rules; no agreement can cover it, so it is never disclosed to another participant\n"
    )


def test_check_of_a_missing_file_exits_5(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "absent.toml"))
    assert result.exit_code == 5
    assert "cannot read rules file" in result.stderr


# ----------------------------------------------------------------- explain


def test_explain_for_kz_shows_the_alert_and_what_was_withheld(bundles: dict[str, Path]) -> None:
    result = run(
        "explain", "--reader", "KZ/MVD", "--bundle", str(bundles["full"]),
        "--rules", str(NETWORK), "--at", "2026-01-15",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "allowed, view full" in out
    assert "withheld │ location_precise, personal_data" in out
    assert "agreements.multilateral-2023" in out
    assert "notice: H1: not for use as court evidence without the originator's permission" in out


def test_explain_json_gives_each_readers_decision(bundles: dict[str, Path]) -> None:
    views = {}
    for reader in ("UZ/NCDC", "KZ/MVD", "TM/MVD", "UNODC/AUDIT"):
        document = explain_json(reader, bundles["full"])
        decision = document["decision"]
        views[reader] = (decision["view"], decision["disclosed"], decision["withheld"])
        assert document["record"]["field_classes"] == ["location_precise", "personal_data"]
        assert document["rules"]["sha256"] == hashlib.sha256(NETWORK.read_bytes()).hexdigest()
    both = ["location_precise", "personal_data"]
    assert views == {
        "UZ/NCDC": ("full", both, []),
        "KZ/MVD": ("full", [], both),
        "TM/MVD": ("none", [], both),
        "UNODC/AUDIT": ("metadata", [], both),
    }


def test_explain_a_copy_without_disclosures_still_knows_the_concealed_classes(
    bundles: dict[str, Path],
) -> None:
    document = explain_json("KZ/MVD", bundles["kz-copy"])
    assert document["record"]["field_classes"] == ["location_precise", "personal_data"]
    assert document["record"]["unknown_concealed_fields"] == 0
    assert document["decision"]["withheld"] == ["location_precise", "personal_data"]


def test_explain_before_the_multilateral_agreement_denies_kz(bundles: dict[str, Path]) -> None:
    document = explain_json("KZ/MVD", bundles["full"], "--at", "2022-06-01")
    decision = document["decision"]
    assert (decision["allowed"], decision["view"]) == (False, "none")
    assert decision["reasons"][1]["cite"] == "agreements"
    assert decision["reasons"][2] == {
        "cite": "agreements.multilateral-2023",
        "text": "not yet in force on 2022-06-01: valid from 2023-01-01",
    }


def test_explain_of_a_denied_reader_still_exits_0(bundles: dict[str, Path]) -> None:
    result = run(
        "explain", "--reader", "TM/MVD", "--bundle", str(bundles["full"]), "--rules", str(NETWORK)
    )
    assert result.exit_code == 0
    out = " ".join(result.stdout.split())
    assert "decision │ denied (the reader sees nothing)" in out
    assert "record.distribution.recipients │ TM is not named in the recipients" in out


def test_explain_refuses_a_bad_bundle_with_exit_5(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("{not json", encoding="utf-8")
    result = run("explain", "--reader", "KZ/MVD", "--bundle", str(path), "--rules", str(NETWORK))
    assert result.exit_code == 5
    assert "is not JSON" in result.stderr
    path.write_text('{"mediaType": "something else"}', encoding="utf-8")
    result = run("explain", "--reader", "KZ/MVD", "--bundle", str(path), "--rules", str(NETWORK))
    assert result.exit_code == 5
    assert "mediaType must be" in result.stderr


def test_explain_refuses_bad_rules_with_every_problem_and_exit_5(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("version = 1\nverison = 2\n", encoding="utf-8")
    result = run("explain", "--reader", "KZ/MVD", "--bundle", str(bundles["full"]),
                 "--rules", str(rules))  # fmt: skip
    assert result.exit_code == 5
    assert f"{rules}:2:1: unknown key " in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--reader", "KZ/MVD", "--rules", str(NETWORK)],
        ["--reader", "KZ/MVD", "--rules", str(NETWORK), "--bundle", "b.json", "--record", "x"],
        ["--reader", "kz-mvd", "--rules", str(NETWORK), "--bundle", "b.json"],
        ["--reader", "KZ/MVD", "--rules", str(NETWORK), "--bundle", "b.json", "--at", "soon"],
    ],
)
def test_explain_usage_errors_exit_2(args: list[str]) -> None:
    assert run("explain", *args).exit_code == 2


# --------------------------------------------------------------- --record


def test_explain_by_record_id_fetches_the_record_with_the_profile(
    server: ServerProcess, tmp_path: Path
) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "SILKLINE_PROFILE": None}

    def silkline(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    added = silkline(
        "profile", "add", "in-ncb", "--endpoint", server.target,
        "--ca", str(EXAMPLE / "hub" / "ca.crt"),
        "--cert", str(EXAMPLE / "IN" / "ncb.crt"), "--key", str(EXAMPLE / "IN" / "ncb.key"),
        "--signing-key", str(EXAMPLE / "IN" / "ncb.signing.key"),
        "--signing-cert", str(EXAMPLE / "IN" / "ncb.signing.crt"), "--use",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    posted = silkline(
        "post", "seizure-alert", "--file", str(MUNDRA), "--tlp", "AMBER", "--to", "UZ,KZ",
        "--handling", "H1", "--json",
    )  # fmt: skip
    assert posted.exit_code == 0, posted.output
    record_id = json.loads(posted.stdout)["record_id"]

    explained = silkline(
        "policy", "explain", "--reader", "KZ/MVD", "--record", record_id,
        "--rules", str(NETWORK), "--json",
    )  # fmt: skip

    assert explained.exit_code == 0, explained.output
    document = json.loads(explained.stdout)
    assert document["record"]["record_id"] == record_id
    assert document["record"]["recipients"] == ["UZ", "KZ"]
    assert document["decision"]["view"] == "full"
    assert document["decision"]["withheld"] == ["location_precise", "personal_data"]
