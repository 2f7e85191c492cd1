"""A `[tool.leadpolicy]` setting of the wrong kind is refused naming the kind of the value given in the words
every reader names a value's kind in (`semantics.events.value_kind`: the lead reader, `explain`, the decision
service), never in words of its own nor in its Python form; TOML's own kinds (a table, a time of day) have
their words there too."""

from __future__ import annotations

import json
import re

import pytest

from leadpolicy.cli.main import main
from leadpolicy.cli.settings import SettingsError, load_settings
from leadpolicy.semantics.events import value_kind

REFUSED = re.compile(r": \[tool\.leadpolicy\] (?P<key>[\w-]+): (?P<takes>.+), not (?P<given>[^,]+)$")

# (key = TOML value, what the setting takes, the JSON value of the same kind, when JSON has one)
SAME_AS_JSON = [
    ('strict = "yes"', "true or false", '"yes"'),
    ("strict = 1", "true or false", "1"),
    ("allow-untested = [true]", "true or false", "[true]"),
    ("min-coverage = true", "a number", "true"),
    ('min-coverage = "90"', "a number", '"90"'),
    ('paths = "policies"', "a list of paths", '"policies"'),
    ("columns = 5.5", 'a table of FIELD = "HEADER"', "5.5"),
]
TOML_ONLY = [  # kinds JSON has no value of: said as value_kind says them
    ('paths = { dir = "policies" }', "a list of paths", "a table"),
    ("strict = 1979-05-27", "true or false", "a date"),
    ("strict = 1979-05-27T07:32:00Z", "true or false", "a date"),
    ("require-approvals = 07:32:00", "true or false", "a time of day"),
]


def _refused(tmp_path, setting: str) -> re.Match[str]:
    (tmp_path / "pyproject.toml").write_text(f"[tool.leadpolicy]\n{setting}\n", "utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(tmp_path)
    said = str(refused.value)
    assert said.startswith(str(tmp_path / "pyproject.toml")), said
    found = REFUSED.search(said)
    assert found, said
    assert "datetime" not in said and "True" not in said and "'" not in said, said  # no Python form
    return found


@pytest.mark.parametrize(("setting", "takes", "json_value"), SAME_AS_JSON)
def test_a_setting_of_the_wrong_kind_names_it_as_every_reader_names_that_json_value(tmp_path, setting, takes,
                                                                                     json_value):
    found = _refused(tmp_path, setting)
    assert found["key"] == setting.split(" = ")[0] and found["takes"] == takes
    assert found["given"] == value_kind(json.loads(json_value))


@pytest.mark.parametrize(("setting", "takes", "given"), TOML_ONLY)
def test_toml_kinds_json_lacks_are_named_by_the_same_function(tmp_path, setting, takes, given):
    found = _refused(tmp_path, setting)
    assert (found["takes"], found["given"]) == (takes, given)
    assert given == value_kind(load_toml_value(setting), mapping="a table")


def load_toml_value(setting: str) -> object:
    import tomllib

    return next(iter(tomllib.loads(setting).values()))


def test_the_command_line_refuses_it_with_exit_2_in_those_words(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy]\nstrict = "yes"\n', "utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "[tool.leadpolicy] strict: true or false, not text" in err and "Traceback" not in err


@pytest.mark.parametrize(("header", "given"), [("true", "yes/no"), ("5", "a number"), ('["Job Title"]', "a list"),
                                               ('{ h = "x" }', "a table"), ("2026-01-01", "a date")])
def test_a_column_header_of_the_wrong_kind_is_named_in_those_words(tmp_path, header, given):
    (tmp_path / "pyproject.toml").write_text(f"[tool.leadpolicy.columns]\njob_title = {header}\n", "utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(tmp_path)
    said = str(refused.value)
    assert said.endswith(f': [tool.leadpolicy.columns] job_title: the header of a column (FIELD = "HEADER"), '
                         f"not {given}"), said
