"""The value types of the language, one spelling everywhere: fields, literals, symbols and the IR."""

from __future__ import annotations

import enum


class Type(enum.StrEnum):
    """The type of a field, a score, a grade, a literal or an operand."""

    TEXT = "text"
    ONE_OF = "one of"
    NUMBER = "number"
    YESNO = "yes/no"
    DATE = "date"
    TIMESTAMP = "timestamp"

    @property
    def textual(self) -> bool:
        return self in (Type.TEXT, Type.ONE_OF)
