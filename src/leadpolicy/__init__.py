"""leadpolicy: lead scoring, handoff, routing and SLA agreements between Sales and Marketing, as code.

The public API (see docs/api.md):

    >>> import leadpolicy
    >>> policy = leadpolicy.load("policies/inbound-b2b.policy")   # or a compiled .json artifact
    >>> policy.id, policy.version
    ('inbound-b2b', '2.1.0')
    >>> decision = policy.evaluate({"email": "sam@gmail.com", "employees": 60}, now="2026-11-20T12:00:00Z")
    >>> decision.stage, decision.owner, decision.route
    ('nurture', 'marketing', None)
    >>> policy.validate({"email": "x@y.io", "employees": "many"})[0].field
    'employees'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["load", "Policy", "Decision", "Result", "LeadError", "PolicyError", "FieldError", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from leadpolicy.api import Decision, LeadError, Policy, PolicyError, Result, load
    from leadpolicy.semantics.leads import FieldError


def __getattr__(name: str) -> Any:
    # Imported on first use, so `leadpolicy --help` starts fast.
    if name in ("load", "Policy", "Decision", "Result", "LeadError", "PolicyError"):
        from leadpolicy import api

        return getattr(api, name)
    if name == "FieldError":
        from leadpolicy.semantics.leads import FieldError

        return FieldError
    raise AttributeError(f"module 'leadpolicy' has no attribute {name!r}")
