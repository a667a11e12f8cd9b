"""What the vendor simulators share: serving, the request log and injected faults.

Each simulator (go-e, Easee, ViriCiti) is an aiohttp application of its vendor's API plus /_sim
admin endpoints. `SimulatorServer` starts and stops it, keeps the request log for
GET /_sim/requests and plays the faults tests inject (`inject_fault`, POST and DELETE
/_sim/faults), the random faults of `set_chaos` (a seeded generator, so a run repeats) and the
outages of `add_outage` (every request picked in a window of simulated time fails);
`PathFaultServer` adds what the REST simulators (Easee, ViriCiti) have in
common: faults picked by path, 429 answers and answers of the wrong JSON shape. What an error
looks like stays with each vendor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
import json
import random
import time
from typing import TYPE_CHECKING, Any, ClassVar, Final

from aiohttp import web

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from aiohttp.typedefs import Handler, Middleware

type RequestLog = Callable[[int, str], None]
"""Logs the request being answered: HTTP status (0: no answer at all) and result."""

# Body of an API request that is not JSON (None stands for an empty body).
BAD_JSON = object()

# What chaos draws, each at its own rate: a 5xx (500, 502 or 503), no answer in time, an answer
# that is no JSON, a connection reset, and the vendor's own rate-limit answer.
CHAOS_KINDS: Final = ("http_5xx", "timeout", "non_json", "drop", "rate_limit")
# A client on a frozen, travelled clock never times out while the simulator holds an answer, so
# a "timeout" answers at once with this header; the client's side (the soak) raises the timeout.
# "lost": the cloud took and did the request, only its answer is lost; "unsent": it never
# arrived. A request that arrived is logged as usual (it counts against budgets).
TIMEOUT_HEADER: Final = "X-Sim-Timeout"
_TIMEOUT_KEY: Final = web.RequestKey("sim_timeout", str)


def wall_clock() -> float:
    """Return the time now, the simulators' default clock."""
    # Looks time.time up on every call, so freezegun's patch reaches the simulator.
    return time.time()


def parse_body(raw: bytes) -> object:
    """Read an API request body: None when empty, BAD_JSON when it is no JSON."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:  # also bad UTF-8
        return BAD_JSON


async def json_object(request: web.Request) -> dict[str, Any]:
    """Return the JSON object an admin request sends; ValueError or TypeError otherwise."""
    try:
        body = await request.json()
    except json.JSONDecodeError as err:
        raise ValueError("body must be JSON") from err
    if not isinstance(body, dict):
        raise TypeError("body must be a JSON object")
    return body


def admin_error(message: str, *, status: int = 400) -> web.Response:
    """Return the answer of an admin endpoint to a request it refuses."""
    return web.json_response({"success": False, "error": message}, status=status)


@dataclass
class Fault:
    """An injected fault, waiting for the requests it picks."""

    kind: str
    # What picks the requests (go-e: the serial; Easee, ViriCiti: text in the path); None: any.
    target: str | None
    remaining: int
    delay: float
    retry_after: int  # seconds, for the Retry-After of "http_429"
    # Chaos and outages: the request log's result is "{label}:{what the fault logs}".
    label: str = ""


@dataclass(frozen=True, slots=True)
class Outage:
    """A stretch of simulated time in which every request picked fails (a 503, or a reset)."""

    start: float
    end: float
    target: str | None  # picks as a fault's target does; None: every request
    label: str  # in the request log's result, e.g. "outage" or "offline"
    kind: str = "http_503"


class Chaos:
    """Faults drawn at random, at a rate per kind, from seeded generators.

    The n-th request about a subject (go-e: a serial; Easee, ViriCiti: a path) draws from a
    generator seeded with the seed, the subject and n: the same requests meet the same faults
    again, whatever order requests about different subjects arrive in.
    """

    def __init__(self, rates: Mapping[str, float], seed: int) -> None:
        unknown = set(rates) - set(CHAOS_KINDS)
        if unknown:
            raise ValueError(f"unknown chaos kinds: {', '.join(sorted(unknown))}")
        if any(not 0 <= rate <= 1 for rate in rates.values()) or sum(rates.values()) > 1:
            raise ValueError("rates must be between 0 and 1 and add up to at most 1")
        self.rates = {kind: rates[kind] for kind in CHAOS_KINDS if kind in rates}
        self.seed = seed
        self.injected: Counter[str] = Counter()
        self.paused = False
        self._drawn: Counter[str | None] = Counter()

    def draw(self, subject: str | None, rate_limit: str) -> str | None:
        """Return the fault kind for the next request about ``subject``, or None.

        A 5xx is one of 500, 502 and 503; a timeout loses the answer of a request the cloud
        did ("timeout_lost") or the request itself ("timeout_unsent"); ``rate_limit`` is the
        vendor's own answer.
        """
        if self.paused:
            return None
        count = self._drawn[subject]
        self._drawn[subject] += 1
        dice = random.Random(f"{self.seed}/{subject}/{count}")
        roll = dice.random()
        for kind, rate in self.rates.items():
            if roll < rate:
                self.injected[kind] += 1
                if kind == "http_5xx":
                    return dice.choice(("http_500", "http_502", "http_503"))
                if kind == "timeout":
                    return dice.choice(("timeout_lost", "timeout_unsent"))
                return rate_limit if kind == "rate_limit" else kind
            roll -= rate
        return None


class SimulatorServer[RequestT: DataclassInstance](ABC):
    """A vendor simulator as an aiohttp server, with its request log and injected faults.

    A subclass builds its application in make_app, sets `fault_kinds` and `fault_target` (the
    key of a /_sim/faults body that picks the requests), tells in _fault_picks which requests
    a fault picks and answers the fault kinds of its own in _vendor_fault_response.
    """

    fault_kinds: ClassVar[frozenset[str]]
    fault_target: ClassVar[str]
    # The fault kind of the vendor's own answer to a client that asks too often.
    rate_limit_fault: ClassVar[str]
    # The numbers of a /_sim/faults body: name, default and whether it must be an integer.
    fault_numbers: ClassVar[tuple[tuple[str, float, bool], ...]] = (
        ("count", 1, True),
        ("delay", 0.0, False),
    )

    def __init__(self, *, clock: Callable[[], float], latency_scale: float) -> None:
        self._clock = clock
        self.latency_scale = latency_scale
        self.requests: list[RequestT] = []  # every API request as logged, for /_sim/requests
        self.base_url = ""  # set by start
        self._faults: list[Fault] = []
        self.chaos: Chaos | None = None
        self.outages: list[Outage] = []
        self._runner: web.AppRunner | None = None
        # Run before the vendor's own, e.g. the benchmark's command receipts; set before start.
        self.extra_middlewares: list[Middleware] = []

    @abstractmethod
    def make_app(self) -> web.Application:
        """Build the aiohttp application: the vendor's API plus /_sim admin endpoints."""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        # No access log: it would write every request line, and with it the secrets that come
        # in URLs (go-e's grid token, a ViriCiti ?apiKey=).
        app = self.make_app()
        app.middlewares[0:0] = [*self.extra_middlewares, _mark_timeouts]
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        url_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{url_host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; pending answers get a second to finish."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _sleep(self, seconds: float) -> None:
        delay = self.latency_scale * seconds
        if delay > 0:
            await asyncio.sleep(delay)

    # --- faults -------------------------------------------------------------------------------

    def _queue_fault(
        self, kind: str, target: str | None, *, count: int, delay: float, retry_after: int = 0
    ) -> None:
        """Check and keep a fault for the next `count` requests it picks."""
        if kind not in self.fault_kinds:
            raise ValueError(f"unknown fault kind: {kind}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if delay < 0:
            raise ValueError("delay must not be negative")
        if retry_after < 0:
            raise ValueError("retry_after must not be negative")
        self._faults.append(Fault(kind, target, count, delay, retry_after))

    def clear_faults(self) -> None:
        """Forget all injected faults."""
        self._faults.clear()

    def set_chaos(self, rates: Mapping[str, float], seed: int) -> Chaos:
        """Fail API requests at random from now on: a rate per kind of CHAOS_KINDS.

        Drawn after the injected faults and outages, one draw per request, from a generator of
        its own seeded with ``seed``: the same requests meet the same faults again.
        """
        self.chaos = Chaos(rates, seed)
        return self.chaos

    def add_outage(
        self,
        start: float,
        end: float,
        *,
        target: str | None = None,
        label: str = "outage",
        kind: str = "http_503",
    ) -> None:
        """Fail every request (that ``target`` picks) from ``start`` to ``end`` (the clock's)."""
        if end <= start:
            raise ValueError("an outage must end after it starts")
        if kind not in {"http_503", "drop"}:
            raise ValueError(f"unknown outage kind: {kind}")
        self.outages.append(Outage(start, end, target, label, kind))

    @abstractmethod
    def _fault_picks(self, target: str, subject: str | None) -> bool:
        """Tell whether a fault for `target` picks a request about `subject`."""

    def _take_fault(self, subject: str | None) -> Fault | None:
        """Spend one use of the first fault that picks a request about `subject`.

        Then an outage running now, then what chaos draws.
        """
        for fault in self._faults:
            if fault.target is None or self._fault_picks(fault.target, subject):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        now = self._clock()
        for outage in self.outages:
            if outage.start <= now < outage.end and (
                outage.target is None or self._fault_picks(outage.target, subject)
            ):
                return Fault(outage.kind, outage.target, 1, 0.0, 0, label=outage.label)
        if (
            self.chaos is not None
            and (kind := self.chaos.draw(subject, self.rate_limit_fault)) is not None
        ):
            return Fault(kind, None, 1, 0.0, 60, label="chaos")
        return None

    async def _play_fault(
        self, request: web.Request, subject: str | None, log: RequestLog
    ) -> web.StreamResponse | None:
        """Play the next fault that picks the request: return its answer.

        None: no fault, or a "delay" that has passed, and the request goes on.
        """
        fault = self._take_fault(subject)
        if fault is not None and fault.label:
            log = _labelled(log, fault.label)
        if fault is not None and fault.kind == "timeout_lost":
            # The request goes on and is done; the client never hears the answer.
            request[_TIMEOUT_KEY] = "lost"
            return None
        if fault is not None and fault.kind != "delay":
            return self._fault_response(request, fault, log)
        if fault is not None:
            await asyncio.sleep(fault.delay)
        return None

    def _fault_response(
        self, request: web.Request, fault: Fault, log: RequestLog
    ) -> web.StreamResponse:
        if fault.kind == "drop":
            log(0, "drop")
            if request.transport is not None:  # pragma: no branch - None once the client left
                request.transport.close()
            # Nothing reaches the client: the transport is gone before aiohttp writes this.
            return web.Response()
        if fault.kind in {"http_500", "http_502", "http_503"}:
            status = int(fault.kind.removeprefix("http_"))
            log(status, fault.kind)
            return web.Response(
                status=status,
                text=f"<html><body><h1>{status} Server Error</h1></body></html>",
                content_type="text/html",
            )
        if fault.kind == "timeout_unsent":
            log(0, fault.kind)
            return web.Response(status=504, headers={TIMEOUT_HEADER: "unsent"})
        response = self._vendor_fault_response(request, fault, log)
        if response is not None:
            return response
        log(200, "non_json")
        return web.Response(text="<html>oops</html>", content_type="text/html")

    def _vendor_fault_response(
        self, request: web.Request, fault: Fault, log: RequestLog
    ) -> web.StreamResponse | None:
        """Answer a fault of a kind only this vendor has; None for the shared kinds."""
        return None

    def _fault_arguments(self, body: Mapping[str, object]) -> dict[str, Any]:
        """Turn a /_sim/faults body into _queue_fault's arguments, checking their types."""
        numbers = self.fault_numbers
        unknown = set(body) - {"kind", self.fault_target, *(name for name, _, _ in numbers)}
        if unknown:
            raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
        kind, target = body.get("kind"), body.get(self.fault_target)
        if not isinstance(kind, str):
            raise TypeError("kind must be a string")
        if target is not None and not isinstance(target, str):
            raise TypeError(f"{self.fault_target} must be a string")
        arguments: dict[str, Any] = {"kind": kind, "target": target}
        for name, default, integer in numbers:
            arguments[name] = self._fault_number(name, body.get(name, default), integer=integer)
        return arguments

    @staticmethod
    def _fault_number(name: str, value: object, *, integer: bool) -> float:
        """Check one number of a /_sim/faults body; a vendor may check in its own words."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value if integer else float(value)
        if isinstance(value, float) and not integer:
            return value
        raise TypeError(f"{name} must be {'an integer' if integer else 'a number'}")

    # --- admin endpoints (no auth: the simulators bind 127.0.0.1) ----------------------------

    async def _handle_sim_requests(self, request: web.Request) -> web.Response:
        return web.json_response([asdict(r) for r in self.requests])

    async def _handle_sim_fault(self, request: web.Request) -> web.Response:
        try:
            self._queue_fault(**self._fault_arguments(await json_object(request)))
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        return web.json_response({"success": True})

    async def _handle_sim_clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({"success": True})


def _labelled(log: RequestLog, label: str) -> RequestLog:
    def labelled(http_status: int, result: str) -> None:
        log(http_status, f"{label}:{result}")

    return labelled


def answer_lost(request: web.Request) -> bool:
    """Tell whether chaos loses the answer of ``request`` (the cloud did it; nobody hears so)."""
    return request.get(_TIMEOUT_KEY) == "lost"


@web.middleware
async def _mark_timeouts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Mark the answer of a request whose answer chaos loses (see TIMEOUT_HEADER)."""
    response = await handler(request)
    if request.get(_TIMEOUT_KEY) is not None:
        response.headers[TIMEOUT_HEADER] = request[_TIMEOUT_KEY]
    return response


class PathFaultServer[RequestT: DataclassInstance](SimulatorServer[RequestT]):
    """A simulator of a REST API (Easee, ViriCiti): faults pick requests by their path.

    Besides the shared fault kinds it answers "http_429" (with a Retry-After) and
    "wrong_shape": an object where the route (named in `list_routes`) answers a JSON array,
    an array elsewhere.
    """

    fault_target = "path_contains"
    rate_limit_fault = "http_429"
    fault_numbers = (*SimulatorServer.fault_numbers, ("retry_after", 60, True))
    too_many_requests_body: ClassVar[Mapping[str, object]]
    list_routes: ClassVar[frozenset[str]]

    def inject_fault(
        self,
        kind: str,
        *,
        path_contains: str | None = None,
        count: int = 1,
        delay: float = 0.0,
        retry_after: int = 60,
    ) -> None:
        """Make the next `count` API requests (whose path contains the text, or any) misbehave.

        Faults come before every check of the request (Easee: rate limits and authentication,
        spending no rate limit; ViriCiti: the key check); only "delay" lets the request go on
        afterwards.
        """
        self._queue_fault(kind, path_contains, count=count, delay=delay, retry_after=retry_after)

    def _fault_picks(self, target: str, subject: str | None) -> bool:
        return subject is not None and target in subject

    def _vendor_fault_response(
        self, request: web.Request, fault: Fault, log: RequestLog
    ) -> web.StreamResponse | None:
        if fault.kind == "http_429":
            log(429, "http_429")
            return web.json_response(
                self.too_many_requests_body,
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if fault.kind == "wrong_shape":
            log(200, "wrong_shape")
            route = request.match_info.route.name
            return web.json_response({"unexpected": True} if route in self.list_routes else [1])
        return None
