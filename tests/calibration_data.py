"""Leads, events and outcomes with planted effects, for calibration's tests and benchmark: the generator of
docs/feedback.md's worked example, examples/calibration/generate.py (a script a user runs), loaded from there so
that the page's data and the tests' are made by the same code; leads of the activity reference whose outcomes
contradict one rule (`activity_data`); and a command run on the planted data (`run_on_planted`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "calibration" / "generate.py"
_SPEC = importlib.util.spec_from_file_location("leadpolicy_examples_calibration_generate", _SCRIPT)
assert _SPEC is not None and _SPEC.loader is not None
generator = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = generator  # its dataclasses look their module up by name
_SPEC.loader.exec_module(generator)

POLICY = generator.POLICY
DECAY = generator.DECAY
DECAY_POLICY = generator.DECAY_POLICY
DECAY_EFFECT = generator.DECAY_EFFECT
AS_OF = generator.AS_OF
NOW = generator.NOW
INTERCEPT = generator.INTERCEPT
SCALE = generator.SCALE
CONTRADICTED = generator.CONTRADICTED
POINTS = generator.POINTS
MAX_CLICKS = generator.MAX_CLICKS
Planted = generator.Planted
betas = generator.betas
generate = generator.generate
points_lost = generator.points_lost


def write_policy(folder: Path, text: str) -> Path:
    """`text` as the policy file p.policy in `folder`."""
    path = folder / "p.policy"
    path.write_text(text, "utf-8")
    return path


def run_on_planted(capsys, planted: Planted, policy: Path, *extra: str,
                   command: str = "calibrate") -> tuple[int, str, str]:
    """`leadpolicy COMMAND POLICY` on the planted leads and events (rejects into a folder beside the policy):
    the exit code, stdout and stderr."""
    from leadpolicy.cli.main import main

    rejects = policy.parent / "rejects"
    rejects.mkdir(exist_ok=True)
    code = main([command, str(policy), *planted.args(), "--rejects-folder", str(rejects), *extra])
    out, err = capsys.readouterr()
    return code, out, err


CRM_HEADER = ["Lead ID", "Email", "Employees", "Industry", "Lead Source", "Owner"]
REPS = ("amy", "bob")


def activity_data(folder: Path, leads: int, seed: int, crm: bool = False, bad_rows: int = 0) -> Path:
    """Leads of the activity reference (policies/inbound-activity.policy) and their outcomes, as FOLDER/leads.csv
    and FOLDER/events.csv: a free email's lead wins more often, against the -50 points of "Free email domain";
    larger companies win more, as their +40 points say. `crm`: as a CRM exports them (ids 00Q00001, headers
    `Lead ID` and `Lead Source`, and an `Owner` column of reps that the policy also computes), with `bad_rows`
    more whose employees is no number."""
    import random

    from .files import write_csv

    rng = random.Random(seed)
    lead_rows, event_rows = [], []
    for i in range(leads):
        lead = f"00Q{i:05}" if crm else f"L{i}"
        free, large = rng.random() < 0.3, rng.random() < 0.5
        lead_rows.append((lead, f"u{i}@{'gmail.com' if free else 'corp.io'}", 500 if large else 40,
                          rng.choice(["software", "retail"]), rng.choice(["webinar", "organic"]),
                          *([REPS[i % 2]] if crm else [])))
        if rng.random() < 0.1 + 0.2 * free + 0.15 * large:
            event_rows.append((lead, "closed_won", "2026-11-20T10:00:00-05:00", ""))
        elif rng.random() < 0.5:
            event_rows.append((lead, "closed_lost", "2026-11-20T10:00:00-05:00", ""))
    lead_rows += [(f"BAD{i}", f"bad{i}@corp.io", "lots", "retail", "webinar", "amy") for i in range(bad_rows)]
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "leads.csv", CRM_HEADER if crm else ["id", "email", "employees", "industry", "source"],
              lead_rows)
    write_csv(folder / "events.csv", ["lead", "event", "at", "reason"], event_rows)
    return folder
