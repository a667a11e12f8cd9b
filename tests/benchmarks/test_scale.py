"""The benchmark's report: the README's table and results.json's shape, from the registry."""

from __future__ import annotations

import json
import sys

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks.harness import Scenario, own_bytes
from benchmarks.scale import (
    README,
    RESULTS,
    TABLE_END,
    TABLE_START,
    main,
    push_figures,
    render,
)


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


def test_a_layout_reads_back_and_marks_its_rows() -> None:
    """A run of the fleet in another layout keeps it, and the table says so."""
    report = json.loads(RESULTS.read_text(encoding="utf-8"))
    (other,) = [r for r in report["results"] if r["scenario"]["layout"] is not None]
    assert Scenario.from_dict(other["scenario"]).layout == "entry_per_charger"
    assert "| 1,000 (an entry each) | 1,000 |" in render(report)


def test_the_layout_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--layout {entry_per_charger}" in out
    assert "the full run compares 1,000 in each" in out


def test_own_objects_stop_at_home_assistant_and_count_once() -> None:
    """What the runtime holds counts, each object once; Home Assistant's objects do not."""

    class Runtime:
        def __init__(self, shared: list[int], entry: object) -> None:
            self.shared = shared
            self.entry = entry

    entry = MockConfigEntry(domain="ev_charge_control")  # one of Home Assistant's objects
    shared = list(range(100))
    one = own_bytes([Runtime(shared, entry)])
    two = own_bytes([Runtime(shared, entry), Runtime(shared, entry)])
    # The second runtime adds itself (and its attributes' dict), not the shared list again.
    assert 0 < two - one < sys.getsizeof(shared)
    assert one >= sys.getsizeof(shared)
    assert own_bytes([entry]) == 0


def _run(push: bool, per_hour: float, hours: float = 4.0) -> dict[str, object]:
    return {
        "scenario": {"goe": 20, "easee": 50, "viriciti": 10, "hours": hours, "push": push},
        "requests_per_charger_hour": {"goe": 4.0, "easee": per_hour, "viriciti": 12.0},
    }


def test_push_channels_are_compared_with_and_without() -> None:
    """Each vendor with a push channel gets its requests per charger-hour on and off."""
    figures = push_figures(_run(True, 3.5), _run(False, 14.5, hours=2.0))
    assert figures == {
        "hours_with": 4.0,
        "hours_without": 2.0,
        "vendors": {
            "easee": {
                "name": "Easee",
                "channel": "the stream",
                "chargers": 50,
                "with": 3.5,
                "without": 14.5,
            }
        },
    }
    assert push_figures({"failed": "exit status 1"}, _run(False, 14.5)) == {}


def test_the_readme_shows_requests_per_charger_hour_with_and_without_the_stream() -> None:
    """results.json holds the comparison; the stream saves requests; the README says so."""
    report = json.loads(RESULTS.read_text(encoding="utf-8"))
    easee = report["push"]["vendors"]["easee"]
    assert 0 < easee["with"] < easee["without"]
    assert report["push_off"]["scenario"]["push"] is False
    assert f"**{easee['with']:.1f}** with the stream" in render(report)
    assert f"**{easee['without']:.1f}** without it (REST polling instead)" in render(report)
    section = README.read_text(encoding="utf-8").split(TABLE_START)[1]
    assert f"**{easee['with']:.1f}** with the stream" in section.split(TABLE_END)[0]
