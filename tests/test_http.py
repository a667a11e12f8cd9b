"""The shared HTTP transport: no redirect followed, answers whole, failures without secrets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest
from yarl import URL

from custom_components.ev_charge_control.api.errors import AnswerLostError, ApiError, NotSentError
from custom_components.ev_charge_control.api.http import HttpAnswer, send
from tests.leaks import assert_no_secrets, free_port

pytestmark = pytest.mark.usefixtures("socket_enabled")

SECRET = "s3cret-t0ken-in-query-and-header"
WHERE = "Vendor GET /thing"
TIMEOUT = aiohttp.ClientTimeout(total=5.0)

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
type Serve = Callable[[Handler], Awaitable[URL]]


def redact(text: str) -> str:
    """Stand in for a client's redaction: take the secret out."""
    return text.replace(SECRET, "**REDACTED**")


def assert_nothing_of_the_request(err: BaseException) -> None:
    """Fail when the secret shows, or aiohttp's exception rides along."""
    assert_no_secrets(err, SECRET, unchained=True)


@pytest.fixture
def release() -> asyncio.Event:
    """Set when the test ends: held answers go."""
    return asyncio.Event()


@pytest.fixture
async def serve(release: asyncio.Event) -> AsyncGenerator[Serve]:
    """Serve one handler on 127.0.0.1 per call; return its base URL."""
    servers: list[TestServer] = []

    async def start(handler: Handler) -> URL:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        # No access log: it would write the URL, secret included.
        await server.start_server(access_log=None, shutdown_timeout=1.0)
        servers.append(server)
        return URL(f"http://127.0.0.1:{server.port}")

    yield start
    release.set()
    for server in servers:
        await server.close()


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a plain aiohttp session (the transport knows nothing of Home Assistant)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def with_secret(base: URL) -> URL:
    """Return the URL of a request that carries the secret in its query."""
    return (base / "thing").with_query({"token": SECRET})


async def test_answer_comes_back_whatever_its_status(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """Status, body bytes and Retry-After come back; what the caller sent reaches the server."""
    seen: list[tuple[str, str, str | None, bytes]] = []

    async def busy(request: web.Request) -> web.StreamResponse:
        seen.append(
            (request.method, request.path, request.headers.get("x-api-key"), await request.read())
        )
        return web.Response(
            status=429, body=b'{"error": "slow down"}', headers={"Retry-After": "120"}
        )

    base = await serve(busy)
    answer = await send(
        session,
        "POST",
        with_secret(base),
        request_timeout=TIMEOUT,
        where=WHERE,
        redact=redact,
        headers={"x-api-key": SECRET},
        json={"limit": 11},
    )
    assert answer == HttpAnswer(429, b'{"error": "slow down"}', "120")
    assert not answer.ok
    assert seen == [("POST", "/thing", SECRET, b'{"limit": 11}')]


async def test_a_2xx_is_ok_and_has_no_retry_after(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """A plain 200 is ok; a missing Retry-After is None."""

    async def fine(request: web.Request) -> web.StreamResponse:
        return web.json_response([])

    base = await serve(fine)
    answer = await send(session, "GET", base, request_timeout=TIMEOUT, where=WHERE, redact=redact)
    assert answer == HttpAnswer(200, b"[]", None)
    assert answer.ok


async def test_a_redirect_is_not_followed(serve: Serve, session: aiohttp.ClientSession) -> None:
    """A 302 to another server comes back as a 302; the other server never hears the secret."""
    elsewhere_saw: list[web.Request] = []

    async def elsewhere(request: web.Request) -> web.StreamResponse:
        elsewhere_saw.append(request)
        return web.json_response({})

    other = await serve(elsewhere)

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(str(other / "steal"))

    base = await serve(redirect)
    answer = await send(
        session,
        "GET",
        with_secret(base),
        request_timeout=TIMEOUT,
        where=WHERE,
        redact=redact,
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert answer.status == 302
    assert elsewhere_saw == []


@pytest.mark.real_time
async def test_timeout_is_an_api_error(
    serve: Serve, session: aiohttp.ClientSession, release: asyncio.Event
) -> None:
    """A server that does not answer in time fails the request instead of hanging."""

    async def hang(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.json_response({})

    base = await serve(hang)
    with pytest.raises(ApiError) as err:
        await send(
            session,
            "GET",
            with_secret(base),
            request_timeout=aiohttp.ClientTimeout(total=0.2),
            where=WHERE,
            redact=redact,
            headers={"x-api-key": SECRET},
        )
    assert str(err.value) == f"{WHERE}: no answer in time"
    # It went out: the vendor may have acted on it.
    assert type(err.value) is AnswerLostError
    assert_nothing_of_the_request(err.value)


async def test_refused_connection_text_goes_through_the_redaction(
    session: aiohttp.ClientSession,
) -> None:
    """Nothing listening: the error names aiohttp's class and its text, redacted by the caller."""

    def hide_host(text: str) -> str:
        return redact(text).replace("127.0.0.1", "**HOST**")

    url = with_secret(URL(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(NotSentError) as err:
        await send(
            session,
            "GET",
            url,
            request_timeout=TIMEOUT,
            where=WHERE,
            redact=hide_host,
            headers={"x-api-key": SECRET},
        )
    message = str(err.value)
    # No connection was made: the vendor never saw the request (its budget does not count it).
    assert message.startswith(f"{WHERE}: no connection (ClientConnectorError: ")
    assert "**HOST**" in message
    assert "127.0.0.1" not in message
    assert_nothing_of_the_request(err.value)


async def test_dropped_connection_is_an_api_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """A connection lost before the answer is an ApiError; the request is sent once."""
    seen: list[str] = []

    async def drop(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    base = await serve(drop)
    with pytest.raises(ApiError, match=r"connection failed \(ServerDisconnectedError") as err:
        await send(
            session, "POST", with_secret(base), request_timeout=TIMEOUT, where=WHERE, redact=redact
        )
    assert seen == ["/thing"]
    # The vendor saw it: it counts, and may have acted on it.
    assert type(err.value) is AnswerLostError
    assert_nothing_of_the_request(err.value)


async def test_an_error_quoting_the_url_quotes_it_redacted(
    session: aiohttp.ClientSession,
) -> None:
    """aiohttp's text may quote the URL, secret and all: only the redacted text travels on."""
    url = URL("ftp://127.0.0.1/thing").with_query({"token": SECRET})
    with pytest.raises(ApiError) as err:
        await send(session, "GET", url, request_timeout=TIMEOUT, where=WHERE, redact=redact)
    assert "**REDACTED**" in str(err.value)
    assert_nothing_of_the_request(err.value)
