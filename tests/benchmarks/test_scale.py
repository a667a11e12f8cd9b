"""The benchmark's report: the README's table and results.json's shape, from the registry."""

from __future__ import annotations

import json

import pytest

from benchmarks.harness import Scenario
from benchmarks.scale import README, RESULTS, TABLE_END, TABLE_START, main, render


def test_the_readme_table_is_the_rendered_results() -> None:
    """The table the last full run wrote comes out the same from its results.json."""
    section = README.read_text(encoding="utf-8").split(TABLE_START)[1].split(TABLE_END)[0]
    assert render(json.loads(RESULTS.read_text(encoding="utf-8"))) == section.strip("\n")


def test_a_scenario_reads_back_as_results_json_keeps_it() -> None:
    """Each vendor's count first, in the registry's order, then the travel."""
    kept = json.loads(RESULTS.read_text(encoding="utf-8"))["results"][0]["scenario"]
    assert Scenario.from_dict(kept).as_dict() == kept
    assert list(Scenario.from_dict(kept).as_dict()) == list(kept)


def test_every_vendor_has_its_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal
    for option in ("--goe N [N ...]", "--easee M", "--viriciti K"):
        assert option in out
    assert "CI size: go-e 20, Easee 10, ViriCiti 2, 24 h travelled" in out
