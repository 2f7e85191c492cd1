"""`leadpolicy docs`: publish policies as readable pages (MkDocs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from leadpolicy.cli.commands.check import PROVE_TIMEOUT
from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_quiet, help_formatter, positive_seconds
from leadpolicy.cli.shared import print_diagnostics, progress_bar
from leadpolicy.outputs import shown

if TYPE_CHECKING:
    from leadpolicy import api
    from leadpolicy.cli.shared import Subcommands
    from leadpolicy.language import ast
    from leadpolicy.proofs.guarantees import GuaranteeResult
    from leadpolicy.publish.calibration import Calibrations
    from leadpolicy.publish.site import Statuses, StatusSource


def register(sub: Subcommands) -> None:
    p = sub.add_parser("docs", formatter_class=help_formatter, help="publish policies as readable pages (MkDocs)",
                       description="Render a Markdown page per policy (fields, scores in plain English, the stage "
                                   "ladder, routing, SLAs as commitments, recycling, sample cases with a chart, "
                                   "changelog), an index and a mkdocs.yml (Material theme); --build runs MkDocs.",
                       epilog="examples:\n  leadpolicy docs -o build/policy-docs --build\n"
                              "  leadpolicy docs policies/inbound-b2b.policy -o site-src\n")
    p.add_argument("paths", nargs="*", default=None)
    p.add_argument("-o", "--output", default="build/policy-docs", metavar="DIR")
    p.add_argument("--build", action="store_true", help="also build the static site (DIR/site)")
    p.add_argument("--site-name", default="Lead policies")
    p.add_argument("--prove-timeout", type=positive_seconds, default=PROVE_TIMEOUT, metavar="S",
                   help="the time the solver has for each guarantee the pages show a status of (default: "
                        f"{PROVE_TIMEOUT:g} s)")
    p.add_argument("--calibration", metavar="FILE", action="append", default=[],
                   help="a calibration JSON (`leadpolicy calibrate --format json`): its policy's page gets a "
                        "calibration section (repeat for each policy)")
    add_quiet(p)


def guarantee_statuses(timeout: float) -> StatusSource:
    """How the pages ask the proofs: each guarantee's status and one line (the counter-example, or why unknown)."""
    def statuses(path: Path, tree: ast.Policy) -> Statuses:
        from leadpolicy import api
        from leadpolicy.proofs import prove
        from leadpolicy.proofs.report import page_status

        policy = api.from_tree(tree, str(path))
        return {result.name: _in_words(policy, result, tree) or page_status(policy, result)
                for result in prove(policy, timeout)}

    return statuses


def _in_words(policy: api.Policy, result: GuaranteeResult, tree: ast.Policy) -> tuple[str, str] | None:
    """A violated guarantee's counter-example in words (its events by label), or None for another status."""
    from leadpolicy.proofs.claims import handed_off
    from leadpolicy.publish import english

    decisions = [d for d in (result.before, result.after) if d is not None]
    if result.status != "violated" or result.counterexample is None or not decisions:
        return None
    with english.wording(english.labels_of(tree)):
        return result.status, "for example " + english.counterexample(
            policy.ir, result.counterexample, [(d, handed_off(policy, d)) for d in decisions])


def _calibrations(files: list[str]) -> Calibrations | None:
    """The calibration JSONs read and checked; None (having said why) when one cannot be used."""
    from leadpolicy.publish.calibration import CalibrationFileError, read_calibrations

    try:
        return read_calibrations([Path(name) for name in files])
    except CalibrationFileError as exc:
        print(f"leadpolicy docs: {shown(str(exc))}", file=sys.stderr)
        return None


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"leadpolicy docs: warning: {shown(warning)}", file=sys.stderr)


def _inputs(args: argparse.Namespace) -> dict[str, Path]:
    """The files docs reads, which no page may replace: the policies, their samples and approvals, and the
    calibrations."""
    from leadpolicy.cli.commands.test import repository_files

    return {**repository_files(args.paths), **{f"the calibration {name}": Path(name) for name in args.calibration}}


def run(args: argparse.Namespace) -> int:
    from leadpolicy.outputs import OutputError
    from leadpolicy.publish.site import build, check_site_folder, site_files, write_site

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        print(f"leadpolicy docs: {out}: -o is not a folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.build:
            check_site_folder(out)
    except OutputError as exc:
        print(f"leadpolicy docs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    calibrations = _calibrations(args.calibration)
    if calibrations is None:
        return EXIT_USAGE
    files, pages, diags = site_files(args.paths, out, args.site_name, guarantee_statuses(args.prove_timeout),
                                     calibrations)
    print_diagnostics(diags, {})
    _warn(calibrations.unused())
    if any(d.is_error for d in diags):
        print(f"leadpolicy docs: nothing written to {out}: every policy must be publishable", file=sys.stderr)
        return EXIT_PROBLEMS
    try:
        write_site(out, files, _inputs(args))
    except OutputError as exc:
        print(f"leadpolicy docs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"leadpolicy docs: {out}: cannot make the folder: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {len(pages)} policy page(s), an index and {out / 'mkdocs.yml'}")
    if args.build:
        import importlib.util

        if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
            print("leadpolicy docs: --build needs MkDocs and the Material theme, which a plain install does not "
                  "bring: pip install 'leadpolicy[docs]' (the pages were written; `--build` only renders them)",
                  file=sys.stderr)
            return EXIT_PROBLEMS
        try:
            pages_in_all = sum(path.suffix == ".md" for path in files)
            with progress_bar(f"building {out / 'site'}", args.quiet, unit="pages") as progress:
                if progress is not None:
                    progress(0, None)  # MkDocs says nothing while it builds: a bar that moves, then the count
                code, output = build(out, files)
                if progress is not None and code == 0:
                    progress(pages_in_all, pages_in_all)
        except OutputError as exc:
            print(f"leadpolicy docs: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if code != 0:
            print(f"leadpolicy docs: mkdocs build failed:\n{output}", file=sys.stderr)
            return EXIT_PROBLEMS
        print(f"built {out / 'site' / 'index.html'}")
    return EXIT_OK
