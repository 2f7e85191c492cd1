"""`leadpolicy lsp`: the language server, over standard input and output (an editor starts it)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK
from leadpolicy.cli.flags import help_formatter

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("lsp", formatter_class=help_formatter, help="the language server, for editors",
                            description="Run the language server over standard input and output. An editor starts it "
                                        "(command: leadpolicy lsp, transport: stdio) and speaks the Language Server "
                                        "Protocol to it: diagnostics as check gives them while you type, samples and "
                                        "guarantees on save, formatting as fmt does, an outline, folds, code lenses, "
                                        "go to definition, references, rename, hover and completion.",
                            epilog="see docs/lsp.md (and docs/editors.md for VS Code, Neovim and Helix)\n")
    # a language client may name the transport (VS Code's appends --stdio to a stdio server's command)
    parser.add_argument("--stdio", action="store_true",
                        help="speak over standard input and output: accepted, and the default (the only transport)")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.lsp.server import build_server

    build_server().start_io()
    return EXIT_OK
