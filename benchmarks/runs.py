"""What the benchmark and the soak share outside Home Assistant: arguments, workers, README."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import subprocess
import sys
import tempfile
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def add_output_arguments(parser: argparse.ArgumentParser, results: str) -> None:
    """Add --output, --readme, --render and the worker's own (hidden) arguments."""
    parser.add_argument("--output", type=Path, help="where to write the results (JSON)")
    parser.add_argument(
        "--readme",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the table into README.md (default: on for the full run only)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS",
        help=f"print (and with --readme write) the table of an earlier {results}; no run",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-output", type=Path, help=argparse.SUPPRESS)


def run_worker(module: str, spec: str) -> tuple[int, dict[str, Any] | None]:
    """Run ``module --worker spec`` in a fresh interpreter; return its exit status and result.

    A fresh process each time, so that memory figures are its own and Home Assistant (with
    freezegun's patches) is only imported where it runs.
    """
    with tempfile.TemporaryDirectory(prefix="ev-worker-") as folder:
        output = Path(folder) / "result.json"
        command = [sys.executable, "-m", module, "--worker", spec, "--worker-output", str(output)]
        done = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603 - our own module
        if done.returncode != 0 or not output.exists():
            return done.returncode, None
        result: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
        return done.returncode, result


def write_between(readme: Path, start: str, end: str, body: str) -> bool:
    """Replace what stands between two markers of a file; False when a marker is missing."""
    text = readme.read_text(encoding="utf-8")
    head, found_start, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not found_start or not found_end:
        return False
    readme.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")
    return True
