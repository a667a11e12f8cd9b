"""The demo's child processes: each in a process group of its own, all stopped together."""

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import re
import signal
import socket
from typing import Self

# Home Assistant saves its state on SIGTERM; give it that long before SIGKILL.
STOP_TIMEOUT = 30.0
_URL_LINE = re.compile(r" on (http://[^ ]+) with ")
# Every process group started and not yet seen gone, for kill_leftovers.
_LIVE_GROUPS: set[int] = set()


class DemoError(Exception):
    """Something the demo needs failed; the message says what, for a person to read."""


@dataclass
class Child:
    """One started process; its id is also its process group's id."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        """Return the process id (and process group id)."""
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        """Return the last lines of the child's output."""
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Children:
    """Start processes in new sessions; stop every one of them (and what they started)."""

    def __init__(self, *, stop_timeout: float = STOP_TIMEOUT) -> None:
        self._children: list[Child] = []
        self._stop_timeout = stop_timeout

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_all()

    @property
    def children(self) -> tuple[Child, ...]:
        """Return the processes started so far, oldest first."""
        return tuple(self._children)

    async def start(
        self, name: str, argv: list[str], *, log: Path, cwd: Path, env: dict[str, str] | None = None
    ) -> Child:
        """Start argv with stdin closed and stdout+stderr going to `log`."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                # A group of its own: Ctrl-C in the terminal reaches only us, and we stop the
                # whole group, so nothing a child started is left behind.
                start_new_session=True,
            )
        _LIVE_GROUPS.add(process.pid)
        child = Child(name, process, log)
        self._children.append(child)
        return child

    def check_alive(self) -> None:
        """Raise DemoError when a child has ended on its own."""
        for child in self._children:
            if child.process.returncode is not None:
                raise DemoError(
                    f"{child.name} stopped unexpectedly (exit code {child.process.returncode}); "
                    f"its last output ({child.log}):\n{child.tail()}"
                )

    async def stop_all(self) -> None:
        """Stop the children, newest first: SIGTERM to each group, SIGKILL after a while."""
        while self._children:
            await _stop(self._children.pop(), self._stop_timeout)


async def _stop(child: Child, stop_timeout: float) -> None:
    pgid = child.pid
    _signal_group(pgid, signal.SIGTERM)
    try:
        await asyncio.wait_for(child.process.wait(), stop_timeout)
    except TimeoutError:
        _signal_group(pgid, signal.SIGKILL)
        await child.process.wait()
    # The leader is gone; anything else left in its group goes now.
    for _ in range(50):
        if not _group_alive(pgid):
            _LIVE_GROUPS.discard(pgid)
            return
        _signal_group(pgid, signal.SIGKILL)
        await asyncio.sleep(0.1)
    raise DemoError(f"process group {pgid} ({child.name}) would not stop")


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def until[T](
    what: str,
    seconds: float,
    check: Callable[[], None],
    probe: Callable[[], Awaitable[T | None]],
    *,
    interval: float = 1.0,
) -> T:
    """Call `probe` until it returns something but None and return that.

    `check` runs before each try and raises when a process of the demo died meanwhile.
    """
    try:
        async with asyncio.timeout(seconds):
            while True:
                check()
                result = await probe()
                if result is not None:
                    return result
                await asyncio.sleep(interval)
    except TimeoutError:
        raise DemoError(f"timed out after {seconds:.0f} s waiting for {what}") from None


async def wait_for_url(child: Child, seconds: float = 60.0) -> str:
    """Wait for a simulator's "... on http://host:port with ..." line and return the URL."""

    def alive() -> None:
        if child.process.returncode is not None:
            raise DemoError(
                f"{child.name} did not start; its output ({child.log}):\n{child.tail()}"
            )

    async def url() -> str | None:
        match = _URL_LINE.search(child.log.read_text(errors="replace"))
        return match.group(1) if match else None

    return await until(f"{child.name} to start", seconds, alive, url, interval=0.1)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Return whether a TCP server could listen on host:port now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: a port whose old connections linger in TIME_WAIT is free to them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def kill_leftovers() -> None:
    """SIGKILL every group still alive: the last resort when a stop was interrupted."""
    for pgid in sorted(_LIVE_GROUPS):
        _signal_group(pgid, signal.SIGKILL)
    _LIVE_GROUPS.clear()
