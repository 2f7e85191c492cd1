"""Text output never carries lead data's control characters raw: an escape sequence (ESC, CSI as U+009B, BEL),
a bidi override or a line separator from a lead id, an email or a reason would drive the reader's terminal or
make a line read other than it is. They are shown escaped (`\\x1b`, `\\u202e`), as `test` shows a case name."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

ACTIVITY = POLICIES / "inbound-activity.policy"
HOSTILE = "\x1b]0;PWN\x07\x1b[31m\x9b31m\u202e\u2028"
RAW = ["\x1b", "\x07", "\x9b", "\u202e", "\u2028"]
NOW = ["--now", "2026-11-20T12:00:00Z"]


def _assert_none_raw(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"{ch!r} reached the output raw: {text!r}"


def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    _assert_none_raw(captured.out)
    _assert_none_raw(captured.err)
    return code, captured.out + captured.err


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def test_explain_text_escapes_the_leads_own_text(capsys):
    lead = '{"email": "a' + HOSTILE.encode("unicode_escape").decode("ascii").replace("\\x", "\\u00") + '@gmail.com"}'
    code, said = _run(["explain", str(ACTIVITY), "--lead", lead, *NOW], capsys)
    assert code == 0, said
    assert "\\x1b" in said and "\\u202e" in said  # shown, escaped


def test_explain_json_is_escaped_by_json_itself(capsys):
    lead = '{"email": "a\\u001b[31m\\u202e@gmail.com"}'
    code, said = _run(["explain", str(ACTIVITY), "--lead", lead, "--format", "json", *NOW], capsys)
    assert code == 0, said


def test_diff_text_shows_example_lead_ids_escaped(tmp_path, capsys):
    new = tmp_path / "new.policy"
    new.write_text(ACTIVITY.read_text("utf-8").replace("+40 when demo_request", "+50 when demo_request")
                   .replace('"A"  when priority >= 120', '"A"  when priority >= 95'), "utf-8")
    leads, events = tmp_path / "leads.csv", tmp_path / "events.csv"
    leads.write_text("id,email,employees,industry,source\n" + _csv_cell("L" + HOSTILE)
                     + ",a@x.io,300,software,webinar\n", "utf-8")
    events.write_text("lead,event,at\n" + _csv_cell("L" + HOSTILE) + ",demo_request,2026-11-19T10:00:00Z\n", "utf-8")
    for fmt in ("text", "markdown"):
        code, said = _run(["diff", str(ACTIVITY), str(new), "--leads", str(leads), "--events", str(events),
                           "--id-column", "id", "--format", fmt, *NOW], capsys)
        assert code in (0, 1), said
        assert "Example leads" in said or "example leads" in said, said
        if fmt == "text":
            assert "L\\x1b]0;PWN" in said, said  # the example lead, by its id escaped


@pytest.mark.parametrize("extra", [["--open"], []])
def test_sla_text_shows_lead_ids_and_reasons_escaped(tmp_path, capsys, extra):
    events = tmp_path / "events.csv"
    events.write_text("lead,event,at,reason\n"
                      f"{_csv_cell('L' + HOSTILE)},became_sql,2026-11-30T10:00:00-05:00,\n"
                      f"{_csv_cell('M' + HOSTILE)},handed_off,2026-11-30T10:00:00-05:00,\n"
                      f"{_csv_cell('M' + HOSTILE)},rejected,2026-11-30T11:00:00-05:00,{_csv_cell('r' + HOSTILE)}\n"
                      f"{_csv_cell('N' + HOSTILE)},nosuch{HOSTILE},2026-11-30T11:00:00-05:00,\n", "utf-8")
    code, said = _run(["sla", str(ACTIVITY), str(events), *extra, "--now", "2026-11-30T12:00:00-05:00",
                       "--rejects", str(tmp_path / "r.csv")], capsys)
    assert code in (0, 1), said
    if extra:
        assert "L\\x1b]0;PWN" in said, said


def test_score_rejects_echo_values_escaped(tmp_path, capsys):
    leads = tmp_path / "leads.csv"
    leads.write_text("id,email,employees\nl1,a@x.io," + _csv_cell("3" + HOSTILE) + "\n", "utf-8")
    code, said = _run(["score", str(POLICIES / "inbound-b2b.policy"), str(leads), "-o", str(tmp_path / "o.csv"),
                       *NOW], capsys)
    assert code in (0, 1), said
    assert "\\x1b" in said or "\\u202e" in said, said


def test_escaped_output_keeps_ordinary_text(tmp_path: Path, capsys):
    code, said = _run(["explain", str(ACTIVITY), "--lead", '{"email": "zoë@gmail.com"}', *NOW], capsys)
    assert code == 0 and "zoë@gmail.com" in said, said


@pytest.mark.parametrize("command", ["score", "diff"])
def test_column_warnings_echo_a_header_escaped(tmp_path, capsys, command):
    leads = tmp_path / "leads.csv"
    leads.write_text("id,email,emp\x1b[31mloyees\u202e\nl1,a@x.io,5\n", "utf-8")  # close to `employees`
    b2b = str(POLICIES / "inbound-b2b.policy")
    argv = {"score": ["score", b2b, str(leads), "-o", str(tmp_path / "o.csv"), *NOW],
            "diff": ["diff", b2b, b2b, "--leads", str(leads), "--rejects", str(tmp_path / "r.csv"), *NOW]}[command]
    code, said = _run(argv, capsys)
    assert code in (0, 1)
    assert "warning" in said and "emp\\x1b" in said, said
