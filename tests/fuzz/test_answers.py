"""Every vendor answer the clients read, fuzzed: each call ends in a value or a typed error.

The answers are the real shapes (tests/fixtures, the simulators' JSON) mutated by hypothesis
and handed to the clients through a stand-in aiohttp session, so the whole path runs: the
request, the status, the body's JSON, the parser. Nothing but an ``EvChargeControlError`` may
leave a client, and every number it reads is finite.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
import dataclasses
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st

from custom_components.ev_charge_control.api.easee import (
    EaseeBasicChargePlan,
    EaseeClient,
    EaseeTokens,
)
from custom_components.ev_charge_control.api.errors import EvChargeControlError
from custom_components.ev_charge_control.api.goe import GoeClient
from custom_components.ev_charge_control.api.viriciti import ViricitiClient
from custom_components.ev_charge_control.api.viriciti_schedule import Schedule
from tests.fuzz.stand_ins import Answer, Session
from tests.fuzz.strategies import (
    FUZZ,
    HTTP_STATUSES,
    RETRY_AFTER,
    json_body,
    junk,
    mutated,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC).timestamp()


def fixture(name: str) -> Any:
    """Return a JSON sample from tests/fixtures."""
    return json.loads((FIXTURES / name).read_text())


def assert_finite(value: object) -> None:
    """Fail when a parsed value holds a NaN or an infinity anywhere."""
    if isinstance(value, float):
        assert math.isfinite(value), f"a parsed number is {value}"
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            assert_finite(getattr(value, item.name))
    elif isinstance(value, dict):
        for item in value.values():
            assert_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            assert_finite(item)


async def value_or_typed_error(call: Callable[[], Awaitable[object]]) -> None:
    """Run one client call: a finite value or a typed error, nothing else escapes."""
    try:
        result = await call()
    except EvChargeControlError:
        return
    assert_finite(result)


answers = st.builds(Answer, HTTP_STATUSES, st.just(b""), RETRY_AFTER)


@st.composite
def answer(draw: st.DrawFn, sample: object) -> Answer:
    """Return a fuzzed answer of an endpoint whose real answer is ``sample``."""
    status = draw(st.one_of(st.just(200), HTTP_STATUSES))
    return Answer(status, draw(json_body(sample)), draw(RETRY_AFTER))


# go-e


GOE_STATUS = fixture("goe_status.json")
GOE_TOKEN = "Zq7xS3cretGr1dT0kenZq7xS3cretGr1"
GOE_ANSWERS = [
    GOE_STATUS,
    fixture("goe_status_sparse.json"),
    fixture("goe_status_uint8.json"),
    {"success": True, "payload": "set_current=16"},
    {"success": False, "error": "rate limiting"},
    {"success": False, "error": "wrong token"},
    {"success": False, "error": "no payload"},
    {"success": False, "error": "error getting data"},
]


@FUZZ
@given(sample=st.sampled_from(GOE_ANSWERS), data=st.data())
async def test_goe_status(sample: object, data: st.DataObject) -> None:
    """A status read ends in a status or a typed error."""
    session = Session(data.draw(answer(sample)))
    client = GoeClient(session, "000123", GOE_TOKEN)  # type: ignore[arg-type]
    await value_or_typed_error(lambda: client.status(wait=data.draw(st.booleans())))


@FUZZ
@given(
    sample=st.sampled_from(GOE_ANSWERS),
    parameter=st.sampled_from(["set_current", "set_allow"]),
    data=st.data(),
)
async def test_goe_command(sample: object, parameter: str, data: st.DataObject) -> None:
    """A command's answer (acknowledgement or status object) ends in a value or a typed error."""
    session = Session(data.draw(answer(sample)))
    client = GoeClient(session, "000123", GOE_TOKEN)  # type: ignore[arg-type]
    await value_or_typed_error(lambda: client.command(parameter, 16))


# Easee


def _token(claims: object) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln"


SITE_STATE = fixture("easee_site_state.json")
CHARGER_STATE = SITE_STATE["circuitStates"][0]["chargerStates"][0]["chargerState"]
CHARGER_CONFIG = SITE_STATE["circuitStates"][0]["chargerStates"][0]["chargerConfig"]
PLANS = fixture("easee_charge_plans.json")
COMMAND_ANSWERS = [
    item.get("json", {})
    for item in fixture("easee_command_answers.json").values()
    if isinstance(item, dict)
]
TOKENS_ANSWER = {
    "accessToken": _token({"UserId": 4711, "exp": NOW + 3600}),
    "expiresIn": 86400,
    "accessClaims": ["User"],
    "tokenType": "Bearer",
    "refreshToken": "refresh-token-1234",
}
SITE = fixture("easee_site_detailed.json")
PRODUCTS = [{"id": 97531, "name": "Farm", "circuits": SITE["circuits"]}]
CIRCUIT_SETTINGS = {
    "maxCircuitCurrentP1": 32,
    "maxCircuitCurrentP2": 32,
    "maxCircuitCurrentP3": 32,
    "offlineMaxCircuitCurrentP1": 16,
    "offlineMaxCircuitCurrentP2": 16,
    "offlineMaxCircuitCurrentP3": 16,
    "enableIdleCurrent": False,
}
ERROR_ANSWERS = [
    item.get("json", {}) for item in fixture("easee_bans.json").values() if isinstance(item, dict)
]


def easee_client(session: Session, *, expires_at: float = NOW + 86400) -> EaseeClient:
    """Return a client that holds tokens (a read sends one request)."""
    tokens = EaseeTokens("access-token-1234", "refresh-token-1234", expires_at)
    return EaseeClient(
        session,  # type: ignore[arg-type]
        "owner@example.com",
        "Ea5ee-Pa55w0rd!",
        tokens=tokens,
        clock=lambda: NOW,
    )


PLAN = EaseeBasicChargePlan(
    id=None,
    start=dt.datetime(2026, 11, 22, 6, tzinfo=dt.UTC),
    stop=dt.datetime(2026, 11, 22, 8, tzinfo=dt.UTC),
    repeat=False,
    enabled=True,
    current_limit=16.0,
)
EASEE_CALLS: dict[str, tuple[Callable[[EaseeClient], Awaitable[object]], list[object]]] = {
    "chargers": (lambda c: c.get_chargers(), [fixture("easee_chargers.json")]),
    "products": (lambda c: c.get_site_names(), [PRODUCTS]),
    "site": (lambda c: c.get_site(97531), [SITE]),
    "site state": (lambda c: c.get_site_state(97531), [SITE_STATE]),
    "state": (lambda c: c.get_state("EH100001"), [CHARGER_STATE]),
    "config": (lambda c: c.get_config("EH100001"), [CHARGER_CONFIG]),
    "circuit": (lambda c: c.get_circuit_settings(97531, 48213), [CIRCUIT_SETTINGS]),
    "basic plan": (
        lambda c: c.get_basic_charge_plan("EH100001"),
        [PLANS["basic_daily"], PLANS["basic_one_off"], PLANS["basic_start_only"]],
    ),
    "weekly plan": (lambda c: c.get_weekly_charge_plan("EH100001"), [PLANS["weekly"]]),
    "command": (lambda c: c.command("EH100001", "start_charging"), COMMAND_ANSWERS),
    "dynamic current": (
        lambda c: c.set_dynamic_charger_current("EH100001", 16.0),
        COMMAND_ANSWERS,
    ),
    "circuit current": (
        lambda c: c.set_dynamic_circuit_current(97531, 48213, 16, 16, 16),
        COMMAND_ANSWERS,
    ),
    "settings": (lambda c: c.update_settings("EH100001", enabled=True), COMMAND_ANSWERS),
    "set plan": (lambda c: c.set_basic_charge_plan("EH100001", PLAN), COMMAND_ANSWERS),
    "delete plan": (lambda c: c.delete_basic_charge_plan("EH100001"), COMMAND_ANSWERS),
}


@FUZZ
@given(call=st.sampled_from(sorted(EASEE_CALLS)), data=st.data())
async def test_easee_answers(call: str, data: st.DataObject) -> None:
    """Every read and every write's answer ends in a value or a typed error."""
    run, samples = EASEE_CALLS[call]
    sample = data.draw(st.sampled_from([*samples, *ERROR_ANSWERS]))
    # A 401 first asks for a refresh: a fuzzed token answer, then the request again.
    session = Session(
        data.draw(answer(sample)),
        data.draw(answer(TOKENS_ANSWER)),
        data.draw(answer(sample)),
        data.draw(answer(TOKENS_ANSWER)),
        data.draw(answer(sample)),
    )
    client = easee_client(session)
    await value_or_typed_error(lambda: run(client))


@FUZZ
@given(sample=st.sampled_from([TOKENS_ANSWER, *ERROR_ANSWERS]), data=st.data())
async def test_easee_login(sample: object, data: st.DataObject) -> None:
    """A login's answer ends in tokens or a typed error."""
    client = easee_client(Session(data.draw(answer(sample))))
    await value_or_typed_error(client.login)


@FUZZ
@given(sample=st.sampled_from([TOKENS_ANSWER, *ERROR_ANSWERS]), data=st.data())
async def test_easee_refresh(sample: object, data: st.DataObject) -> None:
    """A refresh's (then a login's) answer ends in a read or a typed error."""
    session = Session(
        data.draw(answer(sample)),
        data.draw(answer(sample)),
        data.draw(answer(fixture("easee_chargers.json"))),
    )
    client = easee_client(session, expires_at=NOW - 1)
    await value_or_typed_error(client.get_chargers)


@FUZZ
@given(claims=junk, sample=st.just(TOKENS_ANSWER), data=st.data())
async def test_easee_token_claims(
    claims: object, sample: dict[str, object], data: st.DataObject
) -> None:
    """Tokens whose JWT claims are junk still end in tokens or a typed error."""
    fields = data.draw(mutated(sample))
    body = {**(fields if isinstance(fields, dict) else {}), "accessToken": _token(claims)}
    client = easee_client(Session(Answer(200, json.dumps(body).encode())))
    await value_or_typed_error(client.login)


# ViriCiti

VIRICITI_KEY = "vc-fuzz-key-7d3e9b2a61f4"
GROUP = {
    "title": "Depot",
    "id": "ViriCitiGroup",
    "groupLimit": 400,
    "timeframes": [
        {
            "active": True,
            "start": "0 16 * * 0,1,2,3,4,5,6",
            "end": "0 0 * * 0,1,2,3,4,5,6",
            "limit": 200,
            "name": "evening",
        },
        {
            "active": True,
            "start": "0 0 * * 1-5",
            "end": "0 8 * * 1-5",
            "limit": 100,
            "name": "night",
        },
    ],
}
GROUP_LIMIT = {
    "activeLimit": "external",
    "default": {"limit": 400},
    "external": {
        "limit": 300,
        "start": "2026-11-21T12:00:00.000+01.00",
        "end": "2026-11-21T18:00:00.000+01.00",
    },
    "scheduled": {"limit": 200, "start": "0 16 * * *", "end": "0 0 * * *"},
    "upcoming": {"limit": 100, "start": "0 0 * * 1-5", "end": "0 8 * * 1-5"},
}
SAMPLES = [
    {
        "time": "2026-11-21T12:00:00.000Z",
        "groupLimit": 300,
        "limits": [
            {"limit": 150, "chargestation": "c1", "position": 1},
            {"limit": 150, "chargestation": "c2", "position": 2},
        ],
    },
    {"time": "2026-11-21T12:05:00.000Z", "groupLimit": 300, "limits": []},
]
ERRORS = [{"error": "external limits are not allowed for this group"}, {"message": "Forbidden"}]
VIRICITI_CALLS: dict[str, tuple[Callable[[ViricitiClient], Awaitable[object]], object]] = {
    "group": (lambda c: c.get_group(), GROUP),
    "group limit": (lambda c: c.get_group_limit(), GROUP_LIMIT),
    "set limit": (
        lambda c: c.set_group_limit(300, dt.datetime(2026, 11, 21, 18, tzinfo=dt.UTC)),
        GROUP_LIMIT,
    ),
    "time series": (
        lambda c: c.get_power_limits(
            dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
        ),
        SAMPLES,
    ),
}


@FUZZ
@given(call=st.sampled_from(sorted(VIRICITI_CALLS)), data=st.data())
async def test_viriciti_answers(call: str, data: st.DataObject) -> None:
    """Every read and the limit's write end in a value or a typed error."""
    run, sample = VIRICITI_CALLS[call]
    sample = data.draw(st.sampled_from([sample, *ERRORS]))
    # A POST with an empty answer reads the limits; a long series asks twice.
    session = Session(*(data.draw(answer(sample)) for _ in range(2)))
    client = ViricitiClient(
        session,  # type: ignore[arg-type]
        VIRICITI_KEY,
        "ViriCitiGroup",
        clock=lambda: NOW,
    )
    await value_or_typed_error(lambda: run(client))


@FUZZ
@given(data=st.data())
async def test_viriciti_schedule(data: st.DataObject) -> None:
    """A group's timeframes, however odd, give a schedule without an exception."""
    session = Session(Answer(200, json.dumps(data.draw(mutated(GROUP))).encode()))
    client = ViricitiClient(session, VIRICITI_KEY, "ViriCitiGroup", clock=lambda: NOW)  # type: ignore[arg-type]
    try:
        group = await client.get_group()
    except EvChargeControlError:
        return
    schedule = Schedule(group.timeframes, group.group_limit, ZoneInfo("Europe/Amsterdam"))
    now = schedule.at(dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC))
    assert_finite(now)
