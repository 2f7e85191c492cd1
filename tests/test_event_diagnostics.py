"""Event names a policy uses but does not declare, or spells like a stage: diagnostics, never an internal error."""

from __future__ import annotations

import json
import re
import shutil

from leadpolicy.cli.main import main
from leadpolicy.semantics.loading import load_policy_text

from .conftest import POLICIES

ACTIVITY = (POLICIES / "inbound-activity.policy").read_text("utf-8")


def _check_json(capsys, path) -> tuple[int, list[dict]]:
    code = main(["check", "--format", "json", "--allow-untested", str(path)])
    return code, json.loads(capsys.readouterr().out)["diagnostics"]


def _line_of(text: str, diag) -> str:
    return text.splitlines()[diag.span.line - 1]


def _copy_with(tmp_path, old: str, new: str):
    assert old in ACTIVITY
    path = tmp_path / "activity.policy"
    path.write_text(ACTIVITY.replace(old, new), "utf-8")
    return path


def test_a_misspelt_event_in_a_score_is_unknown_event_with_did_you_mean(tmp_path, capsys):
    path = _copy_with(tmp_path, "+15 when webinar_attended in last", "+15 when webinar_atended in last")
    code, diags = _check_json(capsys, path)
    assert code == 1
    [diag] = diags
    assert (diag["code"], diag["severity"], diag["line"]) == ("unknown-event", "error", 47)
    assert diag["message"] == 'unknown event "webinar_atended"'
    assert diag["hint"] == 'did you mean "webinar_attended"?'


def test_the_text_form_names_file_line_and_column(tmp_path, capsys):
    path = _copy_with(tmp_path, "won   when closed_won", "won   when closed_wan")
    code = main(["check", "--allow-untested", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"{path}:") and ": unknown-event: " in first
    line, column = first[len(str(path)) + 1:].split(":")[:2]
    assert ACTIVITY.splitlines()[int(line) - 1].lstrip().startswith("won") and int(column) > 0
    assert 'hint: did you mean "closed_won"?' in out


def test_a_stage_named_as_an_sla_event_hints_its_became_event(tmp_path, capsys):
    path = _copy_with(tmp_path, "from became_sql or became_mql until first_touch", "from sql until first_touch")
    code, diags = _check_json(capsys, path)
    assert code == 1
    [diag] = diags
    assert diag["code"] == "unknown-event"
    assert diag["hint"] == 'did you mean "became_sql"? sql is a stage; the event of entering it is became_sql'


def test_without_an_events_block_a_stage_spelt_event_is_a_warning(tmp_path):
    text = re.sub(r"\n  events \{.*?\n  \}\n", "\n", ACTIVITY, flags=re.S)
    assert "events {" not in text
    text = text.replace("from became_sql or became_mql until first_touch", "from sql or became_mql until first_touch")
    loaded = load_policy_text(text, "p.policy")
    found = [d for d in loaded.diagnostics if d.code == "event-named-like-stage"]
    assert [d.severity for d in found] == ["warning"]
    assert found[0].hint == 'did you mean "became_sql"?'
    assert found[0].message == 'event "sql" is named like the stage sql; entering a stage is the event became_sql'
    assert _line_of(text, found[0]).strip().startswith("from sql or became_mql until first_touch")
    assert not [d for d in loaded.diagnostics if d.is_error]


def test_a_declared_event_named_like_a_stage_is_not_warned(tmp_path):
    text = ACTIVITY.replace("    first_touch\n", "    first_touch\n    sql\n").replace(
        "from became_sql or became_mql until first_touch", "from sql until first_touch")
    loaded = load_policy_text(text, "p.policy")
    assert [d.code for d in loaded.diagnostics] == []


def test_the_reference_policy_copy_checks_clean(tmp_path, capsys):
    shutil.copy(POLICIES / "inbound-activity.policy", tmp_path / "a.policy")
    assert _check_json(capsys, tmp_path / "a.policy") == (0, [])
