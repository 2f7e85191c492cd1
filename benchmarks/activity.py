"""Activity benchmark: the v2 reference policy (events in time windows) over generated leads with
20 events each.

    python -m pip install -e '.[bench]' && python benchmarks/activity.py [--leads 20000] [--runs 5]

Leads per second, median of --runs, for
  (a) a hand-written plain-Python function computing the same windows, scores, grade, stage and route
      from the same (event, time) pairs (the baseline),
  (b) `Policy.evaluate(lead, now=..., events=[...])`: the events read and checked, then the
      generated function,
  (c) the generated function alone, given events already read (what `evaluate` adds is the reading).
Every way is first checked to give the same decisions on every lead. Ratios are to (a).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "inbound-activity.policy"
NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
EVENTS = ("email_click", "pricing_page_view", "webinar_attended", "demo_request", "touch", "became_mql")
DAY = dt.timedelta(days=1)


def generate(n: int, per_lead: int = 20, seed: int = 11) -> list[tuple[dict, list[dict]]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lead = {"email": f"p{i}@" + rng.choice(["bigsoft.io", "gmail.com", "ledgerly.com", "competitor.com"]),
                "employees": rng.choice([None, 5, 150, 200, 450, 1000, 4000]),
                "industry": rng.choice(["software", "fintech", "retail", "other"]),
                "source": rng.choice(["webinar", "paid_search", "organic", "referral"])}
        events = [{"event": rng.choice(EVENTS), "at": NOW - dt.timedelta(minutes=rng.randrange(-600, 120 * 1440))}
                  for _ in range(per_lead)]
        out.append((lead, events))
    return out


def hand_written(lead: dict, events: list[dict], now: dt.datetime) -> tuple:
    """inbound-activity.policy written by hand: the baseline."""
    clicks30 = views14 = webinar90 = demo30 = 0
    last_click = None
    for e in events:
        at = e["at"]
        if at > now:
            continue
        age = now - at
        name = e["event"]
        if name == "email_click":
            clicks30 += age < 30 * DAY
            if last_click is None or at > last_click:
                last_click = at
        elif name == "pricing_page_view":
            views14 += age < 14 * DAY
        elif name == "webinar_attended":
            webinar90 += age < 90 * DAY
        elif name == "demo_request":
            demo30 += age < 30 * DAY
    email = lead["email"].lower()
    employees = lead.get("employees")
    fit = (40 if employees is not None and employees >= 200 else 0) \
        + (20 if lead.get("industry") in ("software", "fintech") else 0) \
        - (50 if email.endswith(("@gmail.com", "@yahoo.com", "@outlook.com")) else 0)
    fit = max(0, min(100, fit))
    engagement = min(5 * clicks30, 20) + min(10 * views14, 30) + (15 if webinar90 else 0) + (40 if demo30 else 0)
    if last_click is not None and (now - last_click) // DAY > 60:
        engagement -= 10
    engagement = max(0, min(100, engagement))
    priority = max(0, min(200, min(fit, 100) + min(engagement, 100)))
    tier = "A" if priority >= 120 else "B" if priority >= 70 else "C"
    if email.endswith("@competitor.com"):
        stage = "disqualified"
    elif demo30 and fit >= 40:
        stage = "sql"
    elif fit >= 40 and engagement >= 30:
        stage = "mql"
    else:
        stage = "nurture"
    route = None
    if stage in ("mql", "sql"):
        route = "enterprise-ae" if employees is not None and employees >= 1000 else "inbound-sdr"
    return fit, engagement, priority, tier, stage, route


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import leadpolicy

    policy = leadpolicy.load(POLICY)
    data = generate(args.leads)
    generated = policy._evaluate

    def decided(d) -> tuple:
        return (d.scores["fit"], d.scores["engagement"], d.scores["priority"], d.grades["tier"], d.stage, d.route)

    def via_hand():
        return [hand_written(lead, events, NOW) for lead, events in data]

    def via_api():
        return [decided(policy.evaluate(lead, now=NOW, events=events)) for lead, events in data]

    read = [[(e["event"], e["at"]) for e in events] for _, events in data]
    names = [s.name for s in policy.ir.stages]

    def via_generated():
        out = []
        for (lead, _), pairs in zip(data, read):
            scores, grades, stage, route = generated(lead, NOW, pairs)
            out.append((scores["fit"], scores["engagement"], scores["priority"], grades["tier"], names[stage], route))
        return out

    baseline = via_hand()
    assert via_api() == baseline and via_generated() == baseline, "the ways disagree"
    rows = []
    base_median = None
    for label, fn in (("(a) hand-written Python", via_hand), ("(b) Policy.evaluate(events=)", via_api),
                      ("(c) generated function alone", via_generated)):
        median, _, _ = timed(fn, args.runs)
        base_median = base_median or median
        rows.append((label, f"{args.leads / median:,.0f}", f"{median:.3f}", f"{median / base_median:.2f}x"))
    print(f"{args.leads:,} leads, 20 events each, median of {args.runs} runs")
    print_table(rows, ("way", "leads/s", "median s", "vs (a)"))


if __name__ == "__main__":
    main()
