"""The go-e simulator's demo fleet (`python -m simulators goe --demo`)."""

import pytest

from simulators.__main__ import build_parser, main
from simulators.goe import (
    DEMO_CHARGING_SERIAL,
    DEMO_CHARGING_TOKEN,
    DEMO_IDLE_SERIAL,
    DEMO_IDLE_TOKEN,
    GoeSimulator,
    add_demo,
)
from simulators.goe_vendor import (
    SPARE_SERIAL,
    SPARE_TOKEN,
    VENDOR,
    build_simulator as build_goe_simulator,
)

START = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def test_demo_has_a_charging_and_an_idle_charger_whose_meters_move_while_charging() -> None:
    clock = FakeClock()
    sim = GoeSimulator(clock=clock)
    add_demo(sim)
    charging, idle = sim.chargers[DEMO_CHARGING_SERIAL], sim.chargers[DEMO_IDLE_SERIAL]
    assert (charging.token, idle.token) == (DEMO_CHARGING_TOKEN, DEMO_IDLE_TOKEN)
    assert charging.car_state == "charging"
    assert idle.car_state == "idle"
    before = charging.status()
    assert before["kwh_total"] == 1234
    assert charging.power_w == 3 * 230 * 16

    clock.now += 3600  # an hour of charging at 11.04 kW
    after = charging.status()
    assert after["kwh_total"] == 1245
    assert after["currents"] == {"phase_1": 16.0, "phase_2": 16.0, "phase_3": 16.0}
    assert idle.status()["kwh_total"] == 321
    # Both report every minute, so the cloud's data is always live.
    assert after["data_is_live"] is True
    assert idle.status()["data_is_live"] is True


def test_demo_on_the_command_line_keeps_a_spare_charger_to_add() -> None:
    sim = build_goe_simulator(build_parser().parse_args(["goe", "--demo"]))
    assert sorted(sim.chargers) == [DEMO_CHARGING_SERIAL, DEMO_IDLE_SERIAL, SPARE_SERIAL]
    assert sim.chargers[SPARE_SERIAL].token == SPARE_TOKEN
    # The demo adds the other two; the spare is the one it prints for the user to add.
    added = {entry.data["serial"] for entry in VENDOR.demo.entries("http://sim")}
    assert SPARE_SERIAL not in added
    ((spare,),) = [VENDOR.demo.spares("http://sim")]
    assert spare.data == {
        "serial": SPARE_SERIAL,
        "grid_token": SPARE_TOKEN,
        "advanced": {"base_url": "http://sim"},
    }
    more = build_goe_simulator(
        build_parser().parse_args(
            ["goe", "--demo", "--charger", "000009:abcdefghijklmnopqrstuvwxyz012345"]
        )
    )
    assert sorted(more.chargers) == [DEMO_CHARGING_SERIAL, DEMO_IDLE_SERIAL, SPARE_SERIAL, "000009"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["goe"], "give --demo or at least one --charger"),
        (["goe", "--demo", "--charger", f"{DEMO_IDLE_SERIAL}:{DEMO_IDLE_TOKEN}"], "more than once"),
        (["goe", "--demo", "--charger", f"{SPARE_SERIAL}:{SPARE_TOKEN}"], "more than once"),
    ],
)
def test_demo_command_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(argv)
    assert exc_info.value.code == 2
    assert message in capsys.readouterr().err


def test_help_gives_the_demo_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["goe", "--help"])
    out = capsys.readouterr().out
    for text in (
        DEMO_CHARGING_SERIAL,
        DEMO_CHARGING_TOKEN,
        DEMO_IDLE_SERIAL,
        DEMO_IDLE_TOKEN,
        SPARE_SERIAL,
        SPARE_TOKEN,
    ):
        assert text in out
