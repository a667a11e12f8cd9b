"""scripts/test: the whole-project coverage floor holds for the whole suite only.

scripts/partial_run.py decides; scripts/test itself runs here too, in a copy of the repository
whose setup, ruff, mypy and pytest are fakes that log their arguments: nothing is installed.
"""

from pathlib import Path
import shutil
import subprocess
import sys

import pytest

from scripts import partial_run

REPO = Path(partial_run.__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["tests"],
        ["tests/"],
        ["-x"],
        ["-x", "-q", "-v"],
        ["--durations=30"],
        ["--durations", "30"],
        ["-p", "no:randomly"],
        ["-pno:randomly"],
        ["-W", "error", "-x"],
        ["--maxfail", "2"],
        ["--tb", "short", "--snapshot-update"],
        ["-n", "2", "--dist", "loadfile"],
    ],
)
def test_whole_suite_keeps_the_floor(args: list[str]) -> None:
    """Arguments that choose no tests are a full run: the floor holds."""
    assert not partial_run.is_partial(args)
    assert partial_run.main(args) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["tests/goe"],
        ["tests/goe", "tests/easee"],
        ["tests/goe/test_client.py::test_status"],
        ["-x", "tests/scripts"],
        ["-k", "commands"],
        ["-kcommands"],
        ["-xk", "commands"],
        ["-m", "not day_long"],
        ["--deselect", "tests/goe/test_client.py::test_status"],
        ["--deselect=tests/goe/test_client.py::test_status"],
        ["--ignore=tests/goe"],
        ["--lf"],
        ["--collect-only"],
        ["--picked"],
        ["--durations", "30", "tests/goe"],
        ["-p", "no:randomly", "tests/goe"],
        ["--", "tests/goe"],
    ],
)
def test_part_of_the_suite_drops_the_floor(args: list[str]) -> None:
    """Arguments that choose some tests are a partial run: coverage cannot be the project's."""
    assert partial_run.is_partial(args)
    assert partial_run.main(args) == 0


def fake(path: Path, body: str) -> None:
    """Write an executable shell script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Return a copy of scripts/test and its helper, with fake tools in its .venv/bin."""
    (tmp_path / "scripts").mkdir()
    for script in ("test", "partial_run.py"):
        shutil.copy2(REPO / "scripts" / script, tmp_path / "scripts" / script)
    (tmp_path / "tests").mkdir()
    fake(tmp_path / "scripts" / "setup", "exit 0")
    bin_dir = tmp_path / ".venv" / "bin"
    # This test's own Python has Home Assistant (scripts/test prints its version).
    fake(bin_dir / "python", f'exec "{sys.executable}" "$@"')
    for tool in ("ruff", "mypy"):
        fake(bin_dir / tool, "exit 0")
    fake(bin_dir / "pytest", f'echo "$@" >> "{tmp_path / "pytest.log"}"')
    return tmp_path


def pytest_arguments(repo: Path, *args: str) -> list[str]:
    """Run the copy of scripts/test and return the arguments its pytest was given."""
    (repo / "pytest.log").unlink(missing_ok=True)
    bash = shutil.which("bash")
    assert bash is not None
    subprocess.run(  # noqa: S603 - our own script, with this test's arguments
        [bash, str(repo / "scripts" / "test"), *args],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (line,) = (repo / "pytest.log").read_text().splitlines()
    return line.split()


def test_scripts_test_enforces_the_floor_on_the_full_run(repo: Path) -> None:
    """CI's `scripts/test` (no arguments) fails under 95 % coverage, as before."""
    assert "--cov-fail-under=95" in pytest_arguments(repo)
    assert "--cov-fail-under=95" in pytest_arguments(repo, "-x", "--durations=10")


def test_scripts_test_reports_coverage_of_a_part_without_failing(repo: Path) -> None:
    """`scripts/test tests/goe` reports coverage but does not fail on the project's floor."""
    args = pytest_arguments(repo, "tests/goe", "-k", "commands")
    assert "--cov" in args
    assert "--cov-fail-under=0" in args
    assert "--cov-fail-under=95" not in args
    assert args[-3:] == ["tests/goe", "-k", "commands"]
