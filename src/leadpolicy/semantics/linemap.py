"""Where each part of generated Python comes from in its policy (as Jinja2's debug info maps a template).

The generator records, for every line it writes, the part of the policy the line decides (a lead field, a
score's rule, a grade entry, a stage, a route entry); `places` gives each part's line in the policy file from
its syntax tree. The generated function catches an exception on its way out and adds a note naming the
policy line and the part (`runtime.policy_note`), and its source is registered with `linecache` under a
filename that says which policy it was generated from, so a traceback or a profile shows both.
"""

from __future__ import annotations

import linecache
from typing import Union

from leadpolicy.language import ast

# A part of a policy, as the generator and `places` name it: ("field", name), ("score", name),
# ("rule", score, index), ("decay", score), ("clamp", score), ("grade", name, index), ("stage", index),
# ("route", route index, entry index).
Part = tuple[Union[str, int], ...]


def places(tree: ast.Policy) -> dict[Part, int]:
    """The line in the policy file of each part of a policy's syntax tree (parts without a span left out)."""
    found: dict[Part, int] = {}
    found.update({("field", f.name): f.span.line for f in tree.fields})
    for score in tree.scores:
        found[("score", score.name)] = score.span.line
        found.update({("rule", score.name, i): rule.span.line for i, rule in enumerate(score.rules)})
        for name, part in (("decay", score.decay), ("clamp", score.clamp)):
            if part is not None:
                found[(name, score.name)] = part.span.line
    for grade in tree.grades:
        found.update({("grade", grade.name, i): e.span.line for i, e in enumerate(grade.entries)})
    found.update({("stage", i): s.span.line for i, s in enumerate(tree.stages)})
    for r, route in enumerate(tree.routes):
        found.update({("route", r, i): e.span.line for i, e in enumerate(route.entries)})
    return {part: line for part, line in found.items() if line > 0}


def filename(policy_file: str, policy_id: str, version: str, fingerprint: str) -> str:
    """The name generated code is compiled under: the policy it came from (and its fingerprint, which tells
    two versions of one file apart in `linecache`)."""
    return f"<generated from {policy_file}: policy {policy_id} {version} {fingerprint[:19]}>"


def register(name: str, source: str) -> None:
    """Let tracebacks, profilers and `inspect` show the generated lines (no file holds them).
    An entry without a modification time is one `linecache.checkcache` keeps."""
    linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)
