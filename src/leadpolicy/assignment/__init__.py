"""Who gets the lead: the assignment engine (`engine`), its state in a real database (`state`) and the run-time data
it reads (`data`: availability and accounts)."""

from leadpolicy.assignment.data import Availability, People, Reject, read_accounts, read_availability
from leadpolicy.assignment.engine import ACCOUNT_OWNER, ALREADY, FALLBACK, HELD, ROTATION, Assigner, Outcome, Skip
from leadpolicy.assignment.state import SCHEMA_VERSION, State, StateError, open_state

__all__ = ["ACCOUNT_OWNER", "ALREADY", "FALLBACK", "HELD", "ROTATION", "SCHEMA_VERSION", "Assigner",
           "Availability", "Outcome", "People", "Reject", "Skip", "State", "StateError", "open_state", "read_accounts",
           "read_availability"]
