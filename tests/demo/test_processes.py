"""The demo's process handling: every child's whole process group stops, nothing is left."""

import asyncio
import os
from pathlib import Path
import socket
import sys

import pytest

from demo.processes import (
    Children,
    DemoError,
    free_port,
    kill_leftovers,
    port_is_free,
    until,
    wait_for_url,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")
REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_stop_all_ends_the_child_and_what_it_started(tmp_path: Path) -> None:
    async with Children(stop_timeout=1) as children:
        # A shell that ignores SIGTERM and leaves a grandchild in the background.
        child = await children.start(
            "stubborn",
            ["bash", "-c", "trap '' TERM; sleep 300 & echo $!; wait"],
            log=tmp_path / "stubborn.log",
            cwd=tmp_path,
        )
        grandchild = int(
            await until(
                "the grandchild's pid",
                10,
                children.check_alive,
                lambda: _first_line(tmp_path / "stubborn.log"),
                interval=0.05,
            )
        )
        assert _alive(grandchild)
        assert os.getpgid(grandchild) == child.pid  # its own group, not ours
        assert os.getpgid(child.pid) != os.getpgid(0)
    assert not _alive(grandchild)
    assert child.process.returncode is not None


async def _first_line(path: Path) -> str | None:
    text = await asyncio.to_thread(lambda: path.read_text() if path.exists() else "")
    return text.splitlines()[0] if "\n" in text else None


async def test_check_alive_reports_a_dead_child_with_its_output(tmp_path: Path) -> None:
    async with Children() as children:
        child = await children.start(
            "quitter",
            ["bash", "-c", "echo something broke; exit 3"],
            log=tmp_path / "quitter.log",
            cwd=tmp_path,
        )
        await child.process.wait()
        with pytest.raises(DemoError, match=r"quitter stopped unexpectedly \(exit code 3\)"):
            children.check_alive()
        with pytest.raises(DemoError, match="something broke"):
            children.check_alive()


async def test_wait_for_url_reads_the_simulators_line(tmp_path: Path) -> None:
    async with Children() as children:
        sim = await children.start(
            "goe simulator",
            [sys.executable, "-m", "simulators", "goe", "--demo", "--port", "0"],
            log=tmp_path / "goe.log",
            cwd=REPO,
        )
        url = await wait_for_url(sim)
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        assert not port_is_free(port)
        bad = await children.start(
            "broken", ["bash", "-c", "echo no url here"], log=tmp_path / "b.log", cwd=tmp_path
        )
        with pytest.raises(DemoError, match=r"(?s)broken did not start.*no url here"):
            await wait_for_url(bad, seconds=10)


async def test_until_times_out_with_what_it_waited_for() -> None:
    async def never() -> None:
        return None

    with pytest.raises(DemoError, match="timed out after 0 s waiting for godot"):
        await until("godot", 0.2, lambda: None, never, interval=0.05)


def test_ports() -> None:
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free(port)


async def test_kill_leftovers_is_the_last_resort(tmp_path: Path) -> None:
    children = Children()
    child = await children.start("sleeper", ["sleep", "300"], log=tmp_path / "s.log", cwd=tmp_path)
    kill_leftovers()
    await asyncio.wait_for(child.process.wait(), 10)
    assert child.process.returncode == -9
