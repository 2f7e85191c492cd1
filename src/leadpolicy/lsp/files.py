"""Files the server reads itself (a samples file beside a policy, to place its diagnostics and lenses): read as
`check` reads them, through `read_source`, so a FIFO, a device or a link to one is refused unread and a file
over the size cap is never read whole; and an editor's text over that cap is refused as `check` refuses the
file."""

from __future__ import annotations

import io
from pathlib import Path

from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.language.sources import MAX_SOURCE_BYTES, Unreadable, read_at_most, read_source


def saved_text(path: Path) -> str | None:
    """The saved text of a file, None when `check` would not read it (missing, special, too big, not UTF-8)."""
    text, _problems = read_source(path)
    return text


def over_cap(text: str, file: str) -> list[Diagnostic]:
    """`check`'s `unreadable-file` for an editor's text larger than the most `check` reads of a file (it refuses
    such a file unread), else nothing."""
    if len(text) * 4 <= MAX_SOURCE_BYTES:  # UTF-8 takes at most 4 bytes a character: no need to encode it
        return []
    try:
        read_at_most(io.BytesIO(text.encode("utf-8", "surrogatepass")))
    except Unreadable as exc:
        return [Diagnostic("unreadable-file", str(exc), file, hint=exc.hint)]
    return []
