"""The shape of a lead case of a samples file without its expectations: what `leadpolicy test` reads under
`leads:` and `leadpolicy explain --lead` reads as one whole lead. Listed in the order messages name them;
tests/test_explain_case_shape.py holds them to schemas/samples.schema.json, which the harness checks files by."""

from __future__ import annotations

LEAD_CASE_KEYS = ("name", "lead", "events", "now")
CASE_EVENT_KEYS = ("event", "at")  # an event of a lead case
