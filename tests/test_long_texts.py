"""A text constant as long as the solver is given (`primitives.smt.MAX_TEXT`) ends within the proof's time-out
in every form a condition reads it (z3 honours no time-out while it takes in long string constants outside a
check: a 550-character needle ran past 60 s at a 2 s time-out). Each proof runs in a process of its own, killed
at a hard wall-clock limit, so a hang fails the test and never holds up the suite."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leadpolicy.semantics.primitives.smt import MAX_TEXT
from leadpolicy.semantics.symbolic.search import GRACE_SECONDS

from .test_user_input_exit_codes import PROVE_BASE

TIMEOUT = 2.0  # prove --timeout
HARD_LIMIT = 60  # seconds after which the process is killed
# A proof may take its time-out, the watchdog's grace past it (search.GRACE_SECONDS), and twice what the same
# process takes for an easy claim in the same run (starting, reading the policy: stretched on a loaded machine).
TIMED = """
import json, sys, time
from leadpolicy.cli.main import main
start = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"code": code, "elapsed": time.perf_counter() - start}), file=sys.stderr)
"""


def needle(length: int, seed: int) -> str:
    """Letters, digits and the punctuation of an email address, in no pattern the solver could exploit."""
    chosen = random.Random(seed)
    return "".join(chosen.choice("abcdefghijklmnopqrstuvwxyz0123456789@.-") for _ in range(length))


def claims(length: int) -> dict[str, str]:
    a, b, c = (needle(length, seed) for seed in (1, 2, 3))
    options = ", ".join(f'"{needle(max(1, length // 20), 10 + k)}"' for k in range(20))
    return {
        "contains": f'not (email contains "{a}")',
        "starts with": f'not (email starts with "{a}")',
        "ends with": f'not (email ends with "{a}")',
        "contains any of three": f'not (email contains any ("{a}", "{b}", "{c}"))',
        "equals": f'not (name = "{a}")',
        "in twenty options": f"not (name in ({options}))",
        "compared with another text field": f'not (email contains "{a}" and name = email)',
    }


def policies(length: int) -> dict[str, str]:
    out = {form: PROVE_BASE.replace("    G1\n", f'    "n": {claim}\n') for form, claim in claims(length).items()}
    monotone = PROVE_BASE.replace('email ends with "@gmail.com"', f'email ends with "{needle(length, 4)}"')
    out["a monotone pair"] = monotone.replace("    G1\n", '    "m": fit never decreases with employees\n')
    return out


def timed_prove(path: Path, form: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    argv = [sys.executable, "-c", TIMED, "prove", str(path), "--timeout", str(TIMEOUT), "--format", "json"]
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=HARD_LIMIT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{form}: a proof over a {MAX_TEXT}-character text ran past {HARD_LIMIT} s")
    return json.loads(run.stderr.strip().splitlines()[-1]), run


@pytest.fixture(scope="module")
def easy_seconds(tmp_path_factory: pytest.TempPathFactory) -> float:
    """What the same process takes for an easy claim on this machine now (the baseline of the limit)."""
    path = tmp_path_factory.mktemp("easy") / "p.policy"
    path.write_text(PROVE_BASE.replace("    G1\n", '    "n": fit <= 100\n'), "utf-8")
    timed, run = timed_prove(path, "an easy claim")
    assert timed["code"] == 0, run.stderr
    return float(timed["elapsed"])


@pytest.mark.parametrize("form", list(policies(1)))
def test_a_text_at_the_cap_ends_within_the_time_out(form, tmp_path, easy_seconds):
    path = tmp_path / "p.policy"
    path.write_text(policies(MAX_TEXT)[form], "utf-8")
    timed, run = timed_prove(path, form)
    assert timed["code"] in (0, 1), run.stderr
    statuses = {g["status"] for g in json.loads(run.stdout)["guarantees"]}
    assert statuses <= {"proved", "violated", "unknown"} and statuses
    assert timed["elapsed"] < TIMEOUT + GRACE_SECONDS + 2 * easy_seconds, (form, timed, easy_seconds)


def test_a_text_past_the_cap_is_unknown_at_once(tmp_path):
    path = tmp_path / "p.policy"
    path.write_text(policies(MAX_TEXT + 1)["contains"], "utf-8")
    run = subprocess.run([sys.executable, "-m", "leadpolicy", "prove", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=HARD_LIMIT, check=False)
    result = json.loads(run.stdout)["guarantees"][0]
    assert result["status"] == "unknown" and "longer than the solver reasons about" in result["reason"]
