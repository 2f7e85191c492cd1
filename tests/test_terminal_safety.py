"""Text that would act in a terminal or hide what it says (control characters, bidi and other invisible
format characters: Trojan Source) never reaches one raw: policies and case names holding them are refused,
and every line quoting a policy, a samples file or a file name shows them as U+FFFD."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import unicodedata

import pytest

from leadpolicy.language.diagnostics import printable
from leadpolicy.language.parser import parse_text
from leadpolicy.testing.harness import load_samples

from .conftest import POLICIES

# bidi embeddings and overrides, isolates, zero-width characters and marks, the Arabic letter mark,
# the byte order mark and the soft hyphen: every one is Unicode category Cf
INVISIBLE = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
             "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff", "\u00ad"]


def _unsafe(text: str) -> list[str]:
    return [ch for ch in text if ch not in "\t\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")]


def _leadpolicy(cwd, *argv: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "leadpolicy", *argv], cwd=cwd, capture_output=True, timeout=60)
    return done.returncode, (done.stdout + done.stderr).decode("utf-8", "surrogateescape")


def _policy_with(text: str) -> str:
    source = (POLICIES / "inbound-b2b.policy").read_text("utf-8")
    assert 'title "' in source
    return source.replace('title "', f'title "{text}', 1)


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_a_format_character_in_a_policy_text_is_refused(char):
    assert unicodedata.category(char) == "Cf"
    result = parse_text(_policy_with(f"admin{char}only"), "p.policy")
    found = [d for d in result.diagnostics if d.code == "control-character"]
    assert len(found) == 1 and f"U+{ord(char):04X}" in found[0].message and found[0].hint
    assert found[0].span.line == 5  # the title's line


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b"], ids=lambda c: f"U+{ord(c):04X}")
def test_a_format_character_in_a_comment_is_refused(char):
    source = (POLICIES / "inbound-b2b.policy").read_text("utf-8")
    result = parse_text(source + f"# checked {char}by sales\n", "p.policy")
    found = [d for d in result.diagnostics if d.code == "control-character"]
    assert len(found) == 1 and f"U+{ord(char):04X}" in found[0].message


def test_printable_shows_every_format_control_and_separator_character_as_one_replacement():
    line = "a\u202eb\u2066c\x1bd\u2028e\ufefff\ud800g"
    shown = printable(line)
    assert shown == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg"
    assert len(shown) == len(line)  # the caret below still points at the right column


def test_check_and_explain_show_no_format_character_of_a_refused_policy(tmp_path):
    (tmp_path / "p.policy").write_text(_policy_with("evil\u202e\u2066txt.exe"), "utf-8")
    (tmp_path / "lead.json").write_text('{"email": "a@b.io"}')
    for argv in (["check", "p.policy", "--allow-untested"], ["explain", "p.policy", "--lead", "lead.json"]):
        code, out = _leadpolicy(tmp_path, *argv)
        assert code == 1 and ": control-character: " in out, (argv, out)
        assert not _unsafe(out), (argv, out)


def test_fmt_diff_shows_no_format_character_of_the_lines_it_quotes(tmp_path):
    (tmp_path / "p.policy").write_text(_policy_with("evil\u202e\u2066txt.exe").replace('  title "', '  title   "'))
    code, out = _leadpolicy(tmp_path, "fmt", "p.policy", "--diff")
    assert code in (0, 1) and "title" in out, out
    assert not _unsafe(out), out


def _samples_named(tmp_path, name: str):
    for suffix in (".policy", ".samples.yaml"):
        shutil.copy(POLICIES / f"inbound-b2b{suffix}", tmp_path / f"p{suffix}")
    text = (tmp_path / "p.samples.yaml").read_text("utf-8").replace("inbound-b2b.policy", "p.policy")
    first = re.search(r"- name: (.*)", text).group(1)
    (tmp_path / "p.samples.yaml").write_text(text.replace(f"- name: {first}", f"- name: {name}", 1), "utf-8")
    return tmp_path / "p.samples.yaml"


@pytest.mark.parametrize("char", ["\u202e", "\u2067", "\u200b", "\ufeff"], ids=lambda c: f"U+{ord(c):04X}")
def test_a_samples_case_name_with_a_format_character_is_refused_and_shown_escaped(tmp_path, char):
    path = _samples_named(tmp_path, f'"approved{char}ruoy si"')
    doc, diags = load_samples(path)
    assert doc is None and [d.code for d in diags] == ["bad-samples"], diags
    assert f"U+{ord(char):04X}" in diags[0].message and diags[0].span.line > 1
    for argv in (["test", "p.samples.yaml"], ["check", "p.policy"]):
        code, out = _leadpolicy(tmp_path, *argv)
        assert code == 1 and "bad-samples" in out, (argv, out)
        assert not _unsafe(out), (argv, out)


HOSTILE_NAME = "x\x1b]0;PWN\x07\u202e\n.policy"


@pytest.mark.parametrize("argv", [["check", "--allow-untested"], ["fmt", "--check"], ["fmt", "--diff"], ["fmt"],
                                  ["ci", "--skip-approvals", "--skip-versions"]],
                         ids=["check", "fmt --check", "fmt --diff", "fmt", "ci"])
def test_file_names_are_printed_escaped(tmp_path, argv):
    source = (POLICIES / "inbound-b2b.policy").read_text("utf-8")
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / HOSTILE_NAME).write_text(source.replace('  title "', '  title   "').replace(
        "\n}", "\n  score extra {\n    +1 when nonsense > 1\n  }\n}", 1) if argv[0] != "fmt" else
        source.replace('  title "', '  title   "'), "utf-8")
    code, out = _leadpolicy(tmp_path, *argv, "pol")
    assert code in (0, 1) and "PWN" in out, out
    assert not _unsafe(out.replace("\n", "")), out
    assert "\\x1b]0;PWN\\x07\\u202e\\n.policy" in out, out


def test_escaped_spells_out_every_character_that_is_not_printable():
    from leadpolicy.language.diagnostics import escaped

    assert escaped("a\x1bb\u202ec\nd\udcffé") == "a\\x1bb\\u202ec\\nd\\udcffé"
