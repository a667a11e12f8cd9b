"""A bad day in the cloud: the chaos soak per vendor (``scripts/soak``, issue 17).

Each vendor soaks in a fresh interpreter (``soakrun``): Home Assistant in-process on a travelled
clock, a few chargers (or groups), a user changing currents and limits every minute, reloads,
an options change, and the simulators' faults (``soakfarm``) drawn from a seeded generator.
The run prints a table per vendor, writes ``benchmarks/soak.json`` and the README's section
(full run), and exits non-zero when any "0" row is not 0.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
import datetime as dt
import json
from pathlib import Path
import sys
import time
from typing import Any, Final

from simulators import VENDORS

from .runs import add_output_arguments, run_worker, write_between

ROOT: Final = Path(__file__).resolve().parent.parent
RESULTS: Final = ROOT / "benchmarks" / "soak.json"
README: Final = ROOT / "README.md"
TABLE_START: Final = "<!-- soak-table:start -->"
TABLE_END: Final = "<!-- soak-table:end -->"
FULL_HOURS: Final = 24.0
QUICK_HOURS: Final = 2.0
SEED: Final = 17


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/soak",
        description="Soak each vendor for a travelled day under faults; fail on requests over "
        "a budget or during a ban, unhandled exceptions, leaked secrets, lost commands and "
        "entities that do not come back.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI's size: {QUICK_HOURS:g} travelled hours per vendor; writes no soak.json",
    )
    parser.add_argument("--hours", type=float, help="travelled hours per vendor")
    parser.add_argument("--seed", type=int, default=SEED, help="the faults' and user's seed")
    parser.add_argument(
        "--vendor",
        choices=list(VENDORS),
        action="append",
        help="soak only this vendor (repeatable; default: every vendor)",
    )
    add_output_arguments(parser, "soak.json")
    return parser.parse_args(argv)


def _run_vendor(vendor: str, hours: float, seed: int) -> dict[str, Any]:
    """Soak one vendor in a fresh interpreter and return its counts."""
    spec = json.dumps({"vendor": vendor, "hours": hours, "seed": seed})
    status, result = run_worker("benchmarks.soak", spec)
    if result is None:
        return {
            "vendor": vendor,
            "name": VENDORS[vendor].name,
            "hours": hours,
            "seed": seed,
            "violations": [f"the soak did not finish (exit status {status})"],
        }
    return result


def _worker(spec: str, output: Path) -> None:
    # Imported here: Home Assistant (and freezegun's patches) only in the soaking process.
    from .soakrun import run  # noqa: PLC0415

    wanted = json.loads(spec)
    result = run(wanted["vendor"], float(wanted["hours"]), int(wanted["seed"]))
    output.write_text(json.dumps(result, default=str), encoding="utf-8")


# The table


def _n(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} s"


def _faults(result: Mapping[str, Any]) -> str:
    faults = result.get("faults_injected", {})
    parts = [f"{kind.replace('_', ' ')} {n:,}" for kind, n in faults.items()]
    return f"{result.get('faults_total', 0):,} ({', '.join(parts)})" if parts else "0"


def _memory(result: Mapping[str, Any]) -> str:
    memory = result.get("memory")
    if not memory:
        return "n/a"
    growth = memory["growth_kb"] / 1024
    flag = " — **a steady rise**" if memory["steady_rise"] else ", no steady rise"
    return f"{growth:+.1f} MB after the first 2 h{flag}"


def _vendor_table(result: Mapping[str, Any]) -> list[str]:
    commands = result.get("commands", {})
    violations = result.get("violations", [])
    recoveries = result.get("recoveries", [])
    recovered = sum(1 for r in recoveries if r["seconds"] is not None)
    rows = [
        ("Travelled", f"{result['hours']:g} h (+1 h to settle), seed {result['seed']}"),
        ("Real time", _s(result.get("wall_s"))),
        (
            "Fleet",
            f"{result.get('entries', 0)} {'entry' if result.get('entries') == 1 else 'entries'}, "
            f"{result.get('devices', 0)} {VENDORS[result['vendor']].bench.unit}",
        ),
        ("Requests", _n(result.get("requests", 0))),
        ("Faults injected", _faults(result)),
        (
            "Requests over a budget",
            _n(sum(len(b["violations"]) for b in result.get("budgets", []))),
        ),
        (
            "Budgets broken only with set-ups' first reads (reloads, retries; not failed)",
            _n(sum(len(b.get("bought_by_setups", [])) for b in result.get("budgets", []))),
        ),
        ("Requests during a ban", _n(result.get("ban_requests", 0))),
        ("Unhandled exceptions", _n(len(result.get("unhandled", [])))),
        (
            "Secrets in logs, states, diagnostics, repairs",
            _n(sum(result.get("leaks", {}).values())),
        ),
        (
            "Commands asked / applied / reported failed",
            f"{commands.get('asked', 0):,} / {commands.get('applied', 0):,} / "
            f"{commands.get('reported_failed', 0):,} "
            f"({commands.get('superseded', 0):,} replaced by a newer value first)",
        ),
        (
            "Commands waiting out a ban (its repair issue shown)",
            _n(commands.get("held_by_bans", 0)),
        ),
        ("Commands neither applied nor reported", _n(commands.get("lost", 0))),
        ("Recoveries", f"{recovered} of {len(recoveries)}"),
        (
            "Worst recovery",
            f"{_s(result.get('worst_recovery_s'))} (allowed: each entity's read interval, "
            f"at most {_s(result.get('read_interval_s'))})",
        ),
        ("Memory", _memory(result)),
        ("Violations", _n(len(violations))),
    ]
    lines = [f"**{result['name']}**", "", "| | |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    lines += [f"- {violation}" for violation in violations[:10]]
    return lines


def render(report: Mapping[str, Any]) -> str:
    """Return the README's section body: a table per vendor, and how long it took."""
    lines = [
        f"Run {report['date']} (seed {report['seed']}), {report['wall_s']:,.0f} s of real time in "
        f"all; `scripts/soak --quick` (2 travelled hours per vendor) took "
        f"{report.get('quick_wall_s') or 'n/a'} s.",
        "",
    ]
    for result in report["results"]:
        lines += [*_vendor_table(result), ""]
    return "\n".join(lines).rstrip("\n")


def write_readme(body: str) -> bool:
    """Replace the section between the README's markers; False when the markers are missing."""
    return write_between(README, TABLE_START, TABLE_END, body)


def problems(report: Mapping[str, Any]) -> list[str]:
    """Return every violation, by vendor."""
    return [f"{r['name']}: {v}" for r in report["results"] for v in r.get("violations", [])]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak; return the exit status."""
    args = _arguments(argv)
    if args.worker is not None:
        _worker(args.worker, args.worker_output)
        return 0
    if args.render is not None:
        body = render(json.loads(args.render.read_text(encoding="utf-8")))
        sys.stdout.write(body + "\n")
        if args.readme and not write_readme(body):
            sys.stderr.write("scripts/soak: README.md has no soak markers; not written\n")
        return 0
    hours = args.hours if args.hours is not None else QUICK_HOURS if args.quick else FULL_HOURS
    vendors = args.vendor or list(VENDORS)
    started = dt.datetime.now(dt.UTC)
    began = time.monotonic()
    results = []
    for vendor in vendors:
        sys.stderr.write(f"scripts/soak: {VENDORS[vendor].name}, {hours:g} h, seed {args.seed}\n")
        results.append(_run_vendor(vendor, hours, args.seed))
    report: dict[str, Any] = {
        "date": started.date().isoformat(),
        "started": started.isoformat(timespec="seconds"),
        "wall_s": time.monotonic() - began,
        "hours": hours,
        "seed": args.seed,
        "quick_wall_s": None,
        "results": results,
    }
    full = not args.quick and args.hours is None and args.vendor is None
    quick_problems: list[str] = []
    if full:
        # The full run also times CI's quick run, for the README.
        began = time.monotonic()
        quick = [_run_vendor(vendor, QUICK_HOURS, args.seed) for vendor in vendors]
        report["quick_wall_s"] = round(time.monotonic() - began)
        quick_problems = [
            f"{r['name']} (quick): {v}" for r in quick for v in r.get("violations", [])
        ]
    report["problems"] = problems(report) + quick_problems
    body = render(report)
    sys.stdout.write(body + "\n")
    output = args.output or (RESULTS if full else None)
    if output is not None:
        output.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    readme = args.readme if args.readme is not None else full
    if readme and not write_readme(body):
        sys.stderr.write("scripts/soak: README.md has no soak markers; not written\n")
    for problem in report["problems"]:
        sys.stderr.write(f"scripts/soak: FAIL {problem}\n")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
