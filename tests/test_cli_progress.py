"""Long commands show a progress bar (rows/s, ETA) on a terminal, and only there: never when stderr is not a
terminal or with --quiet; with NO_COLOR, no ANSI escape at all (issue 24)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import tempfile

import pytest

from .conftest import POLICIES
from .files import write_csv

B2B = str(POLICIES / "inbound-b2b.policy")
ACTIVITY = str(POLICIES / "inbound-activity.policy")
NOW = "2026-11-20T12:00:00Z"
ROWS = 3000


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "LEADPOLICY_DEBUG", "FORCE_COLOR")}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "120", **extra}


def _run(argv: list[str], cwd, terminal: bool, **env: str) -> tuple[int, str, bytes]:
    """Exit code, standard output (a pipe) and standard error: a pseudo-terminal when `terminal`, else a pipe."""
    command = [sys.executable, "-m", "leadpolicy", *argv]
    if not terminal:
        done = subprocess.run(command, cwd=cwd, env=_env(**env), capture_output=True, timeout=300)
        return done.returncode, done.stdout.decode(), done.stderr
    main, child = pty.openpty()
    stdout = tempfile.TemporaryFile()  # not a pipe: a long report must not block the run while stderr is read
    process = subprocess.Popen(command, cwd=cwd, env=_env(**env), stdin=subprocess.DEVNULL, stdout=stdout,
                               stderr=child)
    os.close(child)
    err = b""
    while True:
        ready, _, _ = select.select([main], [], [], 300)
        if not ready:
            process.kill()
            pytest.fail("no output for 300 s")
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        err += chunk
    code = process.wait(timeout=60)
    os.close(main)
    stdout.seek(0)
    out = stdout.read().decode()
    stdout.close()
    return code, out, err


@pytest.fixture
def leads(tmp_path):
    rows = [[f"L{i}", f"l{i}@corp.io", str(i % 400), "software", "webinar"] for i in range(1, ROWS + 1)]
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry", "source"], rows)
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], [["L2", "closed_won", "2026-11-10T00:00:00Z"]])
    return tmp_path


def _has_progress(err: bytes) -> bool:
    text = err.decode("utf-8", "replace")
    return "rows/s" in text and f"{ROWS:,}" in text


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_shows_progress_on_a_terminal_only(leads, engine):
    argv = ["score", B2B, "leads.csv", "-o", "out.csv", "--now", NOW, "--engine", engine]
    code, out, err = _run(argv, leads, terminal=True)
    assert code == 0, err
    assert _has_progress(err), err
    assert f"read {ROWS}, scored {ROWS}, rejected 0" in out
    code, out, err = _run(argv, leads, terminal=False)
    assert code == 0 and f"read {ROWS}, scored {ROWS}" in out
    lines = err.decode().splitlines()  # nothing but what the run has to say: its warnings (fields not in the file)
    assert lines and all(line.startswith("leadpolicy score: warning: ") for line in lines), err
    assert b"\x1b" not in err and b"\r" not in err


def test_quiet_silences_the_progress_bar_on_a_terminal(leads):
    code, out, err = _run(["score", B2B, "leads.csv", "-o", "out.csv", "--now", NOW, "--engine", "python", "--quiet"],
                          leads, terminal=True)
    assert code == 0
    assert not _has_progress(err) and b"\x1b" not in err, err
    assert f"read {ROWS}, scored {ROWS}" in out


def test_no_color_gives_progress_without_any_ansi_escape(leads):
    code, out, err = _run(["score", B2B, "leads.csv", "-o", "out.csv", "--now", NOW, "--engine", "python"],
                          leads, terminal=True, NO_COLOR="1")
    assert code == 0, err
    assert _has_progress(err), err
    assert b"\x1b" not in err


@pytest.mark.parametrize("command", ["feedback", "backtest"])
def test_feedback_and_backtest_show_progress_and_quiet_silences_it(leads, command):
    policies = [ACTIVITY] if command == "feedback" else [ACTIVITY, ACTIVITY]
    argv = [command, *policies, "--leads", "leads.csv", "--events", "events.csv", "--as-of", "2026-11-01",
            "--now", NOW, "--format", "json", "--engine", "python"]
    code, out, err = _run(argv, leads, terminal=True)
    assert code == 0, err
    assert _has_progress(err), err
    code, out, err = _run([*argv, "--quiet"], leads, terminal=True)
    assert code == 0 and not _has_progress(err) and b"\x1b" not in err, err
    assert '"leads_read": 3000' in out


def test_docs_build_shows_progress_on_a_terminal_only(tmp_path):
    argv = ["docs", B2B, "-o", "site-src", "--build"]
    code, out, err = _run(argv, tmp_path, terminal=True)
    assert code == 0, err
    text = err.decode("utf-8", "replace")
    assert "building site-src/site" in text and "pages/s" in text, text
    assert "built site-src/site/index.html" in out
    code, out, err = _run([*argv, "--quiet"], tmp_path, terminal=True)
    assert code == 0 and "pages/s" not in err.decode("utf-8", "replace") and b"\x1b" not in err, err


def test_diff_leads_shows_progress_and_quiet_silences_it(leads):
    argv = ["diff", B2B, B2B, "--leads", "leads.csv", "--now", NOW, "--engine", "python", "--format", "json"]
    code, out, err = _run(argv, leads, terminal=True)
    assert code == 0, err
    assert _has_progress(err), err
    code, out, err = _run([*argv, "--quiet"], leads, terminal=True)
    assert code == 0 and not _has_progress(err) and b"\x1b" not in err, err


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_sla_shows_progress_and_quiet_silences_it(tmp_path, engine):
    rows = [[f"L{i}", "handed_off", "2026-11-10T15:00:00Z"] for i in range(1, ROWS + 1)]
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], rows)
    argv = ["sla", ACTIVITY, "events.csv", "--now", NOW, "--engine", engine, "--format", "json", "--report-only"]
    code, out, err = _run(argv, tmp_path, terminal=True)
    assert code == 0, err
    assert _has_progress(err), err
    code, out, err = _run([*argv, "--quiet"], tmp_path, terminal=True)
    assert code == 0 and not _has_progress(err) and b"\x1b" not in err, err


def _visible_lines(err: bytes) -> list[str]:
    """What the terminal shows, line by line and redraw by redraw: ANSI escapes left out."""
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err.decode("utf-8", "replace"))
    return [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]


@pytest.mark.parametrize("no_color", ["", "1"])
def test_the_bar_fits_an_80_column_terminal_on_one_line(tmp_path, no_color):
    name = "crm-export-of-all-inbound-leads-from-the-last-quarter-2026-11-30.csv"
    rows = [[f"L{i}", f"l{i}@corp.io", str(i % 400), "software", "webinar"] for i in range(1, 200_001)]
    write_csv(tmp_path / name, ["id", "email", "employees", "industry", "source"], rows)
    # 200,000 rows for the widest count the bar shows (200,000/200,000); DuckDB scores them in a tenth of the
    # Python engine's time and draws the same bar (the same description, columns and final redraw)
    code, _, err = _run(["score", B2B, name, "-o", "out.csv", "--now", NOW, "--engine", "duckdb"], tmp_path,
                        terminal=True, COLUMNS="80", NO_COLOR=no_color)
    assert code == 0, err
    bars = [line for line in _visible_lines(err) if "rows/s" in line]
    assert bars, err
    assert all(len(line.rstrip()) <= 80 for line in bars), bars
    assert all(line.startswith("scoring ") and " rows " in line for line in bars), bars  # never wrapped
    assert "200,000/200,000 rows" in bars[-1], bars[-1]


def test_the_feedback_bar_counts_every_row_read(tmp_path):
    rows = [[f"L{i}", f"l{i}@corp.io", "50", "software", "webinar"] for i in range(1, ROWS + 1)]
    rows += [["L1", "again@corp.io", "50", "software", "webinar"]] * 12  # a repeated id: rejected, still read
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry", "source"], rows)
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], [["L2", "closed_won", "2026-11-10T00:00:00Z"]])
    code, _, err = _run(["feedback", ACTIVITY, "--leads", "leads.csv", "--events", "events.csv", "--as-of",
                         "2026-11-01", "--now", NOW, "--engine", "python"], tmp_path, terminal=True, NO_COLOR="1")
    assert code == 0, err
    last = [line for line in _visible_lines(err) if "rows/s" in line][-1]
    assert f"{ROWS + 12:,}/{ROWS + 12:,} rows" in last, last


@pytest.mark.parametrize(("speed", "shown"), [(0.4, "0"), (98_765.4, "98,765"), (999_999.4, "999,999"),
                                              (999_999.6, "1.0M"), (1_081_314, "1.1M"), (12_345_678, "12.3M")])
def test_a_rate_is_said_in_few_characters(speed, shown):
    from leadpolicy.cli.progress import rate_text

    assert rate_text(speed) == shown
