"""Reading a policy, samples or approvals file: a regular file of at most MAX_SOURCE_BYTES, as UTF-8 text,
every way it can fail said as a diagnostic."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic

MAX_SOURCE_BYTES = 10 * 1024 * 1024  # policies, samples and approvals files are kilobytes; 10 MiB is far beyond


class Unreadable(OSError):
    """A file leadpolicy will not read (a device, a pipe, or too big); the message says why."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def open_regular(path: Path) -> BinaryIO:
    """A regular file opened to read. Opened without blocking (a FIFO would wait for a writer) and
    checked on the open file, so what is checked is what is read. Raises IsADirectoryError for a
    folder, Unreadable for a device, a pipe or a socket, and the OSError of opening."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    handle = os.fdopen(fd, "rb")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        handle.close()
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        raise Unreadable("not a regular file (a device, a pipe or a socket)", "name a file saved on disk")
    return handle


def read_at_most(handle: BinaryIO) -> bytes:
    """An open file's bytes; Unreadable past MAX_SOURCE_BYTES, read no further."""
    raw = handle.read(MAX_SOURCE_BYTES + 1)
    if len(raw) > MAX_SOURCE_BYTES:
        raise Unreadable(f"larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB, the most leadpolicy reads",
                         "policies, samples and approvals files are a few kilobytes: is this the right file?")
    return raw


def read_capped(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_SOURCE_BYTES (see open_regular, read_at_most)."""
    with open_regular(path) as handle:
        return read_at_most(handle)


def read_source(path: str | Path) -> tuple[str | None, list[Diagnostic]]:
    """Read a policy (or samples, approvals) file as UTF-8 text, turning every way it can fail into a
    diagnostic; a file that is not a regular file, or is over MAX_SOURCE_BYTES, is refused unread."""
    name = str(path)
    try:
        raw = read_capped(Path(path))
    except FileNotFoundError:
        return None, [Diagnostic("unreadable-file", "no such file", name)]
    except IsADirectoryError:
        return None, [Diagnostic("unreadable-file", "is a directory, not a policy file", name)]
    except Unreadable as exc:
        return None, [Diagnostic("unreadable-file", str(exc), name, hint=exc.hint)]
    except OSError as exc:
        return None, [Diagnostic("unreadable-file", f"cannot read: {exc.strerror}", name)]
    if b"\x00" in raw:
        return None, [Diagnostic("unreadable-file", "binary file (it holds NUL bytes), not a policy", name)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Diagnostic(
                "unreadable-file",
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                name,
                ast.Span(line, col, line, col + 1),
                hint="save the file as UTF-8",
            )
        ]
    return text, []
