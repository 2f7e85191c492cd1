"""Files the server reads itself (a samples file beside a policy, to place its diagnostics and lenses): read as
`check` reads them, through `read_source`, so a FIFO, a device or a link to one is refused unread and a file
over the size cap is never read whole."""

from __future__ import annotations

from pathlib import Path

from leadpolicy.language.sources import read_source


def saved_text(path: Path) -> str | None:
    """The saved text of a file, None when `check` would not read it (missing, special, too big, not UTF-8)."""
    text, _problems = read_source(path)
    return text
