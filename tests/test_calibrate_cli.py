"""`leadpolicy calibrate`: the report (JSON as the design gives it, Markdown read back as tables, text), the
command's usage errors, rejects and outputs, and the planted data's evidence end to end."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from leadpolicy import api
from leadpolicy.cli.main import main
from leadpolicy.measure.calibration import Calibration, Proposal, RuleColumn, RuleEvidence, ThresholdEvidence
from leadpolicy.measure.calibration_render import calibration_json, render_calibration

from .calibration_data import generate
from .conftest import POLICIES
from .files import read_csv, write_csv
from .markdown_read import named_rows, read_markdown, text_of

ACTIVITY = POLICIES / "inbound-activity.policy"
HOSTILE = 'Free | `email` <script>alert(1)</script> *domain* [x](javascript:y) <!-- c -->'

RULE_KEYS = {"score", "rule", "reason", "line", "kind", "points", "fired", "won_fired", "not_fired", "won_not",
             "won_rate_fired", "won_rate_not", "lift", "ci", "coefficient", "coefficient_ci", "p_value", "verdict",
             "why"}
THRESHOLD_KEYS = {"place", "kind", "score", "op", "value", "line", "handoff", "band", "leads_past", "won_rate_past",
                  "leads_above", "won_rate_above", "leads_below", "won_rate_below", "ci_past", "ci_above", "ci_below",
                  "same_count", "condition", "refit"}
TOP_KEYS = {"policy", "version", "fingerprint", "as_of", "now", "leads", "won", "rows", "rules", "thresholds",
            "groups", "groups_left_out", "proposal", "verdict"}


def _column(score: str, index: int, kind: str, points: str, label: str, reason: str | None, line: int) -> RuleColumn:
    return RuleColumn(score, index, f"#rule:{score}:{index}", kind,  # type: ignore[arg-type]
                      Decimal(points), Decimal(20) if kind == "per" else None, label, reason, line)


def _evidence(column: RuleColumn, verdict: str, **numbers) -> RuleEvidence:
    figures = {"fired": 120, "won_fired": 36, "not_fired": 880, "won_not": 88, "won_rate_fired": 0.3,
               "won_rate_not": 0.1, "lift": 3.0, "ci": (2.123456, 4.2), "coefficient": 1.234567,
               "coefficient_ci": (0.912345, 1.5), "p_value": 1.234567e-9} | numbers
    return RuleEvidence(column, verdict=verdict, why=f"the interval says {verdict} | `why`", **figures)  # type: ignore


BACKTEST = {"as_of": "2026-09-01T00:00:00-04:00", "now": "2026-11-30T00:00:00-05:00", "leads": 1000,
            "rows": {"leads_read": 1000, "old_rejected": 0, "new_rejected": 0}, "not_in_both": 0,
            "old": {"policy": "inbound-activity", "version": "3.0.0", "fingerprint": "a", "leads": 1000,
                    "handed_off": 300, "won": 124, "won_captured": 75, "won_missed": 49, "precision": 0.25,
                    "recall": 0.6048},
            "new": {"policy": "inbound-activity", "version": "3.1.0", "fingerprint": "b", "leads": 1000,
                    "handed_off": 290, "won": 124, "won_captured": 80, "won_missed": 44, "precision": 0.2759,
                    "recall": 0.6452},
            "moves": {"added": {"leads": 10, "won": 6, "won_rate": 0.6}, "dropped": {"leads": 20, "won": 1,
                                                                                  "won_rate": 0.05},
                      "kept": {"leads": 280, "won": 74, "won_rate": 0.2643}},
            "changes": [{"from": "sql", "to": "nurture", "leads": 20, "won": 1, "lost": 3, "open": 16,
                         "won_rate": 0.05}],
            "verdict": "3.1.0 hands 3% fewer leads to Sales (300 → 290)."}


def _calibration(changes: bool = True) -> Calibration:
    policy = api.load(ACTIVITY)
    size = _column("fit", 0, "points", "40", "Mid-market or larger", "Mid-market or larger", 31)
    hostile = _column("fit", 2, "points", "-50", HOSTILE, HOSTILE, 33)
    pages = _column("engagement", 1, "per", "2.5", "pricing_page_view in last 30 days", None, 41)
    rules = [_evidence(size, "supported"),
             _evidence(hostile, "contradicted", lift=1.5, ci=(1.1, 2.0), coefficient=0.5, coefficient_ci=(0.2, 0.8)),
             _evidence(pages, "no evidence", fired=12, won_fired=0, won_rate_fired=0.0, lift=None, ci=None,
                       coefficient=None, coefficient_ci=None, p_value=None)]
    threshold = ThresholdEvidence("stage sql", "stage", "fit", ">=", Decimal(40), 60, True, Decimal(10), 300, 0.25,
                                  90, 0.2, 80, 0.1, {"value": Decimal(45), "leads": 290, "won_rate": 0.277777})
    proposal = Proposal(Path("proposed.policy"), "3.1.0", "", [
        {"what": "points", "where": f'score fit, rule "{HOSTILE}"', "from": Decimal(-50), "to": Decimal(0),
         "why": "contradicted: won more often where it fired (lift 1.50)", "line": 33},
        {"what": "threshold", "where": "stage sql", "from": Decimal(40), "to": Decimal("42.5"),
         "why": "as many handoffs as now", "line": 60}],
        BACKTEST if changes else None, [f'score fit: rule "{HOSTILE}" gives 0 points, was -50'],
        ["handoffs could not be kept at 300: 290 | <i>note</i>"])
    if not changes:
        proposal = Proposal(Path("proposed.policy"), "3.0.0", "", [], None)
    group = {"by": "source", "value": "<b>webinar</b>", "leads": 5000, "won": 60, "rules": rules[:1]}
    return Calibration(policy, "2026-09-01T00:00:00-04:00", "2026-11-30T00:00:00-05:00", 1000, 124,
                       {"leads_read": 1002, "leads_decided": 1000, "leads_rejected": 2, "events_read": 5000,
                        "events_used": 4990, "events_rejected": 10},
                       rules, [threshold], [group], proposal,
                       f'Of 3 rules, 1 is supported, 1 is contradicted (fit "{HOSTILE}") and 1 has no evidence.')


# ---------------------------------------------------------------- the report, from a calibration made by hand

def test_the_json_has_the_designs_shape_and_numbers():
    cal = _calibration()
    report = json.loads(render_calibration(cal, "json"))
    assert report == calibration_json(cal)
    assert set(report) == TOP_KEYS
    assert (report["policy"], report["version"], report["leads"], report["won"]) == (
        "inbound-activity", "3.0.0", 1000, 124)
    assert report["fingerprint"] == cal.policy.fingerprint
    assert all(set(rule) == RULE_KEYS for rule in report["rules"] + report["groups"][0]["rules"])
    size, hostile, pages = report["rules"]
    # points as JSON numbers: whole ones as ints; lift, intervals and coefficients to 4 places
    assert (size["points"], hostile["points"], pages["points"]) == (40, -50, 2.5)
    assert isinstance(size["points"], int) and isinstance(pages["points"], float)
    assert size["ci"] == [2.1235, 4.2] and size["coefficient"] == 1.2346 and size["coefficient_ci"] == [0.9123, 1.5]
    assert size["p_value"] == pytest.approx(1.235e-9, rel=1e-12)
    assert (hostile["rule"], hostile["reason"], hostile["verdict"]) == (HOSTILE, HOSTILE, "contradicted")
    assert (pages["kind"], pages["reason"], pages["lift"], pages["ci"], pages["coefficient"]) == (
        "per", None, None, None, None)
    (threshold,) = report["thresholds"]
    assert set(threshold) == THRESHOLD_KEYS
    assert (threshold["value"], threshold["band"], threshold["handoff"]) == (40, 10, True)
    assert threshold["same_count"] == {"value": 45, "leads": 290, "won_rate": 0.2778}
    assert report["groups"][0] | {"rules": None} == {"by": "source", "value": "<b>webinar</b>", "leads": 5000,
                                                     "won": 60, "rules": None}
    proposal = report["proposal"]
    assert set(proposal) == {"file", "version", "changes", "backtest", "diff", "samples", "written", "notes"}
    assert (proposal["file"], proposal["version"]) == ("proposed.policy", "3.1.0")
    assert [(c["what"], c["from"], c["to"], c["line"]) for c in proposal["changes"]] == [
        ("points", -50, 0, 33), ("threshold", 40, 42.5, 60)]
    assert proposal["backtest"] == BACKTEST
    assert report["verdict"] == cal.verdict


def test_the_markdown_reads_back_as_tables_with_every_policy_text_in_its_cell():
    page = render_calibration(_calibration(), "markdown")
    read = read_markdown(page)
    assert not read.tags & {"script", "a", "b", "i", "code", "em"}, read.tags  # no markup from a policy's text
    rules_table, threshold_table, group_table, changes_table, *backtest = read.tables
    rules = named_rows(rules_table)
    assert [r["rule"] for r in rules] == ["Mid-market or larger", HOSTILE, "pricing_page_view in last 30 days"]
    assert [r["verdict"] for r in rules] == ["supported", "contradicted", "no evidence"]
    assert rules[0] | {"why": ""} == {
        "score": "fit", "rule": "Mid-market or larger", "line": "31", "points": "+40", "fired": "120 of 1,000",
        "won rate fired": "30.0%", "won rate not": "10.0%", "lift (95% interval)": "3.00 [2.12, 4.20]",
        "coefficient (log-odds, 95% interval)": "+1.23 [0.91, 1.50]",
        "re-fitted points (× scale, 95% interval)": "40.0 [29.6, 48.6]", "verdict": "supported", "why": ""}
    assert rules[0]["why"] == "the interval says supported | `why`"
    assert (rules[2]["points"], rules[2]["lift (95% interval)"]) == ("+2.5 per unit", "-")
    (threshold,) = named_rows(threshold_table)
    assert (threshold["threshold"], threshold["handoff"], threshold["leads past it"]) == ("fit >= 40", "yes",
                                                                                         "300 at 25.0%")
    assert threshold["just above"] == "90 at 20.0% in [40, 50)"
    assert threshold["for as many leads on the re-fitted points"] == "fit >= 45: 290 at 27.8%"
    assert [r["rule"] for r in named_rows(group_table)] == ["Mid-market or larger"]
    changes = named_rows(changes_table)
    assert [(c["where"], c["from"], c["to"]) for c in changes] == [(f'score fit, rule "{HOSTILE}"', "-50", "0"),
                                                                   ("stage sql", "40", "42.5")]
    assert read.items == [f'score fit: rule "{HOSTILE}" gives 0 points, was -50']
    assert "Note: handoffs could not be kept at 300: 290 | <i>note</i>" in text_of(page)
    versions = named_rows(backtest[0])
    assert [(v[""], v["handed off"], v["precision"]) for v in versions] == [("3.0.0", "300", "25.0%"),
                                                                           ("3.1.0", "290", "27.6%")]
    text = text_of(page)
    assert f'Of 3 rules, 1 is supported, 1 is contradicted (fit "{HOSTILE}") and 1 has no evidence.' in text
    assert "Rules where source is <b>webinar</b>: 5,000 leads, won 60" in text
    assert "3.1.0 hands 3% fewer leads to Sales (300 → 290)." in text


def test_the_text_report_says_the_same_figures():
    text = render_calibration(_calibration(), "text")
    lines = text.splitlines()
    assert lines[0] == ("Calibration of inbound-activity 3.0.0: decided as of 2026-09-01T00:00:00-04:00, outcomes up "
                        "to 2026-11-30T00:00:00-05:00")
    assert lines[2].startswith("Of 3 rules, 1 is supported")
    assert "1,000 leads decided, won 124 (12.4%)" in text
    size = next(line for line in lines if line.startswith("fit") and "Mid-market or larger" in line).split()
    assert ["+40", "120", "of", "1,000", "30.0%", "10.0%", "3.00", "[2.12,", "4.20]", "+1.23"] == size[5:15]
    assert "supported" in size
    assert any(line.split()[:4] == ["stage", "sql", "sql", "when"] and "yes" in line.split() for line in lines)
    assert any(line.split()[:3] == ["3.1.0", "1,000", "290"] for line in lines)


def test_a_proposal_without_changes_says_so_and_has_no_backtest():
    cal = _calibration(changes=False)
    report = calibration_json(cal)
    assert report["proposal"] == {"file": "proposed.policy", "version": "3.0.0", "changes": [], "backtest": None,
                                  "diff": [], "samples": [], "written": False, "notes": []}
    assert "asks for no change" in render_calibration(cal, "markdown")


# ---------------------------------------------------------------- the command's usage errors

SMALL_LEADS = [("1", "a@bigsoft.io", 1500, "software", "webinar"), ("2", "b@shop.fr", 20, "retail", "paid_search")]
SMALL_EVENTS = [("1", "closed_won", "2026-11-20T10:00:00-05:00", ""), ("2", "closed_lost", "2026-11-10T10:00:00-05:00",
                                                                       "")]


@pytest.fixture
def small(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry", "source"], SMALL_LEADS)
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], SMALL_EVENTS)
    return ["--leads", "leads.csv", "--events", "events.csv", "--as-of", "2026-11-01", "--now",
            "2026-11-30T12:00:00-05:00"]


def _run(capsys, *argv) -> tuple[int, str]:
    code = main(["calibrate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(("extra", "says"), [
    (["--propose", str(ACTIVITY)], "would be the same file as the policy"),
    (["--propose", "leads.csv"], "would be the same file as the leads file"),
    (["--propose", "events.csv"], "would be the same file as the events file"),
    (["--propose", "/dev/null"], "is a special file"),
    (["--propose", "same.txt", "-o", "same.txt"], "would be the same file"),
    (["--propose", "nowhere/p.policy"], "does not exist"),
    (["-o", str(ACTIVITY)], "would be the same file as the policy"),
], ids=["policy", "leads", "events", "device", "the report", "missing folder", "-o the policy"])
def test_outputs_that_would_replace_an_input_or_are_no_file_are_refused(small, capsys, extra, says):
    before = ACTIVITY.read_bytes()
    code, said = _run(capsys, ACTIVITY, *small, *extra)
    assert (code, says in said) == (2, True), said
    assert ACTIVITY.read_bytes() == before


def test_a_fifo_as_the_proposal_is_refused(small, capsys, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    code, said = _run(capsys, ACTIVITY, *small, "--propose", "pipe")
    assert code == 2 and "is a special file" in said


def test_missing_inputs_are_bad_usage(small, capsys):
    code, said = _run(capsys, ACTIVITY, *small[:1], "gone.csv", *small[2:])
    assert code == 2 and "gone.csv: no such file" in said
    code, said = _run(capsys, ACTIVITY, *small, "--rejects-folder", "nowhere")
    assert code == 2 and "nowhere: no such folder" in said


@pytest.mark.parametrize(("flag", "value"), [("--handoffs", "more"), ("--handoffs", "0"), ("--handoffs", "-3"),
                                             ("--handoffs", "1.5"), ("--band", "0"), ("--band", "-1"),
                                             ("--band", "nan"), ("--band", "inf"), ("--band", "wide")])
def test_bad_handoffs_and_band_are_bad_usage(small, capsys, flag, value):
    with pytest.raises(SystemExit) as usage:
        main(["calibrate", str(ACTIVITY), *small, flag, value])
    assert usage.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err


def test_a_policy_with_errors_is_a_problem_not_usage(small, capsys, tmp_path):
    (tmp_path / "broken.policy").write_text(ACTIVITY.read_text().replace("score fit", "score fit fit", 1))
    code, said = _run(capsys, "broken.policy", *small)
    assert code == 1 and "broken.policy:" in said


def test_as_of_after_now_and_a_policy_without_outcomes_are_bad_usage(small, capsys):
    code, said = _run(capsys, ACTIVITY, *small[:5], "2026-12-31", "--now", "2026-11-30T12:00:00-05:00")
    assert code == 2 and "is after --now" in said
    code, said = _run(capsys, POLICIES / "inbound-b2b.policy", *small)
    assert code == 2 and "no outcomes block" in said


# ---------------------------------------------------------------- end to end on planted data

PLANTED_VERDICTS = {"Mid-market or larger": "supported", "Core industry": "contradicted",
                    "Decision maker": "supported", "Asked for a demo": "no evidence",
                    "Free email domain": "supported", "Email clicks": "supported"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The same 4,000 planted leads as CSV and as Parquet (the events as CSV), and the JSON of a run on each."""
    folder = tmp_path_factory.mktemp("planted")
    csv_data = generate(folder / "csv", leads=4000)
    parquet_data = generate(folder / "parquet", leads=4000, kind="parquet")
    (folder / "rejects").mkdir()
    return csv_data, parquet_data, folder


def _json_of(capsys, policy, *argv) -> dict:
    code, _ = _run(capsys, policy, *argv, "--format", "json", "-o", "report.json")
    assert code == 0
    return json.loads(Path("report.json").read_text("utf-8"))


def test_the_planted_evidence_end_to_end_as_json(planted, capsys, monkeypatch):
    csv_data, _, folder = planted
    monkeypatch.chdir(folder)
    report = _json_of(capsys, csv_data.policy, *csv_data.args(), "--by", "source", "--rejects-folder", "rejects")
    assert set(report) == TOP_KEYS and report["proposal"] is None
    assert (report["policy"], report["version"], report["leads"]) == ("planted-calibration", "1.2.0", 4000)
    rows = report["rows"]
    assert rows["leads_read"] == rows["leads_decided"] + rows["leads_rejected"] == 4000
    assert rows["events_read"] == rows["events_used"] + rows["events_rejected"] == csv_data.events_count
    assert {r["rule"]: r["verdict"] for r in report["rules"]} == PLANTED_VERDICTS
    for rule in report["rules"]:
        assert set(rule) == RULE_KEYS
        assert rule["fired"] + rule["not_fired"] == 4000
        assert rule["won_rate_fired"] == round(rule["won_fired"] / rule["fired"], 4)
        assert rule["coefficient_ci"][0] < rule["coefficient"] < rule["coefficient_ci"][1]
    assert {t["place"] for t in report["thresholds"]} == {"stage sql", 'grade fit_grade "A"', 'grade fit_grade "B"'}
    assert all(set(t) == THRESHOLD_KEYS for t in report["thresholds"])
    sql = next(t for t in report["thresholds"] if t["place"] == "stage sql")
    assert (sql["value"], sql["op"], sql["handoff"]) == (50, ">=", True)
    assert sorted(g["value"] for g in report["groups"]) == ["organic", "paid_search", "webinar"]
    assert sum(g["leads"] for g in report["groups"]) == 4000
    assert report["verdict"].startswith("Of 6 rules, 4 are supported, 1 is contradicted (fit \"Core industry\")")


def test_parquet_leads_and_the_python_engine_give_the_same_report(planted, capsys, monkeypatch):
    csv_data, parquet_data, folder = planted
    monkeypatch.chdir(folder)
    by_csv = _json_of(capsys, csv_data.policy, *csv_data.args(), "--rejects-folder", "rejects",
                      "--propose", "by-duckdb.policy")
    by_python = _json_of(capsys, parquet_data.policy, *parquet_data.args(), "--engine", "python",
                         "--rejects-folder", "rejects", "--propose", "by-python.policy")
    assert by_csv["proposal"]["changes"] and by_python["proposal"].pop("file") == "by-python.policy"
    assert by_csv["proposal"].pop("file") == "by-duckdb.policy"
    assert by_python == by_csv
    assert Path("by-python.policy").read_text("utf-8") == Path("by-duckdb.policy").read_text("utf-8")


def test_the_markdown_of_a_run_has_the_jsons_figures_in_its_cells(planted, capsys, monkeypatch):
    csv_data, _, folder = planted
    monkeypatch.chdir(folder)
    report = _json_of(capsys, csv_data.policy, *csv_data.args(), "--rejects-folder", "rejects")
    code, page = _run(capsys, csv_data.policy, *csv_data.args(), "--rejects-folder", "rejects",
                      "--format", "markdown")
    assert code == 0
    rules = named_rows(read_markdown(page).tables[0])
    assert [(r["rule"], r["verdict"], r["fired"]) for r in rules] == [
        (r["rule"], r["verdict"], f"{r['fired']:,} of 4,000") for r in report["rules"]]
    assert [r["won rate fired"] for r in rules] == [f"{r['won_rate_fired'] * 100:.1f}%" for r in report["rules"]]
    assert report["verdict"] in text_of(page)


def test_rejected_rows_are_written_and_counted_and_max_rejects_exits_1(planted, capsys, monkeypatch, tmp_path):
    csv_data, _, _ = planted
    monkeypatch.chdir(tmp_path)
    leads = csv_data.leads.read_text("utf-8") + "L9001,x@corp.example,lots,software,Analyst,webinar,no\n"
    events = csv_data.events.read_text("utf-8") + "L1,won_deal,yesterday\nL2,lost_deall,2026-11-01T00:00:00Z\n"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "leads.csv").write_text(leads, "utf-8")
    (tmp_path / "data" / "events.csv").write_text(events, "utf-8")
    (tmp_path / "out").mkdir()
    argv = ["--leads", "data/leads.csv", "--events", "data/events.csv", "--as-of", csv_data.as_of.isoformat(),
            "--now", csv_data.now.isoformat(), "--rejects-folder", "out", "--format", "json", "-o", "out/r.json"]
    code, said = _run(capsys, csv_data.policy, *argv)
    assert code == 0, said
    rows = json.loads((tmp_path / "out" / "r.json").read_text("utf-8"))["rows"]
    assert (rows["leads_read"], rows["leads_decided"], rows["leads_rejected"]) == (4001, 4000, 1)
    assert (rows["events_read"], rows["events_rejected"]) == (csv_data.events_count + 2, 2)
    assert [(r["row"], r["field"], r["value"]) for r in read_csv(tmp_path / "out" / "leads.rejects.csv")] == [
        ("4001", "employees", "lots")]
    assert len(read_csv(tmp_path / "out" / "events.rejects.csv")) == 2
    (tmp_path / "out" / "r.json").unlink()
    code, said = _run(capsys, csv_data.policy, *argv, "--max-rejects", "1")
    assert code == 1 and "rejected" in said
    assert json.loads((tmp_path / "out" / "r.json").read_text("utf-8"))["rows"]["events_rejected"] == 2


# ---------------------------------------------------------------- the proposal, end to end

def test_the_proposal_is_written_fmt_clean_with_its_comments_and_backtested(planted, capsys, monkeypatch, tmp_path):
    csv_data, _, folder = planted
    monkeypatch.chdir(tmp_path)
    proposed = tmp_path / "proposed.policy"
    report = _json_of(capsys, csv_data.policy, *csv_data.args(), "--rejects-folder", str(folder / "rejects"),
                      "--propose", proposed)
    proposal = report["proposal"]
    assert set(proposal) == {"file", "version", "changes", "backtest", "diff", "samples", "written", "notes"}
    assert (proposal["file"], proposal["version"]) == (str(proposed), "1.3.0")
    text = proposed.read_text("utf-8")
    assert "# Sales takes a lead from 50 points of fit." in text  # the policy's own comment is kept
    assert api.load(proposed).version == "1.3.0"
    assert main(["fmt", "--check", str(proposed)]) == 0
    core = [c for c in proposal["changes"] if c["what"] == "points" and "Core industry" in c["where"]]
    assert [(c["from"], c["to"] <= 0) for c in core] == [(20, True)]  # contradicted: zeroed or flipped
    assert all(c["what"] in ("points", "threshold") and c["why"] for c in proposal["changes"])
    backtest = proposal["backtest"]
    assert (backtest["old"]["version"], backtest["new"]["version"]) == ("1.2.0", "1.3.0")
    assert backtest["new"]["handed_off"] <= backtest["old"]["handed_off"]  # --handoffs same, the default
    assert backtest["new"]["precision"] > backtest["old"]["precision"]
    assert any("Core industry" in line for line in proposal["diff"])
    assert "the proposed 1.3.0" in report["verdict"]
    capsys.readouterr()
    proposed.unlink()
    code, page = _run(capsys, csv_data.policy, *csv_data.args(), "--rejects-folder", str(folder / "rejects"),
                      "--propose", proposed, "--format", "markdown")
    assert code == 0 and f"wrote {proposed} (version 1.3.0" in page
    read = read_markdown(page)
    assert read.items == proposal["diff"]
    versions = [t for t in read.tables if t[0][:3] == ["", "leads", "handed off"]]
    assert [row[:3] for row in versions[0][1:]] == [
        [v["version"], f"{v['leads']:,}", f"{v['handed_off']:,}"] for v in (backtest["old"], backtest["new"])]


def test_handoffs_n_caps_what_the_proposal_hands_off(planted, capsys, monkeypatch, tmp_path):
    csv_data, _, folder = planted
    monkeypatch.chdir(tmp_path)
    report = _json_of(capsys, csv_data.policy, *csv_data.args(), "--rejects-folder", str(folder / "rejects"),
                      "--propose", "p.policy", "--handoffs", "800")
    assert report["proposal"]["backtest"]["new"]["handed_off"] <= 800


def test_evidence_that_supports_every_rule_proposes_nothing_and_writes_no_file(capsys, tmp_path, monkeypatch):
    data = generate(tmp_path / "data", leads=4000, mode="proportional")
    monkeypatch.chdir(tmp_path)
    code, said = _run(capsys, data.policy, *data.args(), "--rejects-folder", "data", "--propose", "p.policy",
                      "--format", "json")
    report = json.loads(said[:said.rindex("}") + 1])
    assert code == 0 and "asks for no change; p.policy is not written" in said
    assert report["proposal"] == {"file": "p.policy", "version": "1.2.0", "changes": [], "backtest": None,
                                  "diff": [], "samples": [], "written": False, "notes": []}
    assert not (tmp_path / "p.policy").exists()


def test_a_hostile_reason_stays_text_in_every_part_of_a_real_runs_markdown(planted, capsys, monkeypatch, tmp_path):
    csv_data, _, folder = planted
    monkeypatch.chdir(tmp_path)
    reason = "Core | `industry` <script>alert(1)</script> *x*"
    (tmp_path / "hostile.policy").write_text(
        csv_data.policy.read_text("utf-8").replace('"Core industry"', f'"{reason}"'), "utf-8")
    code, page = _run(capsys, "hostile.policy", *csv_data.args(), "--rejects-folder", str(folder / "rejects"),
                      "--propose", "proposed.policy", "--format", "markdown")
    assert code == 0, page
    read = read_markdown(page)
    assert not read.tags & {"script", "code", "em"}, read.tags
    assert reason in [row["rule"] for row in named_rows(read.tables[0])]
    changes = next(named_rows(t) for t in read.tables if t[0][:2] == ["what", "where"])
    assert any(reason in change["where"] for change in changes)
    assert any(reason in item for item in read.items)
    assert f'contradicted (fit "{reason}")' in text_of(page)


# ---------------------------------------------------------------- docs/feedback.md's worked example, run

def _worked_example() -> tuple[list[list[str]], list[str], str]:
    """The commands of docs/feedback.md's calibration example (each line of its ```sh blocks), its ```text
    blocks and its quoted backtest line."""
    import re
    import shlex

    text = (POLICIES.parent / "docs" / "feedback.md").read_text("utf-8")
    section = text[text.index("## Calibrate from outcomes"):text.index("## The calibration meeting")]
    example = section[section.index("### A worked example"):]
    commands = [shlex.split(line) for block in re.findall(r"```sh\n(.*?)```", example, re.S)
                for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    blocks = re.findall(r"```text\n(.*?)```", example, re.S)
    (quoted,) = re.findall(r"^> (.*)$", example, re.M)
    return commands, blocks, quoted


def test_the_docs_worked_example_runs_as_written_in_a_fresh_clone(tmp_path, capsys, monkeypatch):
    """Each command of the example as the page writes it, from a folder holding only the repository's examples/
    (as a fresh clone's root): the shipped script makes the data (and the folders the command names), and the
    report, the proposal and the proposed file's header are the page's."""
    import subprocess
    import sys

    (generate_command, calibrate_command), (report_head, proposal, header), quoted = _worked_example()
    (tmp_path / "examples").symlink_to(POLICIES.parent / "examples")
    assert generate_command[:2] == ["python", "examples/calibration/generate.py"]
    made = subprocess.run([sys.executable, *generate_command[1:]], cwd=tmp_path, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    monkeypatch.chdir(tmp_path)
    assert calibrate_command[:2] == ["leadpolicy", "calibrate"]
    assert main(calibrate_command[1:]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert out[:len(report_head)] == report_head
    assert "\n\n" + proposal in out
    assert quoted in out.splitlines()
    assert "not written" not in captured.err  # every rejects file has its folder
    proposed = calibrate_command[calibrate_command.index("--propose") + 1]
    assert (tmp_path / proposed).read_text("utf-8").startswith(header)


def test_the_example_script_makes_what_the_tests_generate(tmp_path):
    import subprocess
    import sys

    script = POLICIES.parent / "examples" / "calibration" / "generate.py"
    made = subprocess.run([sys.executable, str(script), "by-script", "--leads", "300"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    expected = generate(tmp_path / "by-tests", leads=300)
    for name in ("planted.policy", "leads.csv", "events.csv"):
        assert (tmp_path / "by-script" / name).read_bytes() == (expected.folder / name).read_bytes(), name
    assert (tmp_path / "by-script" / "rejects").is_dir()
    refused = subprocess.run([sys.executable, str(script), "x", "--leads", "0"], cwd=tmp_path, capture_output=True,
                             text=True)
    assert refused.returncode == 2 and "--leads must be 1 or more" in refused.stderr


# ---------------------------------------------------------------- lead data in a terminal

@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
@pytest.mark.parametrize("command", ["calibrate", "feedback"])
def test_lead_data_reaches_the_terminal_escaped(small, capsys, tmp_path, command, fmt):
    """A group's value comes from lead data (--by email): an escape sequence, a CSI, a bidi override or a line
    separator in it is shown escaped, never raw, whatever the format."""
    hostile = "\x1b]0;PWN\x07\x1b[31m\x9b31m\u202e\u2028"
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry", "source"],
              [("1", f"{hostile}@bigsoft.io", 1500, "software", "webinar"), *SMALL_LEADS[1:]])
    assert main([command, str(ACTIVITY), *small, "--by", "email", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert not [ch for ch in ("\x1b", "\x07", "\x9b", "\u202e", "\u2028") if ch in out]
    assert "bigsoft.io" in out


def test_without_by_a_leads_file_needs_no_column_for_the_one_of_fields(small, capsys, tmp_path):
    """calibrate groups only by --by: a CRM export without the policy's `one of` fields (industry, source) is
    calibrated (those rules never fire), where feedback's default groups would ask for their columns."""
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees"], [row[:3] for row in SMALL_LEADS])
    code, said = _run(capsys, ACTIVITY, *small, "--format", "json")
    assert code == 0, said
    assert json.loads(said[:said.rindex("}") + 1])["leads"] == 2
    code, said = _run(capsys, ACTIVITY, *small, "--by", "source")
    assert code == 2 and "no column 'source' to group by" in said


def test_a_decay_and_a_per_rule_say_what_their_points_are_counted_per():
    cal = _calibration()
    decay = _column("engagement", 3, "decay", "-1", "decay 50% every 30 days", None, 44)
    cal.rules.append(_evidence(decay, "supported", coefficient=-0.02, coefficient_ci=(-0.03, -0.01)))
    rules = named_rows(read_markdown(render_calibration(cal, "markdown")).tables[0])
    assert [(r["rule"], r["points"]) for r in rules[2:]] == [
        ("pricing_page_view in last 30 days", "+2.5 per unit"), ("decay 50% every 30 days", "-1 per point it takes")]
    assert calibration_json(cal)["rules"][3] | {"why": ""} == {
        "score": "engagement", "rule": "decay 50% every 30 days", "reason": None, "line": 44, "kind": "decay",
        "points": -1, "fired": 120, "won_fired": 36, "not_fired": 880, "won_not": 88, "won_rate_fired": 0.3,
        "won_rate_not": 0.1, "lift": 3.0, "ci": [2.1235, 4.2], "coefficient": -0.02, "coefficient_ci": [-0.03, -0.01],
        "p_value": 1.235e-09, "verdict": "supported", "why": ""}


def test_a_proposal_that_does_not_check_is_said_to_be_unwritten(small, capsys, monkeypatch):
    """A proposal whose changes would not check is not written (changes listed, no backtest, notes saying why):
    neither the report nor the command may say it was."""
    cal = _calibration()
    assert cal.proposal is not None
    cal.proposal = Proposal(Path("p.policy"), "3.1.0", "", cal.proposal.changes, None,
                            notes=["the proposed version does not check: stage sql is never reached"])
    monkeypatch.setattr("leadpolicy.measure.calibration.calibrate", lambda *args: cal)
    code, said = _run(capsys, ACTIVITY, *small, "--propose", "p.policy", "--format", "markdown")
    assert code == 0
    assert "wrote p.policy" not in said and "p.policy is not written" in said
    text = text_of(said)
    assert "Proposal: inbound-activity 3.1.0, not written (p.policy)" in text
    assert "Note: the proposed version does not check: stage sql is never reached" in text


# ---------------------------------------------------------------- what the report says of its own figures

def _scale_of(cal: Calibration, score: str) -> float:
    from leadpolicy.measure.proposal import scale

    k = scale([e for e in cal.rules if e.rule.score == score and e.rule.kind in ("points", "per")])
    assert k is not None
    return k


def test_the_report_shows_each_scores_scale_beside_the_re_fitted_interval_in_log_odds():
    cal = _calibration()
    k = _scale_of(cal, "fit")  # 40 points for a coefficient of 1.2346: about 32.4 points per unit of log-odds
    page = render_calibration(cal, "markdown")
    read = read_markdown(page)
    rules = named_rows(read.tables[0])
    size = rules[0]
    assert size["coefficient (log-odds, 95% interval)"] == "+1.23 [0.91, 1.50]"
    refitted = size[f"re-fitted points (× scale, {0.95:.0%} interval)"]
    assert refitted == f"{k * 1.234567:.1f} [{k * 0.912345:.1f}, {k * 1.5:.1f}]"
    assert rules[2][f"re-fitted points (× scale, {0.95:.0%} interval)"] == "-"  # engagement: no scale, no interval
    text = text_of(page)
    assert f"fit: {k:.1f} points per unit of log-odds" in text
    assert "engagement: no scale (no supported rule)" in text
    assert "The verdict is the regression's, within each score" in text and "the lift is the raw comparison" in text


def test_the_report_warns_once_that_outcomes_include_sales_own_work():
    page = render_calibration(_calibration(), "markdown")  # with a group: its rules table says it no second time
    assert page.count("Sales' own work") == 1
    text = render_calibration(_calibration(), "text")
    assert text.count("Sales' own work") == 1


def test_a_threshold_row_names_its_whole_condition_and_its_won_rates_intervals():
    cal = _calibration()
    sql = cal.thresholds[0]
    mql = ThresholdEvidence("stage mql", "stage", "fit", ">=", Decimal(40), 67, True, Decimal(10), 300, 0.25,
                            90, 0.2, 80, 0.1, {"value": Decimal(45), "leads": 290, "won_rate": 0.277777},
                            ci_past=(0.2037, 0.3027))
    cal.thresholds.append(mql)
    rows = named_rows(read_markdown(render_calibration(cal, "markdown")).tables[1])
    assert [r["in"] for r in rows] == ["sql when demo_request in last 30 days and fit >= 40",
                                       "mql when fit >= 40 and engagement >= 30"]
    assert rows[0] != rows[1]
    assert (rows[0]["leads past it"], rows[1]["leads past it"]) == ("300 at 25.0%", "300 at 25.0% [20.4%, 30.3%]")
    assert sql.place == "stage sql"
    report = calibration_json(cal)
    assert [t["condition"] for t in report["thresholds"]] == [r["in"] for r in rows]


def test_without_a_re_fit_the_threshold_says_no_re_fit_and_with_one_the_re_fitted_points_are_shown():
    cal = _calibration()
    header = "for as many leads on the re-fitted points"
    page = render_calibration(cal, "markdown")
    (row,) = named_rows(read_markdown(page).tables[1])
    assert row[header] == "fit >= 45: 290 at 27.8%"  # the contradicted -50 is flipped: fit is re-fitted
    assert f'Re-fitted points: fit, {HOSTILE}: -50 →' in text_of(page)
    hostile = cal.rules[1]
    cal.rules[1] = RuleEvidence(**{**hostile.__dict__, "verdict": "no evidence"})
    cal.thresholds[0] = ThresholdEvidence(**{**cal.thresholds[0].__dict__, "same_count": {
        "value": Decimal(40), "leads": 300, "won_rate": 0.25}})
    page = render_calibration(cal, "markdown")
    (row,) = named_rows(read_markdown(page).tables[1])
    assert row[header] == "no re-fit"
    assert "Re-fitted points" not in page


def test_help_and_docs_agree_on_the_section_the_band_default_and_decays(capsys):
    import re

    with pytest.raises(SystemExit):
        main(["calibrate", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    docs = (POLICIES.parent / "docs" / "feedback.md").read_text("utf-8")
    (section,) = re.findall(r'see docs/feedback\.md \("([^"]+)"\)', said)
    assert f"\n## {section}\n" in docs
    band = re.search(r"`--band` sets the width \((default: [^)]*)\)", " ".join(docs.split()))
    assert band is not None and band.group(1) in said
    assert "decay" in said


def test_the_command_reference_says_the_band_default_the_docs_say():
    import re

    feedback = " ".join((POLICIES.parent / "docs" / "feedback.md").read_text("utf-8").split())
    reference = " ".join((POLICIES.parent / "docs" / "cli.md").read_text("utf-8").split())
    band = re.search(r"`--band` sets the width \((default: [^)]*)\)", feedback)
    assert band is not None
    section = reference[reference.index("## `leadpolicy calibrate"):reference.index("## Files a command writes")]
    assert band.group(1) in section and "decay" in section
