"""Files commands write: never over one of their inputs or over each other, checked before any work."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import write_csv

AS_OF, NOW = "2026-11-01T00:00:00-04:00", "2026-11-30T12:00:00-05:00"
LEADS = [("1", "a@bigsoft.io", 1500, "software", "webinar"), ("2", "b@shop.fr", 20, "retail", "paid_search")]
EVENTS = [("1", "became_sql", "2026-11-02T10:00:00-05:00", ""),
          ("1", "first_touch", "2026-11-02T11:00:00-05:00", ""),
          ("2", "closed_lost", "2026-11-10T10:00:00-05:00", ""),
          ("2", "no_such_event", "2026-11-10T10:00:00-05:00", "")]  # one rejected row
DATA = ["--leads", "leads.csv", "--events", "events.csv", "--as-of", AS_OF, "--now", NOW]
SCORE = ["score", "p.policy", "leads.csv", "--events", "events.csv", "--now", NOW]
SLA = ["sla", "p.policy", "events.csv", "--now", NOW, "--report-only"]
CI = ["ci", "p.policy", "--skip-fmt", "--skip-approvals", "--skip-versions"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A folder with a policy, its samples, leads and events, as a user has them."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(POLICIES / "inbound-activity.policy", tmp_path / "p.policy")
    shutil.copy(POLICIES / "inbound-activity.samples.yaml", tmp_path / "p.samples.yaml")
    shutil.copy(POLICIES / "inbound-activity.policy", tmp_path / "new.policy")
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry", "source"], LEADS)
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], EVENTS)
    os.link(tmp_path / "leads.csv", tmp_path / "hard-link-to-leads.csv")
    os.symlink("p.policy", tmp_path / "link-to-policy.policy")
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry of the folder: a file's bytes, a link's target."""
    return {p.name: os.readlink(p) if p.is_symlink() else p.read_bytes() for p in sorted(folder.iterdir())}


# Each: the command and the output flag naming one of its inputs (or an output named twice).
CLASHES = [
    ("feedback -o leads", ["feedback", "p.policy", *DATA, "-o", "leads.csv"]),
    ("feedback -o events", ["feedback", "p.policy", *DATA, "-o", "events.csv"]),
    ("feedback -o policy", ["feedback", "p.policy", *DATA, "-o", "p.policy"]),
    ("feedback -o the leads by a hard link", ["feedback", "p.policy", *DATA, "-o", "hard-link-to-leads.csv"]),
    ("backtest -o NEW", ["backtest", "p.policy", "new.policy", *DATA, "-o", "new.policy"]),
    ("backtest -o OLD through a symlink", ["backtest", "p.policy", "new.policy", *DATA, "-o",
                                          "link-to-policy.policy"]),
    ("sla --details policy", [*SLA, "--details", "p.policy"]),
    ("sla --rejects policy", [*SLA, "--rejects", "p.policy"]),
    ("sla --details leads", [*SLA, "--leads", "leads.csv", "--details", "leads.csv"]),
    ("sla --details and --rejects one file", [*SLA, "--details", "out.csv", "--rejects", "out.csv"]),
    ("score --rejects policy", [*SCORE, "--rejects", "p.policy"]),
    ("score --events-rejects policy", [*SCORE, "--events-rejects", "p.policy"]),
    ("score -o leads by a hard link", [*SCORE, "-o", "hard-link-to-leads.csv"]),
    ("score --rejects and --events-rejects one file", [*SCORE, "--rejects", "r.csv", "--events-rejects", "r.csv"]),
    ("test --junit policy", ["test", "p.policy", "--junit", "p.policy"]),
    ("test --junit samples", ["test", "p.policy", "--junit", "p.samples.yaml"]),
    ("ci --sarif policy", [*CI, "--sarif", "p.policy"]),
    ("ci --sarif samples", [*CI, "--sarif", "p.samples.yaml"]),
    ("compile -o policy", ["compile", "p.policy", "-o", "p.policy"]),
    ("compile -o policy through a symlink", ["compile", "link-to-policy.policy", "-o", "p.policy"]),
]


@pytest.mark.parametrize("argv", [argv for _, argv in CLASHES], ids=[name for name, _ in CLASHES])
def test_no_command_writes_over_its_inputs(argv, folder, capsys):
    before = snapshot(folder)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "would be the same file as" in err, err
    assert snapshot(folder) == before  # byte for byte, and nothing written beside them
