"""User input never yields exit 3: every hostile input an audit found, one row each, run as a user
would run the command. A row names its files (written into a fresh folder), the arguments, the
exit codes that are right for it (1: problems found in the input, 2: bad usage) and a fragment the
message must contain, so a row fails both on a traceback and on a vague error."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES


@dataclass(frozen=True)
class Row:
    name: str
    argv: list[str]  # "{tmp}" is the row's folder, "{policies}" the repository's policies/
    expect: frozenset[int]
    says: str  # a fragment of what the user is told (stdout or stderr), compared ignoring case
    files: dict[str, str | bytes] = field(default_factory=dict)
    in_process: bool = True  # False: run `python -m leadpolicy` (for commands that start servers)


def _row(name: str, argv: str | list[str], expect: int | tuple[int, ...], says: str,
         files: dict[str, str | bytes] | None = None, in_process: bool = True) -> Row:
    codes = frozenset((expect,) if isinstance(expect, int) else expect)
    return Row(name, argv.split() if isinstance(argv, str) else argv, codes, says, files or {}, in_process)


def _output_rows() -> list[Row]:
    """Output paths that cannot be written: refused with exit 2 before any work, saying where and why."""
    b2b, activity, now = "{policies}/inbound-b2b.policy", "{policies}/inbound-activity.policy", "2026-11-20T12:00:00Z"
    data = {"leads.csv": "id,email,employees\nL1,a@b.com,5\nL2,,lots\n", "sub/keep.txt": "", "out.csv": "kept\n",
            "events.csv": "lead,event,at\nL1,email_click,2026-11-02T10:00:00Z\nL1,nope,2026-11-02T10:00:00Z\n"}
    score = f"score {b2b} leads.csv --now {now}"
    feedback = f"feedback {activity} --leads leads.csv --events events.csv --as-of 2026-11-01 --now {now}"
    sla = f"sla {activity} events.csv --now {now}"
    ci = f"ci {b2b} --skip-fmt --skip-approvals --skip-versions"
    folder, missing, proc = "is a folder", "does not exist", "cannot be written"
    rows = [  # name, arguments, what the user is told
        ("score --rejects DIR", f"{score} -o out.csv --rejects sub", folder),
        ("score --rejects /proc/version", f"{score} -o out.csv --rejects /proc/version", proc),
        ("score --rejects in a folder that does not exist", f"{score} -o out.csv --rejects nowhere/r.csv", missing),
        ("score --rejects in an unwritable folder", f"{score} -o out.csv --rejects /proc/r.csv", proc),
        ("score -o DIR", f"{score} -o sub", folder),
        ("score -o in a folder that does not exist", f"{score} -o nowhere/x.csv", missing),
        ("score --events-rejects DIR", f"score {activity} leads.csv --events events.csv -o out.csv --now {now} "
                                       "--events-rejects sub", folder),
        ("feedback -o DIR", f"{feedback} -o sub", folder),
        ("feedback -o /proc/version", f"{feedback} -o /proc/version", proc),
        ("feedback -o in a folder that does not exist", f"{feedback} -o nowhere/report.txt", missing),
        ("feedback -o in an unwritable folder", f"{feedback} -o /proc/report.txt", proc),
        ("feedback --rejects-folder unwritable", f"{feedback} --rejects-folder /proc", proc),
        ("backtest -o DIR", f"backtest {activity} {activity} --leads leads.csv --events events.csv "
                            f"--as-of 2026-11-01 -o sub", folder),
        ("sla --rejects DIR", f"{sla} --rejects sub", folder),
        ("sla --rejects /proc/version", f"{sla} --rejects /proc/version", proc),
        ("sla --details in a folder that does not exist", f"{sla} --details nowhere/d.csv", missing),
        ("sla --details in an unwritable folder", f"{sla} --details /proc/d.csv", proc),
        ("test --junit DIR", f"test {b2b} --junit sub", folder),
        ("test --junit in a folder that does not exist", f"test {b2b} --junit nowhere/j.xml", missing),
        ("test --junit in an unwritable folder", f"test {b2b} --junit /proc/j.xml", proc),
        ("ci --sarif DIR", f"{ci} --sarif sub", folder),
        ("ci --sarif /proc/version", f"{ci} --sarif /proc/version", proc),
        ("compile -o DIR", f"compile {b2b} -o sub", folder),
        ("compile -o /proc/version", f"compile {b2b} -o /proc/version", proc),
        ("compile -o in a folder that cannot be made", f"compile {b2b} -o /proc/nowhere/x.json", missing),
        ("docs -o FILE", f"docs {b2b} -o out.csv", "is not a folder"),
        ("docs -o in an unwritable folder", f"docs {b2b} -o /proc/docs", "cannot make the folder"),
    ]
    refused = [_row(name, argv, 2, says, data) for name, argv, says in rows]
    full, space = "/dev/full", "write failed: no space left"  # a device that refuses every write (ENOSPC)
    failed = [  # writes that fail on the way: a problem of the run (exit 1), said plainly
        ("score -o a full device", f"{score} -o {full} --rejects r.csv"),
        ("score --rejects a full device", f"{score} -o out.csv --rejects {full}"),
        ("test --junit a full device", f"test {b2b} --junit {full}"),
        ("ci --sarif a full device", f"{ci} --sarif {full}"),
        ("compile -o a full device", f"compile {b2b} -o {full}"),
        ("feedback -o a full device", f"{feedback} --by id -o {full} --rejects-folder sub"),
    ]
    site = {**data, "site/docs/index.md/keep.txt": ""}
    return refused + [_row(name, argv, 1, space, data) for name, argv in failed] + [
        _row("score -o of no known format", f"{score} -o out.txt", 2, "cannot tell the format", data),
        _row("score -o a folder name that does not exist yet", f"{score} -o newname/", 2, "cannot tell the format",
             data),
        _row("score -o a name that is not UTF-8", [*score.split(), "-o", os.fsdecode(b"out-\xff.csv")], 2,
             "not UTF-8", data),
        _row("docs -o a site with a folder at a page", f"docs {b2b} -o site", 2, "a folder where a page", site),
        _row("docs of a policy that does not exist", "docs missing.policy -o site2", 1, "nothing written", data),
        _row("compile of a policy with errors into a new folder", "compile bad.policy -o nd/sub/x.json", 1,
             "bad.policy:1:", {"bad.policy": "policy {\n"}),
    ]


# Each area keeps its own list, so the rows of one area can be edited without touching another's.
ACTIVITY = "{policies}/inbound-activity.policy"
B2B = "{policies}/inbound-b2b.policy"
NOW = "--now 2026-11-20T12:00:00Z"
RANGE = "years 1900 to 9899"  # what a value outside the supported range is told


def _log(at: str, event: str = "became_mql") -> dict[str, str | bytes]:
    """An event log whose second row is `event` at `at`, a leads file, and an empty leads file for score."""
    return {"e.csv": f"lead,event,at,reason\nL1,handed_off,2026-11-02T10:00:00-05:00,\nL1,{event},{at},\n",
            "leads.csv": "id,email,employees\nL1,a@b.com,5\n"}


def _time_rows() -> list[Row]:
    rows = []
    for at in ("0001-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59", "0001-01-01"):
        for engine in ("python", "duckdb"):
            rows.append(_row(f"sla --engine {engine}: event at {at}", f"sla {ACTIVITY} e.csv {NOW} --engine {engine}",
                             1, RANGE, _log(at)))
            rows.append(_row(f"score --engine {engine}: event at {at}",
                             f"score {ACTIVITY} leads.csv --events e.csv -o out.csv {NOW} --engine {engine}",
                             0, RANGE, _log(at, "email_click")))
            rows.append(_row(f"feedback --engine {engine}: event at {at}",
                             f"feedback {ACTIVITY} --leads leads.csv --events e.csv --as-of 2026-11-01 {NOW} "
                             f"--engine {engine} --by id", (0, 1), "used 1, rejected 1", _log(at, "email_click")))
            rows.append(_row(f"score --engine {engine}: lead timestamp {at}",
                             f"score {B2B} b2b.csv -o out.csv {NOW} --engine {engine}", 0, RANGE,
                             {"b2b.csv": f"id,email,last_activity\nL1,a@b.com,{at}\n"}))
        rows.append(_row(f"sla --open: event at {at}", f"sla {ACTIVITY} e.csv {NOW} --open", (0, 1), RANGE,
                         _log(at)))
    lead = '{"email": "a@b.com"}'
    # flags argparse refuses exit through SystemExit: those rows run as a process, as a user runs them
    for command in ("explain", "score"):
        for now in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59", "0000-01-01T00:00:00Z"):
            argv = [command, B2B, "--lead", lead] if command == "explain" else [command, B2B, "leads.csv"]
            rows.append(_row(f"{command} --now {now}", [*argv, "--now", now], 2, RANGE,
                             {"leads.csv": "id,email\nL1,a@b.com\n"}, in_process=False))
    for now in ("9999-12-31T23:59:59", "0001-01-01T00:00:00Z"):
        rows.append(_row(f"sla --now {now}", f"sla {ACTIVITY} e.csv --now {now}", 2, RANGE, _log("2026-11-02"),
                         in_process=False))
        rows.append(_row(f"feedback --now {now}", f"feedback {ACTIVITY} --leads leads.csv --events e.csv "
                         f"--as-of 2026-11-01 --now {now}", 2, RANGE, _log("2026-11-02"), in_process=False))
        rows.append(_row(f"backtest --now {now}", f"backtest {ACTIVITY} {ACTIVITY} --leads leads.csv --events e.csv "
                         f"--as-of 2026-11-01 --now {now}", 2, RANGE, _log("2026-11-02"), in_process=False))
    samples = "policy: p.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n  - name: odd\n    lead: {{email: a@b.com}}\n" \
              "    events:\n      - {{event: email_click, at: {at}}}\n    expect: {{stage: nurture}}\n"
    for at in ("2026-11-02T24:00:00", "2026-11-02T10:00:00+25:00"):  # YAML's own timestamps, unquoted
        rows.append(_row(f"test: samples event at unquoted {at}", "test p.policy", 1, at,
                         {"p.policy": (POLICIES / "inbound-activity.policy").read_text("utf-8"),
                          "p.samples.yaml": samples.format(at=at)}))
    for since in ("0001-01-01", "9999-12-31", "1900-01-01"):
        rows.append(_row(f"compile --sla --since {since}", f"compile {ACTIVITY} --target sql --sla speed_to_lead "
                         f"--events-table ev {NOW} --since {since}", 2, "--since", in_process=False))
    # the SQL engine's calendar tables hold a row per day from the log's first event to --now
    rows.append(_row("sla --engine duckdb: --now 574 years after the log", f"sla {ACTIVITY} e.csv --now "
                     "2600-01-01T00:00:00Z --engine duckdb", 2, "--engine python", _log("2026-11-02")))
    return rows


TIME_ROWS: list[Row] = _time_rows()
OUTPUT_ROWS: list[Row] = _output_rows()
# serve rows run as a process: a row the service wrongly accepts would start a server (and time out)
SERVICE_ROWS: list[Row] = [
    _row("serve --decision-log in a missing folder", "serve {policies} --decision-log /nonexistent/x", 2,
         "--decision-log", in_process=False),
    _row("serve --decision-log a folder", "serve {policies} --decision-log {tmp}", 2, "--decision-log",
         in_process=False),
    _row("serve --host 999.1.1.1", "serve {policies} --host 999.1.1.1", 2, "999.1.1.1", in_process=False),
    _row("serve --port 99999", "serve {policies} --port 99999", 2, "1 to 65535", in_process=False),
    _row("serve --port 0", "serve {policies} --port 0", 2, "1 to 65535", in_process=False),
    _row("serve --max-batch-items 0", "serve {policies} --max-batch-items 0", 2, "--max-batch-items",
         in_process=False),
    _row("serve a missing path named with control characters", ["serve", "gone\n\x1b[31m.policy"], 2,
         "no such file or folder: gone\\n\\x1b[31m.policy"),
    _row("serve --token-file with a token that is not ASCII", "serve {policies} --token-file tok.txt", 2,
         "printable ASCII", {"tok.txt": "s3cr\u00e9t\n"}, in_process=False),
    _row("serve --token-file a device", "serve {policies} --token-file /dev/zero", 2, "not a regular file",
         in_process=False),
    _row("serve --state in a missing folder", "serve {policies} --state /nonexistent/dir/state.db", 2,
         "--state: cannot open the state", in_process=False),
    _row("serve --state a PostgreSQL URL no server answers", "serve {policies} --state postgresql://nobody@127.0.0.1:1/x",
         2, "--state: cannot open the state", in_process=False),
    _row("serve --state in memory", "serve {policies} --state :memory:", 2, "in memory", in_process=False),
    _row("serve --availability missing", "serve {policies} --availability away.csv", 2, "--availability",
         in_process=False),
    _row("serve --availability a device", "serve {policies} --availability /dev/zero", 2, "not a regular file",
         in_process=False),
    _row("serve --accounts a folder", "serve {policies} --accounts {tmp}", 2, "--accounts", in_process=False),
    _row("serve --accounts of no format", "serve {policies} --accounts owners.txt", 2, "cannot tell the format",
         {"owners.txt": "domain,owner\n"}, in_process=False),
    _row("serve --availability Parquet that is not", "serve {policies} --availability away.parquet", 2,
         "not Parquet", {"away.parquet": "member,from,until\n"}, in_process=False),
    _row("serve --accounts JSON Lines that are not JSON", "serve {policies} --accounts owners.jsonl", 2,
         "not JSON at line 2", {"owners.jsonl": '{"domain": "a.io", "owner": "x"}\n{nope\n'}, in_process=False),
]
def _file_rows() -> list[Row]:
    """Hostile samples and approvals files (next to a copy of inbound-b2b), settings and SQL names."""
    policy = (POLICIES / "inbound-b2b.policy").read_text("utf-8")
    hostile_yaml = {"a custom tag": "leads: !custom x\n", "a 5,000-digit integer": "n: " + "9" * 5000 + "\n",
                    "20,000-deep nesting": "leads: " + "[" * 20_000 + "]" * 20_000 + "\n",
                    **{f"a {tag} value": f"leads:\n  - name: a\n    lead: {{email: {tag} {value}}}\n"
                                         "    expect: {stage: nurture}\n"
                       for tag, value in [("!!set", "{a, b}"), ("!!binary", "aGVsbG8=")]}}
    rows = []
    for what, text in hostile_yaml.items():
        samples = {"p.policy": policy, "p.samples.yaml": "policy: p.policy\n" + text}
        approvals = {"p.policy": policy, "p.samples.yaml": (POLICIES / "inbound-b2b.samples.yaml").read_text("utf-8")
                     .replace("inbound-b2b.policy", "p.policy"), "p.approvals.yaml": "policy: p\n" + text}
        rows.append(_row(f"check: samples with {what}", "check p.policy", 1, "p.samples.yaml:", samples))
        rows.append(_row(f"test: samples with {what}", "test p.policy", 1, "bad-samples", samples))
        rows.append(_row(f"check: approvals with {what}", "check p.policy", 1, "bad-approvals", approvals))
    # YAML's own tags with a value of the wrong kind: PyYAML's constructors fail with KeyError, ValueError...
    bad_tags = [("!!bool", '"maybe"'), ("!!timestamp", '"abc"'), ("!!timestamp", '""'), ("!!int", '""'),
                ("!!int", '"abc"'), ("!!float", '""'), ("!!map", "[1]")]
    for tag, value in bad_tags:
        lead = f"{{email: a@b.com, employees: {tag} {value}}}"
        samples = {"p.policy": policy, "p.samples.yaml": "policy: p.policy\nleads:\n  - name: a\n"
                   f"    lead: {lead}\n    expect: {{stage: nurture}}\n"}
        approvals = {"p.policy": policy, "p.samples.yaml": (POLICIES / "inbound-b2b.samples.yaml").read_text("utf-8")
                     .replace("inbound-b2b.policy", "p.policy"), "p.approvals.yaml": f"policy: p\nn: {tag} {value}\n"}
        rows.append(_row(f"check: samples with {tag} {value}", "check p.policy", 1, "p.samples.yaml:4:39:", samples))
        rows.append(_row(f"test: samples with {tag} {value}", "test p.policy", 1, "p.samples.yaml:4:39:", samples))
        rows.append(_row(f"check: approvals with {tag} {value}", "check p.policy", 1, "p.approvals.yaml:2:4:",
                         approvals))
        b2b, activity = "{policies}/inbound-b2b.policy", "{policies}/inbound-activity.policy"
        rows.append(_row(f"explain --lead x.yaml with {tag} {value}", ["explain", b2b, "--lead", "x.yaml"], 2,
                         "x.yaml:2:12:", {"x.yaml": f"email: a@b.com\nemployees: {tag} {value}\n"}))
        rows.append(_row(f"explain --events x.yaml with {tag} {value}", ["explain", activity, "--lead",
                         '{"email": "a@b.com"}', "--events", "x.yaml"], 2, "x.yaml:1:29:",
                         {"x.yaml": f"- {{event: demo_request, at: {tag} {value}}}\n"}))
    settings = {"paths nested 5,000 deep": ("paths = " + "[" * 5000 + "]" * 5000, "paths"),
                "paths of lists": ('paths = [[["p.policy"]]]', "paths"),
                "min-coverage nan": ("min-coverage = nan", "min-coverage"),
                "min-coverage inf": ("min-coverage = inf", "min-coverage"),
                "min-coverage -5": ("min-coverage = -5", "min-coverage"),
                "min-coverage 150": ("min-coverage = 150", "min-coverage"),
                "min-coverage of 5,001 digits": ("min-coverage = 1" + "0" * 5000, "digits")}
    for what, (line, key) in settings.items():
        for command in ("check", "test"):
            rows.append(_row(f"{command}: pyproject.toml {what}", command, 2, key,
                             {"pyproject.toml": f"[tool.leadpolicy]\n{line}\n", "p.policy": policy}))
    rows.append(_row("check: pyproject.toml whose tool is a number", "check", 2, "[tool] must be a table",
                     {"pyproject.toml": "tool = 5\n", "p.policy": policy}))
    for value in ("nan", "inf", "-5", "150"):
        rows.append(_row(f"check --min-coverage {value}", ["check", "{policies}", "--min-coverage", value], 2,
                         "--min-coverage"))
    sla = ["compile", "{policies}/inbound-activity.policy", "--target", "sql", "--sla", "speed_to_lead",
           "--now", "2026-11-20T12:00:00Z", "--since", "2026-11-15"]
    rows.append(_row("compile --sla --events-table with a double quote", [*sla, "--events-table", 'crm.events"x'], 0,
                     '"crm"."events""x"'))
    rows.append(_row("compile --events-table with a double quote", ["compile", "{policies}/inbound-activity.policy",
                     "--target", "sql", "--events-table", 'crm.events"x'], 0, '"crm"."events""x"'))
    rows.append(_row("compile --sla --table with a newline", [*sla, "--events-table", "ev", "--table",
                                                             "crm.leads\nDROP TABLE canary;\n"], 2, "--table"))
    rows.append(_row("compile --table with a newline", ["compile", "{policies}/inbound-b2b.policy", "--target", "sql",
                                                         "--table", "crm.leads\nDROP TABLE canary;\n"], 2, "--table"))
    rows += _device_rows()
    return rows


def _device_rows() -> list[Row]:
    """/dev/zero named as a data file: refused before a byte is copied (it would fill the disk)."""
    now = ["--now", "2026-11-20T12:00:00Z"]
    activity, b2b = "{policies}/inbound-activity.policy", "{policies}/inbound-b2b.policy"
    files = {"leads.csv": "id,email\nl1,a@corp.io\n"}
    argvs = {
        "score: /dev/zero as the leads": ["score", b2b, "/dev/zero", "--leads-format", "csv", "-o", "o.csv", *now],
        "score: /dev/zero as --events": ["score", activity, "leads.csv", "--events", "/dev/zero", "--events-format",
                                         "csv", "--id-column", "id", "-o", "o.csv", *now],
        "sla: /dev/zero as the event log": ["sla", activity, "/dev/zero", "--events-format", "jsonl", *now],
        "diff: /dev/zero as --events": ["diff", activity, activity, "--leads", "leads.csv", "--events", "/dev/zero",
                                        "--events-format", "csv", "--id-column", "id", *now],
    }
    return [_row(name, argv, 2, "a character device", files) for name, argv in argvs.items()]


TEAMS = ('policy "t" version 1.0.0 {\n  owner marketing "M"\n  owner sales "S"\n  lead {\n    email text required\n'
         '  }\n  stages {\n    sql otherwise owner sales\n  }\n  route for sql {\n    "sdr" otherwise\n  }\n'
         '  team sdr {\n    assign round robin\n    member "Ann Lee <ann@example.com>"\n'
         '    member "Bob Roe <bob@example.com>"\n    match accounts by email domain\n  }\n}\n')


def _assign_rows() -> list[Row]:
    """`assign` and `simulate` (issue 28): hostile leads, run-time data and states."""
    files = {"t/t.policy": TEAMS, "leads.csv": "id,at,email\nL1,2026-12-01T10:00,a@b.io\n"}
    assign = "assign t/t.policy leads.csv --id-column id --at-column at -o out.csv --state"
    simulate = "simulate t/t.policy leads.csv --id-column id --at-column at"
    hostile_leads = {
        "times that are none": "id,at,email\nL1,2026-02-30T10:00,a@b.io\nL2,99999-01-01,b@b.io\nL3,,c@b.io\n"
                               "L4,\u202e2026-12-01,d@b.io\n",
        "binary bytes": b"id,at,email\n\xff\xfe\x00L1,\x00,\x80\n",
        "a lead id of 10,000 characters": "id,at,email\n" + "L" * 10_000 + ",2026-12-01T10:00,a@b.io\n",
        "no rows": "id,at,email\n",
    }
    rows = [_row(f"assign: leads with {what}", f"{assign} s.db", (0, 1), "read",
                 {**files, "leads.csv": text}) for what, text in hostile_leads.items()]
    rows += [_row(f"simulate: leads with {what}", simulate, (0, 1), "read", {**files, "leads.csv": text})
             for what, text in hostile_leads.items()]
    rows += [
        _row("assign: --state a folder", f"{assign} sub", 2, "is a folder", {**files, "sub/keep.txt": ""}),
        _row("assign: --state no database", f"{assign} notes.db", 2, "cannot open the state",
             {**files, "notes.db": "x" * 5000}),
        _row("assign: --state a URL no server answers", f"{assign} postgresql://nobody@127.0.0.1:1/leads", 2,
             "cannot open the state", files),
        _row("assign: --state a URL of an unknown database", f"{assign} nosuchdb://x/y", 2, "cannot open the state",
             files),
        _row("assign: --release-held --now that is no time", "assign t/t.policy --state s.db --release-held --now "
             "soon", 2, "--now", files, in_process=False),
        _row("assign: availability of binary bytes", f"{assign} s.db --availability away.csv", (1, 2), "away.csv",
             {**files, "away.csv": b"\xff\x00member,from\n\x80"}),
        _row("assign: availability naming nobody", f"{assign} s.db --availability away.csv", 1, "no member of a team",
             {**files, "away.csv": "member,from,until\nZed,2026-12-01,2026-12-02\n"}),
        _row("assign: an availability period ending before it starts", f"{assign} s.db --availability away.csv", 1,
             "not after from", {**files, "away.csv": "member,from,until\nAnn Lee,2026-12-02,2026-12-01\n"}),
        _row("assign: accounts giving a domain two owners", f"{assign} s.db --accounts acc.csv", 1, "another owner",
             {**files, "acc.csv": "domain,owner\nb.io,ann@example.com\nb.io,bob@example.com\n"}),
        _row("assign: accounts without an owner column", f"{assign} s.db --accounts acc.csv", 1, "owner: missing",
             {**files, "acc.csv": "domain\nb.io\n"}),
        _row("simulate: --format xml", f"{simulate} --format xml", 2, "invalid choice", files, in_process=False),
        _row("assign: --state a SQLite file of another application", f"{assign} crm.db", 2,
             "crm.db holds another application's tables", {**files, "crm.db": _another_application_db()}),
        _row("assign: --state a URL with a password", f"{assign} postgresql://nobody:pw-9@127.0.0.1:1/leads", 2,
             "nobody:***@127.0.0.1", files),
        _row("simulate: --rejects the leads file", f"{simulate} --rejects leads.csv", 2, "same file", files),
        _row("simulate: rejected rows past --max-rejects", f"{simulate} --max-rejects 0", 1,
             "more than --max-rejects 0", {**files, "leads.csv": "id,at,email\nL1,soon,a@b.io\n"}),
    ]
    return rows


def _another_application_db() -> bytes:
    """The bytes of a SQLite database with a table of its own (no leadpolicy state)."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crm.db"
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        con.commit()
        con.close()
        return path.read_bytes()


FILE_ROWS: list[Row] = _file_rows() + _assign_rows()  # samples, approvals and settings files; SQL names; assignment
# a policy with one guarantee, CLAIM (its line 15)
GUARANTEED = ('policy "p" version 1.0.0 {\n  owner marketing "M"\n  owner sales "S"\n  lead {\n'
              '    email text required\n  }\n  score s {\n    +10 when email ends with "@x.io"\n  }\n  stages {\n'
              '    hot when s >= 10 owner sales\n    rest otherwise owner marketing\n  }\n'
              '  guarantees {\n    "G": CLAIM\n  }\n}\n')
PROVE_BASE = (
    'policy "p" version 1.0.0 {\n'
    '  owner marketing "M <m@example.com>"\n'
    '  owner sales "S <s@example.com>"\n'
    '  timezone "America/New_York"\n'
    '  lead {\n'
    '    email text required\n'
    '    employees number\n'
    '    name text\n'
    '    signup date\n'
    '  }\n'
    '  events {\n'
    '    demo_request\n'
    '    email_click\n'
    '  }\n'
    '  score fit {\n'
    '    clamp 0 to 100\n'
    '    +40 when employees >= 200 "big"\n'
    '    -50 when email ends with "@gmail.com" "free"\n'
    '  }\n'
    '  stages {\n'
    '    sql when demo_request in last 30 days and fit >= 40 owner sales\n'
    '    nurture otherwise owner marketing\n'
    '  }\n'
    '  route for sql {\n'
    '    "ae" when employees >= 1000\n'
    '    "sdr" otherwise\n'
    '  }\n'
    '  guarantees {\n'
    '    G1\n'
    '  }\n'
    '}\n'
)  # attacker A3's policy: its guarantee G1 is replaced


def _stageless_rows() -> list[Row]:
    """A policy with scores and outcomes but no stages block: every command deciding leads decides them with no
    stage, owner or route (the proofs, calibrate's batch and the compiled Python failed with exit 3)."""
    policy = ('policy "n" version 1.0.0 {\n  title "N"\n  owner marketing "M"\n  owner sales "S"\n'
              "  lead {\n    email text required\n    employees number\n  }\n"
              '  events {\n    closed_won\n    closed_lost\n  }\n  score fit "Fit" {\n'
              '    +10 when employees >= 200 "Big"\n  }\n'
              "  outcomes {\n    won when closed_won\n    lost when closed_lost\n  }\n}\n")
    files = {"s.policy": policy, "l.csv": "id,email,employees\n1,a@big.io,1500\n2,b@s.fr,20\n",
             "e.csv": "lead,event,at\n1,closed_won,2026-11-20T10:00:00Z\n2,closed_lost,2026-11-10T10:00:00Z\n"}
    measured = "--leads l.csv --events e.csv --as-of 2026-11-01 --now 2026-11-30 --rejects-folder ."
    rows = [
        ("check a policy without stages", "check --allow-untested s.policy", 0, "all is well"),
        ("score a policy without stages (python)", "score s.policy l.csv --now 2026-11-20 --engine python "
         "-o o.jsonl", 0, "scored 2"),
        ("score a policy without stages (duckdb)", "score s.policy l.csv --now 2026-11-20 -o o.csv", 0, "scored 2"),
        ("explain a policy without stages", ["explain", "s.policy", "--lead", '{"email": "a@b.io"}'], 0,
         "this policy has no stages"),
        ("prove --witnesses of a policy without stages", "prove s.policy --witnesses", 0, 'rule "Big": reached'),
        ("feedback of a policy without stages", f"feedback s.policy {measured}", 0, "2 leads, 0 handed off"),
        ("calibrate a policy without stages", f"calibrate s.policy {measured} --propose p.policy", 0,
         "Of 1 rule"),
    ]
    return [_row(name, argv, code, says, files=files) for name, argv, code, says in rows]


def _calibrate_rows() -> list[Row]:
    """calibrate's usage errors (exit 2, never 3) and data too small or too bare to fit anything (exit 0)."""
    leads = "id,email,employees,industry,source\n1,a@bigsoft.io,1500,software,webinar\n2,b@shop.fr,20,retail,x\n"
    events = "lead,event,at,reason\n1,closed_won,2026-11-20T10:00:00Z,\n2,closed_lost,2026-11-10T10:00:00Z,\n"
    data = {"l.csv": leads, "e.csv": events, "empty.csv": "id,email,employees,industry,source\n",
            "none.csv": "lead,event,at\n"}
    run = "calibrate {policies}/inbound-activity.policy --leads l.csv --events e.csv --as-of 2026-11-01 "
    rows = [
        ("calibrate --propose the policy", run + "--propose {policies}/inbound-activity.policy", 2,
         "would be the same file as the policy"),
        ("calibrate --propose the leads", run + "--propose l.csv", 2, "would be the same file as the leads file"),
        ("calibrate --propose the events", run + "--propose e.csv", 2, "would be the same file as the events file"),
        ("calibrate --propose /dev/null", run + "--propose /dev/null", 2, "is a special file"),
        ("calibrate --propose a folder", run + "--propose .", 2, "is a folder"),
        ("calibrate --propose in a folder that does not exist", run + "--propose nowhere/p.policy", 2,
         "does not exist"),
        ("calibrate --as-of after --now", run + "--now 2026-10-01", 2, "is after --now"),
        ("calibrate a policy without outcomes", run.replace("inbound-activity", "inbound-b2b"), 2,
         "no outcomes block"),
        ("calibrate a missing leads file", run.replace("l.csv", "gone.csv"), 2, "gone.csv: no such file"),
        ("calibrate two leads", run + "--propose p.policy", 0, "no evidence"),
        ("calibrate no leads", run.replace("l.csv", "empty.csv") + "--format json", 0, '"leads": 0'),
        ("calibrate no events", run.replace("e.csv", "none.csv") + "--format markdown", 0, "no evidence"),
        ("calibrate --by a field that is no column", run + "--by sorce", 2, "did you mean"),
        ("calibrate a policy without scores", run.replace("{policies}/inbound-activity.policy", "n.policy")
         + "--propose p.policy", 0, "no rules"),
    ]
    data["n.policy"] = ('policy "n" version 1.0.0 {\n  title "N"\n  owner marketing "M"\n  owner sales "S"\n'
                        "  lead {\n    email text required\n  }\n  events {\n    closed_won\n    closed_lost\n  }\n"
                        "  stages {\n    nurture otherwise owner marketing\n  }\n"
                        "  outcomes {\n    won when closed_won\n    lost when closed_lost\n  }\n}\n")
    out = [_row(name, argv, code, says, data) for name, argv, code, says in rows]
    usage = [("calibrate --handoffs more", "--handoffs more", "argument --handoffs"),
             ("calibrate --handoffs 0", "--handoffs 0", "argument --handoffs"),
             ("calibrate --band -1", "--band=-1", "argument --band"),
             ("calibrate --band nan", "--band nan", "argument --band")]
    return out + [_row(name, run + extra, 2, says, data, in_process=False) for name, extra, says in usage]


OTHER_ROWS: list[Row] = [
    _row("csv with several unterminated quotes", "score {policies}/inbound-b2b.policy leads.csv -o out.csv",
         0, "a quote opened on this line is not closed",
         files={"leads.csv": 'email,employees\n"a,b@b.io",5\n"x@b.io,5\n"y@b.io,6\nz@b.io,7\n"w,8\nv,9\n'}),
    _row("csv with unterminated quotes, python engine",
         "score {policies}/inbound-b2b.policy leads.csv -o out.csv --engine python",
         0, "read 6, scored 3, rejected 3",
         files={"leads.csv": 'email,employees\n"a,b@b.io",5\n"x@b.io,5\n"y@b.io,6\nz@b.io,7\n"w,8\nv,9\n'}),
    _row("events that differ only in case", "check p.policy", 1, 'event "Demo" differs from "demo" only in case',
         files={"p.policy": 'policy "p" version 1.0.0 {\n  title "P"\n  owner marketing "M"\n  owner sales "S"\n'
                            "  lead {\n    email text\n  }\n  score s {\n    +10 when demo in last 7 days\n"
                            "    +1 when Demo in last 7 days\n  }\n  stages {\n    nurture otherwise owner marketing\n"
                            "  }\n}\n"}),
    _row("feedback with a lead id on two rows",
         "feedback {policies}/inbound-activity.policy --leads leads.csv --events e.csv --as-of 2026-11-01 "
         "--now 2026-11-20T12:00:00Z --format json --rejects-folder rejects --by id", 0, '"leads_rejected": 2',
         files={"leads.csv": "id,email\nL1,a@b.com\n L1 ,b@b.com\nL2,c@b.com\n", "rejects/.keep": "",
                "e.csv": "lead,event,at\nL1,closed_won,2026-11-10T00:00:00Z\n"}),
    # an unknown flag is refused with the usage of its own command, not the top level's
    _row("explain with an unknown flag", ["explain", "{policies}/inbound-b2b.policy", "--lead", "{}", "--bogus"], 2,
         "usage: leadpolicy explain", in_process=False),
    _row("score with an unknown flag", "score {policies}/inbound-b2b.policy leads.csv --bogus", 2,
         "usage: leadpolicy score", in_process=False),
    _row("backtest with an unknown flag", "backtest a.policy b.policy --leads l.csv --events e.csv --as-of 2026-11-01 "
         "--bogus 3", 2, "usage: leadpolicy backtest", in_process=False),
    # column mapping (--column FIELD=HEADER, [tool.leadpolicy.columns])
    _row("score --column without =", "score {policies}/inbound-b2b.policy leads.csv --column job_title", 2,
         "is not FIELD=HEADER", {"leads.csv": "email\na@b.com\n"}, in_process=False),
    _row("score --column naming no field", ["score", "{policies}/inbound-b2b.policy", "leads.csv", "-o", "out.csv",
                                            "--column", "jobtitle=Job Title"], 2, "names no field jobtitle",
         {"leads.csv": "email,Job Title\na@b.com,VP\n"}),
    _row("score --column naming a header the file lacks", ["score", "{policies}/inbound-b2b.policy", "leads.csv",
                                                           "-o", "out.csv", "--column", "job_title=Job Titel"], 2,
         "has no column 'Job Titel'", {"leads.csv": "email,Job Title\na@b.com,VP\n"}),
    _row("feedback --column: one header for two fields", ["feedback", "{policies}/inbound-activity.policy", "--leads",
                                                          "l.csv", "--events", "e.csv", "--as-of", "2026-11-01",
                                                          "--column", "email=Mail", "--column", "source=Mail"], 2,
         "is mapped to both", {"l.csv": "id,Mail\nL1,a@b.com\n", "e.csv": "lead,event,at\n"}),
    _row("[tool.leadpolicy.columns] that is not a table", "score {policies}/inbound-b2b.policy leads.csv -o out.csv",
         2, "[tool.leadpolicy] columns", {"leads.csv": "email\na@b.com\n",
                                          "pyproject.toml": '[tool.leadpolicy]\ncolumns = "Job Title"\n'}),
    _row("[tool.leadpolicy] setting of the wrong kind", "check {policies}/inbound-b2b.policy", 2,
         "[tool.leadpolicy] require-approvals: true or false, not a time of day",
         {"pyproject.toml": "[tool.leadpolicy]\nrequire-approvals = 07:32:00\n"}),
    # explain and diff as a new user met them (issue 24, second pass)
    _row("explain: an event inside a case's lead", ["explain", "{policies}/inbound-activity.policy", "--lead",
                                                   '{"lead": {"email": "a@b.io", "events": []}}'], 2,
         "'events' is not a field of this policy"),
    _row("explain: a misspelled field inside a case's lead", ["explain", "{policies}/inbound-activity.policy", "--lead",
                                                             '{"lead": {"email": "a@b.io", "emplyees": 600}}'], 2,
         'did you mean "employees"'),
    _row("explain: an empty --lead", ["explain", "{policies}/inbound-b2b.policy", "--lead", ""], 2,
         "--lead: the value is empty"),
    _row("explain: an empty --events", ["explain", "{policies}/inbound-activity.policy", "--lead", '{"email": "a@b"}',
                                        "--events", ""], 2, "--events: the value is empty"),
    _row("explain: --events null", ["explain", "{policies}/inbound-activity.policy", "--lead", '{"email": "a@b"}',
                                    "--events", "null"], 2, "events are a list of {event, at} items, not null"),
    _row("explain: --events one object", ["explain", "{policies}/inbound-activity.policy", "--lead", '{"email": "a"}',
                                          "--events", '{"event": "demo_request", "at": "2026-11-18"}'], 2,
         "give the list itself"),
    _row("explain: a policy file as the lead", "explain {policies}/inbound-b2b.policy --lead "
         "{policies}/inbound-b2b.policy", 2, "is a policy file; give a lead"),
    _row("explain: a samples file as the lead", "explain {policies}/inbound-activity.policy --lead "
         "{policies}/inbound-activity.samples.yaml", 2, "this is a samples file"),
    _row("diff: --id-column without --leads", "diff {policies}/inbound-b2b.policy {policies}/inbound-b2b.policy "
         "--id-column x", 2, "--id-column goes with --leads"),
    _row("diff: --id-column naming no column", "diff {policies}/inbound-activity.policy "
         "{policies}/inbound-activity.policy --leads l.csv --events e.csv --id-column LeadId "
         "--now 2026-11-20T12:00:00Z",
         2, 'no column \'LeadId\' holds the lead id that events name (did you mean "Lead ID"?',
         {"l.csv": "Lead ID,email\nL1,a@b.com\n", "e.csv": "lead,event,at\nL1,email_click,2026-11-10T00:00:00Z\n"}),
    _row("sla: --id-column without --leads", "sla {policies}/inbound-activity.policy e.csv --id-column x "
         "--now 2026-11-20T12:00:00Z", 2, "--id-column goes with --leads",
         {"e.csv": "lead,event,at\nL1,became_sql,2026-11-10T00:00:00Z\n"}),
    _row("sla: --column without --leads", "sla {policies}/inbound-activity.policy e.csv --column email=Email "
         "--now 2026-11-20T12:00:00Z", 2, "--column goes with --leads",
         {"e.csv": "lead,event,at\nL1,became_sql,2026-11-10T00:00:00Z\n"}),
    _row("sla: --id-column naming no column", "sla {policies}/inbound-activity.policy e.csv --leads l.csv "
         "--id-column LeadId --now 2026-11-20T12:00:00Z",
         2, 'no column \'LeadId\' holds the lead id that events name (did you mean "Lead ID"?',
         {"l.csv": "Lead ID,email\nL1,a@b.com\n", "e.csv": "lead,event,at\nL1,became_sql,2026-11-10T00:00:00Z\n"}),
    # explain --events reads a data file's event and at columns only, a Parquet file too (issue 26 §2)
    _row("explain: --events a whole event log of several leads", ["explain", "{policies}/inbound-activity.policy",
                                                                 "--lead", '{"email": "a@b.io"}', "--events", "e.csv"],
         2, "the events of 2 leads (column lead: 'L1', 'L2')",
         {"e.csv": "lead,event,at\nL1,email_click,2026-11-10T00:00:00Z\nL2,email_click,2026-11-10T00:00:00Z\n"}),
    _row("explain: --events a CSV without the event column", ["explain", "{policies}/inbound-activity.policy",
                                                             "--lead", '{"email": "a@b.io"}', "--events", "e.csv"],
         2, "no column event", {"e.csv": "lead,name,at\nL1,email_click,2026-11-10T00:00:00Z\n"}),
    _row("explain: --events a .parquet that is not Parquet", ["explain", "{policies}/inbound-activity.policy",
                                                             "--lead", '{"email": "a@b.io"}', "--events", "e.parquet"],
         2, "e.parquet", {"e.parquet": "event,at\nemail_click,2026-11-10T00:00:00Z\n"}),
    _row("compile --sla with an --events-table named like the query's own table",
         "compile {policies}/inbound-activity.policy --target sql --sla speed_to_lead --events-table lp_segments "
         "--now 2026-11-20T12:00:00Z", 2, "--events-table: 'lp_segments' is also the name of a table the query makes"),
    _row("compile --sla naming no SLA", "compile {policies}/inbound-activity.policy --target sql --sla speed_to_leed "
         "--events-table ev --now 2026-11-20T12:00:00Z", 2, 'did you mean "speed_to_lead"?'),
    _row("compile --sla naming nothing like an SLA", "compile {policies}/inbound-activity.policy --target sql "
         "--sla nope --events-table ev --now 2026-11-20T12:00:00Z", 2, "follow_up, mql_acceptance, speed_to_lead"),
    _row("compile --sla naming a volume SLA", "compile {policies}/inbound-activity.policy --target sql "
         "--sla mql_volume --events-table ev --now 2026-11-20T12:00:00Z", 2, "--sla: sla mql_volume counts per period"),
    _row("explain: --events with a blank id in its lead column", ["explain", "{policies}/inbound-activity.policy",
                                                                 "--lead", '{"email": "a@b.io"}', "--events", "e.csv"],
         2, "row 2: lead: missing lead id",
         {"e.csv": "lead,event,at\nL1,email_click,2026-11-10T00:00:00Z\n,email_click,2026-11-11T00:00:00Z\n"}),
    _row("explain: an event time of 5,001 digits", ["explain", "{policies}/inbound-activity.policy", "--lead",
                                                   '{"email": "a@b.io"}', "--events",
                                                   '[{"event": "email_click", "at": 1' + "0" * 5000 + "}]"],
         2, "a number too long: an integer of more than 4,300 digits"),
    _row("test: a case's now of yes/no", "test p.samples.yaml", 1, "leads/0/now: not a timestamp: yes/no",
         {"p.samples.yaml": f"policy: {POLICIES / 'inbound-b2b.policy'}\nleads:\n  - name: c\n"
                            "    lead: {email: a@b.io}\n"
                            "    now: true\n    expect: {fit: 0}\n"}),
    # leadpolicy prove and the proofs in check (issue 27)
    _row("prove: a policy file that does not exist", "prove nope.policy", 1, "nope.policy: unreadable-file"),
    _row("prove: a folder", "prove {tmp}", 1, "is a directory, not a policy file"),
    _row("prove: a samples file as the policy", "prove {policies}/inbound-b2b.samples.yaml", 1, "syntax-error"),
    _row("prove: a policy with errors", "prove p.policy", 1, "p.policy:15:10: unknown-name",
         {"p.policy": GUARANTEED.replace("CLAIM", "sc >= 0")}),
    _row("prove: a policy without guarantees", "prove {policies}/inbound-b2b.policy", 0, "no guarantees to prove"),
    _row("prove: --timeout 0", "prove {policies}/inbound-b2b.policy --timeout 0", 2, "is not a number of seconds",
         in_process=False),
    _row("prove: --timeout that is no number", "prove {policies}/inbound-b2b.policy --timeout soon", 2,
         "is not a number of seconds", in_process=False),
    _row("prove: --format xml", "prove {policies}/inbound-b2b.policy --format xml", 2, "invalid choice: 'xml'",
         in_process=False),
    _row("prove: no policy", "prove", 2, "the following arguments are required: policy", in_process=False),
    _row("prove: a claim on an emoji", "prove p.policy", 1, "violated",
         {"p.policy": GUARANTEED.replace("CLAIM", 'not (email contains "🚀")')}),
    _row("prove: a text past the solver's last character", "prove p.policy --format json", 0, '"status": "unknown"',
         {"p.policy": GUARANTEED.replace("CLAIM", 'not (email contains "\U000f0001")')}),
    _row("check --prove-timeout that is no number", "check {policies}/inbound-b2b.policy --prove-timeout nope", 2,
         "--prove-timeout: 'nope' is not a number of seconds", in_process=False),
    _row("check: a violated guarantee", "check p.policy --allow-untested", 1, "guarantee-violated",
         {"p.policy": GUARANTEED.replace("CLAIM", "handoff")}),
    _row("prove: a claim true of every lead a file can hold, its solver witness a number between constants",
         "prove p.policy", (0, 1), '"n2"',
         files={"p.policy": PROVE_BASE.replace("    G1\n", '    "n2": employees is missing or employees <= '
                                               '999999999.999999998 or employees >= 999999999.999999999\n')}),
    _row("prove: a 10,000-character needle is unknown at once", "prove p.policy --timeout 1", 0,
         "longer than the solver reasons about",
         files={"p.policy": PROVE_BASE.replace("    G1\n", '    "n": not (email contains "' + "a" * 10_000 + '")\n')}),
    _row("prove --format json of a missing policy", "prove nowhere.policy --format json", 1, "unreadable-file"),
    # leadpolicy init (issue 29)
    _row("init with an unknown flag", "init --bogus", 2, "usage: leadpolicy init", in_process=False),
    _row("init: DIR a file", "init afile", 2, "afile is not a folder", {"afile": "x"}),
    _row("init: a folder with a README of its own, without --force", "init repo", 2,
         "repo/README.md exists (--force replaces it)", {"repo/README.md": "ours\n"}),
    _row("init: a folder where policies/ is a file", "init repo --force", 2, "repo/policies is not a folder",
         {"repo/policies": "x"}),
    _row("init --timezone no zone", "init --timezone Mars/Base", 2, '--timezone: "Mars/Base" is not a time zone'),
    _row("init --calendar no country", "init --calendar ZZ", 2, 'no holiday calendar for country "ZZ"'),
    _row("init --name that would end the policy's string", ["init", "--name", 'x" } evil {'], 2, "is not a slug"),
    _row("init --sales-owner with a newline", ["init", "--sales-owner", "Raj\nPatel"], 2,
         "holds the control character U+000A"),
    # leadpolicy calibrate (issue 30)
    *_calibrate_rows(),
    *_stageless_rows(),
]

ROWS = TIME_ROWS + OUTPUT_ROWS + SERVICE_ROWS + FILE_ROWS + OTHER_ROWS


def _expand(argv: list[str], tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)).replace("{policies}", str(POLICIES)) for a in argv]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_user_input_is_never_an_internal_error(row: Row, tmp_path, capsys, monkeypatch):
    for name, content in row.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, "utf-8")
    monkeypatch.chdir(tmp_path)
    argv = _expand(row.argv, tmp_path)
    if row.in_process:
        monkeypatch.delenv("LEADPOLICY_DEBUG", raising=False)
        code = main(argv)
        captured = capsys.readouterr()
        out = captured.out + captured.err
    else:
        env = {k: v for k, v in os.environ.items() if k != "LEADPOLICY_DEBUG"}
        result = subprocess.run([sys.executable, "-m", "leadpolicy", *argv], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        code, out = result.returncode, result.stdout + result.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    assert code in row.expect, f"exit {code}, expected one of {sorted(row.expect)}:\n{out}"
    assert row.says.lower() in out.lower(), out


def test_every_row_has_a_unique_name():
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names))
