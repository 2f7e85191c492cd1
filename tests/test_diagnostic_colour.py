"""Diagnostics in colour on a terminal, as ruff and cargo print them; plain text everywhere else.

Colour is asked for by a terminal (or FORCE_COLOR) and refused by NO_COLOR; the coloured text is the plain
text with ANSI SGR sequences around the code, the severity, the caret and the hint, nothing else."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys

import pytest

from leadpolicy.language.diagnostics import colour_wanted, render, render_all
from leadpolicy.semantics.loading import load_policy_text

from .conftest import POLICIES

SGR = re.compile(r"\x1b\[[0-9;]*m")
TEXT = (POLICIES / "inbound-activity.policy").read_text("utf-8")
BROKEN = TEXT.replace("+15 when webinar_attended", "+15 when webinar_atended").replace(
    'title "Inbound leads, scored on activity"\n', "")


def _diagnostics():
    loaded = load_policy_text(BROKEN, "p.policy")
    assert {d.code for d in loaded.diagnostics} == {"unknown-event", "missing-title"}
    return loaded.diagnostics


def _styled(text: str) -> list[tuple[str, str]]:
    """(style codes, text) of each coloured run."""
    return re.findall(r"\x1b\[([0-9;]+)m(.*?)\x1b\[0m", text)


def test_plain_rendering_has_no_escape_codes():
    text = render_all(_diagnostics(), {"p.policy": BROKEN})
    assert "\x1b" not in text
    assert render_all(_diagnostics(), {"p.policy": BROKEN}, colour=False) == text


def test_coloured_rendering_is_the_plain_text_with_styles_on_code_severity_caret_and_hint():
    plain = render_all(_diagnostics(), {"p.policy": BROKEN})
    coloured = render_all(_diagnostics(), {"p.policy": BROKEN}, colour=True)
    assert SGR.sub("", coloured) == plain
    runs = dict((text, style) for style, text in _styled(coloured))
    assert "31" in runs["unknown-event"].split(";")  # an error's code in red
    assert "33" in runs["missing-title"].split(";")  # a warning's code in yellow
    assert "33" in runs["warning"].split(";")
    carets = [text for style, text in _styled(coloured) if set(text) == {"^"}]
    assert carets and all(len(c) > 0 for c in carets)
    assert "hint" in runs


def test_every_escape_sequence_is_closed_on_its_line():
    coloured = render_all(_diagnostics(), {"p.policy": BROKEN}, colour=True)
    for line in coloured.splitlines():
        opened = len(re.findall(r"\x1b\[[0-9;]*[1-9][0-9;]*m", line))
        assert opened == line.count("\x1b[0m"), line


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("tty", "env", "wanted"), [
    (True, {}, True), (False, {}, False),
    (True, {"NO_COLOR": "1"}, False), (False, {"FORCE_COLOR": "1"}, True),
    (True, {"NO_COLOR": ""}, True),  # an empty NO_COLOR is not set (no-color.org)
    (False, {"FORCE_COLOR": ""}, False),
    (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # the opt-out wins, as in Python's own tracebacks
    (True, {"TERM": "dumb"}, False),
])
def test_colour_is_wanted_on_a_terminal_unless_no_color_and_forced_by_force_color(monkeypatch, tty, env, wanted):
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert colour_wanted(_Stream(tty)) is wanted


def test_a_closed_or_odd_stream_is_not_a_terminal():
    closed = io.StringIO()
    closed.close()
    assert colour_wanted(closed) is False
    assert colour_wanted(object()) is False


def _check(tmp_path, env: dict[str, str], tty: bool) -> str:
    path = tmp_path / "p.policy"
    path.write_text(BROKEN, "utf-8")
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    argv = [sys.executable, "-m", "leadpolicy", "check", "--allow-untested", "p.policy"]
    if not tty:
        result = subprocess.run(argv, cwd=tmp_path, env={**clean, **env}, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 1, result.stderr
        return result.stdout
    primary, secondary = pty.openpty()
    with subprocess.Popen(argv, cwd=tmp_path, env={**clean, "TERM": "xterm", **env}, stdout=secondary,
                          stderr=subprocess.DEVNULL) as process:
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=120) == 1
    os.close(primary)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def _diagnostic_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "p.policy:" in line]


def test_check_on_a_terminal_is_coloured_and_reads_the_same(tmp_path):
    plain = _check(tmp_path, {}, tty=False)
    assert "\x1b" not in plain
    coloured = _check(tmp_path, {}, tty=True)
    assert SGR.search(coloured)
    assert _diagnostic_lines(SGR.sub("", coloured)) == _diagnostic_lines(plain)
    assert "unknown-event" in dict((t, s) for s, t in _styled(coloured))


def test_check_with_no_color_on_a_terminal_is_plain_and_force_color_colours_a_pipe(tmp_path):
    assert "\x1b" not in _check(tmp_path, {"NO_COLOR": "1"}, tty=True)
    forced = _check(tmp_path, {"FORCE_COLOR": "1"}, tty=False)
    assert SGR.search(forced)
    assert _diagnostic_lines(SGR.sub("", forced)) == _diagnostic_lines(_check(tmp_path, {}, tty=False))


def test_render_of_one_diagnostic_takes_colour_too():
    diag = _diagnostics()[0]
    assert SGR.sub("", render(diag, BROKEN, colour=True)) == render(diag, BROKEN)
