"""The one HTTP request path of every vendor client: no redirect, a timeout, no secret in errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL

from .errors import AnswerLostError, NotSentError

# 4xx statuses that do not refuse the request itself: who is asking (401, 403, 407), or not
# now (408 timeout, 425 too early, 429 too many). Any other 4xx hears the same when sent again.
_NOT_REFUSALS = frozenset({401, 403, 407, 408, 425, 429})


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What a vendor client reads of an answer: its status, body and Retry-After header."""

    status: int
    body: bytes
    retry_after: str | None

    @property
    def ok(self) -> bool:
        """Return whether the status is a 2xx."""
        return 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        """Return whether the vendor refused the request as such: sending it again is no use."""
        return 400 <= self.status < 500 and self.status not in _NOT_REFUSALS


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    *,
    request_timeout: aiohttp.ClientTimeout,
    where: str,
    redact: Callable[[str], str],
    headers: Mapping[str, str] | None = None,
    json: Mapping[str, object] | None = None,
) -> HttpAnswer:
    """Send one request and return its answer, whatever its status.

    A timeout or connection failure raises ``AnswerLostError("{where}: …")``, or
    ``NotSentError`` when no connection was made (the request never left). The request's URL
    and headers may hold secrets and aiohttp's exceptions know both, so the only thing of
    one that travels on is its class name and its text after ``redact``, and the error is
    raised outside the ``except`` block, so aiohttp's exception is not its ``__context__``.
    """
    failure: str | None = None
    sent = True
    answer = HttpAnswer(0, b"", None)
    try:
        # A redirect would carry the secret (a query, a header, a password) elsewhere.
        async with session.request(
            method,
            url,
            headers=headers,
            json=json,
            timeout=request_timeout,
            allow_redirects=False,
        ) as response:
            answer = HttpAnswer(
                response.status, await response.read(), response.headers.get("Retry-After")
            )
    except TimeoutError:
        failure = "no answer in time"
    except aiohttp.ClientConnectorError as err:
        # No connection: the request never left (a name lookup or the connection failed).
        sent = False
        failure = f"no connection ({type(err).__name__}: {redact(str(err))})"
    except aiohttp.ClientError as err:
        failure = f"connection failed ({type(err).__name__}: {redact(str(err))})"
    if failure is not None:
        raise (AnswerLostError if sent else NotSentError)(f"{where}: {failure}")
    return answer
