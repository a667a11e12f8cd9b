"""What every client test checks of an error: no secret in it or in anything chained to it."""

from __future__ import annotations

from collections.abc import Iterator
import socket


def exception_chain(err: BaseException) -> Iterator[BaseException]:
    """Yield an exception and everything it was raised from or during, hidden or not."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def assert_no_secrets(err: BaseException, *secrets: str, unchained: bool = False) -> None:
    """Fail when a secret shows in the exception or its chain.

    ``unchained``: also fail when anything rides along as its cause or context (an error
    raised outside any ``except`` block carries nothing aiohttp knew).
    """
    for link in exception_chain(err):
        for secret in secrets:
            for text in (str(link), repr(link), repr(link.args)):
                assert secret not in text, type(link).__name__
    if unchained:
        assert err.__context__ is None
        assert err.__cause__ is None


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
