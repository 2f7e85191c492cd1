"""Proofs of a policy's guarantees (issue 27; LANGUAGE-v3, "Guarantees"): each claim proved for every lead the
lead block admits, every history of events and every `now`, or refuted with a counter-example that the compiled
evaluator re-decides before it is shown, or unknown with the reason. Built on the symbolic lead
(`semantics.symbolic`); `check` reports the results as diagnostics (`proofs.diagnostics`), `leadpolicy prove`
shows them.

The names below are imported on first use: importing the package (as `check` does for every policy) does not
load the solver, which only a policy with something to prove needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadpolicy.proofs.claims import claim_holds
    from leadpolicy.proofs.guarantees import DEFAULT_TIMEOUT, Disagreement, GuaranteeResult, prove, results_json

__all__ = ["DEFAULT_TIMEOUT", "Disagreement", "GuaranteeResult", "claim_holds", "prove", "results_json"]
HOME = {"claim_holds": "claims", "DEFAULT_TIMEOUT": "guarantees", "Disagreement": "guarantees",
        "GuaranteeResult": "guarantees", "prove": "guarantees", "results_json": "guarantees"}


def __getattr__(name: str) -> Any:
    if name not in HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{HOME[name]}"), name)
