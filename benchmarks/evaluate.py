"""Evaluation benchmark: the reference policy over generated leads, in every way we can run it.

    python -m pip install -e '.[bench]' && python benchmarks/evaluate.py [--leads 100000] [--runs 5]

First the headline, the four ways measured alternately in --runs rounds (one pass of each way a round, so
a loaded machine slows all of them alike), medians of CPU time per lead and ratios to (a):
  (a) a hand-written plain-Python function of the reference policy returning an object like a Decision
      (scores and grades dicts, stage, owner, route): the baseline,
  (b) the generated function alone (its raw tuple), the floor of the compiled path,
  (c) `Policy.evaluate` returning the Decision callers get,
  (d) the interpreter (schema validation + tree walk), on --slow-leads leads.
Then leads per second (wall clock), median of --runs, for more ways: the API's streams (`evaluate_many`),
and the same policy's conditions encoded for zen-engine (GoRules), rule-engine and cel-python, with the
same Python glue for points, decay, clamp and first-match lists; each way's result made the same tuple.
Every way is first checked to give identical scores, grade, stage and route on every lead it runs.
The slow ways run on a prefix of the leads (shown in the table).

Also: parse + check + compile time of a generated policy with 1,000 rules, and the CLI's
start-up time (`leadpolicy --help`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "inbound-b2b.policy"
NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")


def generate_leads(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    domains = ["gmail.com", "bigsoft.io", "competitor.com", "acme.de", "Ledgerly.COM", "shop.fr"]
    titles = ["VP Sales", "Director of IT", "Engineer", "head of marketing", "Chief of Staff", "Analyst", None]
    leads = []
    for i in range(n):
        lead = {"email": f"user{i}@{rng.choice(domains)}"}
        if rng.random() < 0.9:
            lead["employees"] = rng.choice([rng.randint(1, 5000), 50, 199, 200, 1000])
        if rng.random() < 0.9:
            lead["industry"] = rng.choice(["software", "fintech", "retail", "healthcare", "other"])
        title = rng.choice(titles)
        if title:
            lead["job_title"] = title
        lead["country"] = rng.choice(["US", "DE", "fr", "UK", "BR"])
        lead["source"] = rng.choice(["webinar", "paid_search", "organic", "referral", "event", "outbound"])
        if rng.random() < 0.8:
            lead["email_clicks"] = rng.randint(0, 10)
        if rng.random() < 0.8:
            lead["pricing_page_views"] = rng.randint(0, 5)
        lead["demo_requested"] = rng.random() < 0.3
        if rng.random() < 0.9:
            seen = NOW - dt.timedelta(minutes=rng.randint(0, 200 * 24 * 60))
            lead["last_activity"] = seen.isoformat()
        leads.append(lead)
    return leads


# ---------------------------------------------------------------- (a) hand-written baseline


def round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


class HandDecision:
    """What the hand-written function returns: the fields of a Decision callers read."""

    __slots__ = ("scores", "grades", "stage", "owner", "route")

    def __init__(self, scores: dict, grades: dict, stage: str, owner: str, route: str | None):
        self.scores = scores
        self.grades = grades
        self.stage = stage
        self.owner = owner
        self.route = route


OWNERS = {"disqualified": "marketing", "sql": "sales", "mql": "sales", "nurture": "marketing"}


def hand_written(lead: dict, now: dt.datetime = NOW) -> HandDecision:
    email = lead["email"].lower()
    employees = lead.get("employees")
    industry = lead.get("industry")
    title = (lead.get("job_title") or "").lower() or None
    country = (lead.get("country") or "").lower()
    clicks = lead.get("email_clicks") or 0
    views = lead.get("pricing_page_views") or 0
    demo = bool(lead.get("demo_requested"))
    seen = lead.get("last_activity")

    fit = 0
    if employees is not None and employees >= 200:
        fit += 30
    if employees is not None and 50 <= employees <= 199:
        fit += 15
    if industry in ("software", "fintech"):
        fit += 20
    if title is not None and ("vp" in title or "director" in title or "head of" in title or "chief" in title):
        fit += 15
    if email.endswith("@gmail.com"):
        fit -= 40
    fit = max(0, min(100, fit))

    engagement = min(5 * max(int(clicks), 0), 25) + min(10 * max(int(views), 0), 30) + (40 if demo else 0)
    value = float(engagement)
    if seen is not None:
        days = (now - dt.datetime.fromisoformat(seen)) // dt.timedelta(days=1)
        if days >= 30:
            value = engagement * 0.75 ** (days // 30)
    engagement = max(0, min(100, round_half_away(value)))

    grade = "A" if fit >= 75 else "B" if fit >= 50 else "C" if fit >= 25 else "D"
    if email.endswith("@competitor.com"):
        stage = "disqualified"
    elif demo and fit >= 50:
        stage = "sql"
    elif fit >= 40 and engagement >= 30:
        stage = "mql"
    else:
        stage = "nurture"
    route = None
    if stage in ("mql", "sql"):
        if employees is not None and employees >= 1000:
            route = "enterprise-ae"
        elif country in ("de", "fr", "uk"):
            route = "emea-sdr"
        else:
            route = "na-sdr"
    return HandDecision({"fit": fit, "engagement": engagement}, {"fit_grade": grade}, stage, OWNERS[stage], route)


# ---------------------------------------------------------------- peer engines

# The policy's conditions, by name, in each peer's expression language. Text values are
# lowered by the shared glue (the policy compares text ignoring case); nulls are guarded.
CONDITIONS = {
    "fit_big": ("employees != null and employees >= 200",) * 2 + ("employees_present && employees >= 200",),
    "fit_small": ("employees != null and employees >= 50 and employees <= 199",) * 2
    + ("employees_present && employees >= 50 && employees <= 199",),
    "fit_industry": ("industry in ['software', 'fintech']", "industry in ['software', 'fintech']",
                     "industry in ['software', 'fintech']"),
    "fit_title": ("job_title != null and (contains(job_title, 'vp') or contains(job_title, 'director') or "
                  "contains(job_title, 'head of') or contains(job_title, 'chief'))",
                  "job_title != null and job_title =~~ 'vp|director|head of|chief'",
                  "job_title_present && (job_title.contains('vp') || job_title.contains('director') || "
                  "job_title.contains('head of') || job_title.contains('chief'))"),
    "fit_gmail": ("endsWith(email, '@gmail.com')", "email =~~ '@gmail\\.com$'", "email.endsWith('@gmail.com')"),
    "disqualified": ("endsWith(email, '@competitor.com')", "email =~~ '@competitor\\.com$'",
                     "email.endsWith('@competitor.com')"),
    "sql": ("demo and fit >= 50",) * 2 + ("demo && fit >= 50",),
    "mql": ("fit >= 40 and engagement >= 30",) * 2 + ("fit >= 40 && engagement >= 30",),
    "enterprise": ("employees != null and employees >= 1000",) * 2 + ("employees_present && employees >= 1000",),
    "emea": ("country in ['de', 'fr', 'uk']",) * 3,
}


def peer_predicates(engine: str) -> dict:
    index = {"zen-engine": 0, "rule-engine": 1, "cel-python": 2}[engine]
    if engine == "zen-engine":
        import zen

        compiled = {k: zen.compile_expression(v[index]) for k, v in CONDITIONS.items()}
        return {k: (lambda ctx, e=e: e.evaluate(ctx) is True) for k, e in compiled.items()}
    if engine == "rule-engine":
        import rule_engine

        context = rule_engine.Context(default_value=None)
        compiled = {k: rule_engine.Rule(v[index], context=context) for k, v in CONDITIONS.items()}
        return {k: (lambda ctx, r=r: r.matches(ctx)) for k, r in compiled.items()}
    import celpy

    env = celpy.Environment()
    programs = {k: env.program(env.compile(v[index])) for k, v in CONDITIONS.items()}

    def cel(ctx, program):
        # CEL has no null comparison: missing values travel as a *_present flag and a zero value.
        activation = {k: celpy.json_to_cel(v if v is not None else (0 if k == "employees" else ""))
                      for k, v in ctx.items()}
        activation["employees_present"] = celpy.json_to_cel(ctx["employees"] is not None)
        activation["job_title_present"] = celpy.json_to_cel(ctx["job_title"] is not None)
        return bool(program.evaluate(activation))
    return {k: (lambda ctx, p=p: cel(ctx, p)) for k, p in programs.items()}


def peer_evaluator(engine: str):
    test = peer_predicates(engine)

    def evaluate(lead: dict, now: dt.datetime = NOW) -> tuple:
        ctx = {"email": lead["email"].lower(), "employees": lead.get("employees"),
               "industry": lead.get("industry"), "job_title": (lead.get("job_title") or "").lower() or None,
               "country": (lead.get("country") or "").lower(), "demo": bool(lead.get("demo_requested"))}
        fit = (30 * test["fit_big"](ctx) + 15 * test["fit_small"](ctx) + 20 * test["fit_industry"](ctx)
               + 15 * test["fit_title"](ctx) - 40 * test["fit_gmail"](ctx))
        fit = max(0, min(100, fit))
        clicks, views = lead.get("email_clicks") or 0, lead.get("pricing_page_views") or 0
        engagement = min(5 * max(clicks, 0), 25) + min(10 * max(views, 0), 30) + (40 if ctx["demo"] else 0)
        value = float(engagement)
        if lead.get("last_activity"):
            days = (now - dt.datetime.fromisoformat(lead["last_activity"])) // dt.timedelta(days=1)
            if days >= 30:
                value = engagement * 0.75 ** (days // 30)
        engagement = max(0, min(100, round_half_away(value)))
        ctx["fit"], ctx["engagement"] = fit, engagement
        grade = "A" if fit >= 75 else "B" if fit >= 50 else "C" if fit >= 25 else "D"
        stage = ("disqualified" if test["disqualified"](ctx) else "sql" if test["sql"](ctx)
                 else "mql" if test["mql"](ctx) else "nurture")
        route = None
        if stage in ("mql", "sql"):
            route = "enterprise-ae" if test["enterprise"](ctx) else "emea-sdr" if test["emea"](ctx) else "na-sdr"
        return fit, engagement, grade, stage, route
    return evaluate


# ---------------------------------------------------------------- leadpolicy


def as_tuple(decision) -> tuple:
    """(fit, engagement, grade, stage, route) of a Decision or a HandDecision."""
    scores, grades = decision.scores, decision.grades
    return scores["fit"], scores["engagement"], grades["fit_grade"], decision.stage, decision.route


def alternating(ways: dict, rounds: int) -> dict[str, float]:
    """Median seconds per lead of each way, (fn, leads), timed one pass each in turn, `rounds` times. The
    process's CPU time, not the wall clock: on a machine shared with other work, time spent waiting for a core
    would be counted against whichever way happened to be running."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, (fn, subset) in ways.items():
            gc.collect()  # each pass starts from the same collector state, none pays for another's garbage
            start = time.process_time()
            kept = [fn(lead) for lead in subset]  # every way keeps what it returns
            times[name].append((time.process_time() - start) / len(subset))
            del kept  # freed outside the clock
    return {name: statistics.median(values) for name, values in times.items()}


def headline(policy, leads: list, slow: list, rounds: int) -> None:
    """The four ways of the module docstring, alternately, and how far the compiled path is from the floor."""
    from leadpolicy.semantics.codegen import compile_evaluator
    from leadpolicy.semantics.interpreter import evaluate as interpret
    from leadpolicy.semantics.leads import LeadReader

    raw, _ = compile_evaluator(policy.ir)  # the function Policy.evaluate calls
    reader = LeadReader(policy.ir)

    def interpreter_one(lead):
        values, _ = reader.read(lead)
        return interpret(policy.ir, values, NOW)

    ways = {"(a) hand-written, returning an object": (hand_written, leads),
            "(b) generated function alone (raw tuple)": (lambda lead: raw(lead, NOW), leads),
            "(c) Policy.evaluate, returning its Decision": (lambda lead: policy.evaluate(lead, NOW), leads),
            "(d) interpreter": (interpreter_one, slow)}
    per_lead = alternating(ways, rounds)
    base = per_lead["(a) hand-written, returning an object"]
    rows = [(name, f"{len(ways[name][1]):,}", f"{seconds * 1e6:.2f}", f"{1 / seconds:,.0f}", f"{seconds / base:.2f}x")
            for name, seconds in per_lead.items()]
    print(f"alternating, {rounds} rounds:")
    print_table(rows, ("way", "leads", "µs/lead (median)", "leads/s", "time vs (a)"))
    generated = per_lead["(b) generated function alone (raw tuple)"]
    api = per_lead["(c) Policy.evaluate, returning its Decision"]
    print(f"\nPolicy.evaluate is {api / base:.2f}x hand-written; the generated function alone (the floor of the "
          f"compiled path: reading and checking every field by the schema's rules) is {generated / base:.2f}x, "
          f"and the API adds {(api - generated) * 1e6:.2f} µs a lead ({(api - generated) / base:.2f} of (a)): "
          "the time `now`, the call, the Decision.\n")


def thousand_rule_policy() -> str:
    rules = "\n".join(f'    +{i % 7 + 1} when employees >= {i} and industry in ("software", "retail") "r{i}"'
                      for i in range(1000))
    return (f'policy "big" version 1.0.0 {{\n  title "Big"\n  owner a "A"\n  owner b "B"\n'
            f'  lead {{\n    employees number\n    industry one of ("software", "retail")\n  }}\n'
            f'  score s {{\n{rules}\n  }}\n'
            '  stages {\n    top when s >= 100 owner b\n    rest otherwise owner a\n  }\n}\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--slow-leads", type=int, default=5_000, help="leads for the slow ways")
    args = parser.parse_args()

    import leadpolicy
    from leadpolicy.api import from_tree
    from leadpolicy.semantics.codegen import compile_evaluator
    from leadpolicy.semantics.interpreter import evaluate as interpret
    from leadpolicy.semantics.leads import LeadReader
    from leadpolicy.semantics.loading import load_policy_text

    leads = generate_leads(args.leads)
    slow = leads[: args.slow_leads]
    policy = leadpolicy.load(POLICY)
    raw, _ = compile_evaluator(policy.ir)  # the function Policy.evaluate calls
    reader = LeadReader(policy.ir)

    def hand_tuple(lead):
        return as_tuple(hand_written(lead))

    def compiled_one(lead):
        return as_tuple(policy.evaluate(lead, NOW))

    def interpreter_one(lead):
        values, errors = reader.read(lead)
        d = interpret(policy.ir, values, NOW)
        return d.scores["fit"].value, d.scores["engagement"].value, d.grades["fit_grade"], d.stage, d.route

    ways = {"hand-written, as a tuple": (hand_tuple, leads),
            "Policy.evaluate, as a tuple": (compiled_one, leads),
            "interpreter, as a tuple": (interpreter_one, slow)}
    for engine in ("zen-engine", "rule-engine", "cel-python"):
        try:
            ways[f"{engine}"] = (peer_evaluator(engine), slow)
        except ImportError:
            print(f"{engine} is not installed: python -m pip install -e '.[bench]'")

    # Identical results first.
    expected = [hand_tuple(lead) for lead in leads]
    for name, (fn, subset) in ways.items():
        for i, lead in enumerate(subset):
            got = fn(lead)
            if got != expected[i]:
                raise SystemExit(f"{name} disagrees on lead {i}: {got} != {expected[i]} ({lead})")
    print(f"all ways agree on every lead they run ({len(leads):,} leads, {len(slow):,} for the slow ways)\n")
    headline(policy, leads, slow, max(args.runs, 3))

    def loop(fn, subset):
        return lambda: [fn(lead) for lead in subset]

    results = {}
    for name, (fn, subset) in ways.items():
        median, _, _ = timed(loop(fn, subset), args.runs if subset is leads else max(1, args.runs // 2 + 1))
        results[name] = (len(subset) / median, len(subset))
    median, _, _ = timed(lambda: [raw(lead, NOW) for lead in leads], args.runs)
    results["generated function alone, raw output kept"] = (len(leads) / median, len(leads))
    # Every way above turns a lead into the same 5-tuple and keeps the tuples; so does the stream here.
    median, _, _ = timed(lambda: [as_tuple(r.decision) for r in policy.evaluate_many(leads, NOW)], args.runs)
    results["evaluate_many stream, as a tuple"] = (len(leads) / median, len(leads))
    # Keeping every Result (and its Decision) alive instead costs the garbage collector's passes over them.
    median, _, _ = timed(lambda: list(policy.evaluate_many(leads, NOW)), args.runs)
    results["list(evaluate_many), Results kept"] = (len(leads) / median, len(leads))
    base = results["hand-written, as a tuple"][0]
    rows = [(name, f"{n:,}", f"{rate:,.0f}", f"{base / rate:.2f}x") for name, (rate, n) in
            sorted(results.items(), key=lambda kv: -kv[1][0])]
    print_table(rows, ("way (wall clock, one way at a time)", "leads", "leads/s (median)",
                        "time vs hand-written"))

    text = thousand_rule_policy()

    def build():
        loaded = load_policy_text(text)
        assert not loaded.has_errors
        return from_tree(loaded.policy)
    median, times, _ = timed(build, 5)
    print(f"\nparse + check + compile, 1,000-rule policy: median {median:.3f} s (runs: "
          f"{', '.join(f'{t:.3f}' for t in times)})")
    startup = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "leadpolicy", "--help"], capture_output=True, check=True)
        startup.append(time.perf_counter() - start)
    print(f"`python -m leadpolicy --help`: median {statistics.median(startup):.3f} s over 7 runs")


if __name__ == "__main__":
    main()
