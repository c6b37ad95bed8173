"""The indicators step of `make demo`: India's 2023 vs 2024 seizures, as a table and a page.

`report_scenario(env, silkline, out, endpoint=...)` is called by deploy/dev/demo.py
once the server runs and the `in-ncb` profile exists. It

1. writes the reproducible sample (`silkline report sample`): seizure alerts whose
   totals are India's published figures for 2023 and 2024, with the Mundra (2021)
   and Gujarat coast (2024) seizures;
2. posts them through the service as IN/NCB, TLP GREEN, with `silkline feed`
   (the suspects in the sample travel as selective disclosures);
3. adds a profile for CARICC/ANALYSIS (analyst and reader) and asks the server for
   the indicators as that analyst: the 2023 vs 2024 table in the terminal, and
   `OUT/report.html` with the charts;
4. checks that the figures are India's, exactly.

Raises ReportScenarioError when something did not happen as it should.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CERTS = REPO / "certs" / "example"
CRORE = Decimal(10_000_000)

Silkline = Callable[..., subprocess.CompletedProcess[str]]

# India's figures (../shared/SPEC.md), as the report states them.
EXPECTED = {
    "2023": {"value_crore": Decimal(16100), "methamphetamine_kg": Decimal(3400)},
    "2024": {"value_crore": Decimal(25330), "methamphetamine_kg": Decimal(8000)},
}


class ReportScenarioError(Exception):
    """A step of the indicators scenario did not happen as it should."""


def report_scenario(
    env: dict[str, str],
    silkline: Silkline,
    out: Path,
    *,
    endpoint: str,
    publisher_profile: str = "in-ncb",
    analyst_profile: str = "caricc-analysis",
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the scenario; return what it showed, for the demo's summary.json."""
    sample = out / "india-sample.jsonl"
    made = silkline("report", "sample", "--out", str(sample), env=env)
    _check(made, "report sample")
    count = len(sample.read_text(encoding="utf-8").splitlines())
    echo(f"  {count} sample seizure alerts written to {sample.relative_to(out.parent)}")

    fed = silkline(
        "--profile",
        publisher_profile,
        "feed",
        "--tlp",
        "GREEN",
        "--source",
        "india-sample",
        "--checkpoint",
        str(out / "india-sample.checkpoint"),
        "--dead-letter",
        str(out / "india-sample.dead-letter.jsonl"),
        "--json",
        str(sample),
        env=env,
    )
    _check(fed, "feed of the sample")
    summary = json.loads(fed.stdout)
    posted = summary["accepted"] + summary["already_present"]
    if posted != count:
        raise ReportScenarioError(f"the feed posted {posted} of {count} sample records")
    echo(f"  posted as {publisher_profile}, TLP GREEN: {summary['accepted']} accepted")

    analyst = CERTS / "CARICC"
    added = silkline(
        "profile",
        "add",
        analyst_profile,
        "--endpoint",
        endpoint,
        "--ca",
        str(CERTS / "hub" / "ca.crt"),
        "--cert",
        str(analyst / "analysis.crt"),
        "--key",
        str(analyst / "analysis.key"),
        env=env,
    )
    _check(added, f"profile add {analyst_profile}")

    period = ["--from", "2023-01-01", "--to", "2024-12-31"]
    table = silkline(
        "--profile",
        analyst_profile,
        "report",
        *period,
        "--by",
        "year",
        env={**env, "COLUMNS": "140"},
    )
    _check(table, "report (table)")
    echo(table.stdout.rstrip())

    as_json = silkline(
        "--profile",
        analyst_profile,
        "report",
        *period,
        "--by",
        "year,drug",
        "--format",
        "json",
        env=env,
    )
    _check(as_json, "report (json)")
    document = json.loads(as_json.stdout)
    (out / "report.json").write_text(as_json.stdout, encoding="utf-8")
    found = _figures(document)
    if found != EXPECTED:
        raise ReportScenarioError(f"the report says {found}, India's figures are {EXPECTED}")

    page = out / "report.html"
    html = silkline(
        "--profile",
        analyst_profile,
        "report",
        *period,
        "--by",
        "participant,drug,year",
        "--format",
        "html",
        "--out",
        str(page),
        "--title",
        "Seizures in India, 2023 vs 2024 (as CARICC/ANALYSIS sees them)",
        env=env,
    )
    _check(html, "report (html)")
    text = page.read_text(encoding="utf-8")
    if text.count("<svg") != 3:
        raise ReportScenarioError(f"{page} should hold three charts")
    echo(f"  {page.relative_to(out.parent)}: one self-contained page, three charts")
    return {
        "sample_records": count,
        "records_used": document["records_used"],
        "figures": {year: {k: str(v) for k, v in f.items()} for year, f in found.items()},
        "html": str(page),
    }


def _figures(document: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    found: dict[str, dict[str, Decimal]] = {}
    for row in document["rows"]:
        year = row["dimensions"]["year"]
        if row["measure"] == "seizure_value_inr":
            entry = found.setdefault(year, {})
            entry["value_crore"] = (
                entry.get("value_crore", Decimal(0)) + Decimal(row["value"]) / CRORE
            )
        if (
            row["measure"] == "seized_quantity"
            and row["dimensions"].get("drug") == "methamphetamine"
        ):
            found.setdefault(year, {})["methamphetamine_kg"] = Decimal(row["value"])
    return found


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise ReportScenarioError(
            f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
        )
