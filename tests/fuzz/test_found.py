"""What the fuzzing found escaping a client or a flow, each as a plain test of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import contextlib
import datetime as dt
import json

import pytest

from custom_components.ev_charge_control.api.easee import EaseeClient, EaseeTokens
from custom_components.ev_charge_control.api.errors import ApiError
from custom_components.ev_charge_control.api.goe import GoeClient
from custom_components.ev_charge_control.api.viriciti import ViricitiClient
from custom_components.ev_charge_control.forms import async_valid_time_zone, valid_base_url
from custom_components.ev_charge_control.vendors.goe.bulk import BAD_FIELDS, read_chargers
from tests.fuzz.stand_ins import Answer, Session

NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC).timestamp()
GOE_TOKEN = "Zq7xS3cretGr1dT0kenZq7xS3cretGr1"


def goe(answer: Answer) -> GoeClient:
    return GoeClient(Session(answer), "000123", GOE_TOKEN)  # type: ignore[arg-type]


def easee(*answers: Answer) -> EaseeClient:
    return EaseeClient(
        Session(*answers),  # type: ignore[arg-type]
        "owner@example.com",
        "Ea5ee-Pa55w0rd!",
        tokens=EaseeTokens("access-token-1234", "refresh-token-1234", NOW + 86400),
        clock=lambda: NOW,
    )


def viriciti(answer: Answer) -> ViricitiClient:
    return ViricitiClient(
        Session(answer),  # type: ignore[arg-type]
        "vc-fuzz-key-7d3e9b2a61f4",
        "ViriCitiGroup",
        clock=lambda: NOW,
    )


DEEP = b"[" * 100_000
CALLS: dict[str, Callable[[Answer], Awaitable[object]]] = {
    "go-e status": lambda answer: goe(answer).status(),
    "Easee read": lambda answer: easee(answer).get_chargers(),
    "Easee write": lambda answer: easee(answer).command("EH000001", "start_charging"),
    "Easee error": lambda answer: easee(Answer(400, answer._body)).get_chargers(),
    "ViriCiti read": lambda answer: viriciti(answer).get_group(),
    "ViriCiti error": lambda answer: viriciti(Answer(500, answer._body)).get_group(),
}


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_json_nested_too_deep(call: str) -> None:
    """An answer nested deeper than the JSON parser goes is an unreadable answer.

    Found: ``b"[" * 100_000`` raised RecursionError out of every client.
    """
    with contextlib.suppress(ApiError):  # a write's unreadable 2xx answer is an acceptance
        await CALLS[call](Answer(200, DEEP))


async def test_goe_current_of_a_huge_or_odd_number() -> None:
    """go-e currents and voltages that are no finite float are unknown.

    Found: ``"currents": {"phase_1": 1e400}`` (an int too large for a float) raised
    OverflowError; ``"NaN"`` and ``Infinity`` were read as currents.
    """
    body = {
        "car_state": "charging",
        "set_current": 16,
        "currents": {"phase_1": 10**400, "phase_2": "NaN", "phase_3": float("inf")},
        "voltages": {"phase_1": "-Infinity", "phase_2": 230, "phase_3": "230.5"},
    }
    status = await goe(Answer(200, json.dumps(body).encode())).status()
    assert status.currents == (None, None, None)
    assert status.voltages == (None, 230.0, 230.5)


@pytest.mark.parametrize("pulse", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_easee_time_beyond_the_calendar_in_utc(pulse: str) -> None:
    """An Easee time that is no time in UTC is unknown.

    Found: ``"latestPulse": "0001-01-01T00:00:00+01:00"`` raised OverflowError.
    """
    body = json.dumps({"chargerOpMode": 3, "latestPulse": pulse}).encode()
    state = await easee(Answer(200, body)).get_state("EH000001")
    assert state.latest_pulse is None
    assert state.op_mode == 3


async def test_easee_huge_number() -> None:
    """A number too large for a float is unknown, not a crash (every Easee float field)."""
    body = json.dumps({"chargerOpMode": 3, "totalPower": 10**400}).encode()
    state = await easee(Answer(200, body)).get_state("EH000001")
    assert state.total_power is None


def test_goe_list_line_longer_than_the_csv_reader_takes() -> None:
    """A pasted line with a field beyond the CSV reader's limit is a line of the wrong shape.

    Found: a 200,000-character field raised ``_csv.Error`` out of the bulk step (the form
    crashed with "Unknown error" instead of naming the line).
    """
    chargers = read_chargers([("", f"000456;{GOE_TOKEN}\n" + "x" * 200_000 + ";y\n")])
    assert [line.serial for line in chargers.chargers] == ["000456"]
    assert chargers.malformed[BAD_FIELDS] == ["2"]


@pytest.mark.parametrize(
    "address",
    ["https://exa mple.com", "http://a\x00b", "http://%41.com", "http://a:99999", "http://[::1"],
)
def test_no_api_address_with_a_host_no_resolver_takes(address: str) -> None:
    """An API address whose host has spaces, NULs or escapes, or a port beyond 65535, is none.

    Found: ``https://exa mple.com`` was saved by the go-e entry's Reconfigure (which sends no
    request), and every read of every charger failed from then on.
    """
    assert valid_base_url(address) is None


@pytest.mark.parametrize(
    ("address", "taken"),
    [
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("https://sdk.viriciti.com/", "https://sdk.viriciti.com"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("http://go_e-sim.local.", "http://go_e-sim.local."),
        ("https://bücher.de", "https://xn--bcher-kva.de"),
    ],
)
def test_api_addresses_still_taken(address: str, taken: str) -> None:
    """Names, IP addresses (v4 and v6) and international names are addresses."""
    assert valid_base_url(address) == taken


@pytest.mark.parametrize("name", ["../x", "/etc/localtime", "Europe/../UTC", "a\x00b", "x" * 300])
async def test_time_zone_that_is_no_zone_file_name(name: str) -> None:
    """A time zone that is no relative file name, or too long a one, is no time zone.

    Found: ``../x`` raised ValueError and 300 letters OSError (file name too long) out of
    the ViriCiti forms (the entry, "Add group" and the group's Reconfigure).
    """
    assert not await async_valid_time_zone(name)
