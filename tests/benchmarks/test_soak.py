"""The chaos soak (issue 17): a very short one per vendor, its checks, and the README's section."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import pytest
from pytest_homeassistant_custom_component import patch_time

from benchmarks.soak import README, RESULTS, TABLE_END, TABLE_START, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.day_long
@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.skipif(
    not hasattr(patch_time, "ha_get_module_attributes"),
    reason="the soak, like the benchmark, runs on the newest Home Assistant (.venv)",
)
def test_a_short_soak_of_every_vendor_counts_and_passes(tmp_path: Path) -> None:
    """20 travelled minutes per vendor: faults are played, the user asks, every row is 0."""
    output = tmp_path / "soak.json"
    done = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "benchmarks.soak", "--hours", "0.34", "--output", str(output)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(output.read_text(encoding="utf-8"))
    assert [r["vendor"] for r in report["results"]] == ["goe", "easee", "viriciti"]
    for result in report["results"]:
        assert result["violations"] == [], result["name"]
        assert result["requests"] > 20
        assert result["faults_injected"]["outage"] == 1
        assert result["faults_injected"]["offline"] == 1
        assert result["commands"]["asked"] >= 10
        assert result["commands"]["lost"] == 0
        assert {r["fault"] for r in result["recoveries"]} == {"charger offline", "cloud outage"}
        assert result["log_lines"] > 0
    easee = report["results"][1]
    assert {k for k in easee["faults_injected"] if k.startswith("ban ")} == {
        "ban blocked_403",
        "ban forbidden_403",
        "ban blocked_429",
    }


def test_the_readme_section_is_the_rendered_full_run() -> None:
    """The section the last full run wrote comes out the same from its soak.json."""
    section = README.read_text(encoding="utf-8").split(TABLE_START)[1].split(TABLE_END)[0]
    assert render(json.loads(RESULTS.read_text(encoding="utf-8"))) == section.strip("\n")
