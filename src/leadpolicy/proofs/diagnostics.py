"""What `check` reports of the proofs, as diagnostics at the policy's lines: `guarantee-violated` (an error at
the guarantee, with the counter-example and its decided values) and `guarantee-unknown` (a warning with the
reason). `proof_diagnostics` is the one function check calls, for every policy without errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic

if TYPE_CHECKING:
    from leadpolicy import api
    from leadpolicy.proofs.guarantees import GuaranteeResult

CHECK_BUDGET = 60.0  # seconds check spends on a policy's guarantees in all (`leadpolicy prove` has no such limit)


def guarantee_diagnostic(file: str, policy: api.Policy, node: ast.Guarantee, result: GuaranteeResult,
                         timeout: float | None = None) -> Diagnostic | None:
    """The diagnostic of one guarantee's result (None when it is proved)."""
    from leadpolicy.proofs.report import broken_by, explain_commands, unknown_said

    if result.status == "violated":
        unknown = unknown_said(policy, result)
        return Diagnostic("guarantee-violated",
                          f'guarantee "{result.name}" does not hold ({result.claim}): {broken_by(policy, result)}'
                          + (f" ({unknown})" if unknown else ""),
                          file, node.span, hint="see why: " + " && ".join(explain_commands(file, result)))
    if result.status == "unknown":
        return Diagnostic("guarantee-unknown",
                          f'guarantee "{result.name}" was neither proved nor refuted: {result.reason}',
                          file, node.span, hint=unknown_hint(result, timeout))
    return None


UNCONFIRMED = ("it is not proved: the solver's candidate counter-examples were not confirmed when the compiled policy "
               "decided them (a value a lead file cannot hold exactly, such as a number finer than a float tells "
               "apart): it may hold for every lead a file can hold; samples can test it")
MANY_EVENTS = ("it is not proved: a counter-example would need more than 10,000 events in a window, more than the "
               "solver lays out; samples with such a history can test it")
BUDGET = ("it is not proved: check spends {budget:g} s on a policy's guarantees in all; leadpolicy prove gives each "
          "its own time-out (--timeout S)")
NO_SOLVER = "it is not proved: reinstall leadpolicy (pip install -e .), which installs the solver, z3-solver"
CANNOT = "it is not proved: the solver cannot reason about what this claim reads; samples can still test it"


def unknown_hint(result: GuaranteeResult, timeout: float | None = None) -> str:
    """What helps for an unknown guarantee, by its reason: more time (`timeout`: the limit as the user gave it),
    `leadpolicy prove`, or samples."""
    from leadpolicy.proofs.guarantees import BUDGET_SPENT

    reason = (result.reason or "").lower()
    if result.reason == BUDGET_SPENT:
        return BUDGET.format(budget=CHECK_BUDGET)
    if "events in a window" in reason:
        return MANY_EVENTS
    if any(word in reason for word in ("confirmed", "rejected", "refinement")):
        return UNCONFIRMED
    if any(word in reason for word in ("time", "cancel", "no answer")):
        limit = f"after its time-out of {timeout:g} s" if timeout is not None else f"after {result.seconds:.2g} s"
        return (f"it is not proved: the solver gave up {limit} (check --prove-timeout S, or "
                "leadpolicy prove --timeout S, gives it longer)")
    return CANNOT


def guarantee_diagnostics(file: str, tree: ast.Policy, policy: api.Policy, timeout: float,
                          budget: float | None = None) -> list[Diagnostic]:
    """Each guarantee proved (nothing said), violated (an error) or unknown (a warning), `timeout` seconds each
    and `budget` for all (default CHECK_BUDGET, or `timeout` when longer: one guarantee has its time)."""
    from leadpolicy.proofs.guarantees import prove

    nodes = {g.name: g for g in tree.guarantees}
    spend = max(CHECK_BUDGET, timeout) if budget is None else budget
    found = (guarantee_diagnostic(file, policy, nodes[r.name], r, timeout) for r in prove(policy, timeout, spend))
    return [d for d in found if d is not None]


def proof_diagnostics(file: str, tree: ast.Policy, timeout: float,
                      seen: Iterable[Mapping[str, Any]] = ()) -> list[Diagnostic]:
    """Everything the solver finds in a policy without errors (`tree` checked): its guarantees' results
    (`timeout` seconds each), then route gaps and the entries and rules it proves unreachable or never true
    (`proofs.exhaustive`, within a budget per policy; `seen`: the decided values of its sample cases, whose
    stages, grades and routes need no search)."""
    from leadpolicy import api
    from leadpolicy.proofs.exhaustive import exhaustive_diagnostics

    try:
        import z3  # noqa: F401
    except ModuleNotFoundError as exc:  # z3-solver, a dependency, not installed: check goes on without proofs
        return [Diagnostic("guarantee-unknown", f'guarantee "{g.name}" was neither proved nor refuted: the solver '
                           f"({exc.name}) is not installed", file, g.span, hint=NO_SOLVER) for g in tree.guarantees]
    policy = api.from_tree(tree, file)
    found = guarantee_diagnostics(file, tree, policy, timeout) if tree.guarantees else []
    return found + exhaustive_diagnostics(file, tree, policy, timeout, seen)
