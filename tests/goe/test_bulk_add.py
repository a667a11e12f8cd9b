"""Adding a list of go-e chargers at once: pasted lines or an uploaded CSV, up to a thousand."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
import logging
from pathlib import Path
import threading
import time
from typing import Any
from unittest.mock import patch
from uuid import uuid4

from homeassistant.config_entries import SOURCE_USER, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_charge_control.api.goe import GoeClient, GoeStatus
from custom_components.ev_charge_control.vendors.goe.budget import (
    STATUS_BURST,
    async_get_goe_budget,
)
from custom_components.ev_charge_control.vendors.goe.bulk import read_chargers
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    SUBENTRY_CHARGER,
)
from custom_components.ev_charge_control.vendors.goe.descriptions import ENABLED_PER_CHARGER
from custom_components.ev_charge_control.vendors.goe.flow import (
    BULK_PARALLEL_READS,
    MAX_BULK_LINES,
)
from simulators.goe import GoeSimulator
from tests.conftest import secret, setup_entry
from tests.flow import placeholders_in
from tests.goe import flows
from tests.goe.fixtures import GOE_OTHER_TOKEN, GOE_SERIAL, GOE_TOKEN, goe_fleet_entry
from tests.goe.flows import CHARGER_STRINGS, start_charger_flow, submit_charger

goe_cloud = flows.goe_cloud

FILE_ID = uuid4().hex
FLOW = "custom_components.ev_charge_control.vendors.goe.flow"
UPLOAD = f"{FLOW}.process_uploaded_file"


def token(number: int) -> str:
    """Return the grid token of the charger ``number`` of a made-up fleet (32 characters)."""
    return f"Tok{number:029d}"


def serial(number: int) -> str:
    """Return the serial of the charger ``number`` of a made-up fleet."""
    return f"{200000 + number:06d}"


A, B, C = serial(1), serial(2), serial(3)
A_TOKEN, B_TOKEN, C_TOKEN = (secret(token(n)) for n in (1, 2, 3))


@pytest.fixture
def entry(hass: HomeAssistant, goe_sim: GoeSimulator) -> MockConfigEntry:
    """Return a go-e entry at the simulator with the charger 000123; A, B and C exist too."""
    for number in (1, 2, 3):
        goe_sim.add_charger(serial(number), token(number), car_connected=True)
    entry = goe_fleet_entry(goe_sim.base_url, (GOE_SERIAL, GOE_TOKEN))
    entry.add_to_hass(hass)
    return entry


async def bulk(
    hass: HomeAssistant, entry: MockConfigEntry, **user_input: Any
) -> SubentryFlowResult:
    """Open Add charger > list and submit it."""
    return await submit_charger(hass, await start_charger_flow(hass, entry, "bulk"), **user_input)


def assert_done(result: SubentryFlowResult, **expected: str) -> dict[str, str]:
    """Check the list was taken; return the result's placeholders, each one filled in."""
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bulk_done"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders_in(CHARGER_STRINGS["abort"]["bulk_done"]) == set(placeholders)
    for key, value in expected.items():
        assert placeholders[key] == value, key
    return placeholders


def chargers(entry: MockConfigEntry) -> dict[str, dict[str, Any]]:
    """Return the entry's chargers by serial: their data and title."""
    return {
        subentry.unique_id or "": {**subentry.data, "title": subentry.title}
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_CHARGER
    }


NOTHING = {
    "unchecked": "-",
    "configured": "-",
    "duplicate": "-",
    "invalid_auth": "-",
    "cannot_connect": "-",
    "unknown": "-",
    "full": "-",
}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_good_lines_are_added(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """Semicolons or commas, a header, names, comments and blank lines: each charger added."""
    result = await start_charger_flow(hass, entry, "bulk")
    assert [str(field) for field in result["data_schema"].schema] == ["lines", "file"]
    lines = "\n".join(
        [
            "Serial;Grid token;Name",
            f"{A};{A_TOKEN};Garage",
            "",
            "# the depot",
            f" {int(B)} , {B_TOKEN[:16]} {B_TOKEN[16:]} , ",
            f'{C}\t{C_TOKEN}\t"Depot, left"',
        ]
    )
    result = await submit_charger(hass, result, lines=lines)
    assert_done(result, added="3", total="3", **NOTHING)
    assert chargers(entry) == {
        GOE_SERIAL: {CONF_SERIAL: GOE_SERIAL, CONF_GRID_TOKEN: GOE_TOKEN, "title": "go-e 000123"},
        A: {CONF_SERIAL: A, CONF_GRID_TOKEN: A_TOKEN, CONF_NAME: "Garage", "title": "Garage"},
        B: {CONF_SERIAL: B, CONF_GRID_TOKEN: B_TOKEN, "title": f"go-e {B}"},
        C: {
            CONF_SERIAL: C,
            CONF_GRID_TOKEN: C_TOKEN,
            CONF_NAME: "Depot, left",
            "title": "Depot, left",
        },
    }
    # One validating read per new charger, nothing else.
    assert sorted(r.serial for r in goe_sim.status_requests()) == [A, B, C]
    assert goe_sim.command_requests() == []


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_malformed_line_adds_nothing_and_names_the_lines(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """Every line is checked before any request: a typo sends the list back, lines named.

    What was pasted stays in the form, to be fixed and sent again.
    """
    lines = "\n".join(
        [
            f"{A};{A_TOKEN}",
            f"12345a;{B_TOKEN}",
            f"{C};{C_TOKEN[:-1]}",
            f"{C}",
            "1234567;short",
            f"{C};{C_TOKEN};name;extra",
        ]
    )
    result = await start_charger_flow(hass, entry, "bulk")
    result = await submit_charger(hass, result, lines=lines)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "bulk_malformed"}
    placeholders = result["description_placeholders"]
    assert placeholders["count"] == "5"
    assert placeholders["invalid_serial"] == "2, 5"
    assert placeholders["invalid_grid_token"] == "3, 5"
    assert placeholders["invalid_fields"] == "4, 6"
    assert flows.suggested_lines(result) == lines
    assert goe_sim.requests == []
    assert list(chargers(entry)) == [GOE_SERIAL]
    # No token in what the form says back.
    assert not any(t in str(placeholders) for t in (A_TOKEN, B_TOKEN, C_TOKEN))

    fixed = "\n".join([f"{A};{A_TOKEN}", f"{B};{B_TOKEN}", f"{C};{C_TOKEN}"])
    result = await submit_charger(hass, result, lines=fixed)
    assert_done(result, added="3", total="3")


@pytest.mark.usefixtures("mock_setup_entry")
async def test_an_empty_list_is_refused(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """A list of nothing (or of comments only) says so; the form stays open."""
    result = await start_charger_flow(hass, entry, "bulk")
    for user_input in ({}, {"lines": "# nothing yet\n\n"}, {"lines": "serial;token;name"}):
        result = await submit_charger(hass, result, **user_input)
        assert result["errors"] == {"base": "bulk_empty"}
    assert goe_sim.requests == []


@pytest.mark.usefixtures("mock_setup_entry")
async def test_too_long_a_list_is_refused(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """More chargers than a list may hold: nothing is read, the form says the limit."""
    lines = "\n".join(f"{serial(n)};{token(n)}" for n in range(MAX_BULK_LINES + 1))
    result = await bulk(hass, entry, lines=lines)
    assert result["errors"] == {"base": "bulk_too_many"}
    assert result["description_placeholders"]["max"] == str(MAX_BULK_LINES)
    assert goe_sim.requests == []


@pytest.mark.usefixtures("mock_setup_entry")
async def test_duplicates_and_configured_chargers_are_reported_not_added(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """A charger twice in the list is added once; one set up already (here or in another
    go-e entry) is not added again nor read."""
    other = goe_fleet_entry("http://127.0.0.1:9", (C, C_TOKEN))
    other.add_to_hass(hass)
    lines = "\n".join(
        [f"{A};{A_TOKEN}", f"{GOE_SERIAL};{GOE_TOKEN}", f"{int(A)};{A_TOKEN}", f"{C};{C_TOKEN}"]
    )
    result = await bulk(hass, entry, lines=lines)
    assert_done(
        result,
        added="1",
        total="4",
        configured=f"2 ({GOE_SERIAL}), 4 ({C})",
        duplicate=f"3 ({A})",
    )
    assert sorted(chargers(entry)) == [GOE_SERIAL, A]
    assert [r.serial for r in goe_sim.status_requests()] == [A]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_chargers_beyond_home_assistants_entity_limit_are_not_added_nor_read(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """Home Assistant adds at most 10,000 enabled entities to an entry (here: room for three
    chargers of 9). The lines beyond are reported, not read; a full entry says so at once."""
    with patch(f"{FLOW}.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", 3 * ENABLED_PER_CHARGER):
        lines = "\n".join([f"{A};{A_TOKEN}", f"{B};{B_TOKEN}", f"{C};{C_TOKEN}"])
        result = await bulk(hass, entry, lines=lines)
        assert_done(result, added="2", total="3", full=f"3 ({C})")
        assert sorted(chargers(entry)) == sorted([GOE_SERIAL, A, B])
        assert sorted(r.serial for r in goe_sim.status_requests()) == [A, B]

        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "entry_full"
        assert result["description_placeholders"] == {
            "chargers": "3",
            "max": str(3 * ENABLED_PER_CHARGER),
        }


@pytest.mark.usefixtures("mock_setup_entry")
async def test_refused_unreachable_and_unchecked_lines(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """Each charger's own read decides: refused and unreachable are reported and left out;
    one whose budget is spent is added unchecked (its first read checks the token)."""
    budget = await async_get_goe_budget(hass, C)
    for _ in range(STATUS_BURST):
        assert await budget.async_take_read(time.time())
    goe_sim.inject_fault("http_500", serial=B)
    lines = "\n".join([f"{A};{GOE_OTHER_TOKEN}", f"{B};{B_TOKEN}", f"{C};{C_TOKEN}"])
    result = await bulk(hass, entry, lines=lines)
    assert_done(
        result,
        added="1",
        total="3",
        invalid_auth=f"1 ({A})",
        cannot_connect=f"2 ({B})",
        unchecked=f"3 ({C})",
        unknown="-",
    )
    assert sorted(chargers(entry)) == [GOE_SERIAL, C]
    assert sorted(r.serial for r in goe_sim.status_requests()) == [A, B]

    # The lines left out can be sent again: only they are read.
    result = await bulk(hass, entry, lines=f"{A};{A_TOKEN}\n{B};{B_TOKEN}\n{C};{C_TOKEN}")
    assert_done(result, added="2", total="3", configured=f"3 ({C})")
    assert sorted(chargers(entry)) == [GOE_SERIAL, A, B, C]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_an_unexpected_error_leaves_that_charger_out(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """A bug while reading one charger is reported for its line; the others are added."""
    original = GoeClient.status

    async def status(client: GoeClient, **kwargs: Any) -> GoeStatus:
        if client.serial == B:
            raise RuntimeError("boom")
        return await original(client, **kwargs)

    with patch.object(GoeClient, "status", status):
        result = await bulk(hass, entry, lines=f"{A};{A_TOKEN}\n{B};{B_TOKEN}")
    assert_done(result, added="1", total="2", unknown=f"2 ({B})")
    assert sorted(chargers(entry)) == [GOE_SERIAL, A]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_the_result_of_a_long_list_stays_readable(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """Hundreds of lines of one kind: the first ones named, then how many more."""
    lines = "\n".join([f"{GOE_SERIAL};{GOE_TOKEN}"] * 50 + [f"{A};{A_TOKEN}"] * 50)
    placeholders = assert_done(await bulk(hass, entry, lines=lines), added="1", total="100")
    assert placeholders["configured"].startswith(f"1 ({GOE_SERIAL}), 2 ({GOE_SERIAL}), 3 ")
    assert placeholders["configured"].endswith(f", 30 ({GOE_SERIAL}), … (+20)")
    assert placeholders["duplicate"].startswith(f"52 ({A}), 53 ({A})")
    assert placeholders["duplicate"].endswith(", … (+19)")


@contextmanager
def uploaded(path: Path) -> Iterator[None]:
    """Stand in for Home Assistant's file upload: the uploaded file is ``path``."""
    calls: list[str] = []

    @contextmanager
    def process(hass: HomeAssistant, file_id: str) -> Generator[Path]:
        # Home Assistant asks for this to run in the executor, off the event loop.
        assert hass.loop_thread_id != threading.get_ident()
        calls.append(file_id)
        yield path

    with patch(UPLOAD, process):
        yield
    assert calls == [FILE_ID]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_csv_file_is_added(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry, tmp_path: Path
) -> None:
    """An uploaded CSV (as a spreadsheet saves it) and pasted lines together; the result
    names a file's lines by the file's name and line number."""
    csv = tmp_path / "fleet.csv"
    csv.write_bytes(f"\ufeffserial,token,name\r\n{B},{B_TOKEN},Hall\r\n{A},x,\r\n".encode())
    with uploaded(csv):
        result = await bulk(hass, entry, lines=f"{C};{C_TOKEN}", file=FILE_ID)
    assert result["errors"] == {"base": "bulk_malformed"}
    assert result["description_placeholders"]["invalid_grid_token"] == "fleet.csv:3"

    # Saved in a Windows code page this time, with a name that is not ASCII.
    csv.write_bytes(f"serial;token;name\n{B};{B_TOKEN};H\xe4lle\n{C};{C_TOKEN}\n".encode("cp1252"))
    with uploaded(csv):
        result = await submit_charger(hass, result, lines=f"{C};{C_TOKEN}", file=FILE_ID)
    assert_done(result, added="2", total="3", duplicate=f"fleet.csv:3 ({C})")
    assert chargers(entry)[B]["title"] == "H\xe4lle"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_an_unreadable_file_is_said_on_the_file(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry, tmp_path: Path
) -> None:
    """An upload that is gone (or too large) is an error on the file field; nothing read."""
    await async_setup_component(hass, "file_upload", {})
    result = await bulk(hass, entry, lines=f"{A};{A_TOKEN}", file=uuid4().hex)
    assert result["errors"] == {"file": "bulk_file_unreadable"}
    big = tmp_path / "big.csv"
    big.write_text("# padding\n" * 300_000)
    with uploaded(big):
        result = await submit_charger(hass, result, lines="", file=FILE_ID)
    assert result["errors"] == {"file": "bulk_file_unreadable"}
    assert goe_sim.requests == []


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_file_uploaded_through_home_assistant(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
) -> None:
    """The whole way: the frontend uploads the file, the flow reads it and it is gone after."""
    assert await async_setup_component(hass, "file_upload", {})
    client = await hass_client()
    csv = tmp_path / "fleet.csv"
    csv.write_text(f"{A};{A_TOKEN}\n{B};{B_TOKEN}\n", encoding="utf-8")
    with csv.open("rb") as file:
        response = await client.post("/api/file_upload", data={"file": file})
    assert response.status == 200
    file_id = (await response.json())["file_id"]

    result = await bulk(hass, entry, file=file_id)
    assert_done(result, added="2", total="2")
    # Home Assistant removes the upload once read: sending it again finds nothing.
    result = await bulk(hass, entry, file=file_id)
    assert result["errors"] == {"file": "bulk_file_unreadable"}


async def test_the_running_entry_takes_the_new_chargers_in(
    hass: HomeAssistant, goe_sim: GoeSimulator, entry: MockConfigEntry
) -> None:
    """Without a reload: each added charger's entities appear, showing the flow's read."""
    await setup_entry(hass, entry)
    before = entry.runtime_data
    result = await bulk(hass, entry, lines=f"{A};{A_TOKEN};Garage\n{B};{B_TOKEN}")
    await hass.async_block_till_done()
    assert_done(result, added="2", total="2")
    assert entry.runtime_data is before
    assert hass.states.get("sensor.garage_power") is not None
    assert hass.states.get(f"sensor.go_echarger_{B}_power") is not None
    assert hass.states.get("sensor.go_echarger_000123_power").state == "11040"
    # The flow's read is each new charger's first status: one request each.
    assert len(goe_sim.status_requests(A)) == len(goe_sim.status_requests(B)) == 1


def ticker(gaps: list[float]) -> Callable[[], Awaitable[None]]:
    """Return a task body noting how long the event loop left it waiting, again and again."""

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last - 0.01)
            last = now

    return tick


@pytest.mark.real_time
@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_thousand_chargers(
    hass: HomeAssistant, goe_sim: GoeSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """1,000 pasted lines: all added, each charger read once within its budget, a few at a
    time, the event loop never held up long, and no token in the log."""
    count = 1000
    for number in range(count):
        goe_sim.add_charger(serial(number), token(number))
    entry = goe_fleet_entry(goe_sim.base_url, (GOE_SERIAL, GOE_TOKEN))
    entry.add_to_hass(hass)
    lines = "\n".join(f"{serial(n)};{token(n)}" for n in range(count))

    in_flight = peak = 0
    original = GoeClient.status

    async def status(client: GoeClient, **kwargs: Any) -> GoeStatus:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await original(client, **kwargs)
        finally:
            in_flight -= 1

    gaps: list[float] = []
    caplog.set_level(logging.DEBUG)
    watch = asyncio.get_running_loop().create_task(ticker(gaps)())
    started = time.perf_counter()
    with patch.object(GoeClient, "status", status):
        result = await bulk(hass, entry, lines=lines)
        await hass.async_block_till_done()
    took = time.perf_counter() - started
    watch.cancel()

    assert_done(result, added=str(count), total=str(count), **NOTHING)
    assert len(chargers(entry)) == count + 1
    # Each charger read within its own budget: one read each, never more than the burst.
    per_serial: dict[str | None, int] = {}
    for request in goe_sim.status_requests():
        per_serial[request.serial] = per_serial.get(request.serial, 0) + 1
    assert max(per_serial.values()) <= STATUS_BURST
    assert all(per_serial[serial(n)] == 1 for n in range(count))
    assert peak <= BULK_PARALLEL_READS
    assert max(gaps) < 0.2, f"the event loop was held up {max(gaps):.3f} s"
    assert took < 30, took
    assert not any(token(n) in caplog.text for n in range(0, count, 7))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("000123;TOKEN;Garage", ("000123", "Garage")),
        ("123,TOKEN,", ("000123", "")),
        ("123\tTOKEN", ("000123", "")),
        ('123;TOKEN;"Hall; left"', ("000123", "Hall; left")),
        ('123,TOKEN,"Hall, left"', ("000123", "Hall, left")),
        ("123;TOKEN;Garage;;", ("000123", "Garage")),
        (" 12 3 ; TOKEN ; Garage ", ("000123", "Garage")),
    ],
)
def test_a_line_is_read_as_the_single_form_reads_its_fields(
    line: str, expected: tuple[str, str]
) -> None:
    """Separators, quotes, spaces and empty columns as spreadsheets make them."""
    found = read_chargers([("", line.replace("TOKEN", GOE_TOKEN))])
    assert found.malformed_count == 0
    (charger,) = found.chargers
    assert (charger.serial, charger.name) == expected
    assert charger.token == GOE_TOKEN
    # Where it stands and its serial; never its token.
    assert str(charger) == f"1 ({expected[0]})"
    assert GOE_TOKEN not in repr(charger)


def test_only_a_first_line_may_be_a_header() -> None:
    """A header is skipped once per source; a later line like it is malformed; labels say where."""
    found = read_chargers(
        [
            ("", f"# fleet\nserial;token\n{A};{A_TOKEN}\nserial;token"),
            ("f.csv:", f"Seriennummer,Token\n{B},{B_TOKEN}"),
        ]
    )
    assert [(c.label, c.serial) for c in found.chargers] == [("3", A), ("f.csv:2", B)]
    assert found.malformed == {
        "invalid_serial": ["4"],
        "invalid_grid_token": ["4"],
        "invalid_fields": [],
    }
    assert found.malformed_count == 1
