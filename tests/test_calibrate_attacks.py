"""User input that gave calibrate (and the commands deciding leads it reaches) an internal error or forged
figures (issue 30, attack A1 1, 2, 3, 7): a band too large, a policy without stages, a --by column named as a
computed column of table `feedback`, and --propose through a dangling link."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .calibration_data import NOW, POLICY, generate, run_on_planted, write_policy
from .files import read_csv, write_csv

NO_STAGES = POLICY[:POLICY.index("  # Sales takes")] + POLICY[POLICY.index("  outcomes {"):]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("attack"), leads=600)


@pytest.mark.parametrize(("band", "report"), [("1E+999999999", "text"), ("1E+5000", "json"),
                                              ("1e-999999", "json")])
def test_a_band_too_large_or_too_fine_is_bad_usage(planted, capsys, tmp_path, band, report):
    """A band past the policy numbers' limit overflowed (exit 3); one finer than their 9 decimals was written
    as 0.0: both are refused as policy numbers are (exit 2, naming --band)."""
    with pytest.raises(SystemExit) as usage:
        run_on_planted(capsys, planted, write_policy(tmp_path, POLICY), "--band", band, "--format", report)
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert usage.value.code == 2
    assert "--band" in err and "out of range" in err


def test_a_band_at_the_limit_is_taken(planted, capsys, tmp_path):
    code, out, err = run_on_planted(capsys, planted, write_policy(tmp_path, POLICY), "--band", "0.5", "--format",
                                    "json")
    assert code == 0, err
    assert {threshold["band"] for threshold in json.loads(out)["thresholds"]} == {0.5}


def test_calibrating_a_policy_without_stages_is_not_an_internal_error(planted, capsys, tmp_path):
    """A policy with scores and outcomes but no stages block loads; calibrate failed in the batch's COPY of the
    decided leads (sqlglot KeyError 'ifs' in warehouse/batch.copy_sql): exit 3."""
    policy = write_policy(tmp_path, NO_STAGES)
    code, out, err = run_on_planted(capsys, planted, policy, "--propose", str(tmp_path / "out.policy"),
                                "--format", "json")
    assert "internal error" not in err
    assert code == 0, err
    assert json.loads(out)["leads"] == 600


def test_checking_a_policy_without_stages_is_not_an_internal_error(capsys, tmp_path):
    """The same policy: check failed in the proofs (TypeError in api._decided, from proofs/exhaustive): exit 3."""
    code = main(["check", "--allow-untested", str(write_policy(tmp_path, NO_STAGES))])
    assert "internal error" not in capsys.readouterr().err
    assert code == 0


def test_a_dangling_symlink_as_the_proposal_names_the_folder_that_is_missing(planted, capsys, tmp_path):
    """--propose LINK, LINK -> missing/x.policy: refused (exit 2) naming the missing folder TMP/missing, where it
    named TMP (the link's folder, which exists)."""
    link = tmp_path / "link.policy"
    os.symlink(tmp_path / "missing" / "x.policy", link)
    code, _, err = run_on_planted(capsys, planted, write_policy(tmp_path, POLICY), "--propose", str(link))
    assert code == 2
    assert f"({tmp_path}) does not exist" not in err
    assert str(tmp_path / "missing") in err


def _leads_with_column(planted, folder: Path, header: str, value: str) -> Path:
    rows = read_csv(planted.leads)
    leads = folder / "leads.csv"
    write_csv(leads, [*rows[0], header], [[*row.values(), value] for row in rows])
    return leads


def _won(command: str, out: str) -> int:
    report = json.loads(out)
    return int(report["won"] if command == "calibrate" else report["overall"]["won"])


@pytest.mark.parametrize("command", ["calibrate", "feedback"])
@pytest.mark.parametrize("header", ["#outcome", "#id", "#handed"])
def test_by_a_lead_column_named_as_a_computed_column_never_forges_the_outcomes(planted, capsys, tmp_path,
                                                                                command, header):
    """A leads file with a column `#outcome` (every value 'won') and `--by '#outcome'`: the group column replaced
    the measured outcome in table `feedback` (600 of 600 won, where the events say fewer); `#id` reported no lead
    won, `#handed` was an internal error. The group is its own column: the figures are the honest ones, grouped
    by the leads' value."""
    _, honest, _ = run_on_planted(capsys, planted, write_policy(tmp_path, POLICY), "--format", "json", command=command)
    with_column = dataclasses.replace(planted, leads=_leads_with_column(planted, tmp_path, header, "won"))
    code, out, err = run_on_planted(capsys, with_column, tmp_path / "p.policy", "--by", header, "--format", "json",
                                    command=command)
    assert "internal error" not in err
    assert code == 0, err
    assert _won(command, out) == _won(command, honest) < 600
    groups = json.loads(out)["groups"]
    assert [(group["by"], group["value"], group["leads"]) for group in groups] == [(header, "won", 600)]


@pytest.mark.parametrize("header", ["#handed", "#rule:fit:0"])
def test_by_a_lead_column_named_as_a_calibration_column_is_not_an_internal_error(planted, capsys, tmp_path, header):
    """`--by '#handed'` or `--by '#rule:fit:0'` on a leads file with such a column (text): DuckDB could not cast
    it (ConversionException) or sum it (BinderException): exit 3."""
    with_column = dataclasses.replace(planted, leads=_leads_with_column(planted, tmp_path, header, "won"))
    code, _, err = run_on_planted(capsys, with_column, write_policy(tmp_path, POLICY), "--by", header)
    assert "internal error" not in err
    assert code == 0


NO_STAGES_SMALL = ('policy "n" version 1.0.0 {\n  title "N"\n  owner marketing "M"\n  owner sales "S"\n'
                   "  lead {\n    email text required\n    employees number\n  }\n"
                   '  events {\n    closed_won\n    closed_lost\n  }\n  score fit "Fit" {\n'
                   '    +10 when employees >= 200 "Big"\n  }\n'
                   "  outcomes {\n    won when closed_won\n    lost when closed_lost\n  }\n}\n")


@pytest.fixture
def stageless(tmp_path):
    (tmp_path / "n.policy").write_text(NO_STAGES_SMALL, "utf-8")
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees"], [["1", "a@big.io", "1500"], ["2", "b@s.fr", "20"]])
    return tmp_path


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_scoring_a_policy_without_stages_decides_no_stage_on_either_engine(stageless, capsys, engine):
    """The compiled Python gave a stage index None that api._decided looked up (TypeError); the SQL built a CASE
    of no branch for the owner (KeyError 'ifs'). Both now decide every lead with no stage, owner or route."""
    out = stageless / f"{engine}.jsonl"
    code = main(["score", str(stageless / "n.policy"), str(stageless / "leads.csv"), "--now", NOW.isoformat(),
                 "--engine", engine, "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [(row["fit"], row["stage"], row["owner"], row["route"]) for row in rows] == [(10, None, None, None),
                                                                                     (0, None, None, None)]


def test_explaining_and_testing_a_policy_without_stages_say_no_stage(stageless, capsys):
    policy = str(stageless / "n.policy")
    code = main(["explain", policy, "--lead", '{"email": "a@big.io", "employees": 900}', "--now", NOW.isoformat(),
                 "--format", "json"])
    decided = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (decided["scores"]["fit"], decided["stage"], decided["owner"]) == (10, None, None)
    (stageless / "n.samples.yaml").write_text(
        "policy: n.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n"
        "  - name: big\n    lead: {email: a@big.io, employees: 900}\n    expect: {fit: 10}\n"
        "  - name: a stage it cannot have\n    lead: {email: a@big.io}\n    expect: {stage: sql}\n", "utf-8")
    code = main(["test", policy])
    out = capsys.readouterr().out
    assert code == 1
    assert 'stage: expected "sql", got null' in out and "1 passed, 1 failed" in out


def test_serving_a_policy_without_stages_decides_no_stage(tmp_path):
    from .test_serve import Server

    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "n.policy").write_text(NO_STAGES_SMALL, "utf-8")
    (tmp_path / "token.txt").write_text("s3cret-token\n")
    server = Server(folder, "--token-file", str(tmp_path / "token.txt"))
    try:
        status, out = server.decide("n", {"lead": {"email": "a@big.io", "employees": 900}, "now": NOW.isoformat()})
        metrics = server.call("GET", "/metrics")
    finally:
        server.stop()
    assert status == 200, out
    assert (out["scores"]["fit"], out["stage"], out["owner"], out["route"]) == (10, None, None, None)
    assert metrics[0] == 200


@pytest.mark.parametrize("command", ["calibrate", "feedback"])
def test_by_a_scores_name_is_not_an_internal_error(planted, capsys, tmp_path, command):
    """`--by fit` (the policy's score, no column of the leads file): the group column and the score shared the
    name in table `feedback` (exit 3). Now the group column has its own name: a field no column holds is bad
    usage, as for any other name."""
    code, _, err = run_on_planted(capsys, planted, write_policy(tmp_path, POLICY), "--by", "fit", command=command)
    assert "internal error" not in err
    assert code == 2
    assert "no column 'fit' to group by" in err
