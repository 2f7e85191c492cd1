"""The `leadpolicy` command line: check, test, explain, schema, fmt."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
from types import FrameType
from typing import Callable, NoReturn, Sequence

from leadpolicy.cli import commands
from leadpolicy.cli.exit_codes import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import help_formatter
from leadpolicy.outputs import WriteFailed

MAIN_EPILOG = """\
examples:
  leadpolicy check                       parse, check and test every policy in policies/
  leadpolicy test policies/ --coverage   run the sample cases and list what no case covers
  leadpolicy explain policies/inbound-b2b.policy --lead '{"email": "a@b.io", "employees": 300}'
  leadpolicy schema policies/inbound-b2b.policy > lead.schema.json
  leadpolicy fmt --check                 fail when a policy is not in canonical form

exit codes: 0 all is well, 1 problems found, 2 bad usage, 3 internal error
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadpolicy", formatter_class=help_formatter, epilog=MAIN_EPILOG, allow_abbrev=False,
        description="Lead scoring, handoff, routing and SLA agreements between Sales and Marketing, as code.")
    parser.add_argument("--version", action="version", version=f"leadpolicy {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands.NAMES:
        importlib.import_module(f"leadpolicy.cli.commands.{name}").register(sub)
    for command_parser in sub.choices.values():  # --colum is a misspelling, never --column
        command_parser.allow_abbrev = False
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments, as `parse_args` reads them; an unknown one is refused by the command's own parser, so
    the usage shown is that command's, not the top level's (argparse leaves unknown arguments to the top)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        command_parser = commands_action.choices.get(args.command) if args.command else None
        chosen = command_parser or parser
        chosen.error(f"unrecognized arguments: {' '.join(unknown)}{_flag_hint(chosen, unknown)}")
    return args


def _flag_hint(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """` (did you mean "--column"?)` for the first unknown flag close to one of the parser's."""
    from leadpolicy.language.diagnostics import did_you_mean

    flags = [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]
    for arg in unknown:
        if arg.startswith("--") and (hint := did_you_mean(arg.partition("=")[0], flags)):
            return f" ({hint})"
    return ""


def _version() -> str:
    """leadpolicy's version and that of the time-zone data every engine reads (leadpolicy.zones)."""
    from leadpolicy import __version__, zones

    return f"{__version__} (tzdata {zones.database_version()})"


_terminated = threading.Event()  # set by SIGTERM or SIGHUP: a library may wrap the KeyboardInterrupt
_stopped_by: list[int] = []  # the signal that stopped the command, for its exit code (128 + the signal)


def _stop_cleanly_on_signals() -> None:
    """A SIGTERM (a CI job cancelled, `kill`) or a SIGHUP (the terminal closed) ends the command through its
    `finally` blocks, so temporary files and staging folders (lead data) are removed, as on Ctrl-C."""
    import signal

    def stop(signum: int, frame: FrameType | None) -> NoReturn:
        _stopped_by.append(signum)
        _terminated.set()
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):  # no SIGHUP on Windows
                signal.signal(getattr(signal, name), stop)


def _interrupted() -> int:
    """Says so, and the shell's code for a command a signal stopped: 128 + the signal (130 for Ctrl-C, 143 for
    SIGTERM, 129 for SIGHUP)."""
    import signal

    print("leadpolicy: interrupted", file=sys.stderr)
    return 128 + (_stopped_by[0] if _stopped_by else signal.SIGINT)


def _names_no_data_file(exc: Exception) -> bool:
    """A device or a folder named as data, refused by staging before a byte is read (imported only then:
    staging brings sqlglot with it)."""
    from leadpolicy.warehouse.staging import NotADataFile

    return isinstance(exc, NotADataFile)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from leadpolicy.cli.settings import SettingsError, apply, load_settings

    try:
        apply(args, load_settings())
    except SettingsError as exc:
        print(f"leadpolicy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _stop_cleanly_on_signals()
    command = importlib.import_module(f"leadpolicy.cli.commands.{args.command}")
    handler: Callable[[argparse.Namespace], int] = command.run
    try:
        return handler(args)
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return EXIT_OK
    except WriteFailed as exc:  # a full disk or device: a problem of the run, said plainly
        print(f"leadpolicy {args.command}: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except Exception as exc:  # never a traceback for the user; LEADPOLICY_DEBUG=1 shows it
        if _terminated.is_set():
            return _interrupted()
        if _names_no_data_file(exc):
            print(f"leadpolicy {args.command}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if os.environ.get("LEADPOLICY_DEBUG"):
            raise
        print(f"leadpolicy: internal error: {type(exc).__name__}: {exc}\n"
              "  please report it; LEADPOLICY_DEBUG=1 shows the details", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
