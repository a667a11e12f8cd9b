"""Easee's SignalR hub (JSON protocol over an aiohttp WebSocket): live values of each charger.

Not ``pysignalr``: it reconnects on its own (negotiation retried 10 times from 1 s apart, the
WebSocket at once after a drop, then backing off up to 90 s), which Easee asked developers not
to do and which cannot wait out a ban, and it negotiates through aiohttp sessions of its own.
Here each connection is one attempt; when to try again is the runner's (vendors/easee/stream.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterable
from dataclasses import dataclass
import json
import logging
from typing import Final, Protocol

import aiohttp
from yarl import URL

from .easee import DEFAULT_BASE_URL, EaseeClient
from .errors import ApiError, AuthenticationError, NotSentError
from .http import HttpAnswer, send
from .values import as_finite_float, parse_json

_LOGGER = logging.getLogger(__name__)

DEFAULT_STREAM_URL: Final = "https://streams.easee.com"
HUB_PATH: Final = "/hubs/chargers"
RECORD_SEPARATOR: Final = "\x1e"
# What the public clients that stream for long without a ban ask the hub for after connecting.
SUBSCRIBE: Final = "SubscribeWithCurrentState"
PRODUCT_UPDATE: Final = "ProductUpdate"
COMMAND_RESPONSE: Final = "CommandResponse"
# SignalR's keep-alive: a ping every 15 s keeps the connection (and proxies) awake.
PING_INTERVAL: Final = 15.0
# SignalR's server timeout: the hub pings every 15 s, so 30 s without a word means the
# connection is gone, even when no FIN ever came (a half-open connection reads nothing, for ever).
SERVER_TIMEOUT: Final = 30.0
# The last seconds of it: a WebSocket ping, whose pong (or any message) shows the connection
# alive; a loop that was busy, or a travelled clock, may have jumped past the hub's pings.
PROBE_TIMEOUT: Final = 5.0
# After a deadline: a frame that arrived as it passed (the same turn of the loop) still counts.
_LAST_CHANCE: Final = 0.001
CONNECT_TIMEOUT: Final = 30.0
# Easee's observation data types (others are text).
DATA_BOOL: Final = 2
DATA_DOUBLE: Final = 3
DATA_INTEGER: Final = 4

# SignalR's hub message types (JSON protocol).
_INVOCATION: Final = 1
_COMPLETION: Final = 3
_PING: Final = 6
_CLOSE: Final = 7
_HANDSHAKE: Final = json.dumps({"protocol": "json", "version": 1}) + RECORD_SEPARATOR
_PING_FRAME: Final = json.dumps({"type": _PING}) + RECORD_SEPARATOR

type StreamValue = bool | int | float | str


class StreamMessageError(ApiError):
    """A message of the hub could not be read; the stream goes on without it."""


class StreamTokenRefusedError(AuthenticationError):
    """The hub refused the access token (HTTP 401)."""


class StreamClosedError(ApiError):
    """The hub closed the connection (or it broke) after it was established."""


@dataclass(frozen=True, slots=True)
class EaseeObservation:
    """One value of a charger, as a ``ProductUpdate`` carries it."""

    charger_id: str
    observation_id: int
    data_type: int
    value: StreamValue


@dataclass(frozen=True, slots=True)
class EaseeCommandResponse:
    """The charger's answer to a command (``CommandResponse``)."""

    charger_id: str
    ticks: int | None
    was_accepted: bool | None
    result_code: int | None


def stream_url(base_url: str) -> str:
    """Return the hub's server for a REST base URL.

    Easee's own cloud streams from its own host; any other base URL (a simulator, a proxy)
    serves the hub beside the REST API.
    """
    base = str(URL(base_url)).rstrip("/")
    return DEFAULT_STREAM_URL if base == DEFAULT_BASE_URL else base


def _field(item: dict[str, object], name: str) -> object:
    """Return a field by its name in camelCase or PascalCase (Easee sends both)."""
    if name in item:
        return item[name]
    return item.get(name[:1].upper() + name[1:])


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def typed_value(data_type: int, raw: object) -> StreamValue:
    """Return an observation's value in its type; raise StreamMessageError when it does not fit."""
    if data_type == DATA_BOOL:
        text = str(raw).strip().lower()
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
    elif data_type == DATA_DOUBLE:
        if (number := as_finite_float(raw)) is not None:
            return number
    elif data_type == DATA_INTEGER:
        if (whole := _int(raw)) is not None:
            return whole
    elif isinstance(raw, str | int | float) and not isinstance(raw, bool):
        return str(raw)
    raise StreamMessageError(f"Easee stream: a value of data type {data_type} that does not fit")


def parse_observation(item: object) -> EaseeObservation:
    """Read one entry of a ``ProductUpdate``; raise StreamMessageError when it is malformed."""
    if not isinstance(item, dict):
        raise StreamMessageError("Easee stream: a product update that is not an object")
    charger_id = _field(item, "mid")
    observation_id = _int(_field(item, "id"))
    data_type = _int(_field(item, "dataType"))
    if not isinstance(charger_id, str) or not charger_id or observation_id is None:
        raise StreamMessageError("Easee stream: a product update without charger or id")
    if data_type is None:
        raise StreamMessageError("Easee stream: a product update without data type")
    return EaseeObservation(
        charger_id, observation_id, data_type, typed_value(data_type, _field(item, "value"))
    )


def parse_command_response(item: object) -> EaseeCommandResponse:
    """Read one ``CommandResponse``; raise StreamMessageError when it is malformed."""
    if not isinstance(item, dict):
        raise StreamMessageError("Easee stream: a command response that is not an object")
    charger_id = _field(item, "serialNumber")
    if not isinstance(charger_id, str) or not charger_id:
        raise StreamMessageError("Easee stream: a command response without charger")
    accepted = _field(item, "wasAccepted")
    return EaseeCommandResponse(
        charger_id,
        _int(_field(item, "ticks")),
        accepted if isinstance(accepted, bool) else None,
        _int(_field(item, "resultCode")),
    )


def split_frames(text: str) -> list[object]:
    """Return the JSON messages of one WebSocket frame; skip (and log) what is not JSON."""
    messages: list[object] = []
    for part in text.split(RECORD_SEPARATOR):
        if not part.strip():
            continue
        try:
            messages.append(parse_json(part))
        except ValueError:
            _LOGGER.debug("Easee stream: a message that is not JSON (%s characters)", len(part))
    return messages


class StepRunner(Protocol):
    """Runs one step of connecting (its owner may want it as a task of its own)."""

    def __call__[T](self, work: Coroutine[object, object, T]) -> Awaitable[T]:
        """Run ``work``; return what awaits its result."""
        ...


def _direct[T](work: Coroutine[object, object, T]) -> Awaitable[T]:
    return work


class StreamHandler(Protocol):
    """What the stream tells its owner."""

    def stream_connected(self) -> None:
        """Note that the hub took the handshake (subscriptions are on their way)."""

    def stream_observation(self, observation: EaseeObservation) -> None:
        """Take one value of a charger."""

    def stream_command_response(self, response: EaseeCommandResponse) -> None:
        """Take a charger's answer to a command."""

    def stream_bad_message(self, err: StreamMessageError) -> None:
        """Note a message that could not be read (it is skipped)."""


class EaseeStream:
    """One connection to Easee's hub at a time: negotiate, handshake, subscribe, read.

    Knows nothing of reconnecting: ``async_run`` returns or raises when the connection ends,
    and its owner decides when to try again (Easee asks for long, growing pauses).
    """

    def __init__(
        self,
        client: EaseeClient,
        session: aiohttp.ClientSession,
        *,
        url: str = DEFAULT_STREAM_URL,
        user_agent: str | None = None,
    ) -> None:
        self._client = client
        self._session = session
        self._hub = str(URL(url)).rstrip("/") + HUB_PATH
        self._user_agent = user_agent
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._invocation = 0
        self._subscribed: set[str] = set()
        # Invocation ids of subscriptions still waiting for their completion, by charger.
        self._pending: dict[str, str] = {}

    @property
    def connected(self) -> bool:
        """Return whether a connection is open now."""
        return self._ws is not None and not self._ws.closed

    @property
    def subscribed(self) -> frozenset[str]:
        """Return the chargers subscribed on the open connection."""
        return frozenset(self._subscribed)

    def _headers(self, token: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}"}
        if self._user_agent is not None:
            headers["User-Agent"] = self._user_agent
        return headers

    async def _negotiate(self, token: str) -> tuple[URL, str]:
        """Ask the hub for a connection; return the WebSocket's URL and the token to use."""
        where = f"Easee stream POST {HUB_PATH}/negotiate"
        url = URL(self._hub + "/negotiate").with_query(negotiateVersion="1")
        answer = await send(
            self._session,
            "POST",
            url,
            request_timeout=aiohttp.ClientTimeout(total=CONNECT_TIMEOUT),
            where=where,
            redact=lambda text: text.replace(token, "**REDACTED**"),
            headers=self._headers(token),
        )
        if answer.status == 401:
            raise StreamTokenRefusedError(f"{where}: token refused (HTTP 401)")
        if not answer.ok:
            raise self._client.answer_error(answer, where)
        data = _negotiated(answer, where)
        # Azure's SignalR service answers with where to go and the token to show there.
        redirect, access = data.get("url"), data.get("accessToken")
        if isinstance(redirect, str) and isinstance(access, str):
            target = URL(redirect)
            connection = None
        else:
            target, access = URL(self._hub), token
            connection = data.get("connectionToken") or data.get("connectionId")
        scheme = {"https": "wss", "http": "ws"}.get(target.scheme, target.scheme)
        target = target.with_scheme(scheme)
        if isinstance(connection, str):
            target = target.update_query(id=connection)
        return target, access

    async def async_run(
        self,
        token: str,
        charger_ids: Callable[[], Iterable[str]],
        handler: StreamHandler,
        step: StepRunner | None = None,
    ) -> None:
        """Connect with ``token`` and pass on what arrives until the connection ends.

        Raises AuthenticationError when the hub refuses the token (renew it, then try again),
        the REST client's errors for a ban or rate limit, StreamClosedError when an open
        connection ends, and NotSentError / AnswerLostError when none could be opened.
        ``step`` runs the connecting (negotiate, WebSocket, handshake) as its owner wishes.
        """
        where = f"Easee stream {HUB_PATH}"
        ws, handshake = await (step or _direct)(self._open(token, where))
        self._ws = ws
        self._subscribed.clear()
        self._pending.clear()
        pinger: asyncio.Task[None] | None = None
        try:
            handler.stream_connected()
            await self.async_subscribe(charger_ids())
            pinger = asyncio.get_running_loop().create_task(self._ping(ws))
            for message in handshake[1:]:
                self._dispatch(message, handler)
            await self._read(ws, handler, where)
        except (ConnectionError, aiohttp.ClientError) as err:
            raise StreamClosedError(f"{where}: connection lost ({type(err).__name__})") from None
        finally:
            if pinger is not None:
                pinger.cancel()
            self._ws = None
            self._subscribed.clear()
            self._pending.clear()
            if not ws.closed:
                await ws.close()

    async def _open(
        self, token: str, where: str
    ) -> tuple[aiohttp.ClientWebSocketResponse, list[object]]:
        """Negotiate, open the WebSocket and shake hands; return it and the first messages."""
        target, access = await self._negotiate(token)
        failure: str | None = None
        status: int | None = None
        try:
            ws = await self._session.ws_connect(
                target,
                headers=self._headers(access),
                timeout=aiohttp.ClientWSTimeout(ws_close=10.0),
                # Pongs are read by ``_read``: an answer to its probe shows the connection alive.
                autoping=False,
                max_msg_size=4 * 1024 * 1024,
            )
        except aiohttp.WSServerHandshakeError as err:
            status = err.status
        except TimeoutError:
            failure = "no answer in time"
        except aiohttp.ClientError as err:
            # The URL and headers may hold secrets: only the error's class travels on.
            failure = f"no connection ({type(err).__name__})"
        if status == 401:
            raise StreamTokenRefusedError(f"{where}: token refused (HTTP 401)")
        if status is not None:
            raise self._client.answer_error(HttpAnswer(status, b"", None), where)
        if failure is not None:
            raise NotSentError(f"{where}: {failure}")
        problem: str | None = None
        handshake: list[object] = []
        try:
            await ws.send_str(_HANDSHAKE)
            first = await ws.receive(timeout=CONNECT_TIMEOUT)
            handshake = (
                split_frames(str(first.data)) if first.type is aiohttp.WSMsgType.TEXT else []
            )
            if not handshake or (isinstance(handshake[0], dict) and handshake[0].get("error")):
                problem = "the handshake was refused"
        except TimeoutError:
            problem = "no handshake in time"
        except (ConnectionError, aiohttp.ClientError) as err:
            problem = f"connection lost ({type(err).__name__})"
        if problem is not None:
            await ws.close()
            raise StreamClosedError(f"{where}: {problem}")
        return ws, handshake

    async def async_run_account(
        self,
        charger_ids: Callable[[], Iterable[str]],
        handler: StreamHandler,
        step: StepRunner | None = None,
    ) -> None:
        """Run one connection with the account's token; a refused token is renewed once."""
        run = step or _direct
        token = await run(self._client.stream_token())
        try:
            await self.async_run(token, charger_ids, handler, step)
        except StreamTokenRefusedError:
            _LOGGER.debug("Easee stream: the hub refused the token; renewing it")
            token = await run(self._client.renew_stream_token(token))
            await self.async_run(token, charger_ids, handler, step)

    async def async_subscribe(self, charger_ids: Iterable[str]) -> None:
        """Subscribe to chargers not subscribed yet (when connected); current values first."""
        ws = self._ws
        if ws is None or ws.closed:
            return
        frames: list[str] = []
        for charger_id in charger_ids:
            if charger_id in self._subscribed:
                continue
            self._invocation += 1
            invocation = str(self._invocation)
            self._subscribed.add(charger_id)
            self._pending[charger_id] = invocation
            message = {
                "type": _INVOCATION,
                "invocationId": invocation,
                "target": SUBSCRIBE,
                "arguments": [charger_id, True],
            }
            frames.append(json.dumps(message) + RECORD_SEPARATOR)
        if frames:
            await ws.send_str("".join(frames))

    async def async_close(self) -> None:
        """Close the open connection (its ``async_run`` then ends)."""
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()

    @staticmethod
    async def _ping(ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(PING_INTERVAL)
            try:
                await ws.send_str(_PING_FRAME)
            except ConnectionError, aiohttp.ClientError:
                return

    async def _read(
        self, ws: aiohttp.ClientWebSocketResponse, handler: StreamHandler, where: str
    ) -> None:
        """Pass messages on until the connection ends, or nothing comes for SERVER_TIMEOUT."""
        while True:
            frame = await _receive(ws, SERVER_TIMEOUT - PROBE_TIMEOUT)
            if frame is None:
                # Silent for long: one WebSocket ping, answered by any live server.
                await ws.ping()
                frame = await _receive(ws, PROBE_TIMEOUT)
                if frame is None:
                    raise StreamClosedError(
                        f"{where}: nothing heard for {SERVER_TIMEOUT:.0f} s (connection lost)"
                    )
            if frame.type is aiohttp.WSMsgType.PING:
                await ws.pong(frame.data)
            elif frame.type in _ENDED:
                raise StreamClosedError(f"{where}: the connection ended")
            elif frame.type is aiohttp.WSMsgType.TEXT:
                for message in split_frames(str(frame.data)):
                    if self._dispatch(message, handler):
                        raise StreamClosedError(f"{where}: the hub closed the connection")

    def _dispatch(self, message: object, handler: StreamHandler) -> bool:
        """Pass one message on; return True for the hub's close message."""
        if not isinstance(message, dict):
            handler.stream_bad_message(StreamMessageError("Easee stream: not an object"))
            return False
        kind = message.get("type")
        if kind == _CLOSE:
            return True
        if kind == _COMPLETION:
            self._completed(message)
        elif kind == _INVOCATION:
            arguments = message.get("arguments")
            items = arguments if isinstance(arguments, list) else []
            target = message.get("target")
            for item in _flatten(items):
                try:
                    if target == PRODUCT_UPDATE:
                        handler.stream_observation(parse_observation(item))
                    elif target == COMMAND_RESPONSE:
                        handler.stream_command_response(parse_command_response(item))
                except StreamMessageError as err:
                    handler.stream_bad_message(err)
        return False

    def _completed(self, message: dict[str, object]) -> None:
        invocation = message.get("invocationId")
        charger = next((c for c, i in self._pending.items() if i == invocation), None)
        if charger is None:
            return
        del self._pending[charger]
        if message.get("error") is not None:
            # Not this account's charger (or the hub refused it): no values come for it.
            self._subscribed.discard(charger)
            _LOGGER.warning("Easee stream: the hub refused to subscribe to a charger")


_ENDED: Final = frozenset(
    {
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSING,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.ERROR,
    }
)


async def _receive(ws: aiohttp.ClientWebSocketResponse, within: float) -> aiohttp.WSMessage | None:
    """Return the next frame, or None when none came ``within`` seconds."""
    for wait in (within, _LAST_CHANCE):
        try:
            return await ws.receive(timeout=wait)
        except TimeoutError:
            continue
    return None


def _flatten(items: Collection[object]) -> list[object]:
    """Return the entries of a message's arguments: one object, or a list of them, each."""
    result: list[object] = []
    for item in items:
        if isinstance(item, list):
            result.extend(item)
        else:
            result.append(item)
    return result


def _negotiated(answer: HttpAnswer, where: str) -> dict[str, object]:
    failure: str | None = None
    data: object = None
    try:
        data = parse_json(answer.body)
    except ValueError:
        failure = "an answer that is not JSON"
    if failure is None and not isinstance(data, dict):
        failure = "an answer that is not an object"
    if failure is not None or not isinstance(data, dict):
        raise ApiError(f"{where}: {failure}")
    return data
