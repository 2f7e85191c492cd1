"""Proof benchmark (issue 27): how long the solver takes to prove or refute guarantees, against the issue's limits.

    python -m pip install -e '.[bench]' && python benchmarks/prove.py [--runs 3] [--rules 200] [--timeout 10]

Each proof runs in a fresh Python process with a hard wall-clock guard (--timeout plus a margin): a proof
that neither ends nor gives up in time is reported as a HANG and the benchmark exits 1. Medians of --runs.
  (1) The reference policies' guarantees: the v3 reference's six, and the ten of
      tests/fixtures/guarantees/inbound-activity.yaml on the v2 reference. Limit: 2 s each.
  (2) `leadpolicy diff OLD NEW --prove` of the v2 reference against a copy with the mql threshold of fit
      moved from 40 to 60. Limit: 2 s.
  (3) A generated policy of --rules rules with guarantees of every claim kind. Limit: --timeout (10 s) each,
      or `unknown` at the time-out; never a hang.
The baseline, measured in the same run and process: the policy's parse, check, lowering and compilation
without proofs (what `check` does before its proofs), `diff` without --prove, and the compiled evaluator
deciding the counter-example; the proofs read as ratios to it. Peak memory is each process's VmHWM. The limits
are judged on CPU seconds (the solver runs in the measuring process), so a loaded machine does not fail them;
wall-clock seconds are shown beside.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_rss_mb, print_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
V2 = ROOT / "policies" / "inbound-activity.policy"
V3 = ROOT.parent / "shared" / "design" / "examples" / "inbound-teams.policy"
OURS = ROOT / "tests" / "fixtures" / "guarantees" / "inbound-activity.yaml"
REFERENCE_LIMIT = 2.0
GUARD_MARGIN = 30.0  # seconds past the solver's own time-out before a proof counts as a hang


# ---------------------------------------------------------------- policies


def with_guarantees(text: str, claims: list[tuple[str, str]]) -> str:
    block = "  guarantees {\n" + "".join(f'    "{name}": {claim}\n' for name, claim in claims) + "  }\n"
    end = text.rindex("}")
    return text[:end] + "\n" + block + text[end:]


def our_guarantees() -> str:
    import yaml

    claims = [(g["name"], g["claim"]) for g in yaml.safe_load(OURS.read_text("utf-8"))]
    return with_guarantees(V2.read_text("utf-8"), claims)


def threshold_moved() -> str:
    text = V2.read_text("utf-8")
    moved = re.sub(r"(mql\s+when fit >= )40", r"\g<1>60", text)
    assert moved != text, "the v2 reference's mql line changed: update the benchmark"
    return moved


FIELD_RULES = ["+{k} when n{i} >= {c}", "-{k} when n{i} < {c}", '+{k} when t{j} ends with "@x{i}.com"',
               '+{k} when c{j} in ("a", "b")', "+{k} when n{i} between {c} and {d}"]
EVENT_RULES = ["+{k} per e{j} in last {w} days up to {cap}", "+{k} when e{j} in last {w} days",
               "-{k} when days since last e{j} > {w}", "+{k} when count e{j} in last {w} days >= 2"]


def generated_rules(count: int, templates: list[str], seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    rules = []
    for i in range(count):
        k, c = rng.choice([1, 2, 5, 10]), rng.choice([0, 10, 100, 500])
        rules.append("    " + templates[i % len(templates)].format(
            k=k, c=c, d=c + rng.choice([5, 50]), i=i % 20, j=i % 5, w=rng.choice([7, 30, 90]),
            cap=k * rng.choice([2, 5])) + "\n")
    return rules


def generated_policy(rules: int) -> str:
    """A policy of `rules` points rules over 20 numbers, 5 texts, 5 choices and 5 events, in three scores and a
    total, with guarantees of every claim kind."""
    fields = "".join(f"    n{i} number\n" for i in range(20)) + "".join(f"    t{j} text\n" for j in range(5))
    fields += "".join(f'    c{j} one of ("a", "b", "c")\n' for j in range(5))
    events = "".join(f"    e{j}\n" for j in range(5))
    third = rules // 3
    scores = [("firm", generated_rules(third, FIELD_RULES, 1)), ("act", generated_rules(third, EVENT_RULES, 2)),
              ("mix", generated_rules(rules - 2 * third - 2, FIELD_RULES + EVENT_RULES, 3))]
    body = "".join(f"  score {name} {{\n    clamp 0 to 100\n{''.join(lines)}  }}\n" for name, lines in scores)
    body += "  score total {\n    clamp 0 to 300\n    +1 per firm up to 100\n    +1 per act up to 100\n  }\n"
    body += ('  grade tier from total {\n    "A" when total >= 150\n    "B" when total >= 60\n    "C" otherwise\n'
             "  }\n  stages {\n    out when t0 ends with \"@rival.com\" owner m\n"
             "    hot when act >= 40 and firm >= 30 owner s\n    warm when total >= 60 owner s\n"
             "    cold otherwise owner m\n  }\n"
             '  route for hot, warm {\n    "big" when n0 >= 1000\n    "mid" when n0 >= 100\n    "small" otherwise\n'
             "  }\n")
    text = ('policy "generated" version 1.0.0 {\n  owner m "M"\n  owner s "S"\n  timezone "America/New_York"\n'
            f"  lead {{\n{fields}  }}\n  events {{\n{events}  }}\n{body}}}\n")
    return with_guarantees(text, [
        ("Total in range", "total between 0 and 300"), ("Hot is handed over", "stage = hot implies handoff"),
        ("Big routes are big", 'route = "big" implies n0 >= 1000'), ("Firm under 60", "firm < 60"),
        ("Total never falls with n3", "total never decreases with n3"),
        ("Activity never rises with e1", "act never increases with e1"),
        ("Handoff kept with e2", "handoff never lost with e2")])


# ---------------------------------------------------------------- in the child process


def loaded(path: str) -> Any:
    from leadpolicy.api import from_tree
    from leadpolicy.semantics.loading import load_policy_text

    result = load_policy_text(Path(path).read_text("utf-8"))
    assert not result.has_errors, [str(d) for d in result.diagnostics if d.severity == "error"]
    return from_tree(result.policy)


def medians_of(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(median wall-clock seconds, median CPU seconds of this process, last result) of `runs` calls. The solver
    runs in this process, so its CPU time is the proof's cost whatever else the machine is doing."""
    wall, cpu, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def decide_counterexample(policy: Any, ce: dict[str, Any]) -> Callable[[], Any]:
    parts = [ce] if "lead" in ce else [ce["before"], ce["after"]]
    return lambda: [policy.evaluate(p["lead"], now=ce["now"], events=p["events"]) for p in parts]


def child_prove(path: str, index: str, timeout: str, runs: str) -> dict[str, Any]:
    """One guarantee proved --runs times, with the baseline: the policy loaded and compiled without proofs, and
    the compiled evaluator deciding the counter-example."""
    from leadpolicy.proofs.guarantees import prove_one

    loaded(path)  # imports and the grammar's first load, which neither way's time should hold
    check_s, check_cpu, policy = medians_of(lambda: loaded(path), int(runs))
    guarantee = policy.ir.guarantees[int(index)]
    prove_s, prove_cpu, result = medians_of(lambda: prove_one(policy, guarantee, float(timeout)), int(runs))
    decide_s = medians_of(decide_counterexample(policy, result.counterexample), int(runs))[1] \
        if result.counterexample else None
    return {"name": guarantee.name, "status": result.status, "prove_s": prove_s, "prove_cpu": prove_cpu,
            "check_s": check_s, "check_cpu": check_cpu, "decide_cpu": decide_s, "reason": result.reason,
            "peak_mb": peak_rss_mb()}


def child_diff(old: str, new: str, runs: str) -> dict[str, Any]:
    """`leadpolicy diff OLD NEW` without and with --prove, in this process."""
    from leadpolicy.cli.main import main

    def run(*extra: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            try:
                code = main(["diff", old, new, *extra])
            except SystemExit as exc:
                code = int(exc.code or 0)
        return code, out.getvalue()

    run()  # imports and the grammar's first load
    plain_s, plain_cpu, _ = medians_of(lambda: run(), int(runs))
    prove_s, prove_cpu, (code, out) = medians_of(lambda: run("--prove", "--format", "json"), int(runs))
    return {"plain_s": plain_s, "plain_cpu": plain_cpu, "prove_s": prove_s, "prove_cpu": prove_cpu, "code": code,
            "verdict": verdict_of(code, out), "peak_mb": peak_rss_mb()}


def verdict_of(code: int, out: str) -> str:
    """diff --prove's verdict line and its count of possible moves, from its JSON."""
    try:
        proved = json.loads(out)["prove"]
    except (ValueError, KeyError, TypeError):
        return f"no proof in the output (exit {code})"
    possible = [m for m in proved["moves"] if m["status"] == "possible"]
    return f"{proved['verdict']} ({len(possible)} of {len(proved['moves'])} moves possible)"


# ---------------------------------------------------------------- in the parent


def child(function: str, args: list[str], guard: float) -> dict[str, Any]:
    """`function(*args)` of this module in a fresh process; {"hang": True} when it outlives `guard` seconds."""
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import prove; "
            f"print(json.dumps(prove.{function}(*{args!r})))")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=guard)
    except subprocess.TimeoutExpired:
        return {"hang": True}
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def guarantee_rows(label: str, path: Path, count: int, args: argparse.Namespace, limit: float,
                   unknown_ok: bool = False) -> list[tuple]:
    """One row per guarantee; `unknown_ok`: unknown at the time-out is within the limit."""
    rows = []
    for index in range(count):
        got = child("child_prove", [str(path), str(index), str(args.timeout), str(args.runs)],
                    args.timeout * args.runs + GUARD_MARGIN * 2)
        rows.append(guarantee_row(label, index, got, limit, unknown_ok))
    return rows


def guarantee_row(label: str, index: int, got: dict[str, Any], limit: float, unknown_ok: bool) -> tuple:
    if "hang" in got or "error" in got:
        return (label, f"#{index}", "HANG" if "hang" in got else f"ERROR {got['error']}", *["-"] * 6, "FAIL")
    within = got["prove_cpu"] < limit or (unknown_ok and got["status"] == "unknown")
    decide = f"{got['decide_cpu'] * 1000:.2f}" if got["decide_cpu"] is not None else "-"
    return (label, got["name"][:44], got["status"], f"{got['prove_cpu']:.3f}", f"{got['prove_s']:.3f}",
            f"{got['check_cpu']:.3f}", f"{got['prove_cpu'] / got['check_cpu']:.1f}x", decide,
            f"{got['peak_mb']:.0f}", "ok" if within else "OVER")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=10.0, help="the solver's time-out per guarantee")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        return measure(Path(folder), args)


def measure(folder: Path, args: argparse.Namespace) -> int:
    files = {"v3": V3.read_text("utf-8"), "ours": our_guarantees(), "moved": threshold_moved(),
             "generated": generated_policy(args.rules)}
    for name, text in files.items():
        (folder / f"{name}.policy").write_text(text, "utf-8")
    rows = guarantee_rows("six (v3 reference)", folder / "v3.policy", 6, args, REFERENCE_LIMIT)
    rows += guarantee_rows("ten (v2 + fixture)", folder / "ours.policy", 10, args, REFERENCE_LIMIT)
    rows += guarantee_rows(f"generated {args.rules} rules", folder / "generated.policy", 7, args, args.timeout,
                           unknown_ok=True)
    print(f"Guarantees: median of {args.runs} runs each, a fresh process per guarantee, time-out {args.timeout:g} s")
    print_table(rows, ("policy", "guarantee", "status", "prove cpu s", "prove wall s", "check cpu s", "vs check",
                       "decide ms", "peak MiB", "limit"))
    diff = child("child_diff", [str(V2), str(folder / "moved.policy"), str(args.runs)],
                 REFERENCE_LIMIT * args.runs * 20 + GUARD_MARGIN)
    print(f"\ndiff --prove, v2 reference against mql at fit >= 60: median of {args.runs} runs")
    diff_ok = diff_table(diff)
    failed = [r for r in rows if r[-1] != "ok"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} guarantees within their limit"
          f" (reference {REFERENCE_LIMIT:g} s; generated {args.timeout:g} s or unknown at the time-out)")
    return 0 if not failed and diff_ok and not any(r[2] == "HANG" for r in rows) else 1


def diff_table(diff: dict[str, Any]) -> bool:
    if "hang" in diff or "error" in diff:
        print("HANG" if "hang" in diff else f"ERROR {diff['error']}")
        return False
    within = diff["prove_cpu"] < REFERENCE_LIMIT
    print_table([("diff", f"{diff['plain_cpu']:.3f}", f"{diff['plain_s']:.3f}", "1.0x", "-"),
                 ("diff --prove", f"{diff['prove_cpu']:.3f}", f"{diff['prove_s']:.3f}",
                  f"{diff['prove_cpu'] / diff['plain_cpu']:.1f}x", "ok" if within else "OVER")],
                ("way", "cpu s", "wall s", "vs diff", "limit 2 s"))
    print(f"verdict: {diff['verdict']}, exit {diff['code']}; peak {diff['peak_mb']:.0f} MiB")
    return bool(within) and diff["code"] in (0, 1)


if __name__ == "__main__":
    sys.exit(main())
