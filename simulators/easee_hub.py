"""Easee's SignalR hub as the simulator serves it: negotiate, WebSocket, JSON protocol.

Pushes a ``ProductUpdate`` for every observation that changed, whatever changed it (a write,
a car plugged in, a power loss, a time to live run out): after each request, each change of a
simulated object and every ping interval, the hub compares what it last sent each connection
with what the chargers show now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import logging
import secrets
from typing import Final, Protocol

from aiohttp import WSMsgType, web

_LOGGER = logging.getLogger(__name__)

HUB_PATH: Final = "/hubs/chargers"
RECORD_SEPARATOR: Final = "\x1e"
PING_INTERVAL: Final = 15.0


class HubModel(Protocol):
    """What the hub asks of the simulator."""

    def hub_user(self, request: web.Request) -> int | None:
        """Return the user id of the request's bearer token; None when it is not valid now."""

    def hub_token_valid(self, token: str) -> bool:
        """Tell whether an access token still works (not expired, not invalidated)."""

    def hub_banned(self, request: web.Request) -> web.StreamResponse | None:
        """Return the refusal for a banned IP, None when it is not banned."""

    def hub_owns(self, user_id: int, charger_id: str) -> bool:
        """Tell whether the charger is the user's."""

    def hub_observations(self, charger_id: str) -> Mapping[int, tuple[str, int]] | None:
        """Return a charger's observations (value as text, data type); None when it is gone."""


@dataclass(frozen=True)
class StreamAttempt:
    """One negotiation, as logged: when and how it was answered."""

    time: float
    status: int
    result: str


@dataclass
class _Connection:
    user_id: int
    token: str
    ws: web.WebSocketResponse
    # The socket under the WebSocket: a silent hub stops reading it too (no pong either).
    transport: asyncio.BaseTransport | None
    subscribed: dict[str, dict[int, tuple[str, int]]] = field(default_factory=dict)
    # The network between went away without a word: nothing is sent, nothing read.
    silent: bool = False


class EaseeHub:
    """The hub's connections; the simulator owns one."""

    def __init__(self, model: HubModel, clock: Callable[[], float]) -> None:
        self._model = model
        self._clock = clock
        self.enabled = True
        # Set for good when the simulator stops: no new connection is taken.
        self.closing = False
        self.ping_interval = PING_INTERVAL
        self._silent = False
        # Negotiations to refuse with 401 even with a valid token (the hub's own whims).
        self.refuse_tokens = 0
        self.attempts: list[StreamAttempt] = []
        self.connections: list[_Connection] = []
        self._negotiated: dict[str, tuple[int, str]] = {}
        self._push_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        # The tasks serving the open WebSockets: dropping a connection cancels its task.
        self._handlers: set[asyncio.Task[object]] = set()

    # --- for tests and the command line ---------------------------------------------------------

    @property
    def connected(self) -> int:
        """Return how many connections are open."""
        return len(self.connections)

    async def drop(self) -> None:
        """Drop every connection without a close message (as a network failure would)."""
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        # Waiting for nothing but the handlers: no close handshake that could hang.
        await asyncio.gather(*handlers, return_exceptions=True)

    @property
    def silent(self) -> bool:
        """Return whether the hub is half-open: connections stay, but nothing crosses them."""
        return self._silent

    @silent.setter
    def silent(self, silent: bool) -> None:
        """Go half-open (True), as a network that fails without a FIN, or come back (False).

        The open connections stay open, yet hear nothing more (no ping, no update) and are not
        read (not even a WebSocket ping gets its pong); new ones are refused meanwhile.
        """
        self._silent = silent
        for connection in self.connections:
            connection.silent = silent
            if isinstance(connection.transport, asyncio.ReadTransport):
                if silent:
                    connection.transport.pause_reading()
                else:
                    connection.transport.resume_reading()

    def changed(self) -> None:
        """Note that something changed: push the changes once the current work is done."""
        if self._push_scheduled or not self.connections:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._push_scheduled = True
        loop.call_soon(self._push_soon)

    def _push_soon(self) -> None:
        self._push_scheduled = False
        self.spawn(self.push_changes())

    def spawn(self, work: Coroutine[object, object, None]) -> None:
        """Run ``work`` in the background, holding on to it until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def push_changes(self) -> None:
        """Send every connection the observations that changed since it last heard."""
        for connection in list(self.connections):
            await self._push(connection, list(connection.subscribed))

    async def _push(self, connection: _Connection, charger_ids: list[str]) -> None:
        updates: list[dict[str, object]] = []
        for charger_id in charger_ids:
            observations = self._model.hub_observations(charger_id)
            sent = connection.subscribed.get(charger_id)
            if observations is None or sent is None:
                continue
            for observation_id, (value, data_type) in observations.items():
                if sent.get(observation_id) == (value, data_type):
                    continue
                sent[observation_id] = (value, data_type)
                updates.append(
                    {"mid": charger_id, "dataType": data_type, "id": observation_id, "value": value}
                )
        frames = [_invocation("ProductUpdate", [update]) for update in updates]
        await _send(connection, "".join(frames))

    async def send_command_response(
        self, charger_id: str, ticks: int, *, accepted: bool, result_code: int
    ) -> None:
        """Tell the connections that follow a charger how it answered a command.

        Every field of the real hub's answer, named as evcc's client reads them
        (charger/easee/message.go).
        """
        now = datetime.fromtimestamp(self._clock(), UTC).isoformat()
        response = {
            "SerialNumber": charger_id,
            "ID": ticks % 100_000,
            "Timestamp": now,
            "DeliveredAt": now,
            "WasAccepted": accepted,
            "ResultCode": result_code,
            "Comment": "" if accepted else "Rejected by the charger",
            "Ticks": ticks,
        }
        for connection in list(self.connections):
            if charger_id in connection.subscribed:
                await _send(connection, _invocation("CommandResponse", [response]))

    async def close(self) -> None:
        """Close every connection (the simulator stops) and end the background work."""
        self.closing = True
        await self.drop()
        for task in list(self._tasks):
            task.cancel()

    # --- the routes -------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Serve negotiate and the WebSocket."""
        app.router.add_post(f"{HUB_PATH}/negotiate", self._handle_negotiate)
        app.router.add_get(HUB_PATH, self._handle_connect, allow_head=False)

    def _log(self, status: int, result: str) -> None:
        self.attempts.append(StreamAttempt(self._clock(), status, result))

    async def _handle_negotiate(self, request: web.Request) -> web.StreamResponse:
        if (banned := self._model.hub_banned(request)) is not None:
            self._log(banned.status, "blocked")
            return banned
        if not self.enabled or self.closing or self._silent:
            self._log(503, "hub_down")
            return web.json_response({"title": "Service Unavailable"}, status=503)
        user_id = self._model.hub_user(request)
        if user_id is None or self.refuse_tokens > 0:
            if user_id is not None:
                self.refuse_tokens -= 1
            self._log(401, "unauthorized")
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        self._log(200, "ok")
        connection_token = secrets.token_urlsafe(16)
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        self._negotiated[connection_token] = (user_id, token)
        return web.json_response(
            {
                "negotiateVersion": 1,
                "connectionId": secrets.token_urlsafe(16),
                "connectionToken": connection_token,
                "availableTransports": [
                    {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
                ],
            }
        )

    async def _handle_connect(self, request: web.Request) -> web.StreamResponse:
        handler = asyncio.current_task()
        if self.closing or handler is None:
            return web.json_response({"title": "Service Unavailable"}, status=503)
        self._handlers.add(handler)
        try:
            return await self._serve(request)
        finally:
            self._handlers.discard(handler)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        negotiated = self._negotiated.pop(request.query.get("id", ""), None)
        if (banned := self._model.hub_banned(request)) is not None:
            return banned
        user_id = self._model.hub_user(request)
        if negotiated is None or user_id is None or user_id != negotiated[0] or not self.enabled:
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connection = _Connection(user_id, negotiated[1], ws, request.transport)
        pinger: asyncio.Task[None] | None = None
        try:
            first = await ws.receive(timeout=15.0)
            handshake = _messages(str(first.data)) if first.type is WSMsgType.TEXT else []
            if not handshake or handshake[0] != {"protocol": "json", "version": 1}:
                await ws.send_str(json.dumps({"error": "unsupported protocol"}) + RECORD_SEPARATOR)
                return ws
            await ws.send_str("{}" + RECORD_SEPARATOR)
            self.connections.append(connection)
            pinger = asyncio.get_running_loop().create_task(self._ping(connection))
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                for message in _messages(str(frame.data)):
                    await self._handle_message(connection, message)
            await ws.close()
        except TimeoutError:
            pass
        finally:
            # Cancelled (dropped): no close handshake, the server closes the socket.
            if pinger is not None:
                pinger.cancel()
            if connection in self.connections:
                self.connections.remove(connection)
        return ws

    async def _handle_message(self, connection: _Connection, message: object) -> None:
        if not isinstance(message, dict) or message.get("type") != 1:
            return  # pings and anything else need no answer
        invocation = message.get("invocationId")
        arguments = message.get("arguments")
        if message.get("target") != "SubscribeWithCurrentState" or not isinstance(arguments, list):
            await _send(connection, _completion(invocation, "unknown method"))
            return
        charger_id = arguments[0] if arguments else None
        if not isinstance(charger_id, str) or not self._model.hub_owns(
            connection.user_id, charger_id
        ):
            await _send(connection, _completion(invocation, "not your charger"))
            return
        await _send(connection, _completion(invocation, None))
        connection.subscribed.setdefault(charger_id, {})
        if len(arguments) > 1 and arguments[1] is True:
            await self._push(connection, [charger_id])
        else:
            # Without current values: only what changes from now on.
            connection.subscribed[charger_id] = dict(self._model.hub_observations(charger_id) or {})

    async def _ping(self, connection: _Connection) -> None:
        while not connection.ws.closed:
            await asyncio.sleep(self.ping_interval)
            if connection.silent:
                continue
            if not self._model.hub_token_valid(connection.token):
                # The token ran out (or was revoked): the hub ends the connection.
                close = {"type": 7, "error": "Unauthorized", "allowReconnect": True}
                await _send(connection, json.dumps(close) + RECORD_SEPARATOR)
                await connection.ws.close()
                return
            await _send(connection, json.dumps({"type": 6}) + RECORD_SEPARATOR)
            await self._push(connection, list(connection.subscribed))


def _invocation(target: str, arguments: list[object]) -> str:
    return json.dumps({"type": 1, "target": target, "arguments": arguments}) + RECORD_SEPARATOR


def _completion(invocation: object, error: str | None) -> str:
    message: dict[str, object] = {"type": 3, "invocationId": invocation}
    if error is not None:
        message["error"] = error
    else:
        message["result"] = None
    return json.dumps(message) + RECORD_SEPARATOR


async def _send(connection: _Connection, text: str) -> None:
    if not text or connection.ws.closed or connection.silent:
        return
    try:
        await connection.ws.send_str(text)
    except ConnectionError:
        _LOGGER.debug("the stream's client went away")


def _messages(text: str) -> list[object]:
    result: list[object] = []
    for part in text.split(RECORD_SEPARATOR):
        if part.strip():
            try:
                result.append(json.loads(part))
            except ValueError:
                continue
    return result
