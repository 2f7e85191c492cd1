"""A key of a samples, approvals or lead YAML file is text: `1:`, `true:`, `null:` or `2026-01-01:` are read
by YAML as a number, a yes/no, nothing or a date, so `1:` and `"1":` would name one field twice, unseen, and
`null:` would be reported as a field `None`. Each is refused at its place, saying to quote it."""

from __future__ import annotations

import pytest

from leadpolicy.cli.main import main
from leadpolicy.language.yamldoc import YamlError, load_yaml, read_yaml

from .conftest import POLICIES


@pytest.mark.parametrize("key", ["1", "true", "null", "~", "2026-01-01", "1.5", "0x10"])
def test_a_key_yaml_reads_as_another_kind_is_refused_at_its_place(key, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"policy: p.policy\nleads:\n  - lead: {{email: a@b.io, {key}: 3}}\n", "utf-8")
    doc, diags = load_yaml(path, "bad-samples", "a mapping")
    assert doc is None and [(d.code, d.span.line, d.span.column) for d in diags] == [("bad-samples", 3, 27)], diags
    assert f'"{key}"' in diags[0].message and "quotes" in (diags[0].hint or ""), diags[0]


def test_quoted_keys_and_merge_keys_are_text():
    data = read_yaml('base: &b {"1": 2, "true": 3}\nlead: {<<: *b, "null": 4}\n')
    assert data["lead"] == {"1": 2, "true": 3, "null": 4}


def test_a_lead_of_explain_with_a_number_key_is_bad_usage(tmp_path, capsys):
    with pytest.raises(YamlError):
        read_yaml("email: a@b.io\n1: 2\n")
    (tmp_path / "x.yaml").write_text("email: a@b.io\n1: 2\n", "utf-8")
    code = main(["explain", str(POLICIES / "inbound-b2b.policy"), "--lead", str(tmp_path / "x.yaml")])
    assert code == 2 and "x.yaml:2:1:" in capsys.readouterr().err
