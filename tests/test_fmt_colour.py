"""`leadpolicy fmt -` (for editors) prints a policy's syntax error on stderr with the renderer check uses:
in colour when stderr is a terminal, plain with NO_COLOR or in a pipe, the same text either way."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

SGR = re.compile(r"\x1b\[[0-9;]*m")
BROKEN = 'policy "p" version 1.0.0 {\n  title "P"\n  score s {\n    +10 whem x > 1\n  }\n}\n'


def _env(extra: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    return {**clean, "TERM": "xterm", **extra}


def _fmt_stdin(tmp_path, extra: dict[str, str], tty: bool) -> tuple[str, str]:
    """(stdout, stderr) of `leadpolicy fmt -` given BROKEN; stderr on a pseudo-terminal when `tty`."""
    argv = [sys.executable, "-m", "leadpolicy", "fmt", "-"]
    if not tty:
        result = subprocess.run(argv, cwd=tmp_path, env=_env(extra), input=BROKEN, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 1
        return result.stdout, result.stderr
    primary, secondary = pty.openpty()
    with subprocess.Popen(argv, cwd=tmp_path, env=_env(extra), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=secondary) as process:
        os.close(secondary)
        out, _ = process.communicate(BROKEN.encode("utf-8"), timeout=120)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.returncode == 1
    os.close(primary)
    return out.decode("utf-8"), b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def _styles(text: str) -> dict[str, str]:
    """Each coloured run's text -> its SGR codes."""
    return {run: style for style, run in re.findall(r"\x1b\[([0-9;]+)m(.*?)\x1b\[0m", text)}


def test_a_syntax_error_on_a_terminal_is_coloured_as_check_colours_it(tmp_path):
    out, coloured = _fmt_stdin(tmp_path, {}, tty=True)
    _, plain = _fmt_stdin(tmp_path, {}, tty=False)
    assert out == ""
    assert "\x1b" not in plain and plain.startswith("<stdin>:4:")
    assert SGR.sub("", coloured).strip() == plain.strip()
    styles = _styles(coloured)
    assert "31" in styles["syntax-error"].split(";")  # an error's code in red, as check prints it
    assert "1" in styles[next(run for run in styles if run.startswith("<stdin>:4:"))].split(";")
    assert any(set(run) == {"^"} for run in styles)
    assert "hint" in styles


def test_no_color_on_a_terminal_is_plain(tmp_path):
    _, text = _fmt_stdin(tmp_path, {"NO_COLOR": "1"}, tty=True)
    assert "\x1b" not in text and "syntax-error" in text


def test_force_color_colours_a_pipe(tmp_path):
    _, text = _fmt_stdin(tmp_path, {"FORCE_COLOR": "1"}, tty=False)
    assert SGR.search(text) and "syntax-error" in _styles(text)
