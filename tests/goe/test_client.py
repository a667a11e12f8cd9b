"""The go-e client over real HTTP against the simulator: parsing, errors and secrecy."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from custom_components.ev_charge_control.api.errors import (
    ApiError,
    AuthenticationError,
    ChargerUnreachableError,
    CommandRefusedError,
    EvChargeControlError,
    NotSentError,
    RateLimitedError,
)
from custom_components.ev_charge_control.api.goe import (
    GoeClient,
    GoeStatus,
    is_valid_grid_token,
    normalize_serial,
)
from custom_components.ev_charge_control.session import async_get_session
from simulators.goe import GoeSimulator
from tests.goe.fixtures import GOE_OTHER_TOKEN, GOE_SERIAL, GOE_TOKEN
from tests.leaks import assert_no_secrets, free_port

FIXTURES = Path(__file__).parents[1] / "fixtures"

# The document's own example (tests/fixtures/goe_status.json).
DOC_EXAMPLE = GoeStatus(
    serial="000000",
    data_is_live=True,
    data_age_seconds=0,
    car_state="charging",
    set_current=32,
    max_allowed_current=32,
    charging_enabled=True,
    error_state=False,
    phase_count=3,
    phase_charging=3,
    currents=(31.9, 31.8, 32.0),
    voltages=(229.9, 229.8, 230.0),
    next_charge_seconds_left=3600,
    next_charge_duration=7200,
    kwh_total=1024,
)


def load_json(name: str) -> dict[str, Any]:
    """Load a vendor JSON sample from tests/fixtures."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def assert_no_token(err: BaseException, token: str = GOE_TOKEN) -> None:
    """Fail when the token shows in the exception or anything chained to it."""
    assert_no_secrets(err, token)


@pytest.fixture
async def session(hass: HomeAssistant) -> aiohttp.ClientSession:
    """Return the integration's aiohttp session (the one that never re-sends a request)."""
    return async_get_session(hass)


@pytest.fixture
def client(goe_sim: GoeSimulator, session: aiohttp.ClientSession) -> GoeClient:
    """Return a client for the simulator's charger with the right token."""
    return GoeClient(session, GOE_SERIAL, GOE_TOKEN, base_url=goe_sim.base_url)


type Answer = Callable[[web.Request], web.StreamResponse]


@pytest.fixture
async def fake_cloud(socket_enabled: None) -> AsyncGenerator[Callable[[Answer], str]]:
    """Serve an answer the simulator never gives; return its base URL."""
    servers: list[TestServer] = []

    async def serve(answer: Answer) -> str:
        async def handler(request: web.Request) -> web.StreamResponse:
            return answer(request)

        app = web.Application()
        app.router.add_get("/{endpoint}", handler)
        server = TestServer(app, host="127.0.0.1")
        # Like the simulator, no access log: it would write the URL, token included.
        await server.start_server(access_log=None)
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield serve  # type: ignore[misc]
    for server in servers:
        await server.close()


# Reading a status


async def test_status_is_parsed_with_types(
    goe_sim: GoeSimulator, client: GoeClient, freezer: FrozenDateTimeFactory
) -> None:
    """A charging car shows up with every documented field, each of its documented type."""
    status = await client.status()
    assert status == GoeStatus(
        serial=GOE_SERIAL,
        data_is_live=True,
        data_age_seconds=0,
        car_state="charging",
        set_current=16,
        max_allowed_current=32,
        charging_enabled=True,
        error_state=False,
        phase_count=3,
        phase_charging=3,
        currents=(16.0, 16.0, 16.0),
        voltages=(230.0, 230.0, 230.0),
        next_charge_seconds_left=0,
        next_charge_duration=0,
        kwh_total=1000,
    )
    # == would also hold for 16.0 or True; the entities need the exact types.
    for name in (
        "data_age_seconds",
        "set_current",
        "max_allowed_current",
        "phase_count",
        "phase_charging",
        "next_charge_seconds_left",
        "next_charge_duration",
        "kwh_total",
    ):
        assert type(getattr(status, name)) is int, name
    for name in ("data_is_live", "charging_enabled", "error_state"):
        assert type(getattr(status, name)) is bool, name
    assert all(type(value) is float for value in (*status.currents, *status.voltages))
    [request] = goe_sim.status_requests()
    assert request.token_ok
    assert request.params == {"serial": GOE_SERIAL}


async def test_status_wait_asks_the_cloud_to_ping(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """Only a status read with wait=True asks the cloud to ping the charger first."""
    await client.status(wait=True)
    assert goe_sim.status_requests()[-1].params == {"serial": GOE_SERIAL, "wait": "1"}


async def test_status_ignores_unknown_fields(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """Fields a newer API version adds do not break reading the status."""
    before = await client.status()
    goe_sim.chargers[GOE_SERIAL].extra_fields = {
        "firmware": "60.1",
        "rssi": -70,
        "schedules": [{"from": "22:00", "to": "06:00"}],
        "currents_avg": {"phase_1": 1.0},
    }
    after = await client.status()
    assert after == before


async def test_status_accepts_uint8_booleans(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """error_state as 0/1 (its documented uint8_t type) reads as off/on, over the wire too."""
    charger = goe_sim.chargers[GOE_SERIAL]
    charger.extra_fields = {"error_state": 1, "data_is_live": 1, "charging_enabled": 0}
    status = await client.status()
    assert status.error_state is True
    assert status.data_is_live is True
    assert status.charging_enabled is False
    charger.extra_fields = {"error_state": 0}
    assert (await client.status()).error_state is False


def test_from_dict_document_example() -> None:
    """The document's own example reads as written there."""
    assert GoeStatus.from_dict(load_json("goe_status.json")) == DOC_EXAMPLE


def test_from_dict_uint8_sample() -> None:
    """A status with 0/1 instead of false/true reads as booleans."""
    data = load_json("goe_status_uint8.json")
    status = GoeStatus.from_dict(data)
    assert status.error_state is True
    assert status.data_is_live is True
    assert status.charging_enabled is True
    assert status.currents == (0.0, 0.0, 0.0)
    assert status.voltages == (231.0, 0.0, 0.0)
    assert GoeStatus.from_dict({**data, "error_state": 0}).error_state is False


def test_from_dict_sparse_sample() -> None:
    """Missing optional fields are unknown (None), never a crash or a made-up zero."""
    status = GoeStatus.from_dict(load_json("goe_status_sparse.json"))
    assert status == GoeStatus(
        serial=GOE_SERIAL,
        data_is_live=None,
        data_age_seconds=None,
        car_state="idle",
        set_current=16,
        max_allowed_current=None,
        charging_enabled=None,
        error_state=None,
        phase_count=None,
        phase_charging=None,
        currents=(0.0, None, None),
        voltages=(None, None, None),
        next_charge_seconds_left=None,
        next_charge_duration=None,
        kwh_total=None,
    )


@pytest.mark.parametrize(
    ("field", "value", "attribute", "expected"),
    [
        ("set_current", "16", "set_current", 16),
        ("set_current", 16.0, "set_current", 16),
        ("set_current", 16.5, "set_current", None),
        ("set_current", "sixteen", "set_current", None),
        ("set_current", None, "set_current", None),
        ("kwh_total", [1], "kwh_total", None),
        ("error_state", 2, "error_state", None),
        ("error_state", "true", "error_state", None),
        ("data_is_live", None, "data_is_live", None),
        ("car_state", 3, "car_state", None),
        ("serial", 123, "serial", None),
        ("currents", [1, 2, 3], "currents", (None, None, None)),
        ("voltages", {"phase_1": "230.5", "phase_2": True}, "voltages", (230.5, None, None)),
        ("next_planned_charge", 0, "next_charge_seconds_left", None),
    ],
)
def test_from_dict_malformed_values_are_unknown(
    field: str, value: object, attribute: str, expected: object
) -> None:
    """A malformed value makes that one field unknown; the rest of the status still reads."""
    status = GoeStatus.from_dict({**load_json("goe_status.json"), field: value})
    assert getattr(status, attribute) == expected
    assert status.kwh_total == (None if field == "kwh_total" else 1024)
    assert status.set_current == (expected if field == "set_current" else 32)


def test_as_dict_reads_back() -> None:
    """A status saved in the API's shape (as the cache does) reads back unchanged."""
    assert GoeStatus.from_dict(DOC_EXAMPLE.as_dict()) == DOC_EXAMPLE
    sparse = GoeStatus.from_dict(load_json("goe_status_sparse.json"))
    assert GoeStatus.from_dict(sparse.as_dict()) == sparse


# Commands


async def test_command_payload_answer(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """The documented {"success":true,"payload":…} answer carries no status."""
    assert await client.command("set_current", 10) is None
    [request] = goe_sim.command_requests()
    assert request.params == {"serial": GOE_SERIAL, "set_current": "10"}
    assert request.result == "ok"
    assert goe_sim.chargers[GOE_SERIAL].set_current == 10


async def test_command_status_answer(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """The other documented answer, the status after the command, is returned parsed."""
    goe_sim.command_answer = "status"
    status = await client.command("set_allow", 0)
    assert status is not None
    assert status.charging_enabled is False
    assert status.car_state == "wait_car"
    assert status.serial == GOE_SERIAL
    assert goe_sim.command_requests()[0].params == {"serial": GOE_SERIAL, "set_allow": "0"}


async def test_command_status_answer_current(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """A status answer to set_current shows the new current."""
    goe_sim.command_answer = "status"
    status = await client.command("set_current", 8)
    assert status is not None
    assert status.set_current == 8


# Errors


@pytest.fixture(params=[None, 200], ids=["realistic_http", "http_200"])
def error_http_status(request: pytest.FixtureRequest, goe_sim: GoeSimulator) -> int | None:
    """Answer errors with the simulator's plausible HTTP codes, or always with 200."""
    goe_sim.error_http_status = request.param
    return request.param  # type: ignore[no-any-return]


@pytest.mark.usefixtures("error_http_status")
@pytest.mark.parametrize(
    ("serial", "token"),
    [
        pytest.param(GOE_SERIAL, "", id="no_token"),
        pytest.param(GOE_SERIAL, GOE_OTHER_TOKEN, id="wrong_token"),
        pytest.param("000999", GOE_TOKEN, id="unknown_serial"),
    ],
)
async def test_refused_token_is_an_authentication_error(
    goe_sim: GoeSimulator, session: aiohttp.ClientSession, serial: str, token: str
) -> None:
    """A token the cloud refuses asks the user for a new one (AuthenticationError)."""
    client = GoeClient(session, serial, token, base_url=goe_sim.base_url)
    with pytest.raises(AuthenticationError) as status_err:
        await client.status()
    with pytest.raises(AuthenticationError):
        await client.command("set_current", 10)
    assert "token" in str(status_err.value)
    assert serial in str(status_err.value)
    assert_no_token(status_err.value, GOE_OTHER_TOKEN)
    assert_no_token(status_err.value, GOE_TOKEN)


@pytest.mark.usefixtures("error_http_status")
async def test_rate_limiting_status(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """The third status read in a row is refused by the cloud: RateLimitedError."""
    await client.status()
    await client.status()
    with pytest.raises(RateLimitedError, match="rate limiting"):
        await client.status()


@pytest.mark.usefixtures("error_http_status")
async def test_rate_limiting_command(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """A second command within 15 minutes is refused by the cloud: RateLimitedError."""
    await client.command("set_current", 10)
    with pytest.raises(RateLimitedError):
        await client.command("set_current", 12)
    assert goe_sim.chargers[GOE_SERIAL].set_current == 10


@pytest.mark.usefixtures("error_http_status")
@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("rate_limiting", RateLimitedError),
        ("error_getting_data", ChargerUnreachableError),
    ],
)
async def test_injected_cloud_errors(
    goe_sim: GoeSimulator, client: GoeClient, kind: str, error: type[Exception]
) -> None:
    """Each documented error answer maps to its own exception, for status and command."""
    goe_sim.inject_fault(kind, count=2)
    with pytest.raises(error) as status_err:
        await client.status()
    with pytest.raises(error):
        await client.command("set_current", 10)
    assert_no_token(status_err.value)


@pytest.mark.usefixtures("error_http_status")
async def test_charger_never_reported(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """A charger the cloud has no data of is unreachable, not a bad token."""
    goe_sim.chargers[GOE_SERIAL].has_reported = False
    with pytest.raises(ChargerUnreachableError, match="could not reach the charger"):
        await client.status()


@pytest.mark.usefixtures("error_http_status")
async def test_no_payload_is_a_refusal(
    goe_sim: GoeSimulator, client: GoeClient, error_http_status: int | None
) -> None:
    """'no payload' is our mistake, not the user's token: sending it again hears the same."""
    # command() refuses to send one without a parameter, so go below it to get the answer.
    with pytest.raises(CommandRefusedError) as err:
        await client._request("api_command", {}, command=True)
    assert err.value.result_code == "no payload"
    assert "'no payload'" in str(err.value)
    assert f"HTTP {error_http_status or 400}" in str(err.value)


@pytest.mark.parametrize(
    ("body", "http_status", "error"),
    [
        # An error the document does not name, in a normal answer or a 4xx: a refusal.
        pytest.param({"success": False, "error": "value out of range"}, 200, CommandRefusedError),
        pytest.param({"success": False, "error": "value out of range"}, 400, CommandRefusedError),
        pytest.param({"detail": "bad request"}, 400, CommandRefusedError, id="http_400"),
        pytest.param({"detail": "not found"}, 404, CommandRefusedError, id="http_404"),
        pytest.param(b"<html>Bad Request</html>", 422, CommandRefusedError, id="html_422"),
        # The cloud's own trouble, a timeout status or "too many": sent again later.
        pytest.param({"success": False, "error": "maintenance"}, 503, ApiError, id="503"),
        pytest.param(b"<html>oops</html>", 500, ApiError, id="html_500"),
        pytest.param({"detail": "slow down"}, 429, ApiError, id="http_429"),
        pytest.param({"detail": "timeout"}, 408, ApiError, id="http_408"),
        pytest.param({"success": False, "error": "rate limiting"}, 400, RateLimitedError),
        pytest.param(
            {"success": False, "error": "error getting data"}, 400, ChargerUnreachableError
        ),
    ],
)
async def test_a_command_refused_by_a_4xx_is_a_refusal(
    fake_cloud: Callable[[Answer], Any],
    session: aiohttp.ClientSession,
    body: object,
    http_status: int,
    error: type[Exception],
) -> None:
    """Only what asking again may change (5xx, timeouts, rate limits) is not a refusal.

    A status read answered the same way is a plain ApiError: only commands are refused.
    """

    def answer(_: web.Request) -> web.Response:
        if isinstance(body, bytes):
            return web.Response(body=body, status=http_status, content_type="text/html")
        return web.json_response(body, status=http_status)

    client = GoeClient(session, GOE_SERIAL, GOE_TOKEN, base_url=await fake_cloud(answer))
    with pytest.raises(error) as err:
        await client.command("set_current", 10)
    assert type(err.value) is error
    assert GOE_TOKEN not in str(err.value)
    with pytest.raises(EvChargeControlError) as read_err:
        await client.status()
    assert not isinstance(read_err.value, CommandRefusedError)


async def test_unknown_command_is_not_sent(goe_sim: GoeSimulator, client: GoeClient) -> None:
    """A parameter go-e does not know never reaches the cloud (nor spends its command slot)."""
    with pytest.raises(ValueError, match="set_phases"):
        await client.command("set_phases", 1)
    assert goe_sim.requests == []


@pytest.mark.parametrize("http_status", [200, 400, 503])
async def test_other_error_strings_are_api_errors(
    fake_cloud: Callable[[Answer], Any], session: aiohttp.ClientSession, http_status: int
) -> None:
    """An error string the document does not name is an ApiError that quotes it."""
    base_url = await fake_cloud(
        lambda _: web.json_response({"success": False, "error": "maintenance"}, status=http_status)
    )
    client = GoeClient(session, GOE_SERIAL, GOE_TOKEN, base_url=base_url)
    with pytest.raises(ApiError) as err:
        await client.status()
    assert type(err.value) is ApiError
    assert "'maintenance'" in str(err.value)
    assert f"HTTP {http_status}" in str(err.value)


@pytest.mark.parametrize(
    ("body", "http_status", "message"),
    [
        pytest.param({"success": False}, 200, "'unknown error'", id="error_missing"),
        pytest.param({"success": False, "error": 42}, 200, "'unknown error'", id="error_number"),
        pytest.param([1, 2], 200, "not an object", id="json_list"),
        pytest.param({"success": True}, 200, "without status fields", id="no_status"),
        pytest.param({"detail": "not found"}, 404, "HTTP 404", id="http_404"),
    ],
)
async def test_unexpected_answers_are_api_errors(
    fake_cloud: Callable[[Answer], Any],
    session: aiohttp.ClientSession,
    body: object,
    http_status: int,
    message: str,
) -> None:
    """Answers that make no sense fail with a message saying what was wrong."""
    base_url = await fake_cloud(lambda _: web.json_response(body, status=http_status))
    client = GoeClient(session, GOE_SERIAL, GOE_TOKEN, base_url=base_url)
    with pytest.raises(ApiError, match=message) as err:
        await client.status()
    assert type(err.value) is ApiError


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("http_500", r"answer is not JSON \(HTTP 500"),
        ("non_json", r"answer is not JSON \(HTTP 200"),
        ("drop", r"connection failed \(ServerDisconnectedError"),
    ],
)
async def test_broken_answers_are_api_errors(
    goe_sim: GoeSimulator, client: GoeClient, kind: str, message: str
) -> None:
    """A broken answer or a lost connection is an ApiError that says what happened."""
    goe_sim.inject_fault(kind, count=2)
    with pytest.raises(ApiError, match=message) as status_err:
        await client.status()
    with pytest.raises(ApiError, match=message):
        await client.command("set_current", 10)
    assert GOE_SERIAL in str(status_err.value)
    assert "api_status" in str(status_err.value)
    assert_no_token(status_err.value)
    # Each failure is one request: a lost answer is never re-sent behind the caller's back.
    assert [r.result for r in goe_sim.requests] == [kind, kind]


@pytest.mark.real_time
async def test_timeout_is_an_api_error(
    goe_sim: GoeSimulator, session: aiohttp.ClientSession
) -> None:
    """A cloud that does not answer in time fails the request instead of hanging."""
    client = GoeClient(
        session, GOE_SERIAL, GOE_TOKEN, base_url=goe_sim.base_url, request_timeout=0.2
    )
    goe_sim.inject_fault("delay", delay=1.0)
    with pytest.raises(ApiError, match="no answer in time") as err:
        await client.status()
    assert_no_token(err.value)


@pytest.mark.usefixtures("socket_enabled")
async def test_closed_port_is_a_request_not_sent(session: aiohttp.ClientSession) -> None:
    """Nothing listening at the address: a NotSentError (go-e saw nothing) naming the failure."""
    client = GoeClient(session, GOE_SERIAL, GOE_TOKEN, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NotSentError, match=r"no connection \(ClientConnectorError") as err:
        await client.status()
    assert_no_token(err.value)


# Secrecy


async def test_echoed_token_is_redacted(
    fake_cloud: Callable[[Answer], Any], session: aiohttp.ClientSession
) -> None:
    """An error string that quotes the token (as some clouds do) is shown redacted."""
    base_url = await fake_cloud(
        lambda request: web.json_response(
            {"success": False, "error": f"gridtoken {request.query['gridtoken']} unknown"},
            status=400,
        )
    )
    client = GoeClient(session, GOE_SERIAL, GOE_TOKEN, base_url=base_url)
    with pytest.raises(ApiError, match=r"gridtoken \*\*REDACTED\*\* unknown") as err:
        await client.status()
    assert_no_token(err.value)


async def test_redirect_is_not_followed(
    fake_cloud: Callable[[Answer], Any], session: aiohttp.ClientSession
) -> None:
    """A redirect would carry the token elsewhere: it is an error, and no trace of it remains."""
    hits: list[str] = []

    def redirect(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        raise web.HTTPFound(str(request.rel_url))

    base_url = await fake_cloud(redirect)
    client = GoeClient(session, GOE_SERIAL, GOE_TOKEN, base_url=base_url)
    with pytest.raises(ApiError, match="HTTP 302") as err:
        await client.status()
    assert hits == ["/api_status"]
    assert_no_token(err.value)


async def test_client_repr_hides_the_token(session: aiohttp.ClientSession) -> None:
    """The client's repr (shown in diagnostics) names the charger, never the token."""
    client = GoeClient(session, GOE_SERIAL, GOE_TOKEN, base_url="http://127.0.0.1:1")
    text = repr(client)
    assert GOE_TOKEN not in text
    assert GOE_SERIAL in text
    assert "http://127.0.0.1:1" in text


def test_exceptions_share_one_base() -> None:
    """Callers can catch every client failure with one except clause."""
    for error in (ApiError, AuthenticationError, ChargerUnreachableError, RateLimitedError):
        assert issubclass(error, EvChargeControlError)
    assert RateLimitedError("slow down", retry_after=60).retry_after == 60


# Input checks


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123", "000123"),
        (" 12 34 ", "001234"),
        ("000123", "000123"),
        ("123456", "123456"),
        ("0", "000000"),
        ("\t42\n", "000042"),
    ],
)
def test_normalize_serial(value: str, expected: str) -> None:
    """A serial is padded to the 6 digits the API wants; spaces are ignored."""
    assert normalize_serial(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "1234567",
        "12a",
        "",
        "   ",
        "-123",
        "12.3",
        pytest.param("\uff11\uff12\uff13", id="fullwidth_digits"),
        pytest.param("\u0661\u0662\u0663", id="arabic_indic_digits"),
    ],
)
def test_normalize_serial_refuses(value: str) -> None:
    """Anything but up to 6 ASCII digits is refused, never sent to the cloud."""
    with pytest.raises(ValueError, match="6 digits"):
        normalize_serial(value)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (GOE_TOKEN, True),
        ("A" * 32, True),
        ("0" * 32, True),
        (GOE_TOKEN[:31], False),
        (GOE_TOKEN + "x", False),
        ("", False),
        (GOE_TOKEN[:31] + "-", False),
        (GOE_TOKEN[:31] + "ä", False),
        (GOE_TOKEN + "\n", False),
        (" " + GOE_TOKEN[:31], False),
    ],
)
def test_is_valid_grid_token(value: str, valid: bool) -> None:
    """A grid token is exactly 32 ASCII letters or digits."""
    assert is_valid_grid_token(value) is valid
