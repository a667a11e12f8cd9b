# ruff: noqa: INP001 - a script of scripts/, imported by its tests as a namespace package
"""Tell scripts/test whether its pytest arguments run only part of the suite.

Exits 0 when they do (a folder, a file, a test id, -k, -m, --deselect, …): the whole-project
coverage floor means nothing for part of the suite, so scripts/test reports coverage without
failing on it. Exits 1 when they run it all (no arguments, or only ones like -x, -v, --durations):
the floor holds. A crash exits 1 too, so a doubt keeps the floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
import sys

# The folder pytest collects when it is given no path (testpaths in pyproject.toml).
TESTS = Path(__file__).resolve().parent.parent / "tests"
# Options that choose which tests run (each with its long spellings).
SELECTING_SHORT = frozenset("km")
SELECTING_LONG = frozenset(
    {
        "--deselect",
        "--ignore",
        "--ignore-glob",
        "--lf",
        "--last-failed",
        "--sw",
        "--stepwise",
        "--sw-skip",
        "--stepwise-skip",
        "--co",
        "--collect-only",
        "--collectonly",
        "--pyargs",
        "--picked",
    }
)
# Options that take their value as the next argument, which is then no path to select.
VALUED_SHORT = frozenset("kmpcorWn")
VALUED_LONG = frozenset(
    {
        "--deselect",
        "--ignore",
        "--ignore-glob",
        "--durations",
        "--durations-min",
        "--maxfail",
        "--tb",
        "--rootdir",
        "--basetemp",
        "--confcutdir",
        "--override-ini",
        "--log-level",
        "--log-cli-level",
        "--log-format",
        "--log-file",
        "--junit-xml",
        "--junitxml",
        "--cov-report",
        "--cov-config",
        "--cov-fail-under",
        "--import-mode",
        "--capture",
        "--color",
        "--pythonwarnings",
        "--timeout",
        "--numprocesses",
        "--maxprocesses",
        "--dist",
    }
)


def is_partial(args: Sequence[str]) -> bool:
    """Return whether these pytest arguments run less than the whole suite."""
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            return any(not _is_whole_suite(path) for path in rest)
        if arg.startswith("--"):
            name, has_value, _ = arg.partition("=")
            if name in SELECTING_LONG:
                return True
            if name in VALUED_LONG and not has_value:
                next(rest, None)
        elif arg.startswith("-") and arg != "-":
            # A cluster of short options, as argparse reads it: `-xk name`, `-xkname`.
            for index, letter in enumerate(arg[1:], start=1):
                if letter in SELECTING_SHORT:
                    return True
                if letter in VALUED_SHORT:
                    if index == len(arg) - 1:
                        next(rest, None)
                    break
        elif not _is_whole_suite(arg):
            return True
    return False


def _is_whole_suite(path: str) -> bool:
    """Return whether a path argument names the tests folder itself (`scripts/test tests`)."""
    return Path(path).resolve() == TESTS


def main(argv: Sequence[str]) -> int:
    """Exit 0 for part of the suite, 1 for all of it."""
    return 0 if is_partial(argv) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
