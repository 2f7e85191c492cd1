"""`route-gap` (issue 27, LANGUAGE-v3 "Proofs without a declared guarantee"): a routed stage admits a lead no
route entry matches and the route has no `otherwise`; the warning's witness is re-decided by the compiled
evaluator: that stage, no route."""

from __future__ import annotations

import json
import re
from typing import Any

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.proofs.exhaustive import exhaustive_diagnostics, route_gaps

from .conftest import POLICIES
from .engines import policy_from_text

REFERENCE = leadpolicy.load(POLICIES / "inbound-activity.policy")


def routed(route: str) -> str:
    return ('policy "gap" version 1.0.0 {\n  title "Gap"\n  owner marketing "M"\n  owner sales "S"\n'
            '  timezone "Europe/Berlin"\n  lead {\n    email text required\n    employees number\n  }\n'
            '  score fit {\n    +40 when employees >= 200\n  }\n'
            '  stages {\n    sql when fit >= 40 owner sales\n    nurture otherwise owner marketing\n  }\n'
            f'  route for sql {{\n{route}  }}\n}}\n')


GAP = routed('    "ae" when employees >= 1000\n    "sdr" when employees >= 200 and employees < 500\n')
# no `otherwise`, yet every lead of sql (employees >= 200) matches an entry
COVERED = routed('    "ae" when employees >= 1000\n    "sdr" when employees < 1000\n')


def decided(policy: Any, witness: dict[str, Any]) -> Any:
    return policy.evaluate(witness["lead"], witness["now"], witness["events"])


def test_the_v2_reference_has_no_route_gap():
    assert route_gaps(REFERENCE) == []


def test_a_route_without_otherwise_that_covers_its_stage_has_no_gap():
    assert route_gaps(policy_from_text(COVERED)) == []


def test_a_gap_is_found_with_a_witness_the_compiled_evaluator_decides_so():
    policy = policy_from_text(GAP)
    [gap] = route_gaps(policy)
    assert gap.route == 0 and gap.stage == "sql"
    decision = decided(policy, gap.witness.as_json())
    assert decision.stage == "sql" and decision.route is None
    assert 500 <= gap.witness.lead["employees"] < 1000


def test_check_warns_route_gap_at_the_route_with_a_lead_that_reproduces_it(tmp_path, capsys):
    path = tmp_path / "gap.policy"
    path.write_text(GAP, "utf-8")
    code = main(["check", str(path), "--allow-untested", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    gaps = [d for d in report["diagnostics"] if d["code"] == "route-gap"]
    assert len(gaps) == 1 and gaps[0]["severity"] == "warning" and code == 0
    assert gaps[0]["line"] == GAP.splitlines().index("  route for sql {") + 1
    lead = json.loads(re.search(r"lead (\{.*?\})", gaps[0]["message"])[1])
    now = re.search(r"now (\S+),", gaps[0]["message"])[1]
    decision = policy_from_text(GAP).evaluate(lead, now)
    assert decision.stage == "sql" and decision.route is None


def test_check_of_the_v2_reference_has_no_route_gap(capsys):
    main(["check", str(POLICIES / "inbound-activity.policy"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert not [d for d in report["diagnostics"] if d["code"] == "route-gap"]


def test_the_diagnostic_names_the_route_and_sits_on_its_block():
    policy = policy_from_text(GAP)
    [diag] = [d for d in exhaustive_diagnostics("gap.policy", policy.tree, policy) if d.code == "route-gap"]
    assert "route for sql" in diag.message and "stage sql" in diag.message
    assert (diag.span.line, diag.span.column) == (GAP.splitlines().index("  route for sql {") + 1, 3)


MISSING_GAP = routed('    "ae" when employees >= 1000\n    "sdr" when employees < 1000\n').replace(
    "sql when fit >= 40 owner sales", 'sql when email ends with "@big.io" owner sales')


def test_a_route_gap_says_why_no_entry_matched_its_events_as_json_and_how_to_explain_it(tmp_path, capsys):
    """New user A2: a lead without employees makes both `>= 1000` and `< 1000` unknown; the warning did not
    say so, wrote its events as "X at T" and gave no explain command."""
    import shlex

    path = tmp_path / "gap.policy"
    path.write_text(MISSING_GAP, "utf-8")
    main(["check", str(path), "--allow-untested", "--format", "json"])
    [gap] = [d for d in json.loads(capsys.readouterr().out)["diagnostics"] if d["code"] == "route-gap"]
    assert "employees is missing, so `employees >= 1000` is unknown" in gap["message"]
    assert "employees is missing, so `employees < 1000` is unknown" in gap["message"]
    assert re.search(r"events \[.*\]", gap["message"]) and " at 20" not in gap["message"]
    command = shlex.split(gap["hint"].split("see why: ", 1)[1])
    assert command[:2] == ["leadpolicy", "explain"]
    assert main(command[1:]) == 0
    assert "route: none" in capsys.readouterr().out
