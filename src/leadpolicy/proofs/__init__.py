"""Proofs of a policy's guarantees (issue 27; LANGUAGE-v3, "Guarantees"): each claim proved for every lead the
lead block admits, every history of events and every `now`, or refuted with a counter-example that the compiled
evaluator re-decides before it is shown, or unknown with the reason. Built on the symbolic lead
(`semantics.symbolic`); `check` reports the results as diagnostics (`proofs.diagnostics`), `leadpolicy prove`
shows them.
"""

from leadpolicy.proofs.claims import claim_holds
from leadpolicy.proofs.guarantees import DEFAULT_TIMEOUT, Disagreement, GuaranteeResult, prove, results_json

__all__ = ["DEFAULT_TIMEOUT", "Disagreement", "GuaranteeResult", "claim_holds", "prove", "results_json"]
