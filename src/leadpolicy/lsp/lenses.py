"""Code lenses: above each sample case of a samples file ("passes", "fails: stage mql, expected sql") and above
each guarantee of a policy ("proved", "violated: ...", "unknown: ..."), from the last saved check."""

from __future__ import annotations

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


def _value(value: Any) -> str:
    return "none" if value is None else str(value)


def case_title(case: CaseResult) -> str:
    """What one sample case gave, in a few words."""
    if case.status == PASSED:
        return "passes"
    if case.status == FAILED and case.mismatches:
        return "fails: " + "; ".join(f"{what} {_value(got)}, expected {_value(want)}"
                                     for what, want, got in case.mismatches)
    said = "; ".join(case.failures)
    return ("fails: " if case.status == FAILED else f"{case.status}: ") + said if said else case.status


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
