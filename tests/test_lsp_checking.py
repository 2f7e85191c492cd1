"""The language server's parts in process: diagnostics converted as an editor counts columns, the saved check
beside what `check` reports, and the lenses' words for each kind of case. Each is compared with what the
project's own functions (`load_policy`, the samples run) give, not with results written down here."""

from __future__ import annotations

import shutil
from pathlib import Path

from lsprotocol import types

from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.lsp import checking, lenses
from leadpolicy.semantics.loading import load_policy
from leadpolicy.testing.harness import run_samples

ROOT = Path(__file__).resolve().parent.parent
DOCS = "https://example.test/docs"


def copied(folder: Path, name: str = "inbound-b2b") -> Path:
    for suffix in (".policy", ".samples.yaml"):
        shutil.copy(ROOT / "policies" / (name + suffix), folder / (name + suffix))
    return folder / (name + ".policy")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_column_after_a_character_outside_the_bmp_counts_two_utf16_units(tmp_path: Path) -> None:
    path = copied(tmp_path)
    text = path.read_text(encoding="utf-8").replace(
        '"enterprise-ae"  when employees >= 1000', '"enterprise-ae 🚀"  when employes >= 1000', 1)
    found = checking.typing_diagnostics(text, str(path))
    unknown = [d for d in found if d.code == "unknown-name"]
    assert len(unknown) == 1
    shown = checking.lsp_diagnostic(unknown[0], text, DOCS)
    line = text.split("\n")[unknown[0].span.line - 1]
    assert shown.range.start.line == unknown[0].span.line - 1
    assert shown.range.start.character == utf16(line[: unknown[0].span.column - 1])
    assert shown.range.start.character == unknown[0].span.column  # one more than the code points before it
    assert line[unknown[0].span.column - 1:].startswith("employes")


def test_severity_code_link_and_hint_follow_the_diagnostic() -> None:
    text = "policy x\n"
    warning = Diagnostic("missing-title", "the policy has no title", "x.policy", hint="add: title \"...\"")
    error = Diagnostic("syntax-error", "unexpected end", "x.policy")
    shown_warning, shown_error = (checking.lsp_diagnostic(d, text, DOCS) for d in (warning, error))
    assert shown_warning.severity == types.DiagnosticSeverity.Warning
    assert shown_error.severity == types.DiagnosticSeverity.Error
    assert shown_warning.message.split("\n\nhint: ") == [warning.message, warning.hint]
    assert shown_error.message == error.message
    assert shown_warning.code_description is not None
    assert shown_warning.code_description.href == f"{DOCS}/diagnostics.md#missing-title"
    assert shown_warning.source == shown_error.source == "leadpolicy"


def test_the_saved_check_holds_what_check_s_steps_give(tmp_path: Path) -> None:
    path = copied(tmp_path)
    text = path.read_text(encoding="utf-8")
    found = checking.saved_check(text, str(path))
    loaded = load_policy(path)
    assert set(loaded.diagnostics) <= set(found.policy_diagnostics)
    run = run_samples(path.with_name("inbound-b2b.samples.yaml"), loaded.policy, str(path))
    assert found.run is not None and [c.as_dict() for c in found.run.cases] == [c.as_dict() for c in run.cases]
    assert found.proved is not None and found.samples_file == path.with_name("inbound-b2b.samples.yaml")


def test_a_policy_with_errors_gets_no_samples_run_and_no_proofs(tmp_path: Path) -> None:
    path = copied(tmp_path)
    text = path.read_text(encoding="utf-8").replace("employees >= 1000", "employes >= 1000", 1)
    found = checking.saved_check(text, str(path))
    assert found.run is None and found.proved is None
    assert {d.code for d in found.policy_diagnostics} == {d.code for d in checking.typing_diagnostics(text, str(path))}


def test_a_timeline_case_s_lens_says_its_failure_as_check_words_it(tmp_path: Path) -> None:
    path = copied(tmp_path)
    samples = path.with_name("inbound-b2b.samples.yaml")
    agreed = samples.read_text(encoding="utf-8")
    samples.write_text(agreed.replace("expect: {speed_to_lead: breached}", "expect: {speed_to_lead: met}", 1),
                       encoding="utf-8")
    found = checking.saved_check(path.read_text(encoding="utf-8"), str(path))
    assert found.run is not None
    failing = [c for c in found.run.cases if c.failing]
    assert len(failing) == 1 and failing[0].kind == "timeline"
    [(what, want, got)] = failing[0].mismatches
    assert (what, want) == ("speed_to_lead", "met")  # the clock's state, read back from the run
    assert lenses.case_title(failing[0]) == f"fails: speed_to_lead {got}, expected met"
    shown = checking.samples_diagnostics(found, samples.read_text(encoding="utf-8"), DOCS)
    assert [(d.range.start.line, d.code) for d in shown] == [(failing[0].line - 1, "sample-failed")]
    assert "Thanksgiving" in samples.read_text(encoding="utf-8").split("\n")[failing[0].line - 1]


def test_an_unrunnable_case_s_lens_says_it_cannot_run(tmp_path: Path) -> None:
    path = copied(tmp_path)
    samples = path.with_name("inbound-b2b.samples.yaml")
    agreed = samples.read_text(encoding="utf-8")
    samples.write_text(agreed.replace("employees: 1200", "employeez: 1200", 1), encoding="utf-8")
    found = checking.saved_check(path.read_text(encoding="utf-8"), str(path))
    assert found.run is not None
    broken = [c for c in found.run.cases if c.failing]
    assert len(broken) == 1 and broken[0].status == "error"
    assert lenses.case_title(broken[0]) == f"error (the case cannot run): {'; '.join(broken[0].failures)}"
