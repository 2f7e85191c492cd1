"""Shared helpers for benchmarks: medians of repeated runs, peak memory, tables."""

from __future__ import annotations

import resource
import statistics
import time
from typing import Callable


def timed(fn: Callable[[], object], runs: int) -> tuple[float, list[float], object]:
    """(median seconds, all timings, last result) of `runs` calls."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    Linux's VmHWM, which starts afresh at exec; getrusage's ru_maxrss does not, so a child started
    after its parent grew would report the parent's peak (the fork copies the parent's resident pages).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(rows: list[tuple], header: tuple) -> None:
    table = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def import_engines() -> None:
    """Import what a leadpolicy run imports on first use, so no way's time includes importing: the
    hand-written ways import `duckdb` before their clock; leadpolicy imports it when a run starts,
    and sqlglot loads its DuckDB dialect on the first SQL it writes."""
    import duckdb  # noqa: F401
    from sqlglot import exp

    exp.column("x").sql("duckdb")


def in_turns(ways: dict[str, Callable[[], dict]], runs: int) -> dict[str, list[dict]]:
    """Each way's results over `runs` rounds, every way once per round: a slow spell of the machine then
    hits every way alike, where running one way's runs after another's would charge it to the last."""
    results: dict[str, list[dict]] = {name: [] for name in ways}
    for _ in range(runs):
        for name, way in ways.items():
            results[name].append(way())
    return results


def in_fresh_process(module: str, function: str, *args: str) -> dict:
    """`module.function(*args)` (a module of benchmarks/) run in a new Python process, so its peak memory is
    its own; the function returns a JSON-able dict."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import {module}; "
            f"print(json.dumps({module}.{function}(*{list(args)!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
