"""A small client for Home Assistant's REST and websocket APIs, as the demo uses them."""

from collections.abc import Callable, Mapping
import itertools
from typing import Self

import aiohttp

from demo.processes import DemoError, until

# Calls that wait for a vendor (a config flow's validation) may take a few seconds.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)


def as_object(value: object, what: str) -> dict[str, object]:
    """Return value as a JSON object, or raise DemoError naming `what`."""
    if not isinstance(value, dict):
        raise DemoError(f"{what}: expected a JSON object, got {value!r}")
    return {str(key): item for key, item in value.items()}


def as_list(value: object, what: str) -> list[object]:
    """Return value as a JSON array, or raise DemoError naming `what`."""
    if not isinstance(value, list):
        raise DemoError(f"{what}: expected a JSON array, got {value!r}")
    return list(value)


def as_str(value: object, what: str) -> str:
    """Return value as a string, or raise DemoError naming `what`."""
    if not isinstance(value, str):
        raise DemoError(f"{what}: expected a string, got {value!r}")
    return value


def objects(value: object, what: str) -> list[dict[str, object]]:
    """Return value as a JSON array of objects."""
    return [as_object(item, what) for item in as_list(value, what)]


class HassClient:
    """REST calls to one Home Assistant, with the access token once there is one."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url
        self.token: str | None = None

    @property
    def client_id(self) -> str:
        """Return the OAuth client id the demo logs in with (any URL of Home Assistant)."""
        return f"{self.base_url}/"

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        form: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
        answer_within: aiohttp.ClientTimeout = REQUEST_TIMEOUT,
    ) -> object:
        """Call the API and return the decoded JSON answer; other statuses raise DemoError."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self.session.request(
                method,
                f"{self.base_url}{path}",
                json=json,
                data=form,
                headers=headers,
                timeout=answer_within,
            ) as resp:
                text = await resp.text()
                if resp.status not in ok:
                    raise DemoError(f"{method} {path}: HTTP {resp.status}: {text[:500]}")
                if not text:
                    return None
                try:
                    answer: object = await resp.json(content_type=None)
                except ValueError as err:
                    raise DemoError(f"{method} {path}: not JSON: {text[:200]}") from err
                return answer
        except (aiohttp.ClientError, TimeoutError) as err:
            raise DemoError(f"{method} {path}: {err!r}") from err

    async def get(self, path: str) -> object:
        """GET path."""
        return await self.request("GET", path)

    async def post(
        self, path: str, body: object, *, answer_within: aiohttp.ClientTimeout = REQUEST_TIMEOUT
    ) -> object:
        """POST a JSON body to path."""
        return await self.request("POST", path, json=body, answer_within=answer_within)

    async def is_up(self) -> bool:
        """Return whether Home Assistant's HTTP server answers at all."""
        try:
            async with self.session.get(
                f"{self.base_url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=5)
            ) as resp:
                return resp.status < 500
        except aiohttp.ClientError, TimeoutError:
            return False

    async def state(self, entity_id: str) -> dict[str, object] | None:
        """Return an entity's state object, or None when it has none."""
        answer = await self.request("GET", f"/api/states/{entity_id}", ok=(200, 404))
        if answer is None:
            return None
        state = as_object(answer, entity_id)
        return state if "entity_id" in state else None

    async def call_service(self, domain: str, service: str, data: Mapping[str, object]) -> None:
        """Call an action the way an automation or the UI would."""
        await self.post(f"/api/services/{domain}/{service}", dict(data))

    def websocket(self) -> HassWebsocket:
        """Return a websocket connection to open with `async with`."""
        if self.token is None:
            raise DemoError("the websocket API needs a login first")
        return HassWebsocket(self.session, self.base_url, self.token)


class HassWebsocket:
    """One authenticated websocket connection; `call` sends a command and returns its result."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._session = session
        self._url = base_url.replace("http", "ws", 1) + "/api/websocket"
        self._token = token
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Self:
        try:
            self._ws = await self._session.ws_connect(self._url, timeout=aiohttp.ClientWSTimeout())
            await self._receive()  # auth_required
            await self._ws.send_json({"type": "auth", "access_token": self._token})
            answer = await self._receive()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise DemoError(f"websocket: {err!r}") from err
        if answer.get("type") != "auth_ok":
            raise DemoError(f"websocket login refused: {answer}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _receive(self) -> dict[str, object]:
        if self._ws is None:
            raise DemoError("websocket not open")
        message = await self._ws.receive(timeout=60)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise DemoError(f"websocket closed: {message.type!r}")
        return as_object(message.json(), "websocket message")

    async def call(self, command: str, **fields: object) -> object:
        """Send one command and return its result; a failure raises DemoError."""
        if self._ws is None:
            raise DemoError("websocket not open")
        message_id = next(self._ids)
        await self._ws.send_json({"id": message_id, "type": command, **fields})
        while True:
            answer = await self._receive()
            if answer.get("id") == message_id and answer.get("type") == "result":
                break
        if answer.get("success") is not True:
            raise DemoError(f"websocket {command}: {answer.get('error')}")
        return answer.get("result")


async def wait_until_up(client: HassClient, check: Callable[[], None], seconds: float) -> None:
    """Wait for Home Assistant's HTTP server; `check` raises when a process died meanwhile."""

    async def up() -> bool | None:
        return True if await client.is_up() else None

    await until(f"Home Assistant to answer on {client.base_url}", seconds, check, up, interval=0.5)
