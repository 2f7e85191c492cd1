"""The `leadpolicy` command line: check, test, explain, schema, fmt."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Sequence

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

MAIN_EPILOG = """\
examples:
  leadpolicy check                       parse, check and test every policy in policies/
  leadpolicy test policies/ --coverage   run the sample cases and list what no case covers
  leadpolicy explain policies/inbound-b2b.policy --lead '{"email": "a@b.io", "employees": 300}'
  leadpolicy schema policies/inbound-b2b.policy > lead.schema.json
  leadpolicy fmt --check                 fail when a policy is not in canonical form

exit codes: 0 all is well, 1 problems found, 2 bad usage, 3 internal error
"""


def timestamp_arg(text: str) -> str:
    """An ISO 8601 timestamp (checked here, so a bad one is bad usage; read in the policy's zone later)."""
    import datetime as dt

    try:
        dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 timestamp, as in 2026-11-20T12:00:00-05:00"
                                         ) from None
    return text


def date_arg(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def non_negative_int(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return int(text)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadpolicy", formatter_class=_formatter, epilog=MAIN_EPILOG,
        description="Lead scoring, handoff, routing and SLA agreements between Sales and Marketing, as code.")
    parser.add_argument("--version", action="version", version=f"leadpolicy {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", formatter_class=_formatter, help="parse, check and test policies",
                       description="Parse and check every policy, and run its samples file.",
                       epilog="examples:\n  leadpolicy check\n"
                              "  leadpolicy check policies/inbound-b2b.policy --format json\n"
                              "  leadpolicy check --min-coverage 80\n")
    p.add_argument("paths", nargs="*", default=None, help="policy files or directories (default: policies/)")
    p.add_argument("--format", choices=("text", "json", "github"), default="text",
                   help="github: GitHub Actions annotations on the lines at fault")
    p.add_argument("--min-coverage", type=float, default=None, metavar="N",
                   help="fail when a policy's sample coverage is below N percent")
    p.add_argument("--allow-untested", action="store_true", help="do not fail for a policy without samples")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--require-approvals", action="store_true",
                   help="fail when an owning team has not approved the current content (NAME.approvals.yaml)")
    p.add_argument("--against", metavar="GIT_REF", nargs="?", const="",
                   help="fail when a policy changed since GIT_REF but its version did not move enough "
                        "(without a value: the merge base with main)")

    p = sub.add_parser("approve", formatter_class=_formatter, help="approve a policy's current content for a team",
                       description="Record, in NAME.approvals.yaml next to the policy, that a person approves the "
                                   "policy's current content for one owning team. The approval is bound to the "
                                   "content fingerprint: any later change of meaning or wording voids it.",
                       epilog='example:\n  leadpolicy approve policies/inbound-b2b.policy --team sales '
                              '--by "Raj Patel <raj@example.com>"\n')
    p.add_argument("policy")
    p.add_argument("--team", required=True)
    p.add_argument("--by", required=True, help='who approves, e.g. "Raj Patel <raj@example.com>"')

    p = sub.add_parser("ci", formatter_class=_formatter, help="everything a policy repository's CI needs, in one step",
                       description="Format check, check, sample tests, coverage floor, approvals by every owning "
                                   "team, and version rules against the base branch. Writes GitHub annotations when "
                                   "run in GitHub Actions, and SARIF for code-scanning tools with --sarif.",
                       epilog="examples:\n  leadpolicy ci\n  leadpolicy ci policies/ --min-coverage 80 --sarif "
                              "leadpolicy.sarif\n  leadpolicy ci --against origin/main --skip-fmt\n")
    p.add_argument("paths", nargs="*", default=None)
    p.add_argument("--min-coverage", type=float, default=None, metavar="N")
    p.add_argument("--against", metavar="GIT_REF", default="",
                   help="base for the version rules (default: the merge base with main)")
    p.add_argument("--skip-fmt", action="store_true", help="do not require canonical formatting")
    p.add_argument("--skip-approvals", action="store_true", help="do not require approvals")
    p.add_argument("--skip-versions", action="store_true", help="do not check version bumps")
    p.add_argument("--sarif", metavar="FILE", help="also write the problems as SARIF 2.1.0")

    p = sub.add_parser("docs", formatter_class=_formatter, help="publish policies as readable pages (MkDocs)",
                       description="Render a Markdown page per policy (fields, scores in plain English, the stage "
                                   "ladder, routing, SLAs as commitments, recycling, sample cases with a chart, "
                                   "changelog), an index and a mkdocs.yml (Material theme); --build runs MkDocs.",
                       epilog="examples:\n  leadpolicy docs -o build/policy-docs --build\n"
                              "  leadpolicy docs policies/inbound-b2b.policy -o site-src\n")
    p.add_argument("paths", nargs="*", default=None)
    p.add_argument("-o", "--output", default="build/policy-docs", metavar="DIR")
    p.add_argument("--build", action="store_true", help="also build the static site (DIR/site)")
    p.add_argument("--site-name", default="Lead policies")

    p = sub.add_parser("diff", formatter_class=_formatter, help="what changed between two versions of a policy",
                       description="List the changes between two versions of a policy in domain words, and their "
                                   "impact on leads: how many change stage, route and grade, the stage transitions, "
                                   "and a few example leads before and after.",
                       epilog="examples:\n"
                              "  leadpolicy diff main:policies/inbound-b2b.policy policies/inbound-b2b.policy\n"
                              "  leadpolicy diff old.policy new.policy --leads leads.parquet --format markdown\n")
    p.add_argument("old", help="a policy file, or GIT_REF:path")
    p.add_argument("new", help="a policy file, or GIT_REF:path")
    p.add_argument("--leads", metavar="FILE", help="leads to measure the impact on (CSV, JSON Lines, Parquet); "
                                                   "default: the samples file next to the new policy")
    p.add_argument("--now", type=timestamp_arg,
                   help="evaluation time (default: the samples file's, else the current time)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when the versions differ, 0 when they do not "
                                                             "(as git diff --exit-code)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")

    p = sub.add_parser("test", formatter_class=_formatter, help="run sample cases",
                       description="Run the cases of samples files (NAME.samples.yaml next to NAME.policy).",
                       epilog="examples:\n  leadpolicy test\n"
                              "  leadpolicy test policies/inbound-b2b.samples.yaml -k demo\n"
                              "  leadpolicy test --coverage --min-coverage 90\n  leadpolicy test --junit report.xml\n")
    p.add_argument("paths", nargs="*", default=None, help="samples files, policy files or directories")
    p.add_argument("--format", choices=("text", "json", "github"), default="text",
                   help="github: GitHub Actions annotations on the lines at fault")
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    p.add_argument("--coverage", action="store_true", help="list rules, stages, routes and boundaries no case covers")
    p.add_argument("--min-coverage", type=float, default=None, metavar="N", help="fail below N percent coverage")
    p.add_argument("-k", dest="pattern", metavar="TEXT", help="only cases whose name contains TEXT")

    p = sub.add_parser("explain", formatter_class=_formatter, help="score one lead and say why",
                       description="Evaluate one lead and explain every score, grade, stage and route.",
                       epilog="examples:\n  leadpolicy explain policies/inbound-b2b.policy --lead lead.json\n"
                              "  leadpolicy explain policies/inbound-b2b.policy --lead '{\"email\": \"x@y.io\"}' "
                              "--now 2026-11-20T12:00:00-05:00\n")
    p.add_argument("policy")
    p.add_argument("--lead", required=True, help="a JSON object, or a .json / .yaml file holding one")
    p.add_argument("--now", type=timestamp_arg, help="evaluation time (ISO 8601); default: the current time")
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("compile", formatter_class=_formatter, help="compile a policy for other systems",
                       description="Compile a policy: a JSON artifact other systems load (default), or the "
                                   "generated Python source.",
                       epilog="examples:\n  leadpolicy compile policies/inbound-b2b.policy -o build/inbound-b2b.json\n"
                              "  leadpolicy compile policies/inbound-b2b.policy --target python\n"
                              "  leadpolicy compile policies/inbound-b2b.policy --target sql --dialect snowflake "
                              "--table crm.leads --now 2026-11-20T12:00:00Z\n")
    p.add_argument("policy")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p.add_argument("--target", choices=("artifact", "python", "sql"), default="artifact")
    p.add_argument("--dialect", choices=("duckdb", "postgres", "spark", "snowflake", "bigquery"), default="duckdb",
                   help="SQL dialect for --target sql (default: duckdb)")
    p.add_argument("--table", default="leads", help="the leads table for --target sql (default: leads)")
    p.add_argument("--now", type=timestamp_arg,
                   help="evaluation time written into the SQL (ISO 8601); default: the current time")

    p = sub.add_parser("score", formatter_class=_formatter, help="score a file of leads",
                       description="Score every lead of a CSV, JSON Lines or Parquet file and write the leads with "
                                   "their scores, grades, stage, owner and route. Rows that do not fit the lead "
                                   "schema go to a rejects file with their row, field and reason.",
                       epilog="examples:\n"
                              "  leadpolicy score policies/inbound-b2b.policy leads.parquet -o scored.parquet\n"
                              "  leadpolicy score policies/inbound-b2b.policy leads.csv -o scored.jsonl "
                              "--engine python "
                              "--now 2026-11-20T12:00:00Z\n\nthe run ends with: read N, scored M, rejected K "
                              "(always N = M + K)\n")
    p.add_argument("policy")
    p.add_argument("leads", help="a .csv, .jsonl or .parquet file")
    p.add_argument("-o", "--output", metavar="FILE", help="default: LEADS_NAME.scored.<same format> here")
    p.add_argument("--engine", choices=("duckdb", "python"), default="duckdb")
    p.add_argument("--now", type=timestamp_arg, help="evaluation time (ISO 8601); default: the current time")
    p.add_argument("--rejects", metavar="FILE", help="default: LEADS_NAME.rejects.csv beside the output")
    p.add_argument("--max-rejects", type=non_negative_int, metavar="N",
                   help="exit 1 when more than N rows are rejected (the output is still written)")
    p.add_argument("--strict-columns", action="store_true",
                   help="fail when a policy field is not a column of the file, or a column looks like a "
                        "misspelled field (without it, both are warnings)")
    p.add_argument("--leads-format", choices=("csv", "jsonl", "parquet"), help="override the extension")

    p = sub.add_parser("sla", formatter_class=_formatter, help="check SLAs against an event log",
                       description="Evaluate every SLA of a policy over an event log (CSV, JSON Lines or Parquet "
                                   "with lead, event, at and optional reason) and report compliance.",
                       epilog="examples:\n  leadpolicy sla policies/inbound-b2b.policy events.csv\n"
                              "  leadpolicy sla policies/inbound-b2b.policy events.parquet --from 2026-11-01 "
                              "--to 2026-11-30 --format json\n"
                              "  leadpolicy sla policies/inbound-b2b.policy events.jsonl --report-only\n\n"
                              "exit code 1 when an SLA is below its target (unless --report-only)\n")
    p.add_argument("policy")
    p.add_argument("events", help="the event log: .csv, .jsonl or .parquet")
    p.add_argument("--now", type=timestamp_arg, help="evaluation time (ISO 8601); default: the current time")
    p.add_argument("--from", dest="date_from", metavar="DATE", type=date_arg,
                   help="only clocks and periods starting on or after DATE")
    p.add_argument("--to", dest="date_to", metavar="DATE", type=date_arg,
                   help="only clocks and periods starting on or before DATE")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--rejects", metavar="FILE", help="where rejected rows go (default: EVENTS_NAME.rejects.csv here)")
    p.add_argument("--events-format", choices=("csv", "jsonl", "parquet"), help="override the extension")
    p.add_argument("--details", metavar="FILE", help="also write every lead's clocks and counts (start, stop, "
                                                      "deadline, status, time used) as CSV")
    p.add_argument("--report-only", action="store_true", help="exit 0 even when an SLA is below its target")

    p = sub.add_parser("schema", formatter_class=_formatter, help="print the lead JSON Schema of a policy",
                       epilog="example:\n  leadpolicy schema policies/inbound-b2b.policy > lead.schema.json\n")
    p.add_argument("policy")

    p = sub.add_parser("fmt", formatter_class=_formatter, help="format policies canonically",
                       description="Rewrite policies in canonical form, keeping comments.",
                       epilog="examples:\n  leadpolicy fmt\n  leadpolicy fmt --check policies/\n"
                              "  leadpolicy fmt --diff policies/inbound-b2b.policy\n")
    p.add_argument("paths", nargs="*", default=None)
    p.add_argument("--check", action="store_true", help="change nothing; fail when a file is not formatted")
    p.add_argument("--diff", action="store_true", help="change nothing; print what would change")
    return parser


def _version() -> str:
    from leadpolicy import __version__

    return __version__


_terminated = threading.Event()  # set by SIGTERM: a library may wrap the KeyboardInterrupt


def _stop_cleanly_on_sigterm() -> None:
    """A SIGTERM (a CI job cancelled, `kill`) ends the command through its `finally` blocks, so
    temporary files and staging folders are removed, as on Ctrl-C."""
    import signal

    def stop(signum, frame):
        _terminated.set()
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from leadpolicy.cli import commands as c
    from leadpolicy.cli.settings import SettingsError, apply, load_settings

    try:
        apply(args, load_settings())
    except SettingsError as exc:
        print(f"leadpolicy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _stop_cleanly_on_sigterm()
    handler = {"check": c.cmd_check, "test": c.cmd_test, "explain": c.cmd_explain, "schema": c.cmd_schema,
               "fmt": c.cmd_fmt, "sla": c.cmd_sla,
               "compile": c.cmd_compile, "score": c.cmd_score, "approve": c.cmd_approve,
               "diff": c.cmd_diff, "ci": c.cmd_ci, "docs": c.cmd_docs}[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("leadpolicy: interrupted", file=sys.stderr)
        return 130  # also after SIGTERM: the shell's code for an interrupted command
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # never a traceback for the user; LEADPOLICY_DEBUG=1 shows it
        if _terminated.is_set():
            print("leadpolicy: interrupted", file=sys.stderr)
            return 130
        if os.environ.get("LEADPOLICY_DEBUG"):
            raise
        print(f"leadpolicy: internal error: {type(exc).__name__}: {exc}\n"
              "  please report it; LEADPOLICY_DEBUG=1 shows the details", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
