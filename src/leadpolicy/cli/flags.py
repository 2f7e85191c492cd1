"""Argument types and help layout shared by the commands."""

from __future__ import annotations

import argparse
import datetime as dt


def timestamp_arg(text: str) -> str:
    """An ISO 8601 timestamp in the supported years, read as a lead's are (checked here, so a bad one
    is bad usage; read in the policy's zone later: the years are as written, so the zone cannot matter)."""
    from leadpolicy import zones
    from leadpolicy.runtime import OutOfRange
    from leadpolicy.semantics.leads import parse_timestamp

    try:
        parse_timestamp(text, zones.zone("UTC"))
    except OutOfRange as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 timestamp, as in 2026-11-20T12:00:00-05:00"
                                         ) from None
    return text


def date_arg(text: str) -> dt.date:
    """A `YYYY-MM-DD` date in the supported years, read as a lead's dates are."""
    from leadpolicy.runtime import OutOfRange
    from leadpolicy.semantics.leads import read_date

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


def positive_seconds(text: str) -> float:
    """A time limit in seconds: a number above 0 (and finite)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


def column_arg(text: str) -> tuple[str, str]:
    """`FIELD=HEADER`: the policy's field and the header of the file's column it is read from."""
    name, sep, header = text.partition("=")
    if not sep or not name.strip() or not header:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=HEADER, as in 'job_title=Job Title'")
    return name.strip(), header


def add_columns(p: argparse._ActionsContainer, what: str = "the leads file") -> None:
    """`--column FIELD=HEADER` (repeatable): read a field from a column named otherwise, as a CRM export
    names it; over [tool.leadpolicy.columns]. `settings.apply` turns the flags into `args.columns`
    (field -> header) and `shared.column_mapping_problem` checks the fields against the policy."""
    p.add_argument("--column", dest="columns", action="append", type=column_arg, metavar="FIELD=HEADER",
                   help=f"read the policy's FIELD from {what}'s column HEADER, as in --column 'job_title=Job "
                        "Title' (repeatable; over [tool.leadpolicy.columns] in pyproject.toml)")


def add_max_rejects(p: argparse._ActionsContainer, rows: str = "the leads",
                    still: str = "the report is still written") -> None:
    """`--max-rejects N`: a run that rejects more than N rows of its lead data, or of its events, exits 1
    (`shared.too_many_rejects` says which); what it writes is still written."""
    p.add_argument("--max-rejects", type=non_negative_int, metavar="N",
                   help=f"exit 1 when more than N rows of {rows}, or more than N rows of the events, are rejected "
                        f"({still})")


def add_quiet(p: argparse._ActionsContainer) -> None:  # a parser or one of its groups
    """`--quiet`: no progress bar (there is one only when stderr is a terminal)."""
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (shown only when stderr is a terminal; NO_COLOR draws it without colour "
                        "or escapes)")


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
