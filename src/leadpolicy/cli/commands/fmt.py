"""`leadpolicy fmt`: format policies canonically."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS
from leadpolicy.cli.flags import help_formatter
from leadpolicy.cli.shared import (
    print_diagnostics,
)

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands


def register(sub: Subcommands) -> None:
    p = sub.add_parser("fmt", formatter_class=help_formatter, help="format policies canonically",
                       description="Rewrite policies in canonical form, keeping comments.",
                       epilog="examples:\n  leadpolicy fmt\n  leadpolicy fmt --check policies/\n"
                              "  leadpolicy fmt --diff policies/inbound-b2b.policy\n")
    p.add_argument("paths", nargs="*", default=None)
    p.add_argument("--check", action="store_true", help="change nothing; fail when a file is not formatted")
    p.add_argument("--diff", action="store_true", help="change nothing; print what would change")


def _diff(source: str, formatted: str, name: str) -> list[str]:
    """The unified diff from `source` to `formatted`, lines split at "\\n" only, every line safe to print:
    a control or invisible format character of the policy (or its file name) shows as U+FFFD."""
    import difflib

    from leadpolicy.language.diagnostics import escaped, printable

    name = escaped(name)
    lines = difflib.unified_diff(source.split("\n"), formatted.split("\n"), f"{name} (now)", f"{name} (formatted)",
                                 lineterm="")
    return [printable(line) + "\n" for line in lines]


def _fmt_stream(args: argparse.Namespace) -> int:
    """`leadpolicy fmt -`: a policy on standard input, formatted to standard output (for editors).
    With --check nothing is written and the exit code says whether it was formatted."""
    from leadpolicy.language.diagnostics import colour_wanted, render_all
    from leadpolicy.language.formatter import format_policy
    from leadpolicy.language.parser import parse_text

    text = sys.stdin.read()
    parsed = parse_text(text, "<stdin>")
    if parsed.policy is None:  # on stderr, as check colours them when that is a terminal
        print(render_all(parsed.diagnostics, {"<stdin>": text}, colour_wanted(sys.stderr)), file=sys.stderr)
        return EXIT_PROBLEMS
    formatted = format_policy(parsed.policy, parsed.comments)
    if args.check:
        return EXIT_OK if formatted == text else EXIT_PROBLEMS
    if args.diff:
        sys.stdout.writelines(_diff(text, formatted, "<stdin>"))
        return EXIT_OK if formatted == text else EXIT_PROBLEMS
    sys.stdout.write(formatted)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from leadpolicy.language.diagnostics import escaped
    from leadpolicy.language.formatter import format_policy
    from leadpolicy.language.loader import discover
    from leadpolicy.language.parser import parse_file
    from leadpolicy.outputs import write_text

    if args.paths == ["-"]:
        return _fmt_stream(args)
    policies, _, problems = discover(args.paths)
    print_diagnostics(problems, {})
    status = EXIT_PROBLEMS if problems else EXIT_OK
    for path in policies:
        parsed = parse_file(path)
        if parsed.policy is None:
            print_diagnostics(parsed.diagnostics, {parsed.file: parsed.source})
            status = EXIT_PROBLEMS
            continue
        formatted = format_policy(parsed.policy, parsed.comments)
        if formatted == parsed.source:
            continue
        if args.check or args.diff:
            status = EXIT_PROBLEMS
            if args.diff:
                sys.stdout.writelines(_diff(parsed.source, formatted, str(path)))
            else:
                print(f"{escaped(str(path))}: not formatted (run: leadpolicy fmt {escaped(str(path))})")
        else:
            write_text(path, formatted)  # whole or not at all, through leadpolicy.outputs
            print(f"formatted {escaped(str(path))}")
    return status
