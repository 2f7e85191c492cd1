"""`one of` choices that name one value: the same text twice, or two spellings that fold alike (as text is
compared, docs/language.md) are `duplicate-choice`, an error at the second, naming both and where they stand."""

from __future__ import annotations

import json

import pytest

from leadpolicy.cli.main import main
from leadpolicy.semantics.loading import load_policy_text


def _policy(choices: str) -> str:
    return f'''policy "regions" version 1.0.0 {{
  title "Regions"
  owner a "A"
  owner b "B"
  lead {{
    email text
    region one of ({choices})
  }}
  stages {{
    rest otherwise owner a
  }}
}}
'''


def _found(choices: str) -> list:
    return [d for d in load_policy_text(_policy(choices), "p.policy").diagnostics if d.code == "duplicate-choice"]


CHOICES_COLUMN = len('    region one of (') + 1


@pytest.mark.parametrize(("choices", "first", "second"), [
    ('"EMEA", "emea"', "EMEA", "emea"),
    ('"EMEA", "NA", "EMEA"', "EMEA", "EMEA"),
    ('"Zürich", "ZÜRICH"', "Zürich", "ZÜRICH"),
    ('"ΟΔΟΣ", "οδος"', "ΟΔΟΣ", "οδος"),  # every sigma folds alike, as text comparison folds it
    ('"İstanbul", "istanbul"', "İstanbul", "istanbul"),
])
def test_two_choices_that_fold_alike_are_an_error_at_the_second(choices, first, second):
    [diag] = _found(choices)
    assert diag.is_error
    source_line = _policy(choices).split("\n")[diag.span.line - 1]
    start = diag.span.column - 1
    assert source_line[start:diag.span.end_column - 1] == f'"{second}"'
    assert source_line.rindex(f'"{second}"') == start  # the second, not the first
    first_column = source_line.index(f'"{first}"') + 1
    assert first_column == CHOICES_COLUMN
    assert f'"{first}"' in diag.message and f'"{second}"' in diag.message
    assert f"7:{first_column}" in diag.hint  # the second is where the caret is
    assert (f"7:{diag.span.column}" in diag.hint) is (first != second)  # named beside the first when spelt apart


def test_choices_that_differ_otherwise_are_not_duplicates():
    assert _found('"EMEA", "EMEA ", "Strasse", "Straße", "é", "e\u0301"') == []


def test_an_exact_duplicate_says_twice_and_a_case_duplicate_says_case():
    [exact] = _found('"NA", "NA"')
    [case] = _found('"NA", "na"')
    assert exact.message == 'region lists the choice "NA" twice'
    assert case.message == 'region lists "NA" and "na", which differ only in case'
    assert case.hint == ('"NA" (7:20) and "na" (7:26) name one value, since a value is read ignoring case: '
                         "keep one spelling")
    assert exact.hint == 'first at 7:20: remove one'


def test_check_exits_1_with_the_place_of_the_second_choice(tmp_path, capsys):
    path = tmp_path / "p.policy"
    path.write_text(_policy('"EMEA", "emea"'), "utf-8")
    code = main(["check", "--format", "json", "--allow-untested", str(path)])
    diags = json.loads(capsys.readouterr().out)["diagnostics"]
    assert code == 1
    assert [(d["code"], d["line"], d["column"], d["end_column"]) for d in diags] == [
        ("duplicate-choice", 7, 28, 34)]
