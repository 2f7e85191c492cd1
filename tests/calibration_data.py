"""Leads, events and outcomes with planted effects, for calibration's tests and benchmark: the generator of
docs/feedback.md's worked example, examples/calibration/generate.py (a script a user runs), loaded from there so
that the page's data and the tests' are made by the same code."""

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
