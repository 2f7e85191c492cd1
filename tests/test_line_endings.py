"""A policy saved with old Mac line endings (CR alone) reads as one with LF or CRLF: the same policy, the
same diagnostics at the same lines (it was reported as an empty file, its first comment running to the end)."""

from __future__ import annotations

import pytest

from leadpolicy.cli.main import main
from leadpolicy.semantics.loading import load_policy_text

from .conftest import POLICIES

TEXT = (POLICIES / "inbound-activity.policy").read_text("utf-8")


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_a_policy_with_other_line_endings_reads_as_with_lf(ending):
    lf = load_policy_text(TEXT, "p.policy")
    other = load_policy_text(TEXT.replace("\n", ending), "p.policy")
    assert other.policy is not None and lf.policy is not None, other.diagnostics
    assert other.policy.id == lf.policy.id and len(other.policy.items) == len(lf.policy.items)
    assert [(d.code, d.span.line) for d in other.diagnostics] == [(d.code, d.span.line) for d in lf.diagnostics]


def _check(path, text: str, ending: str, capsys) -> tuple[int, str]:
    path.write_bytes(text.replace("\n", ending).encode("utf-8"))
    code = main(["check", "--allow-untested", str(path)])
    first = capsys.readouterr().out.splitlines()[0]
    return code, first


def test_a_mistake_in_a_cr_policy_is_reported_at_its_line(tmp_path, capsys):
    broken = TEXT.replace("clamp 0 to 100", "clamp 0 to", 1)
    lf = _check(tmp_path / "p.policy", broken, "\n", capsys)
    cr = _check(tmp_path / "p.policy", broken, "\r", capsys)
    assert lf[0] == 1 and "syntax-error" in lf[1]
    assert cr == lf
