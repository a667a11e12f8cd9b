"""A stand-in aiohttp session that answers each request with a queued answer (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType


class Answer:
    """What the stand-in session answers one request with."""

    def __init__(self, status: int, body: bytes, retry_after: str | None = None) -> None:
        self.status = status
        self._body = body
        self.headers = {} if retry_after is None else {"Retry-After": retry_after}

    async def read(self) -> bytes:
        return self._body

    async def __aenter__(self) -> Answer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class Session:
    """A stand-in aiohttp session: answers each request with the next queued answer."""

    def __init__(self, *answers: Answer) -> None:
        self._answers: Iterator[Answer] = iter(answers)
        self.requests: list[tuple[str, str]] = []

    def request(self, method: str, url: object, **_: object) -> Answer:
        self.requests.append((method, str(url)))
        return next(self._answers, Answer(500, b""))
