"""Event names that differ only in case are one name to DuckDB (its identifiers ignore case), so a
policy may not use both: `check` refuses them as it refuses such field names."""

from __future__ import annotations

import pytest

from leadpolicy.cli.main import main
from leadpolicy.semantics.loading import load_policy_text

HEAD = ('policy "t" version 1.0.0 {\n  title "T"\n  owner marketing "M"\n  owner sales "S"\n'
        '  lead {\n    email text\n  }\n')
SCORE = "  score s {\n    +10 when demo in last 7 days\n    +1 when Demo in last 7 days\n  }\n"
TAIL = "  stages {\n    nurture otherwise owner marketing\n  }\n}\n"


def _diagnostics(text: str) -> list[tuple[str, str, int]]:
    loaded = load_policy_text(text, "t.policy")
    return [(d.code, d.message, d.span.line) for d in loaded.diagnostics]


def test_declared_events_that_differ_only_in_case_are_refused():
    text = HEAD + "  events {\n    demo\n    Demo\n  }\n" + SCORE + TAIL
    assert ("duplicate-name", 'event "Demo" differs from "demo" only in case', 10) in _diagnostics(text)


@pytest.mark.parametrize("first,second", [("demo", "Demo"), ("Demo", "demo")])
def test_used_events_that_differ_only_in_case_are_refused_without_an_events_block(first, second):
    score = f"  score s {{\n    +10 when {first} in last 7 days\n    +1 when {second} in last 7 days\n  }}\n"
    found = _diagnostics(HEAD + score + TAIL)
    assert ("duplicate-name", f'event "{second}" differs from "{first}" only in case', 10) in found
    assert len([d for d in found if d[0] == "duplicate-name"]) == 1  # said once, where the second spelling is


def test_one_spelling_used_many_times_is_fine():
    text = HEAD + "  score s {\n    +10 when demo in last 7 days\n    +1 when demo in last 30 days\n  }\n" + TAIL
    assert [d for d in _diagnostics(text) if d[0] == "duplicate-name"] == []


@pytest.mark.parametrize("command", [["check"], ["compile", "--target", "sql"]])
def test_check_and_compile_exit_1_and_name_the_line(tmp_path, capsys, command):
    path = tmp_path / "t.policy"
    path.write_text(HEAD + "  events {\n    demo\n    Demo\n  }\n" + SCORE + TAIL, "utf-8")
    assert main([*command, str(path)]) == 1
    out = capsys.readouterr()
    assert f"{path}:10:5: duplicate-name:" in out.out + out.err
