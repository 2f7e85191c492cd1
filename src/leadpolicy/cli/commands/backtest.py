"""`leadpolicy backtest OLD NEW`: two versions of a policy compared on the same leads and outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadpolicy.cli.commands.feedback import BACKTEST_EPILOG, common_arguments, run
from leadpolicy.cli.flags import help_formatter

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands

__all__ = ["register", "run"]


def register(sub: Subcommands) -> None:
    b = sub.add_parser("backtest", formatter_class=help_formatter, help="compare two versions on past outcomes",
                       description="Decide the same leads with two versions of a policy as of --as-of and compare "
                                   "what each hands off with what became of the leads; ends with a verdict line.",
                       epilog=BACKTEST_EPILOG)
    b.add_argument("old")
    b.add_argument("new")
    common_arguments(b)
