"""`leadpolicy schema`: print the lead JSON Schema of a policy."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS
from leadpolicy.cli.flags import help_formatter
from leadpolicy.cli.shared import (
    load_or_report,
)

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands


def register(sub: Subcommands) -> None:
    p = sub.add_parser("schema", formatter_class=help_formatter, help="print the lead JSON Schema of a policy",
                       epilog="example:\n  leadpolicy schema policies/inbound-b2b.policy > lead.schema.json\n")
    p.add_argument("policy")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.semantics.leads import lead_schema

    loaded = load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    print(json.dumps(lead_schema(loaded.policy), indent=2))
    return EXIT_OK
