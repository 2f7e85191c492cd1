"""The symbolic lead and the search the proofs of guarantees rest on (issue 27; docs/internals.md, "The
symbolic lead"): every admitted lead, history and `now` at once, decided by the rows' solver column
(`semantics.primitives.smt`), and `find`, which says whether some lead meets a goal, with readable
witnesses. z3 is imported here and by `primitives.smt` only, never by `Policy.evaluate`.
"""

from leadpolicy.semantics.symbolic.lead import SymbolicLead
from leadpolicy.semantics.symbolic.search import Found, Impossible, Unknown, find
from leadpolicy.semantics.symbolic.witness import Witness

__all__ = ["Found", "Impossible", "SymbolicLead", "Unknown", "Witness", "find"]
