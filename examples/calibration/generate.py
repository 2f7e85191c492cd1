"""The worked example of docs/feedback.md ("Calibrate from outcomes"): a purpose-built policy and generated
leads, events and outcomes with planted effects. Run from the repository's root:

    python examples/calibration/generate.py DIR [--leads 20000] [--seed 20261206]

writes DIR/planted.policy, DIR/leads.csv and DIR/events.csv (DIR is made when missing), the very files the
page calibrates, and an empty DIR/rejects/ for the rows calibrate would reject (none: the data is clean; a
folder holding a policy takes no rows of lead data). The tests import this module (tests/calibration_data.py).

Every lead's chance of being won is sigmoid(INTERCEPT + sum(beta_i x_i)) over the rules of POLICY's score
`fit`: x_i is 1 where a points rule fires (0 where not), and a per rule's units (its points over its points per
unit). The betas are known (`betas(mode)`):
- "planted": the rules' effects are proportional to their points (SCALE per point), except "Core industry",
  whose effect goes against its +20 points (CONTRADICTED), and "Asked for a demo", which has no effect;
- "proportional": every effect is SCALE per point, so the evidence supports every rule as written.
The rules' inputs are drawn independently, so one logistic regression over them recovers each beta. Seeded:
the same arguments give the same files.

With `decay`, the policy is DECAY_POLICY (POLICY whose score `fit` decays 50% every 30 days since a lead field
`last_seen`, drawn apart from the rest: 0, 1 or 2 whole periods before as-of) and each lead's log-odds gain
DECAY_EFFECT[decay] per point the decay took off its score (`points_lost`, worked as the policy works it, without
the clamp): "real" stale leads win less than their rules say, as many points less as the decay takes; "none"
they win as fresh ones; "reversed" they win more.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

import numpy as np

POLICY = '''# A purpose-built policy for calibration: one score whose rules have known effects on winning.

policy "planted-calibration" version 1.2.0 {
  title "Planted calibration"
  owner marketing "Dana Whitfield <dana@example.com>"
  owner sales     "Raj Patel <raj@example.com>"
  timezone "UTC"

  lead {
    email      text required
    employees  number
    industry   one of ("software", "fintech", "retail", "other")
    job_title  text
    source     one of ("webinar", "paid_search", "organic")
    demo       yes/no default no
  }

  events {
    email_click  "Clicked a marketing email"
    won_deal
    lost_deal
  }

  score fit "Fit and intent" {
    clamp 0 to 100
    +30 when employees >= 200                     "Mid-market or larger"
    +20 when industry in ("software", "fintech")  "Core industry"
    +15 when job_title contains "VP"              "Decision maker"
    +10 when demo                                 "Asked for a demo"
    -25 when email ends with "@gmail.com"         "Free email domain"
    +5  per email_click in last 30 days up to 25  "Email clicks"
  }

  grade fit_grade from fit {
    "A"  when fit >= 60
    "B"  when fit >= 30
    "C"  otherwise
  }

  # Sales takes a lead from 50 points of fit.
  stages {
    sql      when fit >= 50  owner sales
    nurture  otherwise       owner marketing
  }

  outcomes {
    won   when won_deal
    lost  when lost_deal
  }
}
'''

AS_OF = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 12, 31, tzinfo=dt.timezone.utc)
INTERCEPT = -2.0
SCALE = 0.03  # log-odds per point of a rule whose effect is proportional to its points
CONTRADICTED = -0.8  # "Core industry" earns +20 points, yet its leads win less
POINTS = {"Mid-market or larger": 30, "Core industry": 20, "Decision maker": 15, "Asked for a demo": 10,
          "Free email domain": -25, "Email clicks": 5}  # a per rule's points per unit
MAX_CLICKS = 5  # the per rule's cap in units (25 / 5)

Mode = Literal["planted", "proportional"]
DecayMode = Literal["real", "none", "reversed"]

DECAY = "decay 50% every 30 days since last_seen"
DECAY_POLICY = (POLICY.replace('"planted-calibration"', '"planted-decay"')
                .replace("yes/no default no\n", "yes/no default no\n    last_seen  date\n")
                .replace("    clamp 0 to 100\n", f"    clamp 0 to 100\n    {DECAY}\n"))
DECAY_EFFECT = {"real": -SCALE, "none": 0.0, "reversed": SCALE}  # log-odds per point the decay took


def betas(mode: Mode = "planted") -> dict[str, float]:
    """The planted effect of each rule (by its reason): log-odds when it fires, per unit for the per rule."""
    out = {label: SCALE * points for label, points in POINTS.items()}
    if mode == "planted":
        out["Core industry"] = CONTRADICTED
        out["Asked for a demo"] = 0.0
    return out


@dataclass
class Planted:
    folder: Path
    policy: Path
    leads: Path
    events: Path
    leads_count: int
    events_count: int
    betas: dict[str, float] = field(default_factory=dict)  # with a decay, "decay": log-odds per point it took
    points_lost: np.ndarray | None = None  # with a decay: the points it took off each lead's fit (L0, L1, ...)
    as_of: dt.datetime = AS_OF
    now: dt.datetime = NOW

    def args(self) -> list[str]:
        """The inputs as `leadpolicy feedback` and `calibrate` take them."""
        return ["--leads", str(self.leads), "--events", str(self.events), "--as-of", self.as_of.isoformat(),
                "--now", self.now.isoformat()]


@dataclass
class _Draws:
    """Each lead's rule inputs, drawn independently."""

    large: np.ndarray
    core: np.ndarray
    vp: np.ndarray
    demo: np.ndarray
    gmail: np.ndarray
    clicks: np.ndarray  # clicks in the 30 days before as-of (the rule counts at most MAX_CLICKS)
    source: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> "_Draws":
        return cls(rng.random(n) < 0.4, rng.random(n) < 0.5, rng.random(n) < 0.3, rng.random(n) < 0.25,
                   rng.random(n) < 0.2, rng.integers(0, 8, n), rng.integers(0, 3, n))

    def features(self) -> dict[str, np.ndarray]:
        return {"Mid-market or larger": self.large, "Core industry": self.core, "Decision maker": self.vp,
                "Asked for a demo": self.demo, "Free email domain": self.gmail,
                "Email clicks": np.minimum(self.clicks, MAX_CLICKS)}


def won_chances(draws: _Draws, planted: dict[str, float], decay: float = 0.0,
                lost_points: np.ndarray | None = None) -> np.ndarray:
    logit = INTERCEPT + sum(planted[label] * x.astype(float) for label, x in draws.features().items())
    if lost_points is not None:
        logit = logit + decay * lost_points
    return 1 / (1 + np.exp(-logit))


def fit_total(draws: _Draws) -> np.ndarray:
    """Each lead's sum of the rules of `fit` (before decay and clamp), in points."""
    return sum(POINTS[label] * x.astype(int) for label, x in draws.features().items())


def points_lost(totals: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """What DECAY takes off each total: total - round(total × 0.5 ^ periods), halves away from zero."""
    kept = [int((Decimal(int(t)) * Decimal("0.5") ** int(k)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            for t, k in zip(totals, periods)]
    return totals - np.array(kept, dtype=int)


def generate(folder: Path, leads: int = 20_000, seed: int = 20261206, mode: Mode = "planted",
             kind: Literal["csv", "parquet"] = "csv", old_clicks: int = 0, decay: DecayMode | None = None) -> Planted:
    """Write POLICY (DECAY_POLICY with `decay`), a leads file (CSV or Parquet) and an events file (CSV) to
    `folder`. `old_clicks` more clicks per lead, older than the rule's 30 days, add events that change nothing
    (for the benchmark)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    draws = _Draws.draw(rng, leads)
    planted = betas(mode)
    stale = None if decay is None else np.random.default_rng(seed + 1).choice(3, leads, p=[0.5, 0.3, 0.2])
    lost_points = None if stale is None else points_lost(fit_total(draws), stale)
    effect = 0.0 if decay is None else DECAY_EFFECT[decay]
    won = rng.random(leads) < won_chances(draws, planted, effect, lost_points)
    lost = ~won & (rng.random(leads) < 0.6)  # the others stay open: not won, as feedback counts them
    policy = folder / "planted.policy"
    policy.write_text(POLICY if decay is None else DECAY_POLICY, "utf-8")
    leads_csv = folder / "leads.csv"
    _write_leads(leads_csv, draws, None if stale is None else _last_seen(stale, seed))
    leads_file = leads_csv if kind == "csv" else _as_parquet(leads_csv)
    events = folder / "events.csv"
    count = _write_events(events, rng, draws, won, lost, old_clicks)
    out = Planted(folder, policy, leads_file, events, leads, count, planted)
    if lost_points is not None:
        out.betas["decay"] = effect
        out.points_lost = lost_points
    return out


def _last_seen(periods: np.ndarray, seed: int) -> list[str]:
    """A date `periods` whole 30-day periods and 3 to 26 days more before as-of (never near a period's edge)."""
    extra = np.random.default_rng(seed + 2).integers(3, 27, len(periods))
    return [(AS_OF.date() - dt.timedelta(days=int(30 * k + d))).isoformat() for k, d in zip(periods, extra)]


def _write_leads(path: Path, draws: _Draws, last_seen: list[str] | None = None) -> None:
    industries = np.array(["software", "fintech", "retail", "other"])
    sources = np.array(["webinar", "paid_search", "organic"])
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "email", "employees", "industry", "job_title", "source", "demo"]
                        + (["last_seen"] if last_seen is not None else []))
        for i in range(len(draws.large)):
            writer.writerow([
                f"L{i}", f"u{i}@{'gmail.com' if draws.gmail[i] else 'corp.example'}",
                1000 if draws.large[i] else 50, industries[(0 if draws.core[i] else 2) + i % 2],
                "VP Sales" if draws.vp[i] else "Analyst", sources[draws.source[i]],
                "yes" if draws.demo[i] else "no"] + ([last_seen[i]] if last_seen is not None else []))


def _as_parquet(csv_file: Path) -> Path:
    import duckdb

    parquet = csv_file.with_suffix(".parquet")
    duckdb.read_csv(str(csv_file), all_varchar=True).write_parquet(str(parquet))
    csv_file.unlink()
    return parquet


def _write_events(path: Path, rng: np.random.Generator, draws: _Draws, won: np.ndarray, lost: np.ndarray,
                  old_clicks: int) -> int:
    """Clicks before as-of (within the rule's 30 days, and `old_clicks` more before them), then each lead's
    outcome between as-of and now."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at"])
        for i in range(len(won)):
            days = rng.uniform(0.5, 29.5, draws.clicks[i])
            older = rng.uniform(31, 365, old_clicks)
            for ago in (*days, *older):
                writer.writerow([f"L{i}", "email_click", _at(AS_OF - dt.timedelta(days=float(ago)))])
            count += len(days) + len(older)
            if won[i] or lost[i]:
                after = dt.timedelta(days=float(rng.uniform(1, 80)))
                writer.writerow([f"L{i}", "won_deal" if won[i] else "lost_deal", _at(AS_OF + after)])
                count += 1
    return count


def _at(instant: dt.datetime) -> str:
    return instant.replace(microsecond=0).isoformat()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the planted policy, leads and events of docs/feedback.md's "
                                                 "calibration example to DIR.")
    parser.add_argument("folder", metavar="DIR", type=Path, help="where to write them (made when missing)")
    parser.add_argument("--leads", type=int, default=20_000, help="how many leads (default: 20000, as the page)")
    parser.add_argument("--seed", type=int, default=20261206, help="the random seed (default: the page's)")
    args = parser.parse_args(argv)
    if args.leads < 1:
        parser.error("--leads must be 1 or more")
    if args.folder.exists() and not args.folder.is_dir():
        parser.error(f"{args.folder} is a file, not a folder")
    planted = generate(args.folder, leads=args.leads, seed=args.seed)
    (args.folder / "rejects").mkdir(exist_ok=True)
    print(f"wrote {planted.policy}, {planted.leads} ({planted.leads_count:,} leads) and {planted.events} "
          f"({planted.events_count:,} events); rejected rows go to {args.folder / 'rejects'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
