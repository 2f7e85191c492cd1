"""A data file is a regular file or a pipe: a device such as /dev/zero never ends, and copying it to read it
more than once would fill the disk, so it is refused before anything is read or copied (bad usage, exit 2)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

ACTIVITY = str(POLICIES / "inbound-activity.policy")
B2B = str(POLICIES / "inbound-b2b.policy")
NOW = ["--now", "2026-11-20T12:00:00Z"]
LEADS = "id,email,company_size,country\nl1,a@corp.io,50,US\n"
EVENTS = "lead,event,at\nl1,demo_request,2026-11-19T10:00:00Z\n"

COMMANDS = {
    "score --leads": ["score", B2B, "{dev}.csv", "-o", "{tmp}/out.csv", *NOW],
    "score --events": ["score", ACTIVITY, "{tmp}/leads.csv", "--events", "{dev}.csv", "--id-column", "id",
                       "-o", "{tmp}/out.csv", *NOW],
    "sla events": ["sla", ACTIVITY, "{dev}.csv", "--rejects", "{tmp}/r.csv", *NOW],
    "sla events (json lines)": ["sla", ACTIVITY, "{dev}.jsonl", "--rejects", "{tmp}/r.csv", *NOW],
    "sla --leads": ["sla", ACTIVITY, "{tmp}/events.csv", "--leads", "{dev}.csv", "--rejects", "{tmp}/r.csv", *NOW],
    "diff --events": ["diff", ACTIVITY, ACTIVITY, "--leads", "{tmp}/leads.csv", "--events", "{dev}.csv",
                      "--id-column", "id", "--rejects", "{tmp}/r.csv", "--events-rejects", "{tmp}/er.csv", *NOW],
    "explain --events": ["explain", ACTIVITY, "--lead", '{"email": "a@corp.io"}', "--events", "{dev}.csv", *NOW],
    "explain --events (json lines)": ["explain", ACTIVITY, "--lead", '{"email": "a@corp.io"}', "--events",
                                      "{dev}.jsonl", *NOW],
}


@pytest.fixture
def no_copy(monkeypatch):
    """Copying a device's bytes is the bug: fail at once instead of filling the disk."""
    def refuse(*args, **kwargs):
        raise AssertionError("a device was copied")
    monkeypatch.setattr("leadpolicy.warehouse.staging.shutil.copyfileobj", refuse)


def _files(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text(LEADS, "utf-8")
    (tmp_path / "events.csv").write_text(EVENTS, "utf-8")


CASES = [(command, how) for command in COMMANDS for how in ("link", "dev")
         if how == "link" or command not in ("explain --events", "explain --events (json lines)", "sla --leads")]
# (explain reads a file of rows, and sla its --leads file, by the extension: only a link to a device names one)


@pytest.mark.parametrize(("command", "how"), CASES)
def test_a_device_as_a_data_file_is_refused_before_it_is_read(tmp_path, capsys, no_copy, command, how):
    _files(tmp_path)
    for ext in (".csv", ".jsonl"):
        os.symlink("/dev/zero", tmp_path / f"zero{ext}")
    dev = str(tmp_path / "zero") if how == "link" else "/dev/zero"
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{dev}", dev) for a in COMMANDS[command]]
    if how == "dev":  # a device named as it is: its format is given by flag
        if "--events" in argv or command.startswith("sla events"):
            argv = [a.replace("/dev/zero.csv", "/dev/zero").replace("/dev/zero.jsonl", "/dev/zero") for a in argv]
            argv += ["--events-format", "csv"]
        else:
            argv = [a.replace("/dev/zero.csv", "/dev/zero") for a in argv] + ["--leads-format", "csv"]
    code = main(argv)
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert code == 2, said
    assert "device" in said and "regular file or a pipe" in said, said
    assert "internal error" not in said


def test_a_pipe_is_still_read_as_data(tmp_path, capsys):
    _files(tmp_path)
    os.mkfifo(tmp_path / "pipe.csv")

    def feed() -> None:
        with open(tmp_path / "pipe.csv", "w", encoding="utf-8") as pipe:
            pipe.write(EVENTS)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code = main(["sla", ACTIVITY, str(tmp_path / "pipe.csv"), "--format", "json", "--rejects",
                 str(tmp_path / "r.csv"), *NOW])
    writer.join(5)
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    assert "device" not in captured.err
    assert json.loads(captured.out)["rows"]["read"] == 1, captured.out
