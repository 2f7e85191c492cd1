"""A counter-example or a route gap that turns on a missing value says which parts of the condition were
unknown for that lead and why (new user A2)."""

from __future__ import annotations

import json

from leadpolicy.cli.main import main
from leadpolicy.proofs.unknowns import unknown_parts

from .engines import policy_from_text
from .test_user_input_exit_codes import PROVE_BASE

INDUSTRY = PROVE_BASE.replace("    signup date\n", "    signup date\n    industry text\n")


def test_the_parts_a_missing_field_makes_unknown_are_named():
    policy = policy_from_text(INDUSTRY.replace("    G1\n", '    "i": handoff implies industry in ("software", '
                                                             '"fintech")\n'))
    claim = policy.ir.guarantees[0]
    said = unknown_parts(policy.ir, [claim.condition, claim.then], {"email": "a@b.io", "employees": 300})
    assert said == ['industry is missing, so `industry in ("software", "fintech")` is unknown']
    assert unknown_parts(policy.ir, [claim.then], {"email": "a", "industry": "retail"}) == []


def test_a_counter_example_without_a_value_says_what_was_unknown(tmp_path, capsys):
    text = PROVE_BASE.replace("    G1\n", '    "sized": stage = nurture implies employees >= 0 or employees < 0\n')
    path = tmp_path / "p.policy"
    path.write_text(text, "utf-8")
    assert main(["prove", str(path), "--format", "json"]) == 1
    [result] = json.loads(capsys.readouterr().out)["guarantees"]
    assert result["status"] == "violated" and "employees" not in result["counterexample"]["lead"]
    assert main(["prove", str(path)]) == 1
    out = capsys.readouterr().out
    assert "employees is missing, so `employees >= 0` is unknown" in out
    assert "employees is missing, so `employees < 0` is unknown" in out
    assert main(["check", str(path), "--allow-untested"]) == 1
    assert "employees is missing, so `employees >= 0` is unknown" in capsys.readouterr().out


def test_a_pairs_hint_is_commands_a_shell_runs_as_given(capsys):
    """New user A2: `see why: leadpolicy explain ...; then: leadpolicy explain ...` could not be pasted."""
    import shlex
    from pathlib import Path

    clicks = Path(__file__).resolve().parent.parent / "examples" / "clicks.policy"
    assert main(["check", str(clicks), "--allow-untested", "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    diagnostics = found["diagnostics"] if "diagnostics" in found else found["policies"][0]["diagnostics"]
    [pair] = [d for d in diagnostics if d["code"] == "guarantee-violated" and "email click" in d["message"]]
    words = shlex.split(pair["hint"].removeprefix("see why: "))
    commands = [list(group) for group in _split(words, "&&")]
    assert len(commands) == 2 and all(c[:2] == ["leadpolicy", "explain"] for c in commands)
    for command in commands:
        assert main(command[1:]) == 0
        assert "stage" in capsys.readouterr().out


def _split(words: list[str], separator: str) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    for word in words:
        if word == separator:
            groups.append([])
        else:
            groups[-1].append(word)
    return groups


def test_prove_says_what_helps_an_unknown_with_the_time_out_as_given(tmp_path, capsys):
    """New user A2: prove printed no advice for an unknown (check's hint did), and "gave up after 0.0 s" for
    --timeout 0.01."""
    from .test_long_texts import policies

    path = tmp_path / "p.policy"
    path.write_text(policies(400)["contains any of three"], "utf-8")
    assert main(["prove", str(path), "--timeout", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "unknown" in out
    assert "what helps: it is not proved: the solver gave up after its time-out of 0.01 s" in out
