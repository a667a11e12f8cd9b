"""What the demo sets up for every vendor of the simulators' registry, and what it prints."""

import asyncio
import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from demo import check, fleet, run
from demo.__main__ import describe
from demo.check import vendor_checks
from demo.fleet import expected_devices
from demo.processes import DemoError
from demo.run import AddedEntry, Demo, Device, Entity
from simulators.__main__ import build_parser
from simulators.goe_vendor import VENDOR as GOE, build_simulator as build_goe_simulator

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
    entries = {
        "goe": [AddedEntry("goe-entry", "go-e chargers")],
        "easee": [AddedEntry("easee-entry", "demo@example.com")],
        "viriciti": [AddedEntry("viriciti-entry", "Depot")],
    }
    return Demo(Path("/demo"), hass, SIMS, None, devices, entities, entries)  # type: ignore[arg-type]


# The go-e subentry flow as the bulk add's contract has it: its first step a menu of "one" and
# "bulk"; its labels come to strings.json with that flow. Here they are fixed, so these tests
# show how the demo builds its text; test_strings_have_every_label_the_demo_prints checks the
# real file.
SUBENTRY_FLOW = {
    "initiate_flow": {"user": "Add charger"},
    "step": {
        "user": {
            "title": "Add go-e chargers",
            "menu_options": {"one": "Add one charger", "bulk": "Add many chargers"},
        },
        "one": {
            "title": "Add a go-e charger",
            "data": {"serial": "Serial number", "grid_token": "Grid token", "name": "Name"},
        },
        "bulk": {
            "title": "Add many go-e chargers",
            "data": {"lines": "Chargers, one a line", "file": "List file"},
        },
    },
}


@pytest.fixture
def subentry_flow_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the demo translations with the charger subentry flow of the contract."""
    translations = json.loads(fleet.TRANSLATIONS.read_text(encoding="utf-8"))
    charger = copy.deepcopy(translations["config_subentries"]["charger"])
    charger.update(SUBENTRY_FLOW)
    translations["config_subentries"]["charger"] = charger
    path = tmp_path / "en.json"
    path.write_text(json.dumps(translations), encoding="utf-8")
    monkeypatch.setattr(fleet, "TRANSLATIONS", path)


def test_entries_go_through_each_vendors_flow_against_its_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flows: list[tuple[str, dict[str, object]]] = []

    async def run_flow(_client: object, step: str, data: dict[str, object]) -> AddedEntry:
        flows.append((step, data))
        return AddedEntry(f"entry{len(flows)}", f"title{len(flows)}")

    monkeypatch.setattr(run, "run_flow", run_flow)
    entries = asyncio.run(run.add_entries(None, SIMS))  # type: ignore[arg-type]
    assert entries == {
        "goe": [AddedEntry("entry1", "title1")],
        "easee": [AddedEntry("entry2", "title2")],
        "viriciti": [AddedEntry("entry3", "title3")],
    }
    # go-e: one entry, made with the first charger and the API address.
    assert [step for step, _ in flows] == ["goe", "easee", "viriciti"]
    assert flows[0][1] == {
        "serial": "000001",
        "grid_token": "DemoGoeCharging00000000000000001",
        "advanced": {"base_url": "http://g"},
    }
    assert flows[1][1] == {
        "username": "demo@example.com",
        "password": "demo-password",
        "advanced": {"base_url": "http://e"},
    }
    assert flows[2][1] == {
        "api_key": "demo-viriciti-key-0123456789",
        "group_id": "Depot",
        "time_zone": "Europe/Amsterdam",
        "advanced": {"base_url": "http://v"},
    }


def test_the_demo_s_second_go_e_charger_is_a_subentry_of_the_first_s_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Add charger > Add one charger on the go-e entry: serial and token, no address."""
    added: list[tuple[str, str, str, dict[str, object]]] = []

    async def run_subentry_flow(
        _client: object, entry_id: str, kind: str, step: str, data: dict[str, object]
    ) -> None:
        added.append((entry_id, kind, step, data))

    monkeypatch.setattr(run, "run_subentry_flow", run_subentry_flow)
    entries = {
        "goe": [AddedEntry("goe-entry", "go-e chargers")],
        "easee": [AddedEntry("easee-entry", "x")],
        "viriciti": [AddedEntry("viriciti-entry", "y")],
    }
    count = asyncio.run(run.add_subentries(None, SIMS, entries))  # type: ignore[arg-type]
    assert count == 1
    assert added == [
        (
            "goe-entry",
            "charger",
            "one",
            {"serial": "000002", "grid_token": "DemoGoeIdle000000000000000000002"},
        )
    ]


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


@pytest.mark.usefixtures("subentry_flow_labels")
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


@pytest.mark.usefixtures("subentry_flow_labels")
def test_the_demo_tells_how_to_add_each_spare_and_the_fleet() -> None:
    """A newcomer can add a charger of every vendor and the go-e fleet: where, and what to type.

    A new entry's form gets the simulator's address; a go-e charger is added to the demo's
    go-e entry, which has it already.
    """
    text = describe(_demo(FakeHass()))
    assert (
        "  go-e charger 000003\n"
        "    Settings > Devices & services > EV Charge Control > go-e chargers > Add charger > "
        "Add one charger: Serial number 000003, Grid token DemoGoeSpare00000000000000000003\n"
        "  Easee account spare@example.com (site Office, charger EH000010)\n"
        "    Easee account: User name spare@example.com, Password spare-password, "
        "Advanced > API address http://e\n"
        "  ViriCiti group Workshop\n"
        "    ViriCiti Smart Charging group: API key spare-viriciti-key-0123456789, "
        "Group ID Workshop, Group time zone Europe/Amsterdam, Advanced > API address http://v\n"
        "  go-e fleet of 1,000 chargers, listed in /demo/config/goe-fleet.csv\n"
        "    Settings > Devices & services > EV Charge Control > go-e chargers > Add charger > "
        "Add many chargers: paste the lines of goe-fleet.csv into 'Chargers, one a line', "
        "or upload it in 'List file'\n"
    ) in text


@pytest.mark.usefixtures("subentry_flow_labels")
def test_the_text_names_the_entry_by_its_title_in_home_assistant() -> None:
    demo = _demo(FakeHass())
    demo.entries["goe"] = [AddedEntry("goe-entry", "Grid operator North")]
    text = describe(demo)
    assert "EV Charge Control > Grid operator North > Add charger > Add one charger:" in text
    assert "EV Charge Control > Grid operator North > Add charger > Add many chargers:" in text


def test_a_label_missing_from_the_translations_fails_naming_it(
    subentry_flow_labels: None,
) -> None:
    translations = json.loads(fleet.TRANSLATIONS.read_text(encoding="utf-8"))
    del translations["config_subentries"]["charger"]["step"]["user"]["menu_options"]["bulk"]
    fleet.TRANSLATIONS.write_text(json.dumps(translations), encoding="utf-8")
    with pytest.raises(
        DemoError, match=r"config_subentries\.charger\.step\.user\.menu_options\.bulk"
    ):
        describe(_demo(FakeHass()))


def test_strings_have_every_label_the_demo_prints() -> None:
    """The real translations name every button and field the demo's text points to."""
    text = describe(_demo(FakeHass()))
    assert "Add charger > " in text


def test_the_list_file_holds_the_simulator_s_fleet_one_charger_a_line(tmp_path: Path) -> None:
    """scripts/demo writes goe-fleet.csv: serial;token;name of each of the 1,000 chargers."""
    config_dir = tmp_path / "config"
    run.write_configuration(config_dir, 8999)
    lines = (config_dir / "goe-fleet.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1000
    sim = build_goe_simulator(build_parser().parse_args(["goe", "--demo"]))
    fields = [line.split(";") for line in lines]
    assert all(len(parts) == 3 for parts in fields)
    serials = [serial for serial, _token, _name in fields]
    assert len(set(serials)) == 1000
    assert {serial: sim.chargers[serial].token for serial in serials} == {
        serial: token for serial, token, _name in fields
    }
    # None of them is set up by the demo or kept as a spare.
    assert not set(serials) & {"000001", "000002", "000003"}
    assert fields[0] == ["100001", "DemoGoeFleet100001".ljust(32, "0"), "Fleet 0001"]
    assert fields[-1][0] == "101000"


def test_the_check_adds_every_spare_each_by_its_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """go-e's spare goes to the demo's go-e entry, the others are entries of their own."""
    flows: list[tuple[str, dict[str, object]]] = []
    subflows: list[tuple[str, str, str, dict[str, object]]] = []
    loaded: list[str] = []
    waited: list[set[str]] = []
    listed = {"goe-entry": [{"s1": "000001", "s2": "000002"}]}

    async def run_flow(_client: object, step: str, data: dict[str, object]) -> AddedEntry:
        flows.append((step, data))
        return AddedEntry(f"spare{len(flows)}", "title")

    async def run_subentry_flow(
        _client: object, entry_id: str, kind: str, step: str, data: dict[str, object]
    ) -> None:
        subflows.append((entry_id, kind, step, data))
        listed[entry_id].append({**listed[entry_id][-1], "s3": str(data["serial"])})

    async def subentries(_client: object, entry_id: str) -> dict[str, str]:
        return listed[entry_id][len(subflows)]

    async def wait_loaded(_client: object, entry_ids: list[str], _check: object) -> None:
        loaded.extend(entry_ids)

    async def wait_subentry_devices(
        _client: object, ids: set[str], _check: object, _seconds: float
    ) -> list[Device]:
        waited.append(set(ids))
        return []

    for name, fake in (
        ("run_flow", run_flow),
        ("run_subentry_flow", run_subentry_flow),
        ("subentries", subentries),
        ("wait_loaded", wait_loaded),
        ("wait_subentry_devices", wait_subentry_devices),
    ):
        monkeypatch.setattr(check, name, fake)
    demo = _demo(FakeHass())
    demo.children = SimpleNamespace(check_alive=lambda: None)  # type: ignore[assignment]
    said: list[str] = []
    asyncio.run(check.check_spares(demo, said.append))
    assert subflows == [
        (
            "goe-entry",
            "charger",
            "one",
            {"serial": "000003", "grid_token": "DemoGoeSpare00000000000000000003"},
        )
    ]
    assert waited == [{"s3"}]
    assert [step for step, _ in flows] == ["easee", "viriciti"]
    assert [data["advanced"] for _, data in flows] == [
        {"base_url": url} for url in ("http://e", "http://v")
    ]
    assert loaded == ["spare1", "spare2"]
    assert (
        said[0]
        == "ok: the spare go-e charger 000003 was added to 'go-e chargers' and has its device"
    )
    assert len(said) == 3


class FakeBulk:
    """The bulk add as the check meets it: the subentries before and after, their devices."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, added: int, devices: int) -> None:
        self.before = {"s1": "000001", "s2": "000002", "s3": "000003"}
        self.serials = [line.split(";")[0] for line in GOE.demo.bulk.lines]  # type: ignore[union-attr]
        self.after = self.before | {
            f"f{i}": serial for i, serial in enumerate(self.serials[:added])
        }
        self.devices = devices
        self.pasted: list[tuple[str, object]] = []
        monkeypatch.setattr(check, "run_bulk_flow", self.run_bulk_flow)
        monkeypatch.setattr(check, "subentries", self.subentries)
        monkeypatch.setattr(check, "wait_subentry_devices", self.wait_subentry_devices)

    async def run_bulk_flow(
        self, _client: object, entry_id: str, bulk: object, _check: object
    ) -> dict[str, object]:
        self.pasted.append((entry_id, bulk))
        return {"type": "abort", "reason": "bulk_done"}

    async def subentries(self, _client: object, _entry_id: str) -> dict[str, str]:
        return self.after if self.pasted else self.before

    async def wait_subentry_devices(
        self, _client: object, ids: set[str], _check: object, _seconds: float
    ) -> list[Device]:
        assert set(ids) == set(self.after) - set(self.before)
        return [
            Device(f"d{i}", f"goe_{serial}", serial, None, f"f{i}")
            for i, serial in enumerate(self.serials[: self.devices])
        ]


def _check_bulk(demo: Demo) -> list[str]:
    demo.children = SimpleNamespace(check_alive=lambda: None)  # type: ignore[assignment]
    said: list[str] = []
    asyncio.run(check.check_bulk(demo, said.append))
    return said


def test_the_check_pastes_the_fleet_into_the_go_e_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBulk(monkeypatch, added=1000, devices=1000)
    said = _check_bulk(_demo(FakeHass()))
    assert fake.pasted == [("goe-entry", GOE.demo.bulk)]
    (line,) = said
    assert line.startswith("ok: the go-e fleet of 1,000 chargers was added to 'go-e chargers'")
    assert "1000 new subentries, their 1000 devices registered" in line


def test_the_check_fails_when_a_line_made_no_subentry(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeBulk(monkeypatch, added=999, devices=999)
    with pytest.raises(DemoError, match="made 999 new subentries, not 1000 \\(1 missing\\)"):
        _check_bulk(_demo(FakeHass()))


def test_the_check_fails_when_a_charger_has_no_device(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeBulk(monkeypatch, added=1000, devices=998)
    with pytest.raises(DemoError, match="lacks 2 devices: \\['goe_100999', 'goe_101000'\\]"):
        _check_bulk(_demo(FakeHass()))


class FakeFlows:
    """Home Assistant's flow API as the demo walks it: a menu, a form, then the answers given."""

    base_url = "http://hass"

    def __init__(self, menu: list[str], *answers: dict[str, object]) -> None:
        self.menu = menu
        self.answers = list(answers)
        self.posts: list[tuple[str, object]] = []
        self.gets = 0
        self.progress: list[dict[str, object]] = []

    async def post(self, path: str, body: object, **_kwargs: object) -> object:
        self.posts.append((path, body))
        if path.endswith("/flow"):
            return {"type": "menu", "flow_id": "f1", "menu_options": self.menu, "step_id": "user"}
        assert isinstance(body, dict)
        if "next_step_id" in body:
            return {"type": "form", "flow_id": "f1", "step_id": body["next_step_id"]}
        return self.answers.pop(0)

    async def get(self, _path: str) -> object:
        self.gets += 1
        return self.progress.pop(0)


def test_a_subentry_is_added_through_the_entry_s_menu() -> None:
    client = FakeFlows(["one", "bulk"], {"type": "create_entry", "title": "go-e 000003"})
    asyncio.run(run.run_subentry_flow(client, "e1", "charger", "one", {"serial": "000003"}))  # type: ignore[arg-type]
    assert client.posts == [
        ("/api/config/config_entries/subentries/flow", {"handler": ["e1", "charger"]}),
        ("/api/config/config_entries/subentries/flow/f1", {"next_step_id": "one"}),
        ("/api/config/config_entries/subentries/flow/f1", {"serial": "000003"}),
    ]


@pytest.mark.parametrize(
    ("menu", "answer", "message"),
    [
        # Before the bulk add lands, "Add charger" opens the single charger's form at once.
        ([], {}, "offers no 'one'"),
        (["one", "bulk"], {"type": "form", "errors": {"base": "invalid_auth"}}, "invalid_auth"),
    ],
)
def test_a_subentry_flow_that_adds_nothing_fails_the_demo(
    menu: list[str], answer: dict[str, object], message: str
) -> None:
    client = FakeFlows(menu, answer)
    with pytest.raises(DemoError, match=message):
        asyncio.run(run.run_subentry_flow(client, "e1", "charger", "one", {}))  # type: ignore[arg-type]


def test_the_bulk_add_pastes_every_line_at_once() -> None:
    bulk = GOE.demo.bulk
    assert bulk is not None
    client = FakeFlows(["one", "bulk"], {"type": "abort", "reason": "bulk_done"})
    result = asyncio.run(run.run_bulk_flow(client, "e1", bulk, lambda: None))  # type: ignore[arg-type]
    assert result == {"type": "abort", "reason": "bulk_done"}
    path = "/api/config/config_entries/subentries/flow"
    assert client.posts[:2] == [
        (path, {"handler": ["e1", "charger"]}),
        (f"{path}/f1", {"next_step_id": "bulk"}),
    ]
    ((_, pasted),) = client.posts[2:]
    assert pasted == {"lines": "\n".join(bulk.lines)}
    assert len(str(pasted["lines"]).splitlines()) == 1000


def test_the_bulk_add_waits_through_a_progress_step(monkeypatch: pytest.MonkeyPatch) -> None:
    bulk = GOE.demo.bulk
    assert bulk is not None
    client = FakeFlows(
        ["one", "bulk"],
        {"type": "progress", "step_id": "bulk"},
        {"type": "abort", "reason": "bulk_done"},
    )
    client.progress = [{"type": "progress"}, {"type": "progress_done"}]

    async def no_sleep(_seconds: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    result = asyncio.run(run.run_bulk_flow(client, "e1", bulk, lambda: None))  # type: ignore[arg-type]
    assert result["reason"] == "bulk_done"
    assert client.gets == 2
    assert client.posts[-1] == ("/api/config/config_entries/subentries/flow/f1", {})


def test_a_bulk_add_that_ends_otherwise_fails_the_demo() -> None:
    bulk = GOE.demo.bulk
    assert bulk is not None
    client = FakeFlows(["one", "bulk"], {"type": "form", "errors": {"lines": "invalid_lines"}})
    with pytest.raises(DemoError, match=r"did not end with 'bulk_done'.*invalid_lines"):
        asyncio.run(run.run_bulk_flow(client, "e1", bulk, lambda: None))  # type: ignore[arg-type]


def test_the_check_counts_the_go_e_simulator_s_requests_against_the_budgets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three status reads of one charger within a minute break go-e's budget: the check fails."""
    asked: list[str] = []
    start = 1_800_000_000.0

    def read(at: float) -> dict[str, object]:
        return {
            "time": at,
            "endpoint": "api_status",
            "serial": "100001",
            "http_status": 200,
            "result": "ok",
        }

    log = [read(start + 1), read(start + 2)]

    async def sim_get(_session: object, url: str) -> object:
        asked.append(url)
        return log

    monkeypatch.setattr(check, "_sim_get", sim_get)
    monkeypatch.setattr(check.time, "time", lambda: start + 60)
    said: list[str] = []
    demo = _demo(FakeHass())
    asyncio.run(check.check_budgets(demo, None, said.append, start))  # type: ignore[arg-type]
    assert asked == ["http://g/_sim/requests"]  # the vendors that count theirs
    assert said == ["ok: go-e: 2 requests, every budget kept"]
    log.append(read(start + 3))
    with pytest.raises(
        DemoError, match=r"go-e: budgets broken: .*go-e 100001: status reads beyond"
    ):
        asyncio.run(check.check_budgets(demo, None, said.append, start))  # type: ignore[arg-type]
