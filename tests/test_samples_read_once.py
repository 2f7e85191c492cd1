"""A samples file is parsed once per command, however many parts of it read the file (the outputs guard,
the case runner, approvals' fingerprint): a 600 KB samples file took 7 s to test, parsed three or four times."""

from __future__ import annotations

import shutil

import pytest

from leadpolicy.cli.main import main
from leadpolicy.language import yamldoc

from .conftest import POLICIES


@pytest.mark.parametrize("command", [["test", "inbound-b2b.samples.yaml"], ["check", "inbound-b2b.policy"],
                                     ["test", "."]])
def test_each_yaml_file_is_parsed_once(command, tmp_path, monkeypatch, capsys):
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml"):
        shutil.copy(POLICIES / name, tmp_path / name)
    parsed: list[str] = []
    real = yamldoc._Loader.get_single_node

    def counting(loader):
        node = real(loader)
        parsed.append(str(node.start_mark.buffer[:40]) if node is not None else "")
        return node

    monkeypatch.setattr(yamldoc._Loader, "get_single_node", counting)
    monkeypatch.setattr(yamldoc, "_RECENT", {})  # nothing kept from an earlier test
    monkeypatch.chdir(tmp_path)
    code = main(command)
    out = capsys.readouterr().out
    assert code == 0, out
    assert len(parsed) == len(set(parsed)) == 1, parsed


def test_a_changed_file_is_read_again(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("policy: a.policy\n", "utf-8")
    first, _ = yamldoc.load_yaml(path, "bad-samples", "not a mapping")
    path.write_text("policy: b.policy\n", "utf-8")
    second, _ = yamldoc.load_yaml(path, "bad-samples", "not a mapping")
    path.write_text("- a list\n", "utf-8")
    third, diags = yamldoc.load_yaml(path, "bad-approvals", "not a mapping")
    assert first is not None and second is not None and third is None
    assert (first.data["policy"], second.data["policy"]) == ("a.policy", "b.policy")
    assert [(d.code, d.message) for d in diags] == [("bad-approvals", "not a mapping")]
