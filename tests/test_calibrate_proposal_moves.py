"""Calibrate's proposal moves nothing that makes check warn where the current version does not, says when a
score's values change through the scores it reads, and says what each of its figures counts (issue 30, U2 1-5)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.language.parser import parse_text
from leadpolicy.measure.calibration import CalibrateOptions, calibrate
from leadpolicy.measure.calibration_render import render_calibration
from leadpolicy.measure.feedback import FeedbackInput, measure

from .calibration_data import POLICY, generate
from .markdown_read import named_rows, read_markdown


def calibrated(folder: Path, planted, text: str = POLICY, handoffs: int | str = "same", name: str = "p"):
    """Calibrate `text` on the planted leads, proposing to FOLDER/NAME.policy."""
    path = folder / f"{name}.current.policy"
    path.write_text(text)
    data = FeedbackInput(planted.leads, planted.events, planted.as_of, planted.now, rejects_folder=folder)
    out = folder / f"{name}.policy"
    options = CalibrateOptions(propose=out, handoffs=handoffs, policy_file=path)  # type: ignore[arg-type]
    return calibrate(leadpolicy.load(path), text, data, folder / f"{name}.work", options), out


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("planted"), leads=5000)


def warned(path: Path, capsys) -> list[tuple[str, str]]:
    """check's warnings and errors of one policy file: (code, the line's text)."""
    main(["check", "--allow-untested", "--format", "json", str(path)])
    report = json.loads(capsys.readouterr().out)
    lines = path.read_text().split("\n")
    return [(d["code"], lines[d["line"] - 1].strip()) for d in report["diagnostics"] if d["file"] == str(path)]


def header(text: str) -> list[str]:
    """The proposal's header comment lines (from the 'Calibrated on' line to the policy line), without '# '."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("# Calibrated on "))
    end = next(i for i, line in enumerate(lines) if line.startswith("policy "))
    return [line[2:] for line in lines[start:end]]


# ---------------------------------------------------------------- 1: no new warning

def test_no_raise_is_taken_that_makes_check_warn_where_the_current_version_does_not(planted, tmp_path, capsys):
    # Core industry flips to negative points: fit is at most 80, and handing off at most 1 lead would raise sql's
    # floor past every lead (U2: `fit >= 60` with fit at most 50, never-true, yet written with no note).
    cal, out = calibrated(tmp_path, planted, handoffs=1)
    p = cal.proposal
    assert p is not None and p.written and out.exists()
    current = tmp_path / "p.current.policy"
    assert warned(out, capsys) == warned(current, capsys) == []
    sql = next(c for c in p.changes if c["where"] == "stage sql, fit >=")
    refused = [n for n in p.notes if "never-true" in n]
    assert len(refused) == 1 and refused[0].startswith(f"stage sql's fit >= {sql['to']} is not raised to ")
    assert "a warning the current version does not have" in refused[0]
    assert f"# Note: {refused[0]}." in p.text.split("\n")
    (short,) = [n for n in p.notes if n.startswith("hands off ")]
    assert f"more than the 1 allowed: its handoff thresholds cannot be raised further (raised further they would " \
           f"not check (see the note on stage sql's fit >= {sql['to']}))" in short


# ---------------------------------------------------------------- 2: a score whose inputs were re-fitted

BOTH = POLICY.replace("  grade fit_grade from fit {", '''  score both "Fit again" {
    clamp 0 to 200
    +1 per fit up to 100  "Fit"
  }

  grade tier from both {
    "A"  when both >= 80
    "B"  when both >= 40
    "C"  otherwise
  }

  grade fit_grade from fit {''')


@pytest.fixture(scope="module")
def both(planted, tmp_path_factory):
    return calibrated(tmp_path_factory.mktemp("both"), planted, BOTH)


def _threshold_rows(cal) -> dict[str, dict[str, str]]:
    tables = read_markdown(render_calibration(cal, "markdown")).tables
    rows = named_rows(next(t for t in tables if t[0][0] == "place"))
    return {row["place"]: row for row in rows}


def test_a_score_reading_a_re_fitted_score_is_changed_and_said(both):
    cal, _ = both
    tier = {t.place: t for t in cal.thresholds if t.score == "both"}
    fit = {t.place: t for t in cal.thresholds if t.score == "fit"}
    # both is fit: its thresholds keep their counts on the re-fitted points as fit's own do
    fit_a = next(t for t in cal.thresholds if t.place == 'grade fit_grade "A"')
    assert all(t.same_count is not None and t.same_count["leads"] <= t.leads_past for t in tier.values())
    assert fit_a.same_count is not None and fit_a.same_count["value"] != fit_a.value
    rows = _threshold_rows(cal)
    for place in tier:
        cell = rows[place]["for as many leads on the re-fitted points"]
        assert cell != "no re-fit" and cell.endswith("(its inputs were re-fitted)")
        assert cell.startswith(f"both >= {tier[place].same_count['value']}: {tier[place].same_count['leads']:,} at ")
    for place in fit:
        assert "its inputs" not in rows[place]["for as many leads on the re-fitted points"]


def test_a_threshold_of_a_changed_score_kept_as_written_says_its_new_count(both):
    cal, _ = both
    # as U2's tier A: on its grid no value keeps its count, so it stays, with fewer leads
    a = next(t for t in cal.thresholds if t.place == 'grade tier "A"')
    kept = dataclasses.replace(a, same_count={"value": a.value, "leads": a.leads_past - 29, "won_rate": 0.5})
    cal = dataclasses.replace(cal, thresholds=[kept if t is a else t for t in cal.thresholds])
    cell = _threshold_rows(cal)['grade tier "A"']["for as many leads on the re-fitted points"]
    assert cell.startswith(f"both >= 80: {a.leads_past - 29:,} at 50.0%") and "its inputs were re-fitted" in cell


GUARDED = POLICY.replace("  outcomes {", '  guarantees {\n    "Sales only receives leads with a fit of 50 or '
                         'more": handoff implies fit >= 50\n  }\n\n  outcomes {')


def test_the_header_says_each_threshold_left_as_written_whose_count_changes(planted, tmp_path):
    cal, out = calibrated(tmp_path, planted, GUARDED)
    p = cal.proposal
    assert p is not None and p.written
    assert "stage sql, fit >=" not in {c["where"] for c in p.changes}  # the guarantee holds it at 50
    new = measure(leadpolicy.load(out), FeedbackInput(planted.leads, planted.events, planted.as_of, planted.now,
                                                        rejects_folder=tmp_path), tmp_path / "again")
    (past,) = new.con.execute("SELECT count(*) FROM feedback WHERE fit >= 50").fetchone()
    sql = cal.thresholds[0]
    assert past != sql.leads_past
    said = [h for h in header(p.text) if h.startswith("stage sql: fit >= 50 stays")]
    assert said == [f"stage sql: fit >= 50 stays: it holds {past:,} leads on the proposed points (was "
                    f"{sql.leads_past:,}), as its score's points were re-fitted."]


# ---------------------------------------------------------------- 3: what the raises' figures count

ONE_FLOOR_ENOUGH = POLICY.replace(
    "    sql      when fit >= 50  owner sales\n",
    '    sql      when fit >= 50 and industry in ("retail", "other")  owner sales\n'
    "    mql      when fit >= 40 and demo  owner sales\n")
STEP = re.compile(r"to ([\d.]+): ([\d,]+) fewer leads handed off and ([\d,]+) fewer won leads captured")
START = re.compile(r"every threshold at its same count, the proposal handed off ([\d,]+) leads and captured ([\d,]+) "
                   r"won leads; each raise is counted against the version just before it")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_raises_figures_chain_from_the_same_count_version_to_the_backtest(planted, tmp_path):
    cal, out = calibrated(tmp_path, planted, ONE_FLOOR_ENOUGH, 150)
    p = cal.proposal
    assert p is not None and p.backtest is not None
    raised = [c for c in p.changes if "raised from" in c["why"]]
    assert raised
    starts = {START.search(c["why"]).groups() for c in raised}  # type: ignore[union-attr]
    assert len(starts) == 1
    handed, won = (_int(n) for n in starts.pop())
    steps = [STEP.findall(c["why"]) for c in raised]
    assert all(steps)
    fewer = sum(_int(s[1]) for found in steps for s in found)
    fewer_won = sum(_int(s[2]) for found in steps for s in found)
    new = p.backtest["new"]
    assert (handed - fewer, won - fewer_won) == (new["handed_off"], new["won_captured"])
    # the start is the proposal with each raised floor put back at its same count
    text = p.text
    for change in raised:
        t = next(t for t in cal.thresholds if f"{t.place}, {t.score} {t.op}" == change["where"])
        stage = t.place.removeprefix("stage ")
        line = next(x for x in text.split("\n") if x.strip().startswith(f"{stage} ") and "when" in x)
        text = text.replace(line, line.replace(f"fit >= {change['to']}", f"fit >= {t.same_count['value']}"))
    back = tmp_path / "back.policy"
    back.write_text(text)
    again = measure(leadpolicy.load(back), FeedbackInput(planted.leads, planted.events, planted.as_of, planted.now,
                                                         rejects_folder=tmp_path), tmp_path / "back")
    (n, w) = again.con.execute("""SELECT count(*), count(*) FILTER (WHERE "#outcome" = 'won') FROM feedback
                                  WHERE "#handed" """).fetchone()
    assert (n, w) == (handed, won)


# ---------------------------------------------------------------- 4, 5: the header's backtest and notes

@pytest.fixture(scope="module")
def proposed(planted, tmp_path_factory):
    return calibrated(tmp_path_factory.mktemp("proposed"), planted)


def test_the_headers_backtest_line_says_the_won_leads_lost_and_the_recall(proposed):
    cal, _ = proposed
    p = cal.proposal
    old, new = p.backtest["old"], p.backtest["new"]
    (line,) = [h for h in header(p.text) if h.startswith("Backtest: ")]
    lost = old["won_captured"] - new["won_captured"]
    moved = f": {abs(lost):,} {'fewer' if lost > 0 else 'more'}" if lost else ""
    assert (f"captures {new['won_captured']:,} won leads (was {old['won_captured']:,}{moved}), recall "
            f"{new['recall'] * 100:.1f}% (was {old['recall'] * 100:.1f}%)") in line


def test_a_stale_comment_note_names_the_line_of_the_current_version(proposed):
    cal, out = proposed
    p = cal.proposal
    sql = next(c for c in p.changes if c["where"] == "stage sql, fit >=")
    line = next(i for i, text in enumerate(POLICY.split("\n"), 1) if "Sales takes a lead from 50 points" in text)
    assert (f"the comment on line {line} of 1.2.0 says 50: check it (stage sql, fit >= is now {sql['to']})"
            in p.notes)
    # the file the note is written in has the comment elsewhere: its header comes first
    assert "Sales takes a lead from 50" not in out.read_text().split("\n")[line - 1]
    assert [str(c).strip() for c in parse_text(out.read_text()).comments].count(
        "# Sales takes a lead from 50 points of fit.") == 1


def test_the_scores_whose_values_change_are_found_however_far_down(tmp_path):
    from leadpolicy.measure.proposal import changed_scores

    text = POLICY.replace("  # Sales takes a lead from 50 points of fit.", '''  score by_grade "Reads fit's grade" {
    +10 when fit_grade = "A"  "Top fit"
  }

  score further "Reads a reader" {
    +1 per by_grade up to 10  "By grade"
  }

  score apart "Reads no score" {
    +5 when demo  "Demo"
  }

  # Sales takes a lead from 50 points of fit.''')
    path = tmp_path / "p.policy"
    path.write_text(text)
    policy = leadpolicy.load(path)
    assert changed_scores(policy, {"fit"}) == {"fit", "by_grade", "further"}
    assert changed_scores(policy, {"apart"}) == {"apart"}
    assert changed_scores(policy, set()) == set()
