"""Hints for syntax errors where a user wrote a value bare: a dashed label compared with (`route = inbound-sdr`,
read as the name `inbound` and an unexpected "-"), or a list of names after `in` (`stage in (mql, sql)`), where
a list holds values."""

from __future__ import annotations

import re

# `route = inbound-sdr`: a name with a dash in it, read as the name and an unexpected "-"
_DASHED_AFTER_COMPARE = re.compile(r"\b([A-Za-z_]\w*)\s*(!=|=)\s*([A-Za-z_]\w*)$")
# `stage in (mql, sql)`: a list whose items are bare names, where a list holds values
_OPEN_LIST = re.compile(r"\b([A-Za-z_]\w*)\s+((?:not\s+)?in)\s*\(([^()\n]*)$")


def bare_words_hint(text: str, start: int, unexpected: str) -> str | None:
    """The quoted form of a dashed label compared with, or of a list of bare names after `in`."""
    before = text[:start]
    if re.fullmatch(r"[A-Za-z_]\w*", unexpected) and (listed := _OPEN_LIST.search(before)) is not None:
        return _bare_list_hint(listed.group(1), listed.group(2), text, listed.start(3))
    if unexpected == "-" and (compared := _DASHED_AFTER_COMPARE.search(before)) is not None:
        subject, operator = compared.group(1), compared.group(2)
        label = re.findall(r"[\w-]+", text[compared.start(3):])[0]  # the name and what its dashes join to it
        kind = "a route label is a quoted text" if subject == "route" else "texts are written in double quotes"
        return f'{kind}: write {subject} {operator} "{label}"'
    return None


def _bare_list_hint(subject: str, operator: str, text: str, items_at: int) -> str | None:
    end = text.find(")", items_at)
    if end < 0 or "\n" in text[items_at:end]:
        return None
    items = [item.strip().strip('"') for item in text[items_at:end].split(",") if item.strip()]
    quoted = ", ".join(f'"{item}"' for item in items)
    hint = f"a list after {operator} holds quoted texts: write {subject} {operator} ({quoted})"
    if subject == "stage" and operator == "in" and all(re.fullmatch(r"[A-Za-z_]\w*", item) for item in items):
        hint += ", or " + " or ".join(f"stage = {item}" for item in items)
    return hint
