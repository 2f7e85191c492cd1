"""Diagnostics exactly as `leadpolicy check` gives them, as LSP diagnostics.

As you type only the parse and the checks run (`typing_diagnostics`); on save (and on open) `saved_check` adds
what takes longer, as `check` does for a policy without errors: its approvals file, its samples run beside it,
and what the solver finds (guarantees, route gaps, entries no lead reaches). Every step is the function `check`
calls; this module only converts the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from leadpolicy.language import ast, incremental
from leadpolicy.language.diagnostics import ERROR, Diagnostic
from leadpolicy.language.loader import checked, samples_for
from leadpolicy.lsp.document import to_range
from leadpolicy.lsp.files import over_cap
from leadpolicy.semantics import analysis
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.testing.coverage_floor import coverage_diagnostics, project_floor, untested
from leadpolicy.testing.harness import CaseResult, SamplesRun

SOURCE = "leadpolicy"
PROVE_TIMEOUT = 10.0  # seconds per guarantee, as `check` gives each by default


@dataclass
class SavedCheck:
    """What `check` says of one policy file: its diagnostics, its samples file's and its sample cases."""

    policy_diagnostics: list[Diagnostic]
    samples_file: Path
    samples_diagnostics: list[Diagnostic] = field(default_factory=list)
    run: SamplesRun | None = None
    proved: ast.Policy | None = None  # the tree the solver ran on (None when the policy has errors)


def typing_diagnostics(text: str, file: str) -> list[Diagnostic]:
    """The parse's and the checker's diagnostics of a policy text (what runs as you type): `load_policy_text`'s,
    with only the pieces of the text an edit changed parsed again."""
    if refused := over_cap(text, file):
        return refused
    return list(checked(incremental.parse_edited(text, file), analysis).diagnostics)


def forget(file: str) -> None:
    """Drop what was kept of a file's parse (the editor closed it)."""
    incremental.forget(file)


def saved_check(text: str, file: str, timeout: float = PROVE_TIMEOUT) -> SavedCheck:
    """Everything `check FILE` reports of the policy `text` saved at `file`, in the order check finds it."""
    from leadpolicy.governance.approvals import approval_diagnostics
    from leadpolicy.proofs.diagnostics import proof_diagnostics

    if refused := over_cap(text, file):
        return SavedCheck(refused, samples_for(file))
    loaded = load_policy_text(text, file)
    found = SavedCheck(list(loaded.diagnostics), samples_for(file))
    if loaded.policy is None or loaded.has_errors:
        return found
    found.policy_diagnostics += approval_diagnostics(file, loaded.policy, False)[1]
    found.run = _samples_run(found, loaded.policy, file)
    seen = [case.actual for case in found.run.cases if case.kind == "lead"] if found.run is not None else []
    found.policy_diagnostics += proof_diagnostics(file, loaded.policy, timeout, seen)
    found.proved = loaded.policy
    return found


def _samples_run(found: SavedCheck, policy: ast.Policy, file: str) -> SamplesRun | None:
    """The samples file's run beside the policy (`untested` when there is none), its diagnostics sorted by file."""
    from leadpolicy.testing.harness import run_samples

    if not found.samples_file.exists():
        found.policy_diagnostics.append(untested(found.samples_file, file))
        return None
    run = run_samples(found.samples_file, policy, file)
    for diag in run.diagnostics:
        same = Path(diag.file).resolve() == Path(file).resolve()
        (found.policy_diagnostics if same else found.samples_diagnostics).append(diag)
    found.policy_diagnostics += coverage_diagnostics(run, project_floor(Path(file).parent), file, policy.id_span)
    return run


def lsp_diagnostic(diag: Diagnostic, text: str, docs: str) -> types.Diagnostic:
    """One diagnostic as an editor shows it: the message with its hint as a second paragraph, the code linked to
    its row of docs/diagnostics.md (`docs`: where the docs are published)."""
    message = diag.message + (f"\n\nhint: {diag.hint}" if diag.hint else "")
    return types.Diagnostic(
        range=to_range(text, diag.span), message=message, source=SOURCE, code=diag.code,
        code_description=types.CodeDescription(href=f"{docs}/diagnostics.md#{diag.code}"),
        severity=types.DiagnosticSeverity.Error if diag.severity == ERROR else types.DiagnosticSeverity.Warning,
        data={"hint": diag.hint})


def case_diagnostic(case: CaseResult, text: str, docs: str) -> types.Diagnostic:
    """A failing sample case, on its line of the samples file, worded as `check` prints it."""
    span = ast.Span(case.line, 1, case.line, 1 + len(_line(text, case.line)))
    return types.Diagnostic(
        range=to_range(text, span), message=f"{case.name}: {'; '.join(case.failures)}", source=SOURCE,
        code="sample-failed", code_description=types.CodeDescription(href=f"{docs}/samples.md"),
        severity=types.DiagnosticSeverity.Error, data={"status": case.status})


def samples_diagnostics(found: SavedCheck, text: str, docs: str) -> list[types.Diagnostic]:
    """What the saved check says of the samples file: its own diagnostics, then each failing case."""
    out = [lsp_diagnostic(d, text, docs) for d in found.samples_diagnostics]
    cases = found.run.cases if found.run is not None else []
    return out + [case_diagnostic(c, text, docs) for c in cases if c.failing]


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""
