"""Argument types and help layout shared by the commands."""

from __future__ import annotations

import argparse


def timestamp_arg(text: str) -> str:
    """An ISO 8601 timestamp in the supported years, read as a lead's are (checked here, so a bad one
    is bad usage; read in the policy's zone later: the years are as written, so the zone cannot matter)."""
    from leadpolicy import zones
    from leadpolicy.semantics.leads import OutOfRange, parse_timestamp

    try:
        parse_timestamp(text, zones.zone("UTC"))
    except OutOfRange as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 timestamp, as in 2026-11-20T12:00:00-05:00"
                                         ) from None
    return text


def date_arg(text: str):
    """A `YYYY-MM-DD` date in the supported years, read as a lead's dates are."""
    from leadpolicy.semantics.leads import OutOfRange, read_date

    try:
        return read_date(text.strip())
    except OutOfRange as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def non_negative_int(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return int(text)


def help_formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


NOW_HELP = "evaluation time (ISO 8601); default: the current time"


def add_now(p: argparse.ArgumentParser, help: str = NOW_HELP) -> None:
    """`--now`: the evaluation time, checked here (a bad one is bad usage, exit 2)."""
    p.add_argument("--now", type=timestamp_arg, help=help)


def add_report_format(p: argparse.ArgumentParser) -> None:
    """`--format text|json|github` of the commands that report problems and sample cases."""
    p.add_argument("--format", choices=("text", "json", "github"), default="text",
                   help="github: GitHub Actions annotations on the lines at fault")


def add_min_coverage(p: argparse.ArgumentParser, help: str | None = None) -> None:
    p.add_argument("--min-coverage", type=float, default=None, metavar="N", help=help)
