"""The `assignments:` section of a samples file (issue 28): run by `test`, `check` and the pytest plugin, in order,
each case on a fresh state; the v3 reference's 35 assignments pass as written; a difference is reported with what
was expected, what was got and who was skipped; run-time rows that name nobody are errors of their case, never a
crash; coverage counts each member, cap, calendar and fallback reached."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from leadpolicy.cli.main import main
from leadpolicy.testing.harness import run_samples

from .assignment_states import EXAMPLES
from .conftest import ROOT

SAMPLES = EXAMPLES / "inbound-teams.samples.yaml"
SECOND_CASE = "Out of office, account owners, working hours in two zones, fallback and hold"


@pytest.fixture
def reference(tmp_path):
    """A copy of the v3 reference and its samples (the tests change the copy, never the agreed file)."""
    for name in ("inbound-teams.policy", "inbound-teams.samples.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path / "inbound-teams.samples.yaml"


def rewrite(path, change) -> None:
    data = yaml.safe_load(path.read_text("utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")


def assignment_cases(run):
    return [case for case in run.cases if case.kind == "assignment"]


def test_the_v3_reference_passes_its_35_assignments_as_written():
    run = run_samples(SAMPLES)
    assert run.diagnostics == []
    cases = assignment_cases(run)
    assert [c.status for c in cases] == ["passed"] * 4, [c.failures for c in cases]
    assert sum(len(c.actual) for c in cases) == 34  # 35 leads; C1 twice
    assert cases[3].actual["C1"]["how"] == "already assigned"
    assert cases[1].actual["B8"] == {"stage": "sql", "route": "inbound-sdr", "assignee": None, "how": "held"}


def test_the_reference_reaches_every_member_cap_calendar_and_fallback_of_its_teams():
    run = run_samples(SAMPLES)
    teams = {(i.kind, i.what): i.covered for i in run.coverage if i.kind in ("member", "cap", "calendar", "fallback")}
    assert teams == {
        ("member", "inbound-sdr: Ana Ruiz <ana@example.com>"): True,
        ("member", "inbound-sdr: Ben Okafor <ben@example.com>"): True,
        ("member", "inbound-sdr: Chloe Park <chloe@example.com>"): True,  # Dev, at weight 0, can be assigned nothing
        ("cap", "inbound-sdr: Chloe Park <chloe@example.com> 2 per day"): True,
        ("fallback", "inbound-sdr -> enterprise-ae"): True,
        ("member", "enterprise-ae: Erin Stone <erin@example.com>"): True,
        ("member", "enterprise-ae: Femi Adeyemi <femi@example.com>"): True,
        ("cap", "enterprise-ae: Femi Adeyemi <femi@example.com> 5 per week"): True,
        ("fallback", "enterprise-ae -> hold"): True,
        ("calendar", "ny"): True,
        ("calendar", "sf"): True,
    }


def test_without_assignment_cases_the_teams_are_untested_coverage(reference, capsys):
    rewrite(reference, lambda data: data.pop("assignments"))
    run = run_samples(reference)
    untested = sorted((i.kind, i.what) for i in run.coverage if i.kind in ("member", "fallback") and not i.covered)
    assert ("member", "enterprise-ae: Erin Stone <erin@example.com>") in untested
    assert ("fallback", "inbound-sdr -> enterprise-ae") in untested
    main(["test", str(reference), "--coverage"])
    out = capsys.readouterr().out
    assert "no assignment case assigns member enterprise-ae: Erin Stone <erin@example.com>" in out
    assert "no assignment case takes the fallback inbound-sdr -> enterprise-ae" in out


def test_test_reports_a_wrong_assignee_with_what_it_got_and_who_was_skipped(reference, capsys):
    def chloe_for_w9(data):
        data["assignments"][0]["leads"][8]["expect"]["assignee"] = "Chloe Park <chloe@example.com>"

    rewrite(reference, chloe_for_w9)
    code = main(["test", str(reference), "--format", "json", "--min-coverage", "0"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    failed = [c for c in report["cases"] if c["status"] != "passed"]
    assert [(c["kind"], c["status"]) for c in failed] == [("assignment", "failed")]
    assert failed[0]["failures"] == [
        'W9: assignee: expected "Chloe Park <chloe@example.com>", got "Ben Okafor <ben@example.com>" '
        "(skipped: Chloe Park: cap 2 per day reached; Dev Iyer: weight 0 (paused))"]
    assert failed[0]["actual"]["W9"]["assignee"] == "Ben Okafor <ben@example.com>"


def test_each_case_starts_on_a_fresh_state(reference):
    def same_lead_in_two_cases(data):
        first = data["assignments"][3]
        data["assignments"].append({"name": "Again on a fresh state", "leads": [first["leads"][0]]})

    rewrite(reference, same_lead_in_two_cases)
    cases = assignment_cases(run_samples(reference))
    assert [c.status for c in cases] == ["passed"] * 5  # C1 is a rotation again, not "already assigned"
    assert cases[4].actual["C1"]["how"] == "rotation"


@pytest.mark.parametrize("change, says", [
    (lambda case: case["availability"].append({"member": "Chloe Parker", "from": "2026-12-01", "until": "2026-12-02"}),
     "availability: row 2: member: 'Chloe Parker' is no member of a team (did you mean"),
    (lambda case: case["accounts"].append({"domain": "x.io", "owner": "nobody@example.com"}),
     "accounts: row 3: owner: 'nobody@example.com' is no member of a team"),
    (lambda case: case["availability"].append({"member": "ana@example.com", "from": "tuesday", "until": "2026-12-02"}),
     "availability: row 2: from: "),
    (lambda case: case["leads"][0].update({"at": "not a time"}), "B1: at: "),
    (lambda case: case["leads"][0]["expect"].update({"assigne": "x"}), "B1: expect: 'assigne' is not assignee, how"),
    (lambda case: case["leads"][0].update({"lead": {"email": 5}}), "B1: the lead does not fit the policy's schema"),
    (lambda case: case["leads"][0].update({"events": [{"event": "demo_requested", "at": "2026-12-01T10:00:00"}]}),
     "B1: events: "),
])
def test_what_a_case_cannot_use_is_an_error_of_that_case(reference, capsys, change, says):
    rewrite(reference, lambda data: change(data["assignments"][1]))
    code = main(["test", str(reference), "--format", "json", "--min-coverage", "0"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    errors = [c for c in report["cases"] if c["status"] == "error"]
    assert [c["name"] for c in errors] == [SECOND_CASE]
    assert any(f.startswith(says) for f in errors[0]["failures"]), errors[0]["failures"]


def test_a_samples_file_with_an_assignment_of_another_shape_is_bad_samples(reference, capsys):
    rewrite(reference, lambda data: data["assignments"][0]["leads"][0].pop("id"))
    assert main(["test", str(reference)]) == 1
    assert "bad-samples" in capsys.readouterr().out


def test_check_runs_the_assignment_cases(reference, capsys):
    code = main(["check", str(reference.parent), "--format", "json", "--min-coverage", "0"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 0, out
    assert [(p["cases"], p["passed"]) for p in report["policies"]] == [(22, 22)]


def test_the_pytest_plugin_runs_each_assignment_case_as_an_item(pytester):
    for name in ("inbound-teams.policy", "inbound-teams.samples.yaml"):
        shutil.copy(EXAMPLES / name, pytester.path / name)
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "assignment", "-v")
    result.assert_outcomes(passed=4)
    assert "assignment: A lead is assigned once" in result.stdout.str()


def test_docs_samples_names_every_key_of_an_assignment_case():
    from leadpolicy.testing.harness import samples_schema

    doc = (ROOT / "docs" / "samples.md").read_text("utf-8")
    defs = samples_schema()["$defs"]
    keys = {"assignments", *defs["assignmentCase"]["properties"], *defs["assignedLead"]["properties"],
            *defs["assignedLead"]["properties"]["expect"]["properties"]}
    assert [k for k in sorted(keys) if f"`{k}`" not in doc and f"{k}:" not in doc] == []
    hows = [h for h in defs["assignedLead"]["properties"]["expect"]["properties"]["how"]["enum"] if h]
    assert all(f"`{how}`" in doc for how in hows)


def test_docs_assignment_gives_the_worked_example_the_engine_gives():
    doc = (ROOT / "docs" / "assignment.md").read_text("utf-8")
    assert "Ben, Ana, Chloe, Ben, Ben, Ana, Chloe, Ben, Ben, Ana, Ben." in doc
    cases = assignment_cases(run_samples(SAMPLES))
    first_names = [cases[0].actual[f"W{i}"]["assignee"].split()[0] for i in range(1, 12)]
    assert ", ".join(first_names) + "." in doc


@pytest.mark.parametrize("lead_id", [7.0, "a\u0000b", "x\ny", "   "])
def test_a_lead_id_that_is_no_text_or_whole_number_is_an_error_of_its_case(reference, capsys, lead_id):
    """7.0 (which the samples' schema takes for an integer), a control character or blank text: refused in the
    words assign and the service use (true or a list are bad samples already)."""
    rewrite(reference, lambda data: data["assignments"][1]["leads"][0].update({"id": lead_id}))
    code = main(["test", str(reference), "--format", "json", "--min-coverage", "0"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    errors = [c for c in report["cases"] if c["status"] == "error"]
    assert [c["name"] for c in errors] == [SECOND_CASE]
    assert any(f.startswith("id: a lead id is") for f in errors[0]["failures"]), errors[0]["failures"]


def test_a_lead_id_of_a_whole_number_or_padded_text_reads_as_the_cli_reads_it(reference, capsys):
    def ids(data):
        data["assignments"][1]["leads"][0]["id"] = 7
        data["assignments"][1]["leads"][1]["id"] = "  B2  "
    rewrite(reference, ids)
    run = run_samples(reference)
    case = assignment_cases(run)[1]
    assert case.status == "passed", case.failures
    assert {"7", "B2"} <= set(case.actual)


def test_check_of_a_policy_without_teams_never_loads_the_assignment_state(tmp_path):
    """Only a samples file with `assignments:` needs the state's database library: `check` of the v2 reference and
    its samples passes with SQLAlchemy unimportable, and does not load it when it is there."""
    code = ("import sys\n"
            "blocked = sys.argv[1] == 'blocked'\n"
            "if blocked:\n"
            "    sys.modules['sqlalchemy'] = None\n"
            "from leadpolicy.cli.main import main\n"
            "code = main(['check', sys.argv[2], '--allow-untested'])\n"
            "print(code, 'sqlalchemy' in sys.modules and sys.modules['sqlalchemy'] is not None)\n")
    policy = ROOT / "policies" / "inbound-activity.policy"
    for how in ("blocked", "free"):
        out = subprocess.run([sys.executable, "-c", code, how, str(policy)], capture_output=True, text=True,
                             cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().splitlines()[-1] == "0 False", (how, out.stdout[-2000:])
