"""`leadpolicy score` on real exports and hostile files: columns, values as given, rejects, limits."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.warehouse.batch import BatchOptions, run
from leadpolicy.warehouse.lead_rows import BatchError

from .conftest import POLICIES
from .files import read_csv, write_csv

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY = leadpolicy.load(POLICIES / "inbound-b2b.policy")
ENGINES = ["duckdb", "python"]
BIG_DEMO = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "demo_requested": True}


def expected(lead: dict) -> dict:
    d = POLICY.evaluate(lead, NOW)
    return {**d.scores, **d.grades, "stage": d.stage, "owner": d.owner, "route": d.route}


@pytest.mark.parametrize("engine", ENGINES)
def test_headers_that_differ_only_in_case_are_matched(tmp_path, engine):
    source = tmp_path / "crm.csv"
    write_csv(source, ["Email", "EMPLOYEES", "Industry", "Demo_Requested"],
              [["ana@bigsoft.io", "1200", "software", "yes"]])
    result, out, _ = run(POLICY, BatchOptions(source=source, output=tmp_path / "out.csv", now=NOW, engine=engine))
    [row] = read_csv(out)
    assert result.scored == 1
    assert {k: row[k] for k in ("fit", "stage", "route")} == {"fit": str(expected(BIG_DEMO)["fit"]), "stage": "sql",
                                                            "route": "enterprise-ae"}
    assert list(row)[:4] == ["Email", "EMPLOYEES", "Industry", "Demo_Requested"]


def test_two_columns_that_fold_to_one_field_are_an_error(tmp_path, capsys):
    source = tmp_path / "crm.csv"
    write_csv(source, ["email", "Email"], [["a@b.io", "c@d.io"]])
    with pytest.raises(BatchError, match="columns 'email' and 'Email' both match field email"):
        run(POLICY, BatchOptions(source=source, output=tmp_path / "out.csv", now=NOW))
    assert main(["score", str(POLICIES / "inbound-b2b.policy"), str(source), "-o", str(tmp_path / "o.csv"),
                 "--now", NOW.isoformat()]) == 1
    assert "both match field email" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()


def test_missing_fields_and_misspelled_columns_are_said_and_strict_refuses(tmp_path, capsys):
    source = tmp_path / "crm.csv"
    write_csv(source, ["email", "employes", "crm_id"], [["a@b.io", "500", "X1"]])
    args = ["score", str(POLICIES / "inbound-b2b.policy"), str(source), "-o", str(tmp_path / "o.csv"),
            "--now", NOW.isoformat()]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "column 'employes' is not a field of the policy (did you mean \"employees\"?)" in err
    assert "field employees is not a column of the file" in err and "crm_id" not in err
    (tmp_path / "o.csv").unlink()
    assert main(args + ["--strict-columns"]) == 1
    assert "employes" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("engine", ENGINES)
def test_jsonl_values_stay_as_given_in_the_output(tmp_path, engine):
    source = tmp_path / "leads.jsonl"
    lead = {"crm_id": 17, "email": "ana@bigsoft.io", "vip": True, "employees": 1200, "score_hint": 1.5,
            "tags": ["a", "b"], "demo_requested": True, "industry": "software"}
    source.write_text(json.dumps(lead) + "\n")
    _, out, _ = run(POLICY, BatchOptions(source=source, output=tmp_path / "out.jsonl", now=NOW, engine=engine))
    row = json.loads(out.read_text())
    assert {k: row[k] for k in lead} == lead
    assert list(row)[:len(lead)] == list(lead)
    assert row["stage"] == "sql" and isinstance(row["fit"], int)


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_cells_stay_as_written(tmp_path, engine):
    source = tmp_path / "leads.csv"
    write_csv(source, ["crm_id", "email", "employees", "demo_requested"],
              [["007", " ana@bigsoft.io ", " 1200 ", "YES"]])
    _, out, _ = run(POLICY, BatchOptions(source=source, output=tmp_path / "out.csv", now=NOW, engine=engine))
    [row] = read_csv(out)
    assert {k: row[k] for k in ("crm_id", "email", "employees", "demo_requested")} == {
        "crm_id": "007", "email": " ana@bigsoft.io ", "employees": " 1200 ", "demo_requested": "YES"}


@pytest.mark.parametrize("engine", ENGINES)
def test_input_columns_named_like_computed_values_or_helpers_never_decide(tmp_path, engine, capsys):
    source = tmp_path / "leads.csv"
    header = ["email", "employees", "fit", "fit_grade", "stage", "owner", "route", "__lp_t1", "__lp_bad", "#0",
              "#row", "#t0"]
    rows = [["a@tiny.io", "10", "99", "A", "sql", "sales", "enterprise-ae", "5000", "false", "x@y.io", "1", "z"],
            ["", "10", "99", "A", "sql", "sales", "x", "5000", "false", "x@y.io", "1", "x@y.io"]]  # no email: rejected
    write_csv(source, header, rows)
    warnings: list[str] = []
    result, out, _ = run(POLICY, BatchOptions(source=source, output=tmp_path / "out.csv", now=NOW, engine=engine,
                                              on_warning=warnings.append))
    assert (result.read, result.scored, result.rejected) == (2, 1, 1)
    [row] = read_csv(out)
    assert {k: row[k] for k in ("fit", "fit_grade", "stage", "owner", "route")} == {
        "fit": "0", "fit_grade": "D", "stage": "nurture", "owner": "marketing", "route": ""}
    assert row["__lp_t1"] == "5000" and row["#0"] == "x@y.io"
    assert list(row).count("stage") == 1
    assert any("'fit_grade' is replaced in the output by the computed fit_grade" in w for w in warnings)


@pytest.mark.parametrize("engine", ENGINES)
def test_huge_numbers_never_lose_the_batch(tmp_path, engine):
    source = tmp_path / "leads.csv"
    write_csv(source, ["email", "email_clicks", "employees"],
              [["a@b.io", "1e19", "5"], ["c@d.io", "1e100000000", "5"], ["e@f.io", "3", "1e308"]])
    # in a child process with a generous timeout: the bug this guards against is a hang (1e100000000
    # made into a whole number of a hundred million digits), not a slow run
    argv = [sys.executable, "-m", "leadpolicy", "score", str(POLICIES / "inbound-b2b.policy"), str(source),
            "-o", str(tmp_path / "out.csv"), "--rejects", str(tmp_path / "rejects.csv"), "--engine", engine,
            "--now", NOW.isoformat()]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("leadpolicy score hung on huge numbers (no exit in 120 s)")
    assert done.returncode == 0, done.stderr
    rows, rejects = read_csv(tmp_path / "out.csv"), read_csv(tmp_path / "rejects.csv")
    assert (len(rows), len(rejects)) == (2, 1)  # rows in = rows out + rows rejected
    assert [r["engagement"] for r in rows] == ["25", "15"]  # 1e19 clicks: capped at 25 points
    assert rows[1]["fit"] == "30"
    assert [(r["row"], r["field"], r["value"]) for r in rejects] == [("2", "email_clicks", "1e100000000")]


def test_max_rejects_fails_the_run_but_writes_the_output(tmp_path, capsys):
    source = tmp_path / "leads.csv"
    write_csv(source, ["email"], [["a@b.io"], [""], [""]])
    args = ["score", str(POLICIES / "inbound-b2b.policy"), str(source), "-o", str(tmp_path / "o.csv"),
            "--now", NOW.isoformat()]
    assert main(args + ["--max-rejects", "2"]) == 0
    assert main(args + ["--max-rejects", "1"]) == 1
    assert "2 rejected rows, more than --max-rejects 1" in capsys.readouterr().err
    assert (tmp_path / "o.csv").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(args + ["--max-rejects", "many"])
    assert exit_info.value.code == 2


def test_rejects_never_overwrite_an_input_or_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "X.rejects.csv"
    write_csv(source, ["email"], [["a@b.io"], [""]])
    before = source.read_text()
    _, _, rejects = run(POLICY, BatchOptions(source=source, now=NOW))
    assert source.read_text() == before and rejects.resolve() == tmp_path / "X.rejects.rejects.csv"
    with pytest.raises(BatchError, match="same file"):
        run(POLICY, BatchOptions(source=source, output=tmp_path / "o.csv", now=NOW, rejects=source))
    with pytest.raises(BatchError, match="same file"):
        run(POLICY, BatchOptions(source=source, output=tmp_path / "o.csv", now=NOW, rejects=tmp_path / "o.csv"))
    with pytest.raises(BatchError, match="does not exist"):
        run(POLICY, BatchOptions(source=source, output=tmp_path / "nowhere" / "o.csv", now=NOW))


def test_score_and_sla_on_one_crm_export_write_different_rejects_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "crm.leads.csv", ["email"], [[""]])
    write_csv(tmp_path / "crm.events.csv", ["lead", "event", "at"], [["L1", "nope", "2026-11-01T00:00:00Z"]])
    policy = str(POLICIES / "inbound-b2b.policy")
    assert main(["score", policy, "crm.leads.csv", "--now", NOW.isoformat()]) == 0
    assert main(["sla", policy, "crm.events.csv", "--now", NOW.isoformat(), "--report-only"]) == 0
    assert (tmp_path / "crm.leads.rejects.csv").exists() and (tmp_path / "crm.events.rejects.csv").exists()
    assert main(["sla", policy, "crm.events.csv", "--rejects", "crm.events.csv"]) == 2


@pytest.mark.parametrize("command", [["explain", "POLICY", "--lead", "{}"],
                                     ["compile", "POLICY", "--target", "sql"], ["score", "POLICY", "x.csv"],
                                     ["sla", "POLICY", "x.csv"], ["diff", "POLICY", "POLICY"]])
def test_a_bad_now_is_bad_usage_for_every_command(command, capsys):
    args = [str(POLICIES / "inbound-b2b.policy") if a == "POLICY" else a for a in command]
    with pytest.raises(SystemExit) as exit_info:
        main(args + ["--now", "next tuesday"])
    assert exit_info.value.code == 2
    assert "'next tuesday' is not an ISO 8601 timestamp" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ENGINES)
def test_one_odd_jsonl_line_is_one_reject(tmp_path, engine):
    source = tmp_path / "leads.jsonl"
    long_title = "x" * 3_000_000
    source.write_bytes(b'{"email": "a@b.io"}\n{"email": "bad \xff byte"}\n\n'
                       + json.dumps({"email": "c@d.io", "job_title": long_title}).encode() + b"\n[1, 2]\n"
                       + b'{"email": "e@f.io"}\n')
    result, out, rejects = run(POLICY, BatchOptions(source=source, output=tmp_path / "out.jsonl", now=NOW,
                                                    engine=engine))
    assert (result.read, result.scored, result.rejected) == (5, 3, 2)
    assert sorted((r["row"], r["problem"].split(":")[0]) for r in result.rejects) == [
        (2, "unreadable line"), (5, "not a JSON object")]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["email"] for r in rows] == ["a@b.io", "c@d.io", "e@f.io"] and len(rows[1]["job_title"]) == 3_000_000


def test_staging_folders_of_killed_runs_are_swept(tmp_path, monkeypatch):
    import os
    import tempfile

    from leadpolicy.warehouse import staging

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / "leadpolicy-999999999-abc"  # no such process
    alive = tmp_path / f"leadpolicy-{os.getpid()}-def"
    other = tmp_path / "leadpolicy-notes"
    for folder in (dead, alive, other):
        folder.mkdir()
    db = staging.Staging()
    try:
        assert not dead.exists() and alive.exists() and other.exists()
        assert Path(db.folder.name).name.startswith(f"leadpolicy-{os.getpid()}-")
    finally:
        db.close()
    assert not Path(db.folder.name).exists()


def interruptible() -> None:
    """Ctrl-C as at a terminal: a command started in the background by a shell without job control (CI under
    `nohup ... &`) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt (rightly: nohup)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signal_name, code", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_a_terminated_score_run_leaves_no_staging_folder_or_partial_output(tmp_path, signal_name, code):
    """A cancelled CI job (SIGTERM), a closed terminal (SIGHUP) or Ctrl-C: the staged lead data is removed,
    and the exit code is the shell's 128 + the signal."""
    import os
    import signal
    import subprocess
    import sys

    source = tmp_path / "leads.csv"
    write_csv(source, ["email", "employees"], [[f"u{i}@x.io", str(i)] for i in range(300_000)])
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "leadpolicy", "score", str(POLICIES / "inbound-b2b.policy"),
                             str(source), "-o", str(tmp_path / "out.csv"), "--engine", "python", "--now",
                             NOW.isoformat()], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=interruptible)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "tmp").glob("leadpolicy-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list((tmp_path / "tmp").glob("leadpolicy-*")), "the run never staged"
    proc.send_signal(getattr(signal, signal_name))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code and b"interrupted" in err, err
    assert not list((tmp_path / "tmp").iterdir()) and not (tmp_path / "out.csv").exists()


def test_a_policy_without_sql_form_is_said_by_check_and_score(tmp_path, capsys):
    policy = tmp_path / "dated.policy"
    policy.write_text('policy "dated" version 1.0.0 {\n  title "T"\n  owner a "A"\n  owner b "B"\n  lead {\n'
                      '    email text required\n    seen timestamp\n  }\n  score s {\n'
                      '    +5 when seen >= 2026-11-01\n  }\n  stages {\n    rest otherwise owner a\n  }\n}\n')
    assert main(["check", str(policy), "--allow-untested"]) == 0
    out = capsys.readouterr().out
    assert "dated.policy:10:13: no-sql-form: warning: a timestamp compared with a date has no SQL form yet" in out
    source = tmp_path / "leads.csv"
    write_csv(source, ["email", "seen"], [["a@b.io", "2026-11-02T01:00:00+01:00"]])
    args = ["score", str(policy), str(source), "-o", str(tmp_path / "o.csv"), "--now", NOW.isoformat()]
    assert main(args) == 1
    assert "has no SQL form" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()
    assert main(args + ["--engine", "python"]) == 0
    assert read_csv(tmp_path / "o.csv")[0]["s"] == "5"


def test_a_decay_too_slow_for_sql_is_said_by_check_compile_and_score(tmp_path, capsys):
    policy = tmp_path / "slow.policy"
    policy.write_text('policy "slow" version 1.0.0 {\n  title "T"\n  owner a "A"\n  owner b "B"\n  lead {\n'
                      '    email text required\n    seen timestamp\n  }\n  score s {\n    +100 when seen is present\n'
                      '    decay 0.1% every 1 days since seen\n  }\n  stages {\n    rest otherwise owner a\n  }\n}\n')
    assert main(["check", str(policy), "--allow-untested"]) == 0
    assert "no-sql-form: warning: a decay of 0.1% needs more than 1000 exact factors" in capsys.readouterr().out
    assert main(["compile", str(policy), "--target", "sql", "--now", NOW.isoformat()]) == 1
    assert "more than a generated query carries" in capsys.readouterr().err
    source = tmp_path / "leads.csv"
    write_csv(source, ["email", "seen"], [["a@b.io", "2026-10-01T00:00:00Z"]])
    args = ["score", str(policy), str(source), "-o", str(tmp_path / "o.csv"), "--now", NOW.isoformat()]
    assert main(args) == 1 and "--engine python" in capsys.readouterr().err
    assert main(args + ["--engine", "python"]) == 0
    assert read_csv(tmp_path / "o.csv")[0]["s"] == "95"  # 100 x 0.999^50 = 95.1


def test_a_decay_that_fits_keeps_its_sql_small(tmp_path):
    from leadpolicy.warehouse.sqlgen import compile_sql

    from .engines import policy_from_text

    policy = policy_from_text('policy "p" version 1.0.0 {\n  owner a "A"\n  owner b "B"\n  lead {\n'
                              '    seen timestamp\n  }\n  score s {\n    +100 when seen is present\n'
                              '    decay 1% every 1 days since seen\n  }\n  stages {\n    rest otherwise owner a\n'
                              '  }\n}\n')
    assert len(compile_sql(policy.ir, "duckdb", "leads", NOW, pretty=False)) < 40_000


def test_typed_parquet_is_scored_in_file_order_without_a_sort(tmp_path):
    """Many small row groups read by several threads: the output (written without ORDER BY) still
    follows the file, and every decision equals the compiled evaluator's."""
    import duckdb

    src, out = tmp_path / "leads.parquet", tmp_path / "scored.parquet"
    duckdb.sql(
        "SELECT 'u' || i || (CASE WHEN i % 7 = 0 THEN '@gmail.com' ELSE '@acme.io' END) AS email, "
        "CAST(i % 3000 AS BIGINT) AS employees, i % 5 = 0 AS demo_requested, CAST(i % 11 AS DOUBLE) AS email_clicks, "
        "TIMESTAMPTZ '2026-11-20 17:00:00+00' - to_seconds(i * 37 % (200 * 86400)) AS last_activity "
        "FROM range(200000) t(i)").write_parquet(str(src), row_group_size=2048)
    result, _, _ = run(POLICY, BatchOptions(source=src, output=out, now=NOW, engine="duckdb"))
    assert (result.read, result.scored, result.rejected) == (200_000, 200_000, 0)
    rows = duckdb.sql(f"SELECT email, employees, demo_requested, email_clicks, epoch_us(last_activity), fit, "
                      f"engagement, stage FROM '{out}'").fetchall()
    assert [r[0] for r in rows] == [f"u{i}{'@gmail.com' if i % 7 == 0 else '@acme.io'}" for i in range(200_000)]
    for email, employees, demo, clicks, seen, fit, engagement, stage in rows[::997]:
        seen_at = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=seen)
        lead = {"email": email, "employees": employees, "demo_requested": demo, "email_clicks": clicks,
                "last_activity": seen_at.isoformat()}
        d = POLICY.evaluate(lead, NOW)
        assert (d.scores["fit"], d.scores["engagement"], d.stage) == (fit, engagement, stage), lead


def test_a_typed_parquet_column_decides_as_its_text_would(tmp_path):
    """Typed columns are used as they are; the same leads written as CSV text decide identically."""
    import duckdb

    src = tmp_path / "leads.parquet"
    duckdb.sql("SELECT * FROM (VALUES ('a@b.io', 12.5::DOUBLE, 300::DECIMAL(9,2), true, DATE '2026-01-01', "
               "TIMESTAMPTZ '2026-10-01 10:00:00+00'), ('c@d.io', 'nan'::DOUBLE, NULL, NULL, NULL, NULL)) "
               "t(email, email_clicks, employees, demo_requested, d, last_activity)").write_parquet(str(src))
    csv_src = tmp_path / "leads.csv"
    duckdb.sql(f"COPY (SELECT * FROM '{src}') TO '{csv_src}' (HEADER)")
    outs = []
    for path in (src, csv_src):
        out = tmp_path / f"out-{path.suffix[1:]}.jsonl"
        result, _, rejects = run(POLICY, BatchOptions(source=path, output=out, now=NOW, engine="duckdb"))
        assert (result.read, result.scored, result.rejected) == (2, 1, 1)
        outs.append([{k: row[k] for k in ("fit", "engagement", "stage")}
                     for row in map(json.loads, out.read_text().splitlines())])
        assert "email_clicks" in rejects.read_text()
    assert outs[0] == outs[1]
