"""Proofs of guarantees (issue 27; LANGUAGE-v3 "Guarantees"): `leadpolicy.proofs.prove`, `leadpolicy prove` and
the results inside `check`. Every counter-example is checked here by deciding its JSON with the compiled policy
(`Policy.evaluate`) and reading the claim off the decisions, independently of the proofs' own claim evaluation."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest

from leadpolicy import api
from leadpolicy.cli.main import main
from leadpolicy.proofs import Disagreement, claim_holds, prove, results_json
from leadpolicy.proofs.guarantees import Confirmation
from leadpolicy.semantics.symbolic import Witness

from .conftest import REFERENCE_COPY, ROOT
from .engines import policy_from_text

TIMEOUT = 20.0
V2 = (REFERENCE_COPY / "inbound-activity.policy").read_text("utf-8")
V3 = ROOT.parent / "shared" / "design" / "examples" / "inbound-teams.policy"  # beside the project, as CI clones it


def guarantees_block(claims: dict[str, str]) -> str:
    return "  guarantees {\n" + "".join(f'    "{name}": {claim}\n' for name, claim in claims.items()) + "  }\n"


def with_block(block: str, text: str = V2) -> str:
    """The policy with `block` as its last item."""
    end = text.rindex("}")
    return text[:end] + "\n" + block + text[end:]


def v3_block() -> str:
    """The v3 reference's `guarantees` block, as written there."""
    assert V3.exists(), f"the v3 reference is not beside the project: {V3}"
    found = re.search(r"^  guarantees \{\n.*?^  \}\n", V3.read_text("utf-8"), re.S | re.M)
    assert found, "the v3 reference has no guarantees block"
    return found.group(0)


def decided(policy: api.Policy, lead: dict[str, Any], events: list[dict[str, Any]], now: str) -> api.Decision:
    return policy.evaluate(lead, now=now, events=events)


def sales(decision: api.Decision) -> bool:
    return decision.owner == "sales"  # the v2 reference's catch-all, nurture, is marketing's


def in_last(events: list[dict[str, Any]], name: str, days: int, now: str) -> bool:
    at_now = dt.datetime.fromisoformat(now)
    return any(e["event"] == name and at_now - dt.timedelta(days=days) < dt.datetime.fromisoformat(e["at"]) <= at_now
               for e in events)


# ---------------------------------------------------------------- the v3 reference's guarantees


def test_the_v3_references_six_guarantees_are_proved_on_the_v2_reference():
    """inbound-teams.policy needs `team` (issue 28); its guarantees read only what the v2 reference has."""
    block = v3_block()
    policy = policy_from_text(with_block(block))
    results = prove(policy, TIMEOUT)
    assert len(results) == 6 == block.count('":')
    assert [(r.name, r.status) for r in results] == [(r.name, "proved") for r in results]
    assert all(r.seconds < 2 for r in results), [(r.name, r.seconds) for r in results]


# ---------------------------------------------------------------- each claim kind, proved and violated

Single = Callable[[api.Decision, dict[str, Any]], bool]  # (decision, the counter-example) -> the claim is broken
Pair = Callable[[api.Decision, api.Decision], bool]  # (before, after) -> the claim is broken

PROVED = {
    "Priority stays in range": "priority between 0 and 200",
    "The enterprise queue gets 1,000 or more": 'route = "enterprise-ae" implies employees >= 1000',
    "A fit under 40 is never handed to Sales": "fit < 40 implies not handoff",
    "More employees never lower fit": "fit never decreases with employees",
    "Clicks never raise fit": "fit never increases with email_click",
    "More employees never lose a handoff": "handoff never lost with employees",
    "Nurture has no queue": "stage = nurture implies route is missing",
}
SINGLE: dict[str, tuple[str, Single]] = {
    "Fit stays under 60": ("fit < 60", lambda d, ce: d.scores["fit"] >= 60),
    "Every demo request reaches Sales": (
        "demo_request in last 30 days implies handoff",
        lambda d, ce: in_last(ce["events"], "demo_request", 30, ce["now"]) and not sales(d)),
    "Sales only gets software and fintech": (  # broken by a missing industry too: unknown does not hold
        'handoff implies industry in ("software", "fintech")',
        lambda d, ce: sales(d) and ce["lead"].get("industry") not in ("software", "fintech")),
}
PAIRS: dict[str, tuple[str, str, Pair]] = {
    "Another email click never lowers engagement": (
        "engagement never decreases with email_click", "email_click",
        lambda b, a: a.scores["engagement"] < b.scores["engagement"]),
    "Another demo request never raises engagement": (
        "engagement never increases with demo_request", "demo_request",
        lambda b, a: a.scores["engagement"] > b.scores["engagement"]),
    "More employees never raise priority": (
        "priority never increases with employees", "employees",
        lambda b, a: a.scores["priority"] > b.scores["priority"]),
    "Another email click never loses a handoff": (
        "handoff never lost with email_click", "email_click", lambda b, a: sales(b) and not sales(a)),
}


@pytest.fixture(scope="module")
def claims_proved() -> tuple[api.Policy, dict[str, Any]]:
    claims = {**PROVED, **{name: claim for name, (claim, _) in SINGLE.items()},
              **{name: claim for name, (claim, _, _) in PAIRS.items()}}
    policy = policy_from_text(with_block(guarantees_block(claims)))
    return policy, {r.name: r for r in prove(policy, TIMEOUT)}


def test_true_claims_of_every_kind_are_proved(claims_proved):
    _, results = claims_proved
    assert {name: results[name].status for name in PROVED} == dict.fromkeys(PROVED, "proved")
    assert all(results[name].counterexample is None and results[name].reason is None for name in PROVED)


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_a_false_condition_claim_has_a_counterexample_that_breaks_it_when_decided(claims_proved, name):
    policy, results = claims_proved
    result = results[name]
    assert result.status == "violated", result
    ce = result.counterexample
    assert set(ce) == {"now", "lead", "events"}
    decision = decided(policy, ce["lead"], ce["events"], ce["now"])
    assert SINGLE[name][1](decision, ce), (ce, decision)
    assert result.before == decision and result.after is None
    assert all(at["at"] <= ce["now"] or dt.datetime.fromisoformat(at["at"]) <= dt.datetime.fromisoformat(ce["now"])
               for at in ce["events"])


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_a_false_monotone_claim_has_a_pair_that_breaks_it_when_decided(claims_proved, name):
    policy, results = claims_proved
    result = results[name]
    assert result.status == "violated", result
    ce = result.counterexample
    assert set(ce) == {"now", "before", "after"}
    before, after = ce["before"], ce["after"]
    _, along, broken = PAIRS[name]
    if along == "employees":  # a field: larger in the second lead, present in both, the rest alike
        assert after["lead"][along] > before["lead"][along]
        assert {k: v for k, v in after["lead"].items() if k != along} == {
            k: v for k, v in before["lead"].items() if k != along}
        assert after["events"] == before["events"]
    else:  # an event: one more of it, at or before now
        assert after["lead"] == before["lead"]
        extra = [e for e in after["events"] if e not in before["events"]]
        assert len(extra) == 1 and extra[0]["event"] == along and len(after["events"]) == len(before["events"]) + 1
        assert dt.datetime.fromisoformat(extra[0]["at"]) <= dt.datetime.fromisoformat(ce["now"])
    first = decided(policy, before["lead"], before["events"], ce["now"])
    second = decided(policy, after["lead"], after["events"], ce["now"])
    assert broken(first, second), (ce, first, second)
    assert (result.before, result.after) == (first, second)


def test_engagement_falls_with_another_click_only_through_days_since_last(claims_proved):
    """The +5 per click counts the last 30 days and can only rise; `days since last email_click > 60` is what
    another click can set off: a lead without clicks gets one more than 60 days before now."""
    _, results = claims_proved
    ce = results["Another email click never lowers engagement"].counterexample
    assert not any(e["event"] == "email_click" for e in ce["before"]["events"])
    [click] = [e for e in ce["after"]["events"] if e["event"] == "email_click"]
    now = dt.datetime.fromisoformat(ce["now"])
    assert now - dt.datetime.fromisoformat(click["at"]) > dt.timedelta(days=60)


def test_counterexamples_are_readable(claims_proved):
    """Round numbers, ASCII text, few events, `now` at a round instant in the policy's zone."""
    _, results = claims_proved
    for result in results.values():
        ce = result.counterexample
        if ce is None:
            continue
        leads = [ce] if "lead" in ce else [ce["before"], ce["after"]]
        now = dt.datetime.fromisoformat(ce["now"])
        assert now.utcoffset() in (dt.timedelta(hours=-5), dt.timedelta(hours=-4)) and now.minute == 0, ce
        for lead in leads:
            assert all(isinstance(v, int) or (isinstance(v, str) and v.isascii()) for v in lead["lead"].values())
            assert len(lead["events"]) <= 6, ce


# ---------------------------------------------------------------- results as JSON, and the concrete claim

RESULTS_SCHEMA = {
    "type": "object", "required": ["policy", "guarantees"], "additionalProperties": False,
    "properties": {
        "policy": {"type": "string"},
        "guarantees": {"type": "array", "items": {
            "type": "object", "required": ["name", "claim", "status", "seconds"], "additionalProperties": False,
            "properties": {
                "name": {"type": "string"}, "claim": {"type": "string"},
                "status": {"enum": ["proved", "violated", "unknown"]}, "seconds": {"type": "number", "minimum": 0},
                "reason": {"type": "string"},
                "counterexample": {"oneOf": [
                    {"$ref": "#/$defs/one"},
                    {"type": "object", "required": ["now", "before", "after"], "additionalProperties": False,
                     "properties": {"now": {"type": "string"}, "before": {"$ref": "#/$defs/lead"},
                                    "after": {"$ref": "#/$defs/lead"}}}]}},
            "allOf": [
                {"if": {"properties": {"status": {"const": "violated"}}},
                 "then": {"required": ["counterexample"]}, "else": {"not": {"required": ["counterexample"]}}},
                {"if": {"properties": {"status": {"const": "unknown"}}},
                 "then": {"required": ["reason"]}, "else": {"not": {"required": ["reason"]}}}]}}},
    "$defs": {
        "events": {"type": "array", "items": {"type": "object", "required": ["event", "at"],
                                              "additionalProperties": False,
                                              "properties": {"event": {"type": "string"}, "at": {"type": "string"}}}},
        "lead": {"type": "object", "required": ["lead", "events"], "additionalProperties": False,
                 "properties": {"lead": {"type": "object"}, "events": {"$ref": "#/$defs/events"}}},
        "one": {"type": "object", "required": ["now", "lead", "events"], "additionalProperties": False,
                "properties": {"now": {"type": "string"}, "lead": {"type": "object"},
                               "events": {"$ref": "#/$defs/events"}}}},
}


def test_results_json_has_the_issues_shape(claims_proved):
    policy, results = claims_proved
    out = results_json(policy, list(results.values()))
    jsonschema.validate(out, RESULTS_SCHEMA)
    assert out["policy"] == "inbound-activity"
    statuses = {g["name"]: g["status"] for g in out["guarantees"]}
    assert statuses["Fit stays under 60"] == "violated" and statuses["Nurture has no queue"] == "proved"


def test_claim_holds_reads_the_claim_off_the_compiled_decisions(claims_proved):
    policy, results = claims_proved
    claims = {g.name: g for g in policy.ir.guarantees}
    ce = results["Fit stays under 60"].counterexample
    broken = Witness(dt.datetime.fromisoformat(ce["now"]), ce["lead"], ())
    kept = Witness(dt.datetime.fromisoformat(ce["now"]), {"email": "a@b.io"}, ())
    assert claim_holds(policy, claims["Fit stays under 60"], [kept]) is True
    assert claim_holds(policy, claims["Fit stays under 60"], [broken]) is (
        policy.evaluate(ce["lead"], now=ce["now"]).scores["fit"] < 60)


def test_a_counterexample_that_keeps_the_claim_is_an_internal_error_and_one_no_reader_accepts_is_excluded():
    policy = policy_from_text(with_block(guarantees_block({"Fit stays under 60": "fit < 60"})))
    [claim] = policy.ir.guarantees
    confirm = Confirmation(policy, claim)
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with pytest.raises(Disagreement, match="keeps the claim"):
        confirm((Witness(now, {"email": "a@b.io"}, ()),))
    assert confirm((Witness(now, {"employees": 300}, ()),)) is False  # email is required: not a lead
    assert confirm((Witness(now, {"email": "a@b.io", "employees": 300, "industry": "software"}, ()),)) is True


def test_a_construct_the_solver_cannot_hold_is_unknown_with_the_reason():
    text = V2.replace('    -10 when days since last email_click > 60             "Gone quiet"\n',
                      '    -10 when days since last email_click > 60             "Gone quiet"\n'
                      "    decay 0.01% every 1 days since last email_click\n")
    assert text != V2
    policy = policy_from_text(with_block(guarantees_block({"Engagement stays in range": "engagement >= 0"}), text))
    [result] = prove(policy, TIMEOUT)
    assert result.status == "unknown" and "factor" in (result.reason or ""), result
    assert result.counterexample is None


# ---------------------------------------------------------------- leadpolicy prove


def write(tmp_path: Path, claims: dict[str, str], text: str = V2) -> Path:
    path = tmp_path / "inbound-activity.policy"
    path.write_text(with_block(guarantees_block(claims), text) if claims else text, "utf-8")
    return path


MIXED = {"Priority stays in range": "priority between 0 and 200",
         "Another email click never lowers engagement": "engagement never decreases with email_click"}


def test_prove_json_exit_1_when_one_is_violated(tmp_path, capsys):
    path = write(tmp_path, MIXED)
    assert main(["prove", str(path), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, RESULTS_SCHEMA)
    assert [g["status"] for g in out["guarantees"]] == ["proved", "violated"]


def test_prove_exit_0_when_every_guarantee_is_proved(tmp_path, capsys):
    path = write(tmp_path, {"Priority stays in range": "priority between 0 and 200"})
    assert main(["prove", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r'^proved\s+[\d.]+ s\s+"Priority stays in range": priority between 0 and 200$', out, re.M)


def test_prove_text_shows_both_decisions_of_a_pair_as_explain_does(tmp_path, capsys):
    path = write(tmp_path, MIXED)
    assert main(["prove", str(path)]) == 1
    out = capsys.readouterr().out
    assert re.search(r'^violated\s+[\d.]+ s\s+"Another email click never lowers engagement"', out, re.M)
    before = out.index("counter-example, before:")
    after = out.index("counter-example, after:")
    assert before < after
    engagement = [int(m) for m in re.findall(r"^\s+scores: fit \d+, engagement (\d+)", out[before:], re.M)]
    assert len(engagement) == 2 and engagement[1] < engagement[0], out
    for part in (out[before:after], out[after:]):  # explain's lines for each lead
        assert re.search(r"^\s+stage: \w+ \(owner \w+\)", part, re.M) and re.search(r"^\s+why:$", part, re.M)
        assert re.search(r"^\s+days since last email_click: ", part, re.M)


def test_prove_unknown_fails_only_with_strict(tmp_path, capsys):
    text = V2.replace("    clamp 0 to 100\n    +5  per email_click", "    clamp 0 to 100\n"
                      "    decay 0.01% every 1 days since last email_click\n    +5  per email_click")
    assert text != V2
    path = write(tmp_path, {"Engagement stays in range": "engagement >= 0"}, text)
    assert main(["prove", str(path), "--format", "json"]) == 0
    [result] = json.loads(capsys.readouterr().out)["guarantees"]
    assert result["status"] == "unknown" and result["reason"]
    assert main(["prove", str(path), "--strict"]) == 1
    assert "why unknown: " in capsys.readouterr().out


def test_prove_a_policy_without_guarantees_says_so(tmp_path, capsys):
    assert main(["prove", str(write(tmp_path, {}))]) == 0
    assert "no guarantees to prove" in capsys.readouterr().out


def test_prove_a_policy_with_errors_is_reported_as_check_reports_it(tmp_path, capsys):
    path = write(tmp_path, {"Bad": "fitt >= 0"})
    assert main(["prove", str(path)]) == 1
    err = capsys.readouterr()
    assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: [a-z-]+: ", err.out + err.err, re.M)


@pytest.mark.parametrize("timeout", ["0", "-1", "soon", "nan", "inf"])
def test_prove_a_bad_timeout_is_bad_usage(tmp_path, capsys, timeout):
    with pytest.raises(SystemExit) as exc:
        main(["prove", str(write(tmp_path, MIXED)), "--timeout", timeout])
    assert exc.value.code == 2
    assert "seconds above 0" in capsys.readouterr().err


# ---------------------------------------------------------------- check


def check_output(tmp_path: Path, capsys: Any, fmt: str, claims: dict[str, str], text: str = V2,
                 *extra: str) -> tuple[int, str, Path]:
    path = write(tmp_path, claims, text)
    (tmp_path / "inbound-activity.samples.yaml").write_text(
        (REFERENCE_COPY / "inbound-activity.samples.yaml").read_text("utf-8"), "utf-8")
    code = main(["check", str(path), "--format", fmt, *extra])
    return code, capsys.readouterr().out, path


def guarantee_line(path: Path, name: str) -> int:
    return next(i for i, line in enumerate(path.read_text("utf-8").splitlines(), 1) if f'"{name}":' in line)


def test_check_reports_a_violated_guarantee_at_its_line_with_the_counterexample(tmp_path, capsys):
    code, out, path = check_output(tmp_path, capsys, "text", MIXED)
    assert code == 1
    line = guarantee_line(path, "Another email click never lowers engagement")
    found = re.search(rf"^{re.escape(str(path))}:{line}:5: guarantee-violated: (.*)$", out, re.M)
    assert found, out
    message = found.group(1)
    assert '"Another email click never lowers engagement"' in message
    assert "now 20" in message and "before: lead {" in message and "after: lead {" in message
    assert re.search(r"engagement (\d+).*\| after: .*engagement (\d+)", message)
    hint = re.search(r"^    hint: see why: (leadpolicy explain .*)$", out, re.M)
    assert hint and hint.group(1).count("leadpolicy explain") == 2
    assert "Priority stays in range" not in out  # proved: nothing said


def test_check_json_and_github_formats_carry_the_guarantee_diagnostics(tmp_path, capsys):
    code, out, path = check_output(tmp_path, capsys, "json", MIXED)
    assert code == 1
    [diag] = [d for d in json.loads(out)["diagnostics"] if d["code"] == "guarantee-violated"]
    assert diag["severity"] == "error" and diag["line"] == guarantee_line(path, "Another email click never lowers "
                                                                                "engagement")
    assert "leadpolicy explain" in diag["hint"]
    code, out, path = check_output(tmp_path, capsys, "github", MIXED)
    assert code == 1
    annotation = re.search(r"^::error file=([^,]+),line=(\d+)[^:]*::(.*)$", out, re.M)
    assert annotation and "guarantee-violated" in annotation.group(0), out
    assert int(annotation.group(2)) == guarantee_line(path, "Another email click never lowers engagement")


def test_check_warns_guarantee_unknown_and_fails_with_strict(tmp_path, capsys):
    text = V2.replace("    clamp 0 to 100\n    +5  per email_click", "    clamp 0 to 100\n"
                      "    decay 0.01% every 1 days since last email_click\n    +5  per email_click")
    code, out, path = check_output(tmp_path, capsys, "json", {"Engagement stays in range": "engagement >= 0"}, text,
                                   "--prove-timeout", "5")
    diags = [d for d in json.loads(out)["diagnostics"] if d["code"] == "guarantee-unknown"]
    assert [(d["severity"], d["line"]) for d in diags] == [("warning", guarantee_line(path, "Engagement stays in "
                                                                                            "range"))]
    assert "factor" in diags[0]["message"] and "cannot reason about" in diags[0]["hint"]
    code, out, _ = check_output(tmp_path, capsys, "text", {"Engagement stays in range": "engagement >= 0"}, text,
                                "--strict")
    assert code == 1 and "guarantee-unknown: warning:" in out


# ---------------------------------------------------------------- the published page


def test_docs_shows_each_guarantees_status_from_the_proofs(tmp_path, capsys):
    path = write(tmp_path, MIXED)
    (tmp_path / "inbound-activity.samples.yaml").write_text(
        (REFERENCE_COPY / "inbound-activity.samples.yaml").read_text("utf-8"), "utf-8")
    assert main(["docs", str(path), "-o", str(tmp_path / "site")]) == 0
    page = (tmp_path / "site" / "docs" / "policies" / "inbound-activity.md").read_text("utf-8")
    rows = {cells[0]: cells[2] for cells in (
        [c.strip() for c in line.strip("|").split(" | ")] for line in page.splitlines() if line.startswith("| "))
        if len(cells) == 3}
    assert rows["Priority stays in range"] == "**proved**"
    violated = rows["Another email click never lowers engagement"]
    assert violated.startswith("**violated**: for example on Nov 20, 2026 at 12:00, a lead with email")
    assert "its engagement goes from" in violated
    assert "not proved yet" not in page


def test_ci_writes_a_violated_guarantee_into_its_sarif_log(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, MIXED)
    (tmp_path / "inbound-activity.samples.yaml").write_text(
        (REFERENCE_COPY / "inbound-activity.samples.yaml").read_text("utf-8"), "utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["ci", path.name, "--skip-fmt", "--skip-approvals", "--skip-versions", "--sarif", "out.sarif"]) == 1
    log = json.loads((tmp_path / "out.sarif").read_text("utf-8"))
    [result] = [r for run in log["runs"] for r in run["results"] if r["ruleId"] == "guarantee-violated"]
    assert result["level"] == "error"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == guarantee_line(path, "Another email click never lowers engagement")


def test_check_a_guarantee_out_of_time_is_unknown_with_the_flag_that_gives_it_longer(tmp_path, capsys):
    code, out, path = check_output(tmp_path, capsys, "json", {"Hard": "priority never decreases with email_click"},
                                   V2, "--prove-timeout", "0.001")
    [diag] = [d for d in json.loads(out)["diagnostics"] if d["code"].startswith("guarantee-")]
    assert (diag["code"], diag["line"]) == ("guarantee-unknown", guarantee_line(path, "Hard"))
    assert "--prove-timeout S" in diag["hint"] and "gave up after" in diag["hint"]


def test_check_without_the_solver_says_each_guarantee_is_unknown_and_never_exits_3(tmp_path):
    """z3 is a dependency; where it is missing, check still checks: each guarantee is unknown with the reason, and
    nothing else the solver adds is said."""
    import subprocess
    import sys

    code = ("import sys\n"
            "sys.modules['z3'] = None\n"
            "from leadpolicy.cli.main import main\n"
            "sys.exit(main(['check', sys.argv[1], '--allow-untested', '--format', 'json']))\n")
    policy = ROOT / "examples" / "inbound-teams.policy"
    out = subprocess.run([sys.executable, "-c", code, str(policy)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr[-2000:]
    report = json.loads(out.stdout)
    unknown = [d for d in report["diagnostics"] if d["code"] == "guarantee-unknown"]
    assert len(unknown) == 6 and all("z3" in d["message"] for d in unknown), report["diagnostics"]
