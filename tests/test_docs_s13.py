"""A new user's findings on the docs and the words leadpolicy writes: SLAs said in plain English for events with
and without a label; every code the language server publishes is registered and documented."""

from __future__ import annotations

import ast

import pytest
from lsprotocol import types

from leadpolicy.language.diagnostics import CODES, ERROR
from leadpolicy.lsp.checking import case_diagnostic
from leadpolicy.publish import english
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower
from leadpolicy.testing.harness import FAILED, CaseResult

from .conftest import ROOT

# became_sql, first_touch, accepted, rejected, waiting and replied have no label (as the starter policy of
# `leadpolicy init` leaves its stage events); demo_request and demo_held have one.
SLA_POLICY = '''policy "x" version 1.0.0 {
  title "SLAs in words"
  owner sales "Sales"
  owner marketing "Marketing"
  lead { n number }
  events {
    demo_request "Asked for a demo"
    demo_held "Demo held"
    became_mql
    became_sql
    first_touch
    accepted
    rejected
    waiting
    replied
  }
  stages {
    rest otherwise owner marketing
  }
  sla speed {
    owner sales
    from became_sql until first_touch
    within 4 hours
    target 90%
    paused from waiting until replied
  }
  sla labelled {
    owner sales
    from demo_request until demo_held or first_touch
    within 2 days
    target 90%
  }
  sla accept {
    owner sales
    from became_mql each time until accepted or rejected
    within 1 days
    target 90%
    rejected needs reason ("bad_fit", "not_now")
  }
  sla volume {
    owner marketing
    at least 100 became_mql per month
  }
  sla one {
    owner marketing
    at least 1 became_mql per month
  }
  sla labelled_volume {
    owner marketing
    at least 20 demo_request per month
  }
  sla touches {
    owner sales
    at least 6 first_touch within 10 days after became_sql
    target 80%
  }
  sla labelled_touches {
    owner sales
    at least 2 demo_held within 10 days after demo_request
    target 80%
    rejected needs reason ("bad_fit")
  }
}
'''


@pytest.fixture(scope="module")
def sla_sentences() -> dict[str, str]:
    loaded = load_policy_text(SLA_POLICY)
    assert not loaded.has_errors, loaded.diagnostics
    assert loaded.policy is not None
    lowered = lower(loaded.policy)
    with english.wording(english.labels_of(loaded.policy)):
        return {s.name: english.sla(s, {}, s_ir) for s, s_ir in zip(loaded.policy.slas, lowered.slas)}


def test_an_sla_between_unlabelled_events_says_them_as_events(sla_sentences):
    said = sla_sentences["speed"]
    assert said.startswith("Sales commits that every lead with a became sql event gets a first touch event "
                           "within 4 hours, 90% of the time."), said
    assert "The clock stops at a waiting event and starts again at a replied event." in said, said
    assert "gets became" not in said


def test_an_sla_from_a_labelled_event_names_it_by_its_label(sla_sentences):
    assert sla_sentences["labelled"].startswith(
        "Sales commits that every lead with an event “Asked for a demo” gets an event “Demo held” or a first "
        "touch event within 2 days, 90% of the time."), sla_sentences["labelled"]


def test_an_sla_each_time_says_every_time_a_lead_gets_the_event(sla_sentences):
    said = sla_sentences["accept"]
    assert said.startswith("Sales commits that every time a lead gets a became mql event, it gets an accepted "
                           "event or a rejected event within 1 day, 90% of the time."), said
    assert 'Every rejected event gives a reason: "bad_fit" or "not_now".' in said, said


def test_counts_of_events_say_events_after_the_number(sla_sentences):
    assert sla_sentences["volume"] == "Marketing commits to at least 100 became mql events every month."
    assert sla_sentences["one"] == "Marketing commits to at least 1 became mql event every month."
    assert sla_sentences["labelled_volume"] == "Marketing commits to at least 20 events “Asked for a demo” every month."
    assert sla_sentences["touches"] == ("Sales commits to at least 6 first touch events within 10 days after a "
                                        "became sql event, 80% of the time.")
    said = sla_sentences["labelled_touches"]
    assert said.startswith("Sales commits to at least 2 events “Demo held” within 10 days after an event "
                           "“Asked for a demo”, 80% of the time."), said
    assert 'Every rejected event gives a reason: "bad_fit".' in said, said


# Every code the language server publishes ---------------------------------------------------------------------

LSP_SOURCE = ROOT / "src" / "leadpolicy" / "lsp"


def _published_codes() -> tuple[set[str], list[str]]:
    """The codes of the protocol's diagnostics (`types.Diagnostic(code=...)`) the lsp package makes: string
    literals, or the `.code` of a leadpolicy Diagnostic passed on (registered when it was made); anything else
    is listed as unreadable."""
    literals: set[str] = set()
    unreadable: list[str] = []
    for path in sorted(LSP_SOURCE.rglob("*.py")):
        for call in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "Diagnostic"):
                continue
            code = next((k.value for k in call.keywords if k.arg == "code"), None)
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                literals.add(code.value)
            elif not (isinstance(code, ast.Attribute) and code.attr == "code"):
                unreadable.append(f"{path.name}:{call.lineno}: {ast.unparse(code) if code else 'no code'}")
    return literals, unreadable


def test_every_code_the_language_server_publishes_is_registered_and_documented():
    literals, unreadable = _published_codes()
    assert not unreadable, unreadable
    assert "sample-failed" in literals
    doc = (ROOT / "docs" / "diagnostics.md").read_text("utf-8")
    for code in literals:
        assert code in CODES, code
        assert f'<a id="{code}"></a>`{code}`' in doc, code


def test_a_failing_sample_case_is_published_with_a_registered_code():
    case = CaseResult(file="x.samples.yaml", line=2, name="SQL lead", kind="lead", status=FAILED,
                      failures=["stage: expected sql, got mql"])
    shown = case_diagnostic(case, "cases:\n  - name: SQL lead\n", "https://example.org/docs")
    assert shown.code in CODES and CODES[str(shown.code)][0] == ERROR
    assert shown.severity == types.DiagnosticSeverity.Error
    assert shown.message == "SQL lead: stage: expected sql, got mql"
