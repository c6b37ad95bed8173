"""The HTML report is one self-contained file that headless Chromium renders with its charts.

The screenshot test needs Debian's `chromium` at /usr/bin/chromium. Where it
is missing the test is skipped with the reason, except in CI (CI=true), where
a missing browser fails the run: CI installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from silkline.indicators.aggregate import IndicatorAccumulator, IndicatorQuery, Indicators
from silkline.indicators.charts import CHART_GROUPINGS, chart_data
from silkline.indicators.html import html_report
from silkline.indicators.rates import load_rate_table
from silkline.indicators.render import ReportContext
from silkline.indicators.sample import india_seizures

from .conftest import SUSPECT_NAME, payload

CHROMIUM = Path("/usr/bin/chromium")
# The first colours of the charts (matplotlib's tab10 blue and orange).
CHART_BLUE = (0x1F, 0x77, 0xB4)
CHART_ORANGE = (0xFF, 0x7F, 0x0E)


def sample_indicators() -> Indicators:
    accumulator = IndicatorAccumulator(
        IndicatorQuery(date(2023, 1, 1), date(2024, 12, 31), (("year", "drug"), *CHART_GROUPINGS)),
        load_rate_table(),
    )
    bodies = india_seizures()
    for body in bodies:
        accumulator.add(payload("seizure-alert", body))
    for body in india_seizures(7)[1:15]:
        accumulator.add(payload("seizure-alert", body, "UZ", "NCDC"))
    return accumulator.result()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = sample_indicators()
    html = html_report(
        found,
        ReportContext("test: the India sample and part of another", "", "2026-11-25 10:00 UTC"),
        chart_data(found, 1),
        title="India 2023 vs 2024",
    )
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_the_page_is_self_contained(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in html  # the browser is told to load nothing
    assert html.count("<svg") == 3
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "url(http" not in html and "@import" not in html
    # xlink and SVG namespaces are names, not fetches; nothing else names a web address.
    addresses = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_the_numbers_beside_the_charts_are_the_indicators(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    # India's 2024 figures (and 2023's, with part of UZ's sample added to the 2023 figures).
    assert "INR 25,330 crore" in html
    assert "46,900,000 tablets (4.69 crore)" in html
    assert "Share of each participant" in html
    assert SUSPECT_NAME not in html
    assert "Example-20" not in html  # the sample's fictitious suspects


def distinct_colours(png: Path) -> tuple[int, set[tuple[int, int, int]]]:
    from PIL import Image

    with Image.open(png) as image:
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 24) or []
    found = {
        (colour[0], colour[1], colour[2]) for _, colour in colours if isinstance(colour, tuple)
    }
    return len(colours), found


def near(colour: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 6 for a, b in zip(colour, target, strict=True))


def test_chromium_renders_the_charts(page: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium to render the HTML report"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must install it)")
        pytest.skip(message)
    screenshot = tmp_path / "report.png"
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={screenshot}",
            "--window-size=1200,2000",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert screenshot.exists(), (
        f"no screenshot (exit {result.returncode}):\n{result.stderr[-2000:]}"
    )
    keep = os.environ.get("SILKLINE_KEEP_SCREENSHOT")
    if keep:
        shutil.copyfile(screenshot, keep)
    count, colours = distinct_colours(screenshot)
    # A blank or text-only page has a handful of greys; charts bring many colours and shades.
    assert count > 200, f"only {count} distinct colours: the charts did not render"
    assert any(near(colour, CHART_BLUE) for colour in colours), "no chart blue on the page"
    assert any(near(colour, CHART_ORANGE) for colour in colours), "no chart orange on the page"
