"""Governance: approvals bound to content, and version bumps that match the change."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from leadpolicy.cli.main import main
from leadpolicy.governance.approvals import (
    approval_diagnostics,
    approvals_path,
    approve,
    bump_of,
    load_approvals,
    required_bump,
    samples_fingerprint,
    status,
)
from leadpolicy.semantics.loading import load_policy, load_policy_text

from .conftest import REFERENCE_COPY

REFERENCE = (REFERENCE_COPY / "inbound-b2b.policy").read_text()


@pytest.fixture
def workspace(tmp_path):
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml"):
        shutil.copy(REFERENCE_COPY / name, tmp_path / name)
    return tmp_path


def policy_at(path):
    loaded = load_policy(path)
    assert not loaded.has_errors
    return loaded.policy


def test_approval_status_moves_from_draft_to_agreed_and_a_change_voids_it(workspace):
    path = workspace / "inbound-b2b.policy"
    policy = policy_at(path)

    def state(p=None):
        return status(p or policy_at(path), load_approvals(approvals_path(path))[0], samples_fingerprint(path))

    assert state()[0] == "draft"
    approve(path, policy, "sales", "Raj Patel <raj@example.com>", dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc))
    approvals, problems = load_approvals(approvals_path(path))
    assert not problems and state()[:2] == ("partly approved", ["sales"])
    approve(path, policy, "marketing", "dana@example.com")  # an owner named by email
    assert state()[0] == "agreed"
    assert load_approvals(approvals_path(path))[0][-1].by == "Dana Whitfield <dana@example.com>"
    # Reformatting and comments keep the approval ...
    path.write_text("# a new comment\n"
                    + REFERENCE.replace("    +30 when employees >= 200", "    +30 when employees>=200"))
    assert state()[0] == "agreed"
    samples = workspace / "inbound-b2b.samples.yaml"
    agreed = samples.read_text()
    samples.write_text("# reformatted\n" + agreed.replace("expect: {speed_to_lead: met}",
                                                            "expect:\n      speed_to_lead: met"))
    assert state()[0] == "agreed"
    # ... removing or changing an agreed case voids it ...
    cut = agreed.index("  - name: UK director")
    samples.write_text(agreed[:cut] + agreed[agreed.index("  - name: Thresholds are inclusive"):])
    assert state()[0] == "draft"
    samples.write_text(agreed.replace("route: emea-sdr}", "route: na-sdr}", 1))
    assert state()[0] == "draft"
    samples.write_text(agreed)
    assert state()[0] == "agreed"
    # ... and so does any change of meaning.
    path.write_text(REFERENCE.replace("+30 when employees >= 200", "+35 when employees >= 200"))
    assert state()[0] == "draft"


def test_only_a_listed_owner_of_the_team_can_approve(workspace, capsys):
    path = workspace / "inbound-b2b.policy"
    with pytest.raises(ValueError, match="anyone is not an owner of team marketing in inbound-b2b; "
                                         "owners of marketing: Dana Whitfield <dana@example.com>"):
        approve(path, policy_at(path), "marketing", "anyone")
    with pytest.raises(ValueError, match="not an owner of team marketing"):
        approve(path, policy_at(path), "marketing", "Raj Patel")  # an owner, of the other team
    assert main(["approve", str(path), "--team", "marketing", "--by", "anyone"]) == 1
    assert not approvals_path(path).exists()


def test_approve_refuses_a_team_that_does_not_own_the_policy(workspace):
    path = workspace / "inbound-b2b.policy"
    with pytest.raises(ValueError, match="team 'sale' does not own inbound-b2b .did you mean \"sales\"?"):
        approve(path, policy_at(path), "sale", "Raj")


def test_check_require_approvals_says_who_must_approve(workspace, capsys):
    path = str(workspace / "inbound-b2b.policy")
    assert main(["check", str(workspace), "--require-approvals"]) == 1
    out = capsys.readouterr().out
    assert "not-approved: team marketing has not approved this content of inbound-b2b 2.1.0" in out
    assert f'hint: leadpolicy approve {path} --team sales --by "Raj Patel <raj@example.com>"' in out
    assert main(["approve", path, "--team", "sales", "--by", "Raj Patel <raj@example.com>"]) == 0
    assert "status: partly approved (still to approve: marketing)" in capsys.readouterr().out
    assert main(["approve", path, "--team", "marketing", "--by", "Dana Whitfield <dana@example.com>"]) == 0
    capsys.readouterr()
    assert main(["check", str(workspace), "--require-approvals"]) == 0
    assert "agreed" in capsys.readouterr().out


@pytest.mark.parametrize("text,message", [
    ("policy: inbound-b2b\napprovals:\n  - team: sales\n    by: Raj\n",
     "approvals/0: 'version' is a required property"),
    ("policy: inbound-b2b\napprovals:\n  - {team: sales, by: Raj, version: 2.1.0, fingerprint: abc, at: now-ish}\n",
     "approvals/0/fingerprint: 'abc' does not match"),
    ("policy: [\n", "not valid YAML"),
])
def test_a_corrupted_approvals_file_is_an_error_naming_the_file(workspace, text, message):
    path = workspace / "inbound-b2b.policy"
    approvals_path(path).write_text(text)
    state, diags = approval_diagnostics(str(path), policy_at(path), required=False)
    assert diags and {d.code for d in diags} == {"bad-approvals"}
    assert any(message in d.message for d in diags) and diags[0].file.endswith("inbound-b2b.approvals.yaml")
    assert diags[0].span.line >= 1


def test_effective_date_passed_without_agreement_warns(workspace):
    path = workspace / "inbound-b2b.policy"
    path.write_text(REFERENCE.replace('  title "Inbound B2B leads"',
                                      '  title "Inbound B2B leads"\n  effective 2026-01-01'))
    _, diags = approval_diagnostics(str(path), policy_at(path), required=False)
    assert [(d.code, d.severity) for d in diags] == [("effective-unapproved", "warning")]


# ---------------------------------------------------------------- versions


def changed(old_text, new_text):
    return required_bump(load_policy_text(old_text).policy, load_policy_text(new_text).policy)


@pytest.mark.parametrize("edit,level", [
    (lambda t: t.replace("    country             text\n", ""), "major"),
    (lambda t: t.replace("employees           number", "employees           text").replace(
        "+30 when employees >= 200", "+30 when employees is present").replace(
        "+15 when employees between 50 and 199", "+15 when employees is missing").replace(
        '"enterprise-ae"  when employees >= 1000', '"enterprise-ae"  when employees is present'), "major"),
    (lambda t: t.replace("within 4 business hours", "within 2 business hours"), "major"),
    (lambda t: t.replace("target 95%", "target 97%"), "major"),
    (lambda t: t.replace("target 95%", "target 90%"), "minor"),
    (lambda t: t.replace("engagement >= 30", "engagement >= 35"), "minor"),
    (lambda t: t.replace('"Decision maker"', '"Senior title"'), "patch"),
    (lambda t: t.replace('title "Inbound B2B leads"', 'title "Inbound leads"'), "patch"),
    (lambda t: t.replace("    +30 when employees >= 200", "    # comment\n    +30 when employees>=200"), None),
])
def test_required_bump(edit, level):
    assert changed(REFERENCE, edit(REFERENCE))[0] == level


@pytest.mark.parametrize("old,new,bump", [("2.1.0", "2.1.1", "patch"), ("2.1.0", "2.2.0", "minor"),
                                         ("2.1.0", "3.0.0", "major"), ("2.1.0", "2.1.0", None),
                                         ("2.1.0", "2.0.9", None),
                                         # pre-releases, by semver precedence
                                         ("2.2.0-rc.1", "2.2.0", "minor"), ("2.2.0-rc.1", "2.2.0-rc.2", "minor"),
                                         ("2.2.0-rc.2", "2.2.0-rc.1", None), ("2.2.0", "2.2.0-rc.9", None),
                                         ("3.0.0-beta", "3.0.0", "major"), ("2.1.1-rc.1", "2.1.1", "patch"),
                                         ("2.1.0", "2.2.0-rc.1", "minor"), ("2.2.0-rc.1", "2.2.1", "patch"),
                                         ("2.1.0+build.5", "2.1.0+build.6", None)])
def test_bump_of(old, new, bump):
    assert bump_of(old, new) == bump


def test_a_release_candidate_may_be_released_after_a_change_of_meaning(workspace):
    from leadpolicy.governance.approvals import suggest

    old = load_policy_text(REFERENCE.replace("2.1.0", "2.2.0-rc.1")).policy
    new = load_policy_text(REFERENCE.replace("2.1.0", "2.2.0").replace("target 95%", "target 90%")).policy
    level, _ = required_bump(old, new)
    assert level == "minor" and bump_of(old.version, new.version) == "minor"
    assert suggest("2.2.0-rc.1", "minor") == "2.2.0" and suggest("2.2.0-rc.1", "major") == "3.0.0"
    assert suggest("2.1.0", "patch") == "2.1.1"


def test_the_base_branch_comes_from_the_pull_request_then_the_remotes_default(tmp_path, monkeypatch):
    from leadpolicy.governance.approvals import base_branches, default_base

    def run(*args, cwd=tmp_path):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                       capture_output=True)
    origin = tmp_path / "origin"
    origin.mkdir()
    run("init", "-q", "-b", "trunk", cwd=origin)
    (origin / "a.txt").write_text("a")
    run("add", ".", cwd=origin)
    run("commit", "-q", "-m", "first", cwd=origin)
    run("clone", "-q", str(origin), "work")
    work = tmp_path / "work"
    run("checkout", "-q", "-b", "feature", cwd=work)
    (work / "b.txt").write_text("b")
    run("add", ".", cwd=work)
    run("commit", "-q", "-m", "second", cwd=work)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    assert base_branches(work)[0] == "origin/trunk"  # the remote's default branch, neither main nor master
    first = subprocess.run(["git", "rev-parse", "origin/trunk"], cwd=work, capture_output=True, text=True).stdout
    assert default_base(work) == first.strip()
    monkeypatch.setenv("GITHUB_BASE_REF", "release")
    assert base_branches(work)[:2] == ["origin/release", "release"]
    assert default_base(work) == first.strip()  # no such branch here: the next candidate


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_check_against_a_git_ref(workspace, capsys, monkeypatch):
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(workspace, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "v2.1.0")
    monkeypatch.chdir(workspace)
    path = workspace / "inbound-b2b.policy"
    stricter = REFERENCE.replace("fit >= 40 and", "fit >= 45 and")  # the samples still pass
    path.write_text(stricter)
    assert main(["check", ".", "--against", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "version-not-bumped: inbound-b2b changed since HEAD (version 2.1.0 -> 2.1.0)" in out
    assert "hint: set the version to 2.2.0 or higher" in out
    path.write_text(stricter.replace("2.1.0", "2.1.1"))
    assert main(["check", ".", "--against", "HEAD"]) == 1
    assert "needs a minor bump, not a patch one" in capsys.readouterr().out
    path.write_text(stricter.replace("2.1.0", "2.2.0"))
    assert main(["check", ".", "--against"]) == 0  # default: the merge base with main
    capsys.readouterr()
    assert main(["check", ".", "--against", "no-such-ref"]) == 1
    assert "bad-ref: cannot compare with 'no-such-ref'" in capsys.readouterr().out


# ---------------------------------------------------------------- diff and ci


def test_semantic_diff_in_domain_words_with_impact(workspace, capsys):
    new_dir = workspace / "new"
    new_dir.mkdir()
    edited = (REFERENCE.replace("2.1.0", "2.2.0").replace("+15 when job_title", "+20 when job_title")
              .replace("fit >= 40 and engagement >= 30", "fit >= 40 and engagement >= 35")
              .replace("within 4 business hours", "within 2 business hours"))
    (new_dir / "inbound-b2b.policy").write_text(edited)
    shutil.copy(REFERENCE_COPY / "inbound-b2b.samples.yaml", new_dir / "inbound-b2b.samples.yaml")
    assert main(["diff", str(workspace / "inbound-b2b.policy"), str(new_dir / "inbound-b2b.policy")]) == 0
    out = capsys.readouterr().out
    for line in ("fit, Decision maker: +15 → +20",
                 "mql: fit >= 40 and engagement >= 30 → fit >= 40 and engagement >= 35",
                 "speed_to_lead: within 4 business hours on us_business → within 2 business hours on us_business",
                 "impact on 9 leads", "stage changes: 1", "mql → nurture: 1"):
        assert line in out
    assert main(["diff", str(workspace / "inbound-b2b.policy"), str(new_dir / "inbound-b2b.policy"),
                 "--format", "markdown"]) == 0
    assert "| mql | nurture | 1 |" in capsys.readouterr().out
    assert main(["diff", str(workspace / "inbound-b2b.policy"), str(new_dir / "inbound-b2b.policy"),
                 "--format", "json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["impact"]["transitions"] == [{"from": "mql", "to": "nurture", "leads": 1}]


def test_diff_against_a_git_ref_and_bad_refs(workspace, capsys, monkeypatch):
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(workspace, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "v")
    monkeypatch.chdir(workspace)
    (workspace / "inbound-b2b.policy").write_text(REFERENCE.replace("target 95%", "target 90%"))
    assert main(["diff", "HEAD:inbound-b2b.policy", "inbound-b2b.policy"]) == 0
    assert "speed_to_lead: target 95% → target 90%" in capsys.readouterr().out
    assert main(["diff", "nope:inbound-b2b.policy", "inbound-b2b.policy"]) == 1
    assert "nope:inbound-b2b.policy" in capsys.readouterr().err
    assert main(["diff", "HEAD:missing.policy", "inbound-b2b.policy"]) == 1
    assert "does not exist at HEAD" in capsys.readouterr().err


def test_ci_annotations_and_sarif(workspace, capsys, monkeypatch):
    import json

    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(workspace, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "v")
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["ci", ".", "--sarif", "out.sarif"]) == 1
    out = capsys.readouterr().out
    assert ("::error file=inbound-b2b.policy,line=24,col=1,title=not-formatted::the policy is not in canonical form "
            "(from line 24)") in out
    assert "::error file=inbound-b2b.policy,line=4,col=8,title=not-approved::team marketing has not approved" in out
    results = json.loads((workspace / "out.sarif").read_text())["runs"][0]["results"]
    # and the solver's warning: fit's rules add up to 65 at most, so fit_grade "A" (fit >= 75) is never given
    assert {r["ruleId"] for r in results} == {"not-formatted", "not-approved", "never-true"}
    main(["fmt", "."])
    for team, person in (("marketing", "Dana Whitfield"), ("sales", "Raj Patel")):
        main(["approve", "inbound-b2b.policy", "--team", team, "--by", person])
    capsys.readouterr()
    assert main(["ci", "."]) == 0  # formatted, agreed, and no meaning changed since main


def test_diff_impact_on_a_leads_file(workspace, capsys):
    leads = workspace / "leads.csv"
    leads.write_text("email,employees,industry,job_title,demo_requested,email_clicks,pricing_page_views\n"
                     "a@big.io,300,software,VP Sales,no,6,1\n"  # fit 65, engagement 35: mql before and after
                     "b@big.io,300,software,Engineer,no,6,1\n"  # fit 50: mql before, nurture after
                     "c@big.io,lots,software,Engineer,no,6,1\n")  # not a lead: rejected
    new = workspace / "new.policy"
    new.write_text(REFERENCE.replace("fit >= 40 and engagement >= 30", "fit >= 60 and engagement >= 30"))
    assert main(["diff", str(workspace / "inbound-b2b.policy"), str(new), "--leads", str(leads),
                 "--now", "2026-11-20T12:00:00Z", "--format", "json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["changes"] == [{"kind": "stage", "name": "mql", "change": "changed",
                                "old": "fit >= 40 and engagement >= 30", "new": "fit >= 60 and engagement >= 30",
                                "text": "mql: fit >= 40 and engagement >= 30 → fit >= 60 and engagement >= 30"}]
    assert data["impact"]["leads"] == 2 and data["impact"]["rejected"] == 1
    assert data["impact"]["transitions"] == [{"from": "mql", "to": "nurture", "leads": 1}]


def test_diff_json_changes_are_structured_and_exit_code_says_whether_anything_changed(workspace, capsys):
    import json

    new = workspace / "new.policy"
    new.write_text(REFERENCE.replace("2.1.0", "2.2.0").replace('"Decision maker"', '"Senior title"')
                   .replace("    +20 when industry", "    +25 when industry")
                   .replace('    "na-sdr"         otherwise', '    "us-sdr"         otherwise')
                   .replace("  owner sales     \"Raj Patel <raj@example.com>\"\n",
                            "  owner sales     \"Raj Patel <raj@example.com>\"\n  owner support \"S <s@x.io>\"\n"))
    old = str(workspace / "inbound-b2b.policy")
    assert main(["diff", old, str(new), "--format", "json", "--exit-code"]) == 1
    changes = {(c["kind"], c["name"], c["change"]): (c["old"], c["new"])
               for c in json.loads(capsys.readouterr().out)["changes"]}
    assert changes[("version", "", "changed")] == ("2.1.0", "2.2.0")
    assert changes[("rule", "fit, Core industry", "changed")] == ("+20", "+25")
    assert changes[("rule", "fit, Decision maker", "removed")][1] is None
    assert changes[("rule", "fit, Senior title", "added")][0] is None
    assert changes[("route for entry", 'mql, sql "na-sdr"', "removed")] == ("otherwise", None)
    assert changes[("owner", "support", "added")] == (None, "support")
    assert main(["diff", old, old, "--exit-code"]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["diff", old, str(new)]) == 0  # without --exit-code a diff is not a failure


@pytest.mark.parametrize("target", ["outside", "dangling outside", "inside", "dangling inside"])
def test_approve_never_writes_through_a_link_at_the_approvals_file(workspace, tmp_path_factory, target, capsys):
    outside = tmp_path_factory.mktemp("elsewhere") / "approvals.yaml"
    inside = workspace / "kept.yaml"
    aim = outside if "outside" in target else inside
    if "dangling" not in target:
        aim.write_text("policy: inbound-b2b\napprovals: []\n")
    link = workspace / "inbound-b2b.approvals.yaml"
    link.symlink_to(aim)
    before = aim.read_text() if aim.exists() else None
    assert main(["approve", str(workspace / "inbound-b2b.policy"), "--team", "sales",
                 "--by", "Raj Patel <raj@example.com>"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert (aim.read_text() if aim.exists() else None) == before
    assert link.is_symlink()
