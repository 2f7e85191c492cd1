"""Code lenses: above each sample case of a samples file ("passes", "fails: stage mql, expected sql") and above
each guarantee of a policy ("proved", "violated: ...", "unknown: ..."), from the last saved check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from lsprotocol import types

from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.lsp.document import to_range
from leadpolicy.testing.harness import FAILED, PASSED, CaseResult, SamplesRun

LONGEST = 160  # characters of a lens's title; the diagnostic at the same line says the rest


def _lens(text: str, line: int, title: str) -> types.CodeLens:
    where = to_range(text, ast.Span(line, 1, line, 1))
    shown = title if len(title) <= LONGEST else title[: LONGEST - 1] + "…"
    return types.CodeLens(range=where, command=types.Command(title=shown, command=""))


SCALARS = (str, int, float, Decimal)


def _value(value: Any) -> str:
    """A decided or agreed value as the samples file writes it (none, true, 65, sql)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def case_title(case: CaseResult) -> str:
    """What one sample case gave, in a few words: what it decided, then what the case agreed, for a single
    value; the failures as `check` words them otherwise (a timeline's clocks, a case that cannot run)."""
    if case.status == PASSED:
        return "passes"
    scalar = all(v is None or isinstance(v, SCALARS) for _, want, got in case.mismatches for v in (want, got))
    if case.status == FAILED and case.mismatches and scalar:
        return "fails: " + "; ".join(f"{what} {_value(got)}, expected {_value(want)}"
                                     for what, want, got in case.mismatches)
    said = "; ".join(case.failures)
    prefix = "fails" if case.status == FAILED else f"{case.status} (the case cannot run)"
    return f"{prefix}: {said}" if said else prefix


def case_lenses(run: SamplesRun, text: str) -> list[types.CodeLens]:
    return [_lens(text, case.line, case_title(case)) for case in run.cases if case.line]


GUARANTEE_CODES = {"guarantee-violated": "violated", "guarantee-unknown": "unknown"}


def guarantee_title(node: ast.Guarantee, diagnostics: Iterable[Diagnostic]) -> str:
    """"proved", or "violated: ..." / "unknown: ..." with the diagnostic's reason (after the guarantee's name)."""
    for diag in diagnostics:
        if diag.code in GUARANTEE_CODES and diag.span == node.span:
            reason = diag.message.split(": ", 1)[1] if ": " in diag.message else diag.message
            return f"{GUARANTEE_CODES[diag.code]}: {reason}"
    return "proved"


def guarantee_lenses(tree: ast.Policy, diagnostics: list[Diagnostic], text: str) -> list[types.CodeLens]:
    return [_lens(text, node.span.line, guarantee_title(node, diagnostics)) for node in tree.guarantees]
