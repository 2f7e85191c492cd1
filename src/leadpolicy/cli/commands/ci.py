"""`leadpolicy ci`: everything a policy repository's CI needs, in one step."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from leadpolicy.cli.flags import add_min_coverage, help_formatter


def register(sub) -> None:
    p = sub.add_parser("ci", formatter_class=help_formatter,
                       help="everything a policy repository's CI needs, in one step",
                       description="Format check, check, sample tests, coverage floor, approvals by every owning "
                                   "team, and version rules against the base branch. Writes GitHub annotations when "
                                   "run in GitHub Actions, and SARIF for code-scanning tools with --sarif.",
                       epilog="examples:\n  leadpolicy ci\n  leadpolicy ci policies/ --min-coverage 80 --sarif "
                              "leadpolicy.sarif\n  leadpolicy ci --against origin/main --skip-fmt\n")
    p.add_argument("paths", nargs="*", default=None)
    add_min_coverage(p)
    p.add_argument("--against", metavar="GIT_REF", default="",
                   help="base for the version rules (default: the merge base with main)")
    p.add_argument("--skip-fmt", action="store_true", help="do not require canonical formatting")
    p.add_argument("--skip-approvals", action="store_true", help="do not require approvals")
    p.add_argument("--skip-versions", action="store_true", help="do not check version bumps")
    p.add_argument("--sarif", metavar="FILE", help="also write the problems as SARIF 2.1.0")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.governance.ci import fmt_diagnostics, github_annotations, sarif

    extra = [] if args.skip_fmt else fmt_diagnostics(args.paths)
    check_args = argparse.Namespace(paths=args.paths, format="text", min_coverage=args.min_coverage,
                                    allow_untested=False, strict=False, require_approvals=not args.skip_approvals,
                                    against=None if args.skip_versions else args.against)
    collected: dict = {}

    def sink(diags, runs):
        collected.update(diags=diags, runs=runs)
    from leadpolicy.cli.commands.check import run as run_check

    status = run_check(check_args, extra, sink)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(collected["diags"], collected["runs"]):
            print(line)
    if args.sarif:
        Path(args.sarif).write_text(json.dumps(sarif(collected["diags"], collected["runs"]), indent=2), "utf-8")
        print(f"wrote {args.sarif}")
    return status
