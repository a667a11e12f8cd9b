"""The go-e simulator's demo fleet (`python -m simulators goe --demo`)."""

import tracemalloc

import pytest

from simulators.__main__ import build_parser, main
from simulators.goe import (
    DEMO_CHARGING_SERIAL,
    DEMO_CHARGING_TOKEN,
    DEMO_IDLE_SERIAL,
    DEMO_IDLE_TOKEN,
    GoeSimulator,
    add_demo,
    add_demo_fleet,
    demo_fleet,
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


def test_demo_on_the_command_line_keeps_a_spare_charger_and_a_fleet_to_add() -> None:
    sim = build_goe_simulator(build_parser().parse_args(["goe", "--demo"]))
    fleet = [serial for serial, _token, _name in demo_fleet()]
    assert sorted(sim.chargers) == [DEMO_CHARGING_SERIAL, DEMO_IDLE_SERIAL, SPARE_SERIAL, *fleet]
    assert sim.chargers[SPARE_SERIAL].token == SPARE_TOKEN
    # The demo adds the other two; the spare is the one it prints for the user to add, to the
    # go-e entry the demo made (which has the API address).
    added = {entry.data["serial"] for entry in VENDOR.demo.entries("http://sim")}
    assert SPARE_SERIAL not in added
    ((spare,),) = [VENDOR.demo.spares("http://sim")]
    assert (spare.subentry, spare.step) == ("charger", "one")
    assert spare.data == {"serial": SPARE_SERIAL, "grid_token": SPARE_TOKEN}
    more = build_goe_simulator(
        build_parser().parse_args(
            ["goe", "--demo", "--charger", "000009:abcdefghijklmnopqrstuvwxyz012345"]
        )
    )
    assert "000009" in more.chargers


def test_the_demo_makes_one_entry_and_adds_its_second_charger_to_it() -> None:
    first, second = VENDOR.demo.entries("http://sim")
    assert (first.step, first.subentry) == ("goe", None)
    assert first.data["advanced"] == {"base_url": "http://sim"}
    assert (second.step, second.subentry) == ("one", "charger")
    assert second.data == {"serial": DEMO_IDLE_SERIAL, "grid_token": DEMO_IDLE_TOKEN}


def test_the_fleet_s_list_is_what_the_simulator_knows() -> None:
    """Each line of the list the demo pastes reads well at the simulator: serial, token, name."""
    bulk = VENDOR.demo.bulk
    assert bulk is not None
    assert (bulk.subentry, bulk.step, bulk.lines_field, bulk.file_field, bulk.done) == (
        "charger",
        "bulk",
        "lines",
        "file",
        "bulk_done",
    )
    clock = FakeClock()
    sim = GoeSimulator(clock=clock)
    add_demo_fleet(sim)
    assert len(bulk.lines) == len(bulk.unique_ids) == len(bulk.devices) == 1000
    for line, unique_id, device in zip(bulk.lines, bulk.unique_ids, bulk.devices, strict=True):
        serial, token, name = line.split(";")
        assert sim.chargers[serial].token == token
        assert (unique_id, device) == (serial, f"goe_{serial}")
        assert name.startswith("Fleet ")
    charging = [c for c in sim.chargers.values() if c.car_state == "charging"]
    assert len(charging) == 100
    # They report every minute: a status read never waits for the cloud's ping.
    clock.now += 3600
    assert all(c.status()["data_is_live"] for c in sim.chargers.values())


def test_the_fleet_costs_the_simulator_little() -> None:
    """1,000 more chargers: a few KB each, and nothing runs for them until they are asked."""
    sim = GoeSimulator()
    tracemalloc.start()
    try:
        add_demo_fleet(sim)
        size, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size / len(sim.chargers) < 4096


def test_the_budget_report_finds_a_charger_read_too_often() -> None:
    """The check counts what the go-e simulator received against go-e's budget per charger."""
    hook = VENDOR.demo.budget_violations
    assert hook is not None

    def read(at: float, serial: str, status: int = 200, result: str = "ok") -> dict[str, object]:
        return {
            "time": at,
            "endpoint": "api_status",
            "serial": serial,
            "params": {"serial": serial},
            "token_ok": True,
            "result": result,
            "http_status": status,
        }

    # Two reads at once (the validation and the first poll), then one per 15 minutes: kept.
    kept = [read(START, "100001"), read(START + 1, "100001"), read(START + 900, "100001")]
    assert hook(kept, START, START + 901) == []
    # A third read within the same minute overdraws the bucket.
    assert hook([*kept[:2], read(START + 2, "100001")], START, START + 60) != []
    # Any rate-limit answer is a violation too.
    refused = [read(START, "100002", 429, "rate limiting")]
    assert hook(refused, START, START + 60) == ["1 rate-limit answers from the simulator"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["goe"], "give --demo or at least one --charger"),
        (["goe", "--demo", "--charger", f"{DEMO_IDLE_SERIAL}:{DEMO_IDLE_TOKEN}"], "more than once"),
        (["goe", "--demo", "--charger", f"{SPARE_SERIAL}:{SPARE_TOKEN}"], "more than once"),
        (["goe", "--demo", "--charger", f"101000:{SPARE_TOKEN}"], "more than once"),
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
