"""A decayed total is the exact product of the total and its factor, rounded once (docs/language.md, "Rounding"),
however many digits the product has: Python's default decimal context keeps 28, and a total of 11 whole digits and
9 places times a 9-place factor has 29. `prove` reasons with the exact product, so an evaluator that rounded to 28
digits first decided leads the proofs said could not be decided (auditor A1's finding F1)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal, Inexact

import pytest

from leadpolicy import runtime
from leadpolicy.cli.main import main
from leadpolicy.proofs import prove
from leadpolicy.semantics.primitives import sql

from .engines import decide, policy_from_text

# 12 x 999999999 + 60318817.549450545 = 12060318805.549450545; a day of 12.3456789% leaves 0.876543211, and
# 12060318805.549450545 x 0.876543211 = 10571390571.499999999999999995, which rounds to 10571390571, what s2 is.
T4 = """policy "t4" version 1.0.0 {
  title "t"
  owner marketing "a <a@example.com>"
  owner sales "b <b@example.com>"
  timezone "UTC"
  lead {
    a yes/no
    d date
  }
  score s {
""" + "    +999999999 when a\n" * 12 + """    +60318817.549450545 when a
    decay 12.3456789% every 1 days since d
  }
  score s2 {
""" + "    +999999999 when a\n" * 10 + """    +571390581 when a
  }
  stages {
    hot when s > s2 owner sales
    cold otherwise owner marketing
  }
  guarantees {
    "decayed s never above s2": days since d = 1 implies s <= s2
    "never hot a day after d": days since d = 1 implies stage = cold
  }
}
"""
LEAD = {"a": True, "d": "2026-11-19"}
NOW = "2026-11-20T12:00:00Z"
EXACT = {"s": 10571390571, "s2": 10571390571, "stage": "cold"}


def test_the_exact_product_rounds_below_the_half_the_default_context_would_make():
    total, factor = Decimal("12060318805.549450545"), runtime.decay_power(Decimal("12.3456789"), 1)
    assert factor == Decimal("0.876543211")
    assert runtime.round_half_away(total * factor) == 10571390572  # the default 28 digits: the wrong side
    assert runtime.round_half_away(runtime.decayed(total, factor)) == 10571390571
    assert runtime.round_half_away(runtime.decayed(-total, factor)) == -10571390571


def test_what_prove_proves_holds_for_what_the_evaluators_decide():
    policy = policy_from_text(T4)
    assert [r.status for r in prove(policy, 20.0)] == ["proved", "proved"]
    now = policy.instant(NOW)
    for engine in ("interpreter", "python"):
        [decision] = decide(engine, policy, [LEAD], now)
        assert {k: decision[k] for k in EXACT} == EXACT, engine


def test_the_standalone_compiled_module_multiplies_exactly(tmp_path):
    policy_file, module = tmp_path / "t4.policy", tmp_path / "t4_compiled.py"
    policy_file.write_text(T4, "utf-8")
    assert main(["compile", str(policy_file), "--target", "python", "-o", str(module)]) == 0
    script = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('t4_compiled', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "decision = module.decide(json.loads(sys.argv[2]), module.read_instant(sys.argv[3], module.TZ), [])\n"
        "print(json.dumps({**decision['scores'], 'stage': decision['stage']}))\n")
    ran = subprocess.run([sys.executable, "-I", "-c", script, str(module), json.dumps(LEAD), NOW],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == EXACT



def test_a_product_that_would_not_fit_is_never_rounded_unseen():
    with pytest.raises(Inexact):
        runtime.decayed(Decimal("1" * 60 + ".5"), Decimal("0.876543211"))


def test_sql_decays_a_total_of_27_digits_in_its_own_width_and_refuses_more_whole_digits():
    score = policy_from_text(T4).ir.scores[0]
    assert (score.bound, score.scale) == (Decimal("12060318805.549450545"), 9)
    assert sql.total_type(score) == "DECIMAL(20, 9)"  # was DECIMAL(18, 9), which the total overflowed
    assert sql.total_type(replace(score, bound=Decimal("999999999999999999.5"))) == "DECIMAL(27, 9)"
    with pytest.raises(sql.UnsupportedError, match=r"more than SQL sums and decays exactly \(18 whole digits\)"):
        sql.total_type(replace(score, bound=Decimal("1000000000000000000")))
