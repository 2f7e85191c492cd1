"""Who gets the lead: the assignment engine (`engine`), its state in a real database (`state`) and the run-time data
it reads (`data`: availability and accounts).

The names below are imported on first use: the state's database library is loaded only by what assigns (`assign`,
`simulate`, the service, samples with `assignments:`), never by `check` of a policy without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadpolicy.assignment.data import Availability, People, Reject, read_accounts, read_availability
    from leadpolicy.assignment.engine import (
        ACCOUNT_OWNER,
        ALREADY,
        FALLBACK,
        HELD,
        ROTATION,
        Assigner,
        Outcome,
        Skip,
    )
    from leadpolicy.assignment.state import SCHEMA_VERSION, State, StateError, open_state

HOME = {**dict.fromkeys(("Availability", "People", "Reject", "read_accounts", "read_availability"), "data"),
        **dict.fromkeys(("ACCOUNT_OWNER", "ALREADY", "FALLBACK", "HELD", "ROTATION", "Assigner", "Outcome", "Skip"),
                        "engine"),
        **dict.fromkeys(("SCHEMA_VERSION", "State", "StateError", "open_state"), "state")}

__all__ = ["ACCOUNT_OWNER", "ALREADY", "FALLBACK", "HELD", "ROTATION", "SCHEMA_VERSION", "Assigner",
           "Availability", "Outcome", "People", "Reject", "Skip", "State", "StateError", "open_state", "read_accounts",
           "read_availability"]


def __getattr__(name: str) -> Any:
    if name not in HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{HOME[name]}"), name)
