"""What the demo sets up for every vendor of the simulators' registry, and what it prints."""

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from demo import check, run
from demo.__main__ import describe
from demo.check import vendor_checks
from demo.fleet import expected_devices
from demo.run import Demo, Device, Entity

SIMS = {"goe": "http://g", "easee": "http://e", "viriciti": "http://v"}


class FakeHass:
    """Home Assistant's REST API as the demo's set-up calls it."""

    base_url = "http://hass"

    def __init__(self) -> None:
        self.posts: list[tuple[str, object]] = []

    async def post(self, path: str, data: object) -> object:
        self.posts.append((path, data))
        return {}


def _demo(hass: FakeHass) -> Demo:
    devices = [
        Device(f"id{index}", identifier, identifier, None)
        for index, identifier in enumerate(expected_devices())
    ]
    entities = [
        Entity(f"number.{d.identifier}_{key}", f"{d.identifier}_{key}", d.id, True)
        for d in devices
        for key in ("charging_current", "dynamic_charger_current", "energy_total")
    ]
    return Demo(Path("/demo"), hass, SIMS, None, devices, entities)  # type: ignore[arg-type]


def test_entries_go_through_each_vendors_flow_against_its_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flows: list[tuple[str, dict[str, object]]] = []

    async def run_flow(_client: object, step: str, data: dict[str, object]) -> str:
        flows.append((step, data))
        return f"entry{len(flows)}"

    monkeypatch.setattr(run, "run_flow", run_flow)
    entries = asyncio.run(run.add_entries(None, SIMS))  # type: ignore[arg-type]
    assert entries == ["entry1", "entry2", "entry3", "entry4"]
    assert [step for step, _ in flows] == ["goe", "goe", "easee", "viriciti"]
    assert flows[0][1] == {
        "serial": "000001",
        "grid_token": "DemoGoeCharging00000000000000001",
        "advanced": {"base_url": "http://g"},
    }
    assert flows[2][1] == {
        "username": "demo@example.com",
        "password": "demo-password",
        "advanced": {"base_url": "http://e"},
    }
    assert flows[3][1] == {
        "api_key": "demo-viriciti-key-0123456789",
        "group_id": "Depot",
        "time_zone": "Europe/Amsterdam",
        "advanced": {"base_url": "http://v"},
    }


def test_the_example_automation_limits_every_charger_and_restores_each_vendors_value() -> None:
    hass = FakeHass()
    asyncio.run(run.add_automation(hass, _demo(hass)))  # type: ignore[arg-type]
    ((path, config),) = hass.posts
    assert path == f"/api/config/automation/config/{run.AUTOMATION_ID}"
    assert isinstance(config, dict)
    assert config["description"] == (
        "Example from scripts/demo: the evening peak. At 17:00 every charger gets 10 A; at "
        "20:00 go-e goes back to 16 A and Easee's dynamic current to 32 A. go-e sends at most "
        "one command per charger every 15 minutes; the integration queues and coalesces the rest."
    )
    (choice,) = config["actions"]
    goe = ["number.goe_000001_charging_current", "number.goe_000002_charging_current"]
    easee = [
        "number.easee_EH000001_dynamic_charger_current",
        "number.easee_EH000002_dynamic_charger_current",
    ]
    assert choice["choose"][0]["sequence"][0]["target"] == {"entity_id": goe + easee}
    assert choice["default"] == [
        {"action": "number.set_value", "target": {"entity_id": goe}, "data": {"value": 16}},
        {"action": "number.set_value", "target": {"entity_id": easee}, "data": {"value": 32}},
    ]


def test_the_demo_tells_where_each_simulator_is_and_the_go_e_slot() -> None:
    text = describe(_demo(FakeHass()))
    assert (
        "What the simulated clouds received:\n"
        "  go-e http://g/_sim/requests\n"
        "  Easee http://e/_sim/requests\n"
        "  ViriCiti http://v/_sim/requests\n"
        "Logs: /demo/logs\n"
        "\n"
        "go-e allows one command per charger every 15 minutes: a second change waits for its\n"
        "slot (the 'Command slot' and 'Pending command' sensors show it).\n"
        "\n"
        "Press Ctrl-C to stop Home Assistant and the simulators."
    ) in text


def test_the_check_runs_every_vendors_checks_in_the_registrys_order() -> None:
    names = [name for name, _ in vendor_checks(_demo(FakeHass()), None, print)]  # type: ignore[arg-type]
    assert names == ["go-e command", "Easee dynamic current", "ViriCiti group limit"]


def test_the_demo_tells_how_to_add_each_vendors_spare_with_its_address() -> None:
    """A newcomer can add a charger of every vendor: the form's labels, values and address."""
    text = describe(_demo(FakeHass()))
    assert (
        "  go-e charger 000003\n"
        "    go-e charger: Serial number 000003, Grid token DemoGoeSpare00000000000000000003, "
        "Advanced > API address http://g\n"
        "  Easee account spare@example.com (site Office, charger EH000010)\n"
        "    Easee account: User name spare@example.com, Password spare-password, "
        "Advanced > API address http://e\n"
        "  ViriCiti group Workshop\n"
        "    ViriCiti Smart Charging group: API key spare-viriciti-key-0123456789, "
        "Group ID Workshop, Group time zone Europe/Amsterdam, Advanced > API address http://v\n"
    ) in text


def test_the_check_adds_every_spare_through_the_config_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flows: list[tuple[str, dict[str, object]]] = []
    loaded: list[str] = []

    async def run_flow(_client: object, step: str, data: dict[str, object]) -> str:
        flows.append((step, data))
        return f"spare{len(flows)}"

    async def wait_loaded(_client: object, entry_ids: list[str], _check: object) -> None:
        loaded.extend(entry_ids)

    monkeypatch.setattr(check, "run_flow", run_flow)
    monkeypatch.setattr(check, "wait_loaded", wait_loaded)
    demo = _demo(FakeHass())
    demo.children = SimpleNamespace(check_alive=lambda: None)  # type: ignore[assignment]
    said: list[str] = []
    asyncio.run(check.check_spares(demo, said.append))
    assert [step for step, _ in flows] == ["goe", "easee", "viriciti"]
    assert [data["advanced"] for _, data in flows] == [
        {"base_url": url} for url in ("http://g", "http://e", "http://v")
    ]
    assert loaded == ["spare1", "spare2", "spare3"]
    assert len(said) == 3
