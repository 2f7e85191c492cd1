"""When a policy does not parse, the parser names an event declared with a word conditions reserve (`not`,
`decay`...) instead of the syntax error its use leads to. Which names an events block declares is read from
the tokens the parser reads: a one-line block, a `}` after the last name, an `events {` in a comment or a
text, a score called `events` do not make other lines read as event names, so an unrelated syntax error is
reported as itself."""

from __future__ import annotations

from leadpolicy.language.parser import parse_text

HEADER = '''policy "p" version 1.0.0 {
  title "t"
  owner a "A"
  lead {
    email text
  }
'''
BROKEN_GRADE = '''  grade g s {
    "A" otherwise
  }
'''
SCORE_WITH_DECAY = '''  score s "s" {
    +1 when demo in last 9 days "r"
    decay 10% every 30 days since last demo
  }
'''
STAGES = '''  stages {
    x otherwise owner a
  }
}
'''


def _found(text: str) -> list[tuple[str, int, int]]:
    result = parse_text(text, "p.policy")
    assert result.policy is None
    return [(d.code, d.span.line, d.span.column) for d in result.diagnostics]


def _line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


def _syntax_error_at_the_grade(events: str, score: str = SCORE_WITH_DECAY) -> None:
    text = HEADER + events + score + BROKEN_GRADE + STAGES
    found = _found(text)
    assert [(code, line) for code, line, _ in found] == [("syntax-error", _line_of(text, "grade g s"))], found


def test_a_one_line_events_block_ends_at_its_brace():
    _syntax_error_at_the_grade("  events { demo }\n")


def test_a_brace_after_the_last_event_name_ends_the_block():
    _syntax_error_at_the_grade("  events {\n    demo }\n")


def test_a_brace_before_a_comment_ends_the_block():
    _syntax_error_at_the_grade("  events { demo } # events {\n")


def test_events_written_in_a_comment_or_a_text_open_no_block():
    _syntax_error_at_the_grade('  # events {\n  events {\n    demo\n  }\n  owner b "events {"\n')


def test_a_score_called_events_is_no_events_block():
    score = '  score events {\n    +1 when demo in last 9 days "r"\n    decay 10% every 30 days since last demo\n  }\n'
    text = HEADER + "  events {\n    demo\n  }\n" + BROKEN_GRADE + score + STAGES
    found = _found(text)
    assert [(code, line) for code, line, _ in found] == [("syntax-error", _line_of(text, "grade g s"))], found


def _reserved_name_at(events: str, after: bool = False) -> tuple[list[tuple[str, int, int]], tuple[int, int]]:
    """The diagnostics of a policy whose event `not` is used in a rule (the events block before or after the
    score), and where `not` is declared."""
    score = '  score s "s" {\n    +15 when not in last 90 days "r"\n  }\n'
    text = HEADER + (score + events if after else events + score) + STAGES
    declared = events.rindex(" not")  # the last `not` of the block: a comment before it may say "not"
    line = _line_of(text, "events {") + events.count("\n", 0, declared)
    column = declared - (events.rfind("\n", 0, declared) + 1) + 2
    return _found(text), (line, column)


def test_a_reserved_event_name_in_a_one_line_block_is_named_at_its_declaration():
    found, (line, column) = _reserved_name_at("  events { demo not }\n")
    assert found == [("reserved-name", line, column)]


def test_a_reserved_event_name_in_a_block_of_lines_is_named_at_its_declaration():
    found, (line, column) = _reserved_name_at('  events {\n    demo "a demo" # not this one\n    not\n  }\n')
    assert found == [("reserved-name", line, column)]


def test_a_reserved_event_name_declared_after_its_use_is_named_at_its_declaration():
    found, (line, column) = _reserved_name_at("  events {\n    demo\n    not }\n", after=True)
    assert found == [("reserved-name", line, column)]


def test_a_text_never_closed_before_the_events_block_is_the_error_reported():
    score = '  score s "s" {\n    +15 when not in last 90 days "r"\n  }\n'
    text = HEADER.replace('title "t"', 'title "t') + "  events {\n    not\n  }\n" + score + STAGES
    found = _found(text)
    assert [(code, line) for code, line, _ in found] == [("syntax-error", 2)], found
