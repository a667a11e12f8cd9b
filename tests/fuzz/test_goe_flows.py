"""The go-e flows fuzzed field by field: the entry, its chargers (one or a list), the token fixes.

Each submission ends in a translated form error, a translated abort or a valid entry, charger
or token; the input Home Assistant's own schema refuses changes nothing. A field the flow
refuses itself (a serial, a grid token, an address, a list's line) sends no request to go-e,
and a list the flow takes reads each new charger once at most.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch
from uuid import uuid4

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from hypothesis import given, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, DOMAIN
from custom_components.ev_charge_control.forms import ADVANCED
from custom_components.ev_charge_control.issues import issue_id
from custom_components.ev_charge_control.vendors.goe.bulk import (
    BAD_FIELDS,
    BAD_SERIAL,
    BAD_TOKEN,
    NONE,
    read_chargers,
)
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    SUBENTRY_CHARGER,
    VENDOR_GOE,
)
from simulators.goe import GoeSimulator
from tests.clock import freeze_at
from tests.flow import placeholders_in, start_vendor_flow
from tests.fuzz.flows import refused_by_schema, submit, translated
from tests.fuzz.strategies import FUZZ, FUZZ_HA, OMIT, TRICKY_STRINGS, field_values, form, junk_text
from tests.goe import fixtures as goe_fixtures
from tests.goe.conftest import START
from tests.goe.fixtures import GOE_OTHER_TOKEN, GOE_SERIAL, GOE_TOKEN
from tests.goe.flows import CHARGER_STRINGS, FIX_STRINGS, STRINGS

goe_sim = goe_fixtures.goe_sim
goe_entry = goe_fixtures.goe_entry

FLOW = "custom_components.ev_charge_control.vendors.goe.flow"
SECOND = "000456"  # a charger of the simulator the entry does not have yet
UNKNOWN = "000789"  # a serial go-e does not know
WRONG_TOKEN = "A" * 32  # the shape of a token, not the charger's
SERIAL_SHAPE = re.compile(r"[0-9]{6}")
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9]{32}")


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> None:
    """Freeze time before Home Assistant starts."""
    freeze_at(request, START)


@pytest.fixture(autouse=True)
def second_charger(goe_sim: GoeSimulator) -> Generator[None]:
    """Give the simulator a second charger; make it the go-e cloud a form offers."""
    goe_sim.add_charger(SECOND, GOE_OTHER_TOKEN, car_connected=True)
    with patch(f"{FLOW}.DEFAULT_BASE_URL", goe_sim.base_url):
        yield


@pytest.fixture
def added(
    hass: HomeAssistant, goe_entry: MockConfigEntry, mock_setup_entry: Any
) -> MockConfigEntry:
    """Return the go-e entry (one charger, 000123) added to Home Assistant, not set up."""
    goe_entry.add_to_hass(hass)
    return goe_entry


def next_example(freezer: FrozenDateTimeFactory) -> None:
    """Let go-e's budgets fill up again: each example may spend a charger's validating read."""
    freezer.tick(timedelta(hours=1))


serials = st.one_of(
    st.sampled_from(["", " ", "0", "456", " 000 456 ", "0000456", "1234567", "٤٥٦", "45.6", "-1"]),
    st.from_regex(r"\A[0-9 ]{0,9}\Z"),
    junk_text,
)
tokens = st.one_of(
    st.sampled_from(
        [
            "",
            f" {GOE_OTHER_TOKEN} ",
            GOE_OTHER_TOKEN[:-1],
            GOE_OTHER_TOKEN + "0",
            "é" * 32,
            "٣" * 32,
            GOE_OTHER_TOKEN.replace("0", "\u200b0"),
        ]
    ),
    st.from_regex(r"\A[A-Za-z0-9 ]{30,34}\Z"),
    junk_text,
)
names = st.one_of(st.sampled_from(["", " ", "\n", "x" * 5000]), junk_text)
base_urls = st.one_of(
    st.sampled_from(
        ["", " ", "ftp://example.com", "http://", "https://exa mple.com", "//x", "http://[::1"]
    ),
    junk_text,
)


def charger_fields(*, url: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Return a charger form's input: valid, but for a field (odd, junk or missing)."""
    valid: dict[str, st.SearchStrategy[Any]] = {
        CONF_SERIAL: st.sampled_from([SECOND, "456", UNKNOWN]),
        CONF_GRID_TOKEN: st.sampled_from([GOE_OTHER_TOKEN, WRONG_TOKEN]),
        CONF_NAME: st.one_of(st.just(OMIT), names),
    }
    odd: dict[str, st.SearchStrategy[Any]] = {
        CONF_SERIAL: serials,
        CONF_GRID_TOKEN: tokens,
        CONF_NAME: names,
    }
    if url is not None:
        valid[ADVANCED] = st.just({CONF_BASE_URL: url})
        odd[ADVANCED] = st.one_of(
            st.fixed_dictionaries({CONF_BASE_URL: base_urls}), st.just({}), field_values
        )
    return form(valid, odd, extra=True)


def sent(sim: GoeSimulator) -> Callable[[], int]:
    """Return what counts the requests go-e's simulator has had."""
    return lambda: len(sim.requests)


def assert_charger(data: Any, title: str) -> None:
    """A charger that was added has a serial and a token of go-e's shape, and a title."""
    assert SERIAL_SHAPE.fullmatch(data[CONF_SERIAL]), data[CONF_SERIAL]
    assert TOKEN_SHAPE.fullmatch(data[CONF_GRID_TOKEN])
    assert title.strip()
    assert data.get(CONF_NAME, "x") == str(data.get(CONF_NAME, "x")).strip()


@FUZZ_HA
@given(data=st.data())
async def test_add_entry(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    mock_setup_entry: Any,
    freezer: FrozenDateTimeFactory,
    data: st.DataObject,
) -> None:
    """The first form of a go-e entry: its first charger and the address of the API."""
    next_example(freezer)
    result = await start_vendor_flow(hass, VENDOR_GOE, STRINGS)
    requests = len(goe_sim.requests)
    user_input = data.draw(charger_fields(url=goe_sim.base_url))
    result = await submit(
        hass.config_entries.flow,
        result["flow_id"],
        user_input,
        STRINGS,
        sent(goe_sim),
        lambda: not hass.config_entries.async_entries(DOMAIN),
    )
    if result is None:
        return
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert len(goe_sim.requests) <= requests + 1
    entry = result["result"]
    assert entry.data[CONF_BASE_URL] == goe_sim.base_url
    (subentry,) = entry.subentries.values()
    assert_charger(subentry.data, subentry.title)
    # The next example starts without it (or its serial would be taken).
    await hass.config_entries.async_remove(entry.entry_id)


@FUZZ_HA
@given(data=st.data())
async def test_reconfigure_entry(
    hass: HomeAssistant, goe_sim: GoeSimulator, added: MockConfigEntry, data: st.DataObject
) -> None:
    """The entry's Reconfigure: the address of the API, nothing else."""
    user_input = data.draw(
        form(
            {ADVANCED: st.just({CONF_BASE_URL: goe_sim.base_url + "/"})},
            {ADVANCED: st.fixed_dictionaries({CONF_BASE_URL: base_urls})},
            extra=True,
        )
    )
    before = dict(added.data)
    requests = len(goe_sim.requests)
    result = await added.start_reconfigure_flow(hass)
    result = await submit(
        hass.config_entries.flow,
        result["flow_id"],
        user_input,
        STRINGS,
        sent(goe_sim),
        # Nothing of it is go-e's to check.
        lambda: dict(added.data) == before and len(goe_sim.requests) == requests,
    )
    if result is None:
        return
    assert len(goe_sim.requests) == requests
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert added.data[CONF_BASE_URL] == goe_sim.base_url


async def start_charger_flow(hass: HomeAssistant, entry: MockConfigEntry, option: str) -> Any:
    """Open the entry's "Add charger" and pick ``option`` in its menu."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": option}
    )


def drop_new_chargers(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Remove the chargers an example added: the next example finds the entry as it was."""
    for subentry in list(entry.subentries.values()):
        if subentry.unique_id != GOE_SERIAL:
            hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)


@FUZZ_HA
@given(data=st.data())
async def test_add_one_charger(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    added: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    data: st.DataObject,
) -> None:
    """Add charger > one: a serial, a grid token and a name."""
    next_example(freezer)
    user_input = data.draw(charger_fields())
    result = await start_charger_flow(hass, added, "one")
    requests = len(goe_sim.requests)
    result = await submit(
        hass.config_entries.subentries,
        result["flow_id"],
        user_input,
        CHARGER_STRINGS,
        sent(goe_sim),
        lambda: len(added.subentries) == 1,
    )
    if result is None:
        return
    if result["type"] is FlowResultType.ABORT:
        assert result["reason"] == "already_configured"
        assert len(goe_sim.requests) == requests
        return
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(goe_sim.requests) <= requests + 1
    (subentry,) = (s for s in added.subentries.values() if s.unique_id != GOE_SERIAL)
    assert_charger(subentry.data, subentry.title)
    drop_new_chargers(hass, added)


# The lines of a list: chargers as a spreadsheet writes them, and anything else.
line_fields = st.one_of(
    st.sampled_from([SECOND, "456", UNKNOWN, GOE_SERIAL, GOE_OTHER_TOKEN, WRONG_TOKEN, "", " "]),
    st.sampled_from(TRICKY_STRINGS),
    serials,
    tokens,
    names,
    st.sampled_from(['"', '"456', 'x"y', '"a;b"', '"";"', "\\"]),
)
separators = st.sampled_from([";", ",", "\t", " ; ", ";;", ""])
charger_lines = st.one_of(
    st.builds(
        lambda serial, token, name, sep: sep.join([serial, token, *name]),
        st.sampled_from([SECOND, "456", UNKNOWN, GOE_SERIAL]),
        st.sampled_from([GOE_OTHER_TOKEN, WRONG_TOKEN]),
        st.lists(names, max_size=1),
        st.sampled_from([";", ",", "\t"]),
    ),
    st.builds(lambda fields, sep: sep.join(fields), st.lists(line_fields, max_size=5), separators),
    st.sampled_from(["", "# a comment", "serial;token;name", "\ufeffserial,token", "\x00"]),
    st.text(max_size=40),
)
line_ends = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x1c", "\x85", "\u2028"])


@st.composite
def charger_lists(draw: st.DrawFn) -> str:
    """Return a pasted list: lines of chargers, headers, comments and junk, any line ends."""
    lines = draw(st.lists(charger_lines, max_size=8))
    return "".join(line + draw(line_ends) for line in lines)


@FUZZ
@given(pasted=charger_lists(), uploaded=st.one_of(st.none(), charger_lists()))
def test_read_chargers_takes_any_text(pasted: str, uploaded: str | None) -> None:
    """Any text is a list of chargers of go-e's shape, or lines named by a translated reason."""
    sources = [("", pasted)] + ([] if uploaded is None else [("list.csv:", uploaded)])
    chargers = read_chargers(sources)
    text = CHARGER_STRINGS["step"]["bulk"]["description"]
    error = CHARGER_STRINGS["error"]["bulk_malformed"]
    labels = {f"{prefix}{n}" for prefix, text in sources for n in range(1, len(text) + 2)}
    # Each reason is a placeholder of the error the form shows.
    assert set(chargers.malformed) == {BAD_SERIAL, BAD_TOKEN, BAD_FIELDS}
    assert set(chargers.malformed) <= placeholders_in(error)
    for reason, found in chargers.malformed.items():
        assert set(found) <= labels, reason
    assert text
    for line in chargers.chargers:
        assert SERIAL_SHAPE.fullmatch(line.serial)
        assert TOKEN_SHAPE.fullmatch(line.token)
        assert line.label in labels
        assert line.token not in str(line)
    named = {label for found in chargers.malformed.values() for label in found}
    assert not named & {line.label for line in chargers.chargers}
    assert chargers.malformed_count == len(named)


@contextmanager
def upload(content: bytes | None, tmp_path: Path) -> Iterator[None]:
    """Stand in for Home Assistant's file upload: a file of ``content``, or none (None)."""

    @contextmanager
    def process(hass: HomeAssistant, file_id: str) -> Generator[Path]:
        if content is None:
            raise ValueError("File does not exist")
        path = tmp_path / "list.csv"
        path.write_bytes(content)
        yield path

    with patch(f"{FLOW}.process_uploaded_file", process):
        yield


files = st.one_of(
    st.none(),
    st.builds(lambda text: text.encode(), charger_lists()),
    st.builds(lambda text: text.encode("cp1252", errors="replace"), charger_lists()),
    st.builds(lambda text: b"\xef\xbb\xbf" + text.encode(), charger_lists()),
    st.binary(max_size=60),
)


@FUZZ_HA
@given(data=st.data())
async def test_add_a_list(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    added: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    tmp_path: Path,
    data: st.DataObject,
) -> None:
    """Add charger > list: pasted lines, an uploaded file (of any bytes, or gone), or both."""
    next_example(freezer)
    user_input = data.draw(
        form(
            {"lines": st.one_of(charger_lists(), st.just(OMIT)), "file": st.just(OMIT)},
            {"lines": charger_lists(), "file": st.builds(lambda: uuid4().hex)},
        )
    )
    content = data.draw(files)
    result = await start_charger_flow(hass, added, "bulk")
    requests = len(goe_sim.requests)
    try:
        with upload(content, tmp_path):
            result = await hass.config_entries.subentries.async_configure(
                result["flow_id"], user_input
            )
    except InvalidData:
        refused_by_schema()
        assert len(goe_sim.requests) == requests
        assert len(added.subentries) == 1
        return
    translated(result, CHARGER_STRINGS)
    new = len(added.subentries) - 1
    if result["type"] is FlowResultType.FORM:
        # The list is refused as a whole: nothing read, nothing added.
        assert set(result["errors"].values()) <= {
            "bulk_malformed",
            "bulk_empty",
            "bulk_too_many",
            "bulk_file_unreadable",
        }
        assert result["errors"]
        assert len(goe_sim.requests) == requests
        assert new == 0
        hass.config_entries.subentries.async_abort(result["flow_id"])
        return
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bulk_done"
    placeholders = result["description_placeholders"]
    assert placeholders["unknown"] == NONE, "the flow met an exception (see the log)"
    assert int(placeholders["added"]) == new
    # One read at most per charger go-e does not know yet: SECOND and UNKNOWN.
    assert len(goe_sim.requests) <= requests + 2
    for subentry in added.subentries.values():
        assert_charger(subentry.data, subentry.title)
    drop_new_chargers(hass, added)


def new_tokens() -> st.SearchStrategy[dict[str, Any]]:
    """Return a token form's input: valid, but for the token (odd, junk or missing)."""
    return form(
        {CONF_GRID_TOKEN: st.sampled_from([GOE_TOKEN, f" {GOE_TOKEN} ", WRONG_TOKEN])},
        {CONF_GRID_TOKEN: tokens},
        extra=True,
    )


def charger_of(entry: MockConfigEntry) -> Any:
    (subentry,) = entry.subentries.values()
    return subentry


@FUZZ_HA
@given(data=st.data())
async def test_reconfigure_charger(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    added: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    data: st.DataObject,
) -> None:
    """A charger's Reconfigure: its new grid token, checked with one read."""
    next_example(freezer)
    user_input = data.draw(new_tokens())
    subentry = charger_of(added)
    result = await hass.config_entries.subentries.async_init(
        (added.entry_id, SUBENTRY_CHARGER),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id},
    )
    requests = len(goe_sim.requests)
    result = await submit(
        hass.config_entries.subentries,
        result["flow_id"],
        user_input,
        CHARGER_STRINGS,
        sent(goe_sim),
        lambda: charger_of(added).data == subentry.data,
    )
    if result is None:
        return
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert len(goe_sim.requests) == requests + 1
    assert charger_of(added).data[CONF_GRID_TOKEN] == GOE_TOKEN


@FUZZ_HA
@given(data=st.data())
async def test_fix_a_refused_token(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    added: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    data: st.DataObject,
) -> None:
    """The repair of a refused grid token: the charger's new token, checked with one read."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert await async_setup_component(hass, "repairs", {})
    next_example(freezer)
    user_input = data.draw(new_tokens())
    subentry = charger_of(added)
    issue = issue_id("goe_token_refused", added, subentry.subentry_id)
    # As the charger's coordinator raises it when go-e refuses the token.
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue,
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="goe_token_refused",
        data={"entry_id": added.entry_id, "subentry_id": subentry.subentry_id},
    )
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, data={"issue_id": issue})
    assert result["step_id"] == "token"
    requests = len(goe_sim.requests)
    result = await submit(
        manager,
        result["flow_id"],
        user_input,
        FIX_STRINGS,
        sent(goe_sim),
        lambda: charger_of(added).data == subentry.data,
    )
    if result is None:
        return
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(goe_sim.requests) == requests + 1
    assert charger_of(added).data[CONF_GRID_TOKEN] == GOE_TOKEN
