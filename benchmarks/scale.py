"""Scale and cost of the integration: many chargers in one Home Assistant (``scripts/bench``).

Each size of the scaled fleet runs in a fresh process (so memory figures are its own): Home Assistant
in-process on a travelled clock, the simulators in a process of their own. The run prints a
table, writes ``benchmarks/results.json`` and the README's table, and exits non-zero when a
vendor budget was exceeded, a simulator answered with a rate limit, or the set-up failed.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import datetime as dt
from importlib import metadata
import json
import os
from pathlib import Path
import platform
import sys
import time
from typing import Any, Final

from simulators import VENDORS, SimulatedVendor, scaled_vendor, words

from .runs import add_output_arguments, run_worker, write_between

ROOT: Final = Path(__file__).resolve().parent.parent
RESULTS: Final = ROOT / "benchmarks" / "results.json"
README: Final = ROOT / "README.md"
TABLE_START: Final = "<!-- scale-table:start -->"
TABLE_END: Final = "<!-- scale-table:end -->"


@dataclass(frozen=True, slots=True)
class Size:
    """A run's default fleets (several sizes for the scaled one, one run each) and time."""

    fleets: Mapping[str, tuple[int, ...]]
    hours: float


FULL: Final = Size({key: vendor.bench.full for key, vendor in VENDORS.items()}, hours=24.0)
QUICK: Final = Size({key: vendor.bench.quick for key, vendor in VENDORS.items()}, hours=24.0)
SCALED, SCALED_BENCH = scaled_vendor()
LATENCY_SAMPLES: Final = 200
STEP: Final = 10.0
# The targets, checked on the largest scaled fleet of the run in its vendor's own
# layout (5000 in the full run).
TARGET_CHARGERS: Final = 5000
TARGET_SETUP_S: Final = 60.0
TARGET_READ_CPU_MS: Final = 0.3
TARGET_KB_PER_CHARGER: Final = 130.0
TARGET_OWN_KB_PER_CHARGER: Final = 5.0
TARGET_LATENCY_P99_MS: Final = 50.0
_MEASURED_ON: Final = f"measured_on_{SCALED.key}_{SCALED.bench.unit}"
# The push channels (streams) compared: the first run again with them off, this long in the
# quick run (the full run travels as long as its other runs).
PUSH_OFF_QUICK_HOURS: Final = 2.0
# CPU busy above this share (all cores, over a second before the run) means other work shared
# the machine. Not the load average: it counts idle kernel threads waiting on I/O (some VMs sit
# at 1.0 with nothing running).
SHARED_BUSY: Final = 0.1


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Measure set-up, polling, memory, state writes, requests and command "
        "latency with many chargers; fail when a vendor budget is exceeded.",
    )
    quick = ", ".join(f"{v.name} {QUICK.fleets[v.key][0]}" for v in VENDORS.values())
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI size: {quick}, {QUICK.hours:g} h travelled; writes no results.json",
    )
    for key, vendor in VENDORS.items():
        # The scaled fleet takes several sizes, one run each.
        nargs = "+" if vendor.bench.scaled is not None else None
        parser.add_argument(
            f"--{key}", type=int, nargs=nargs, metavar=vendor.bench.metavar, help=vendor.bench.help
        )
    if SCALED_BENCH.layouts:
        parser.add_argument(
            "--layout",
            choices=list(SCALED_BENCH.layouts),
            help=f"lay the {SCALED.name} fleet out this way in config entries (default: "
            f"{SCALED.name}'s own; the full run compares "
            + ", ".join(f"{n:,}" for n in SCALED_BENCH.compare)
            + " in each)",
        )
    parser.add_argument("--hours", type=float, help="simulated hours to travel with every vendor")
    parser.add_argument("--step", type=float, default=STEP, help="travel step in s")
    parser.add_argument(
        "--latency-samples",
        type=int,
        default=LATENCY_SAMPLES,
        help=f"{SCALED.name} commands timed (one charger each, slot free)",
    )
    add_output_arguments(parser, "results.json")
    return parser.parse_args(argv)


def _machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "home_assistant": metadata.version("homeassistant"),
        "load_average_before": os.getloadavg(),
        "cpu_busy_before": _cpu_busy(),
    }


def _cpu_times() -> tuple[int, int] | None:
    stat = Path("/proc/stat")
    if not stat.exists():
        return None
    fields = [int(value) for value in stat.read_text(encoding="ascii").split("\n")[0].split()[1:]]
    # user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    return sum(fields) - fields[3] - fields[4], sum(fields)


def _cpu_busy(seconds: float = 1.0) -> float | None:
    """Return the share of every core's time spent busy over ``seconds`` (None: unknown)."""
    before = _cpu_times()
    time.sleep(seconds)
    after = _cpu_times()
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _run_scenario(scenario: Mapping[str, Any]) -> dict[str, Any]:
    """Run one scenario in a fresh interpreter and return its measurements."""
    status, result = run_worker("benchmarks.scale", json.dumps(scenario))
    if result is None:
        return {"scenario": dict(scenario), "failed": f"exit status {status}"}
    return result


def _worker(spec: str, output: Path) -> None:
    # Imported here: Home Assistant (and freezegun's patches) only in the measuring process.
    from .harness import Scenario, run  # noqa: PLC0415

    result = run(Scenario.from_dict(json.loads(spec)))
    output.write_text(json.dumps(result, default=str), encoding="utf-8")


# Checks


def problems(result: Mapping[str, Any]) -> list[str]:
    """Return what makes a scenario fail: broken budgets, rate limits, a broken set-up."""
    if "failed" in result:
        return [f"the scenario did not finish ({result['failed']})"]
    found: list[str] = []
    for vendor, report in result["requests"].items():
        found += [f"{vendor}: {violation}" for violation in report["violations"]]
    for vendor, setup in result["setup"].items():
        if setup["without_state"] or setup["entries_not_loaded"]:
            found.append(
                f"{vendor}: {setup['without_state']} entities without a state, "
                f"entries not loaded: {setup['entries_not_loaded']}"
            )
    found += [f"event loop error: {error}" for error in result["loop_errors"]]
    # Home Assistant refuses entities beyond its limit per config entry: a set-up that lost some.
    found += [
        f"Home Assistant refused entities: {warning}"
        for warning in result.get("warnings", {})
        if "Reached the maximum of" in warning
    ]
    return found


def _layout(result: Mapping[str, Any]) -> str | None:
    layout: str | None = result["scenario"].get("layout")
    return layout


def read_cpu_ms(result: Mapping[str, Any]) -> float:
    """Return the CPU time per charger read of the scaled fleet's worst timed cycle, in ms."""
    key = SCALED.key
    return float(1000 * max(c["cpu_s"] for c in result[f"{key}_cycles"]) / result["scenario"][key])


def targets(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Check the issue's targets on the largest scaled fleet (and writes on every run).

    The largest fleet in its vendor's own layout: the other layouts are for comparison.
    """
    key = SCALED.key
    finished = [r for r in results if "failed" not in r]
    measured = [r for r in finished if _layout(r) is None]
    if not measured:
        return {}
    largest = max(measured, key=lambda r: r["scenario"][key])
    setup = largest["setup"][key]
    read_cpu = read_cpu_ms(largest)
    own = setup.get("own_kb_per_charger")
    p99 = largest["latency_ms"][key].get("p99")
    unchanged = sum(
        r["day"]["writes_unchanged"] + sum(c["writes_unchanged"] for c in r[f"{key}_cycles"])
        for r in finished
    )
    scale = largest["scenario"][key] >= TARGET_CHARGERS
    return {
        _MEASURED_ON: largest["scenario"][key],
        "setup_under_60_s": {
            "value": setup["wall_s"],
            "holds": setup["wall_s"] < TARGET_SETUP_S if scale else None,
        },
        "read_at_most_0_3_ms_cpu": {
            "value": read_cpu,
            "holds": read_cpu <= TARGET_READ_CPU_MS if scale else None,
        },
        "at_most_130_kb_per_charger": {
            "value": setup["kb_per_charger"],
            "holds": setup["kb_per_charger"] <= TARGET_KB_PER_CHARGER if scale else None,
        },
        "own_at_most_5_kb_per_charger": {
            "value": own,
            "holds": own is not None and own <= TARGET_OWN_KB_PER_CHARGER if scale else None,
        },
        "latency_p99_under_50_ms": {
            "value": p99,
            "holds": p99 is not None and p99 < TARGET_LATENCY_P99_MS,
        },
        "no_unchanged_writes": {"value": unchanged, "holds": unchanged == 0},
        "requests_within_budgets": {
            "holds": all(not v["violations"] for r in finished for v in r["requests"].values())
        },
    }


# The table


def _others() -> list[SimulatedVendor]:
    """Return the vendors set up beside the scaled fleet."""
    return [vendor for vendor in VENDORS.values() if vendor is not SCALED]


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _scaled_row(result: Mapping[str, Any]) -> list[str]:
    key = SCALED.key
    scenario = result["scenario"]
    size = f"{scenario[key]:,}"
    if (layout := _layout(result)) is not None:
        size += f" ({SCALED_BENCH.layouts[layout].marked})"
    if "failed" in result:
        return [size, "failed", *["-"] * (len(SCALED_HEADER) - 2)]
    setup = result["setup"][key]
    cycles = result[f"{key}_cycles"]
    cycle = cycles[-1]
    latency = result["latency_ms"][key]
    status = result["requests"][key]["endpoints"].get(SCALED_BENCH.reads, {})
    return [
        size,
        f"{setup['entries']:,}",
        f"{setup['entities']:,}",
        _f(setup["wall_s"]),
        _f(setup["wall_ms_per_charger"]),
        f"{_f(max(c['cpu_s'] for c in cycles), 2)} ({_f(max(c['loop_cpu_s'] for c in cycles), 2)})",
        _f(read_cpu_ms(result), 2),
        _f(max(c["wall_s"] for c in cycles), 2),
        _f(setup["kb_per_charger"], 0),
        _f(setup.get("own_kb_per_charger"), 1),
        _f(setup["kb_per_entity"], 1),
        f"{cycle['writes']:,} / {cycle['writes_unchanged']:,}",
        f"{_f(latency.get('p50'))} / {_f(latency.get('p99'))}",
        f"{_f(status.get('per_key_per_day_max'), 0)} (≤ {_f(status.get('budget_per_key_per_day'), 0)})",
        str(sum(v["rate_limited"] for v in result["requests"].values())),
    ]


SCALED_HEADER: Final = [
    f"{SCALED.name} {SCALED.bench.unit}",
    "config entries",
    "entities",
    "set-up s",
    "set-up ms / charger",
    "poll cycle CPU s (event loop)",
    "CPU ms / charger read",
    "poll cycle wall s",
    "KB / charger",
    "own KB / charger",
    "KB / entity",
    "state writes / unchanged per cycle",
    "command p50 / p99 ms",
    f"{SCALED_BENCH.reads_label} / charger / day",
    "rate-limit answers",
]


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _mixed_rows(result: Mapping[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for vendor in _others():
        setup = result["setup"].get(vendor.key)
        if setup is None:
            continue
        latency = result["latency_ms"].get(vendor.key, {})
        endpoints = result["requests"][vendor.key]["endpoints"]
        reads = ", ".join(
            f"{name} {info['per_key_per_day_max']:.0f}"
            + (
                f" (≤ {info['budget_per_key_per_day']:.0f})"
                if info["budget_per_key_per_day"] is not None
                else ""
            )
            for name, info in endpoints.items()
            if not name.startswith(("write", "circuit_write"))
        )
        rows.append(
            [
                f"{vendor.name}: {setup['chargers']} {vendor.bench.unit}",
                f"{setup['entities']:,}",
                _f(setup["wall_s"]),
                _f(setup["kb_per_charger"], 0),
                f"{_f(latency.get('p50'))} / {_f(latency.get('p99'))}",
                reads,
            ]
        )
    return rows


def _busy(machine: Mapping[str, Any]) -> str:
    if (busy := machine.get("cpu_busy_before")) is not None:
        return f"CPU {100 * busy:.0f} % busy"
    # results.json of an earlier version: only the load average.
    return f"load average {machine['load_average_before'][0]:.1f}"


def _pushing() -> list[SimulatedVendor]:
    """Return the vendors with a push channel, whose requests the run compares on and off."""
    return [vendor for vendor in VENDORS.values() if vendor.bench.push is not None]


def push_figures(on: Mapping[str, Any], off: Mapping[str, Any]) -> dict[str, Any]:
    """Return requests per charger-hour of each vendor with a push channel, with it and without.

    ``on``: a run with the channels on; ``off``: the same fleets with them off.
    """
    if "failed" in on or "failed" in off:
        return {}
    vendors = {
        vendor.key: {
            "name": vendor.name,
            "channel": vendor.bench.push,
            "chargers": on["scenario"][vendor.key],
            "with": on["requests_per_charger_hour"][vendor.key],
            "without": off["requests_per_charger_hour"][vendor.key],
        }
        for vendor in _pushing()
        if on["scenario"][vendor.key] and "requests_per_charger_hour" in on
    }
    return {
        "hours_with": on["scenario"]["hours"],
        "hours_without": off["scenario"]["hours"],
        "vendors": vendors,
    }


def _push_line(push: Mapping[str, Any]) -> list[str]:
    vendors = push.get("vendors", {})
    if not vendors:
        return []
    parts = [
        f"{v['name']} ({v['chargers']:,} {VENDORS[key].bench.unit}): **{_f(v['with'])}** with "
        f"{v['channel']}, **{_f(v['without'])}** without it (REST polling instead)"
        for key, v in vendors.items()
    ]
    return [
        "",
        "Requests per charger-hour with a push channel and without it (the same fleets again "
        f"with the channel refused; {push['hours_with']:g} and {push['hours_without']:g} "
        f"travelled hours): {words(parts)}.",
    ]


def render(report: Mapping[str, Any]) -> str:
    """Return the README's section body: tables, the day, targets, machine."""
    results = report["results"]
    machine = report["machine"]
    scaled = SCALED_BENCH
    lines = [
        f"Taken {report['date']} on {machine['cpu']} ({machine['cores']} cores), Python "
        f"{machine['python']}, Home Assistant {machine['home_assistant']}"
        + (
            f"; **the machine was shared with other jobs** ({_busy(machine)} before the run), "
            "so times are high."
            if report["shared"]
            else "."
        ),
        "",
        f"{scaled.intro} A poll cycle reads every charger once (only {SCALED.name} "
        "set up; CPU of every thread, in brackets the event loop's alone); state writes are "
        f"counted at Home Assistant's state machine; {scaled.reads_label} are the most any one "
        "charger made in the travelled day:",
        "",
        *_markdown(SCALED_HEADER, [_scaled_row(r) for r in results]),
    ]
    finished = [r for r in results if "failed" not in r]
    if finished:
        largest = max(
            [r for r in finished if _layout(r) is None] or finished,
            key=lambda r: r["scenario"][SCALED.key],
        )
        day = largest["day"]
        others = words([vendor.bench.described for vendor in _others()])
        lines += [
            "",
            f"With {largest['scenario'][SCALED.key]:,} {SCALED.bench.described} also set up: "
            f"{others}; requests per charger (group) per day, the most any one made, "
            "with the budget:",
            "",
            *_markdown(
                [
                    "vendor",
                    "entities",
                    "set-up s",
                    "KB / charger",
                    "command p50 / p99 ms",
                    "reads / day",
                ],
                _mixed_rows(largest),
            ),
            "",
            f"All vendors together over {day['hours']:g} travelled hours: "
            f"{_f(day['cpu_s'])} s CPU in all ({_f(day['loop_cpu_s'])} s in the event loop, "
            "the rest in Home Assistant's executor threads, mostly storage writes); "
            "a 15-minute cycle "
            f"{_f(day['cycle_cpu_s'].get('p50'), 2)} s CPU (p50), "
            f"{_f(day['cycle_cpu_s'].get('max'), 2)} s at most; "
            f"{day['writes']:,} state writes, {day['writes_unchanged']:,} of them unchanged.",
        ]
    lines += _push_line(report.get("push", {}))
    checks = report["targets"]
    if checks:
        lines += ["", "Targets (issue 16): " + _targets_line(checks)]
    return "\n".join(lines)


def _targets_line(checks: Mapping[str, Any]) -> str:
    names = {
        "setup_under_60_s": "set-up < 60 s",
        "read_at_most_0_3_ms_cpu": "≤ 0.3 ms CPU per charger read",
        "at_most_130_kb_per_charger": "≤ 130 KB per charger",
        "own_at_most_5_kb_per_charger": "the integration's own objects ≤ 5 KB per charger",
        "latency_p99_under_50_ms": "command p99 < 50 ms",
        "no_unchanged_writes": "no unchanged state writes",
        "requests_within_budgets": "requests within budgets",
    }
    parts = []
    for key, label in names.items():
        holds = checks[key]["holds"]
        mark = "n/a" if holds is None else ("holds" if holds else "**missed**")
        parts.append(f"{label}: {mark}")
    return "; ".join(parts) + f" (on {checks[_MEASURED_ON]:,} {SCALED.bench.described})."


def write_readme(body: str) -> bool:
    """Replace the table between the README's markers; False when the markers are missing."""
    return write_between(README, TABLE_START, TABLE_END, body)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    args = _arguments(argv)
    if args.worker is not None:
        _worker(args.worker, args.worker_output)
        return 0
    if args.render is not None:
        body = render(json.loads(args.render.read_text(encoding="utf-8")))
        sys.stdout.write(body + "\n")
        if args.readme and not write_readme(body):
            sys.stderr.write("scripts/bench: README.md has no table markers; not written\n")
        return 0
    size = QUICK if args.quick else FULL
    explicit: list[int] | None = getattr(args, SCALED.key)
    layout: str | None = getattr(args, "layout", None)
    runs = [(scaled, layout) for scaled in explicit or size.fleets[SCALED.key]]
    if explicit is None and not args.quick and layout is None:
        # The full run compares the other layouts at their sizes.
        runs += [(n, other) for other in SCALED_BENCH.layouts for n in SCALED_BENCH.compare]
    machine = _machine()
    started = dt.datetime.now(dt.UTC)
    results = []
    for scaled, layout in runs:
        fleet = {
            key: scaled
            if key == SCALED.key
            else (size.fleets[key][0] if getattr(args, key) is None else getattr(args, key))
            for key in VENDORS
        }
        scenario = {
            **fleet,
            "hours": size.hours if args.hours is None else args.hours,
            "step": args.step,
            "latency_samples": args.latency_samples,
            "layout": layout,
            "push": True,
        }
        sys.stderr.write(f"scripts/bench: {scenario}\n")
        results.append(_run_scenario(scenario))
    push: dict[str, Any] = {}
    off: dict[str, Any] | None = None
    if _pushing() and results:
        # The first run again with every push channel off: what polling alone costs.
        first = results[0]["scenario"]
        hours = PUSH_OFF_QUICK_HOURS if args.quick and args.hours is None else first["hours"]
        scenario = {**first, "hours": hours, "push": False}
        sys.stderr.write(f"scripts/bench: {scenario}\n")
        off = _run_scenario(scenario)
        push = push_figures(results[0], off)
    machine["load_average_after"] = os.getloadavg()
    report: dict[str, Any] = {
        "date": started.date().isoformat(),
        "started": started.isoformat(timespec="seconds"),
        "wall_s": (dt.datetime.now(dt.UTC) - started).total_seconds(),
        "machine": machine,
        "shared": (machine["cpu_busy_before"] or 0.0) > SHARED_BUSY,
        "quick": args.quick,
        "results": results,
        "push": push,
        "push_off": off,
        "targets": targets(results),
        "problems": [p for r in [*results, *([off] if off else [])] for p in problems(r)],
    }
    body = render(report)
    sys.stdout.write(body + "\n")
    full = not args.quick and explicit is None and getattr(args, "layout", None) is None
    output = args.output or (RESULTS if full else None)
    if output is not None:
        output.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    readme = args.readme if args.readme is not None else full
    if readme and not write_readme(body):
        sys.stderr.write("scripts/bench: README.md has no table markers; not written\n")
    for problem in report["problems"]:
        sys.stderr.write(f"scripts/bench: FAIL {problem}\n")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
