"""YAML anchors and aliases in samples files: allowed (yaml.dump writes them for shared values, people share
one lead's data between cases), with the nodes alias expansion may produce capped, so an alias bomb is
refused at the alias that crosses the cap, nothing expanded, with a diagnostic at its place."""

from __future__ import annotations

import copy
import re
import shutil

import yaml

from leadpolicy.cli.main import main
from leadpolicy.language.yamldoc import MAX_ALIAS_NODES, load_yaml

from .conftest import POLICIES
from .yaml_work import count_yaml_work

POLICY = "inbound-b2b.policy"
SAMPLES = yaml.safe_load((POLICIES / "inbound-b2b.samples.yaml").read_text("utf-8"))


def _write(tmp_path, text: str):
    shutil.copy(POLICIES / POLICY, tmp_path / POLICY)
    path = tmp_path / "inbound-b2b.samples.yaml"
    path.write_text(text, "utf-8")
    return path


def _test(capsys, path) -> tuple[int, str]:
    code = main(["test", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def _bomb(levels: int = 9, width: int = 9) -> str:
    names = [f"l{i}" for i in range(levels + 1)]
    lines = [f"policy: {POLICY}", f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]"]
    lines += [f"{n}: &{n} [{', '.join([f'*{p}'] * width)}]" for p, n in zip(names, names[1:])]
    return "\n".join(lines) + "\n"


def test_a_samples_file_written_by_yaml_dump_with_shared_values_passes(tmp_path, capsys):
    data = copy.deepcopy(SAMPLES)
    first = data["leads"][0]
    twin = {"name": first["name"] + " (the same lead, shared)", "lead": first["lead"], "expect": first["expect"]}
    data["leads"].append(twin)
    text = yaml.dump(data, sort_keys=False)
    assert "&id001" in text and "*id001" in text  # PyYAML shares the objects by anchor and alias
    path = _write(tmp_path, text)
    code, out = _test(capsys, path)
    assert code == 0, out
    cases = len(data["leads"]) + len(data.get("timelines", []))
    assert re.search(rf"\b{cases} passed, 0 failed", out), out


def test_a_merge_key_shares_a_lead_and_overrides_a_value(tmp_path, capsys):
    data = {"policy": POLICY, "now": SAMPLES["now"], "leads": [SAMPLES["leads"][0]]}
    text = yaml.dump(data, sort_keys=False).replace("  lead:\n", "  lead: &ana\n", 1)
    text += ("- name: Ana from a free mail address falls to nurture\n  lead:\n    <<: *ana\n"
             "    email: ana@gmail.com\n  expect: {fit: 25, stage: nurture}\n")
    code, out = _test(capsys, _write(tmp_path, text))
    assert code == 0, out + text
    assert re.search(r"\b2 passed, 0 failed", out), out


def test_an_alias_bomb_is_refused_at_the_cap_with_its_place_and_the_limit(tmp_path, capsys, monkeypatch):
    path = _write(tmp_path, _bomb())
    work = count_yaml_work(monkeypatch)  # 9^10 values: with no cap, the first of them walked fails the test
    code, out = _test(capsys, path)
    assert work.walked == 0, work  # read up to the alias that crosses the cap, nothing expanded
    assert code == 1
    found = re.search(rf"^\S*{re.escape(path.name)}:(\d+):(\d+): bad-samples: (.*)$", out, re.M)
    assert found, out
    line, column, message = int(found.group(1)), int(found.group(2)), found.group(3)
    assert message == f"the aliases up to *l4 stand for more than {MAX_ALIAS_NODES:,} values, the most aliases may add"
    assert _bomb().splitlines()[line - 1][column - 1] == "*"  # the caret is on the alias that crossed the limit
    assert "internal error" not in out and "Traceback" not in out


def test_an_alias_inside_the_value_it_names_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # places are printed relative to the working folder
    path = _write(tmp_path, f"policy: {POLICY}\nloop: &loop [1, *loop]\n")
    code, out = _test(capsys, path)
    assert code == 1
    assert f"{path.name}:2:" in out and "bad-samples" in out and "*loop" in out


def test_nesting_through_aliases_counts_toward_the_depth_limit(tmp_path):
    deep = "[" * 40 + "1" + "]" * 40
    path = _write(tmp_path, f"policy: {POLICY}\na: &a {deep}\nb: {'[' * 30}*a{']' * 30}\n")
    doc, diags = load_yaml(path, "bad-samples", "a mapping")
    assert doc is None
    assert [(d.code, d.span.line) for d in diags] == [("bad-samples", 3)]
    assert "64 levels" in diags[0].message


def test_a_small_shared_value_is_read_as_written(tmp_path):
    path = _write(tmp_path, f"policy: {POLICY}\nbase: &b {{email: a@b.io, employees: 5}}\ncopy: *b\n")
    doc, diags = load_yaml(path, "bad-samples", "a mapping")
    assert diags == [] and doc is not None
    assert doc.data["copy"] == doc.data["base"] == {"email": "a@b.io", "employees": 5}
    assert doc.span(("copy", "employees")).line == 2  # a value reached through an alias is where it is written


def test_the_documented_cap_is_the_cap():
    from .conftest import ROOT

    assert f"capped at {MAX_ALIAS_NODES:,}" in (ROOT / "docs" / "samples.md").read_text("utf-8")
