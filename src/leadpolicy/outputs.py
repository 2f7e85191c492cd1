"""Files a command writes: checked before any work, never one of its inputs, replaced atomically.

Every command names its inputs and outputs to `check_outputs` before it starts, so a bad output
path is bad usage (exit 2) and nothing has been written yet. An output is refused when it is one
of the inputs or another output (by resolved path or by inode, so symbolic and hard links are
caught), a folder, a socket or block device, a file in a folder that does not exist, a file in
a folder where no file can be created, or a name that is not UTF-8. A regular file (or a new one)
is written into a private folder made beside it (random name, mode 700: no planted link can
redirect the write) and renamed over it only when the whole content is written, keeping the
replaced file's mode (and owner, as root); a character device (/dev/null, a terminal) or a FIFO
is written in place, never replaced. Writing through a symbolic link writes the file it points
to, except in a tree leadpolicy generates (a site: `check_tree`), where the link is replaced.
A write that fails on the way for want of space is `WriteFailed`, a problem of the run (exit 1).

A rejects file named by no flag goes beside a file of the run (the output, else the data), never
into a folder of policies: such folders are shared (in git), and rejected rows hold lead data.

CSV files meant for people (rejects files, SLA details) pass text that came from input data
through `excel_safe`: a cell a spreadsheet would run as a formula gets a leading single quote
(OWASP's advice on CSV injection); numbers the tool computed are written as numbers.
"""

from __future__ import annotations

import contextlib
import errno
import html
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Union

PathLike = Union[str, "os.PathLike[str]"]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula


def excel_safe(value: object) -> object:
    """Text starting like a formula, prefixed with a single quote; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def shown(text: str) -> str:
    """Text output (explain, diff, sla's table) as safe to show in a terminal as `test`'s: every character of
    lead data that is not printable (an escape sequence's ESC or CSI, a bell, a bidi override, a line
    separator) as its escape, `\\x1b`, `\\u202e`; the output's own line ends and tabs are kept."""
    from leadpolicy.language.diagnostics import escaped

    return "\n".join("\t".join(escaped(cell) for cell in line.split("\t")) for line in text.split("\n"))


# Every control character (line breaks for Python-Markdown among them, and the STX/ETX marks of its
# placeholders) and the two separators `str.splitlines` also breaks at.
CONTROL_OR_LINE_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Invisible format characters (bidi overrides and isolates, zero-width marks): shown as U+FFFD, never raw,
# so a name from a samples file cannot make a line read other than it is.
INVISIBLE_FORMAT = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
                              "\ufff9-\ufffb]")
# Markdown's marks, `|` of tables and `{` `}` of attr_list (`{: onfocus=... }` would make attributes).
MARKDOWN_MARK = re.compile(r"([\\`*_\[\]|#{}])")


def md(value: object) -> str:
    """Text safe inside Markdown (and its tables): no HTML, no markup, no attributes, no line or column
    breaks."""
    text = INVISIBLE_FORMAT.sub("\ufffd", CONTROL_OR_LINE_BREAK.sub(" ", "" if value is None else str(value)))
    return MARKDOWN_MARK.sub(r"\\\1", html.escape(text, quote=False))


class OutputError(ValueError):
    """An output that cannot be written (bad usage); the message names it and says why."""


class WriteFailed(Exception):
    """Writing an output failed on the way (a full disk or device, a quota): a problem of the run, not bad
    usage and not an internal error; the message names the file and the system's reason."""

    def __init__(self, path: PathLike, error: OSError):
        super().__init__(f"{os.fsdecode(path)}: write failed: {(error.strerror or str(error)).lower()}")


WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}  # the device, not the caller


@dataclass(frozen=True)
class _File:
    """What a path names: its resolved path, and for an existing file its device, inode and mode (of what
    the path leads to: /dev/stdout's pipe has no resolved path of its own)."""

    given: Path
    real: Path
    inode: tuple[int, int] | None
    mode: int | None

    @classmethod
    def of(cls, path: PathLike, follow_link: bool = True) -> "_File":
        """With `follow_link` False, a symbolic link at `path` is the file itself (to be replaced, as a site's
        pages are), not what it points to."""
        given = Path(path)
        real = Path(os.path.realpath(path)) if follow_link else Path(os.path.realpath(given.parent)) / given.name
        try:
            info = os.stat(given) if follow_link else os.lstat(given)
        except OSError:
            return cls(given, real, None, None)
        return cls(given, real, (info.st_dev, info.st_ino), info.st_mode)

    def same_as(self, other: "_File") -> bool:
        return self.real == other.real or (self.inode is not None and self.inode == other.inode)

    @property
    def written_in_place(self) -> bool:
        return self.mode is not None and (stat.S_ISCHR(self.mode) or stat.S_ISFIFO(self.mode))


def default_rejects(name: str, *beside: PathLike) -> Path | None:
    """`name` in the folder of the first file of `beside` whose folder holds no policies; None when each
    one does (the rejects are then not written)."""
    for file in beside:
        folder = Path(file).parent
        if not _holds_policies(folder):
            return folder / name
    return None


def _holds_policies(folder: Path) -> bool:
    """Whether a file of `folder` is a policy (`.policy` in any case: P.POLICY too)."""
    try:
        return any(entry.name.lower().endswith(".policy") and entry.is_file() for entry in folder.iterdir())
    except OSError:  # a folder that cannot be listed (or does not exist) holds none we know of
        return False


def written_in_place(path: PathLike) -> bool:
    """Whether `path` is a character device or a FIFO, which outputs are written into, not replaced."""
    return _File.of(path).written_in_place


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Mapping[str, PathLike | None] | None = None
                  ) -> None:
    """Raise OutputError unless every output (what -> path; None: not written) can be written without
    touching an input or another output. `what` names the file for the user: "the rejects file (--rejects)"."""
    seen = [(what, _File.of(path)) for what, path in (inputs or {}).items() if path is not None]
    for what, path in outputs.items():
        if path is None:
            continue
        _check_name(what, path)
        file = _File.of(path)
        if not (file.mode is not None and stat.S_ISCHR(file.mode)):  # /dev/null may be named twice
            for other_what, other in seen:
                if file.same_as(other):
                    raise OutputError(f"{path}: {what} would be the same file as {other_what}; name another file")
        _check_writable(what, Path(path), file)
        seen.append((what, file))


def check_tree(root: PathLike, files: Iterable[PathLike], inputs: Mapping[str, PathLike | None] | None = None
               ) -> None:
    """Raise OutputError unless every file of a tree leadpolicy generates under `root` (a site) can be
    replaced before any is written. Such a tree is leadpolicy's own: a symbolic link at a file's place
    is replaced itself, never followed (so a link planted there reaches no other file), a folder inside
    `root` that is a link is refused, and each file must be a regular file (or new)."""
    root = Path(root)
    seen = [(what, _File.of(path)) for what, path in (inputs or {}).items() if path is not None]
    for path in map(Path, files):
        for inner in reversed(path.relative_to(root).parents[:-1]):
            folder = root / inner
            if folder.is_symlink():
                raise OutputError(f"{folder}: a symbolic link inside the output folder {root}; leadpolicy writes "
                                  "its pages only into real folders (remove the link)")
            if folder.exists() and not folder.is_dir():
                raise OutputError(f"{folder}: not a folder, where the pages of {root} go")
        file = _File.of(path, follow_link=False)
        if file.mode is not None and stat.S_ISLNK(file.mode):
            file = _File(file.given, file.real, None, None)  # replaced itself, as a new file would be
        elif file.mode is not None and stat.S_ISDIR(file.mode):
            raise OutputError(f"{path}: a folder where a page of {root} goes; remove it")
        elif file.mode is not None and not stat.S_ISREG(file.mode):
            raise OutputError(f"{path}: neither a regular file nor a symbolic link, where a page of {root} goes")
        for other_what, other in seen:
            if file.same_as(other):
                raise OutputError(f"{path}: a page of {root} would be the same file as {other_what}")
        if file.real.parent.is_dir():
            _check_writable(f"a page of {root}", path, file)
        seen.append((f"another page ({path})", file))


def _check_name(what: str, path: PathLike) -> None:
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        raise OutputError(f"{os.fsencode(path)!r}: the name of {what} is not UTF-8 text; name another file"
                          ) from None


def _folder_named(path: Path, folder: Path) -> str:
    """The folder a write into `path` needs, as the user wrote it; through a link, the one the link leads to."""
    if os.path.realpath(path.parent) == str(folder):
        return str(path.parent)
    return f"{folder}, where the link leads"


def _check_writable(what: str, path: Path, file: _File) -> None:
    if file.mode is not None and stat.S_ISDIR(file.mode):
        raise OutputError(f"{path}: {what} is a folder; name a file")
    if file.written_in_place:
        return
    if file.mode is not None and not stat.S_ISREG(file.mode):
        raise OutputError(f"{path}: {what} is neither a regular file, a character device nor a FIFO")
    folder = file.real.parent
    if not folder.is_dir():
        raise OutputError(f"{path}: the folder of {what} ({_folder_named(path, folder)}) does not exist")
    try:  # what the write will do: create a file in that folder
        handle, probe = tempfile.mkstemp(prefix=".leadpolicy-", suffix=".probe", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: {what} cannot be written: no file can be created in {folder} "
                          f"({exc.strerror or exc})") from None
    os.close(handle)
    os.unlink(probe)


@contextlib.contextmanager
def replacing(path: PathLike, follow_link: bool = True) -> Iterator[Path]:
    """A path to write the whole new content of `path` to. For a regular file (or a new one) it is a file
    in a private folder (made anew, random name, mode 700) beside it, renamed over it when the block ends
    without an error; for a character device or a FIFO, a file in a private folder elsewhere, whose content
    is then written into it in place. A private folder, not a temporary name beside the output: whoever
    can write the output's folder could plant a link at a name known in advance, and every writer (DuckDB's
    COPY too) opens its path as it is. With `follow_link` False a symbolic link at `path` is replaced
    itself (see `check_tree`)."""
    file = _File.of(path, follow_link)
    if not follow_link and file.mode is not None and stat.S_ISLNK(file.mode):
        file = _File(file.given, file.real, None, None)
    try:
        with _replacing(file) as tmp:
            yield tmp
    except OSError as exc:
        if exc.errno in WRITE_ERRORS:
            raise WriteFailed(path, exc) from None
        raise


@contextlib.contextmanager
def _replacing(file: _File) -> Iterator[Path]:
    if file.written_in_place:
        with tempfile.TemporaryDirectory(prefix="leadpolicy-output-") as folder:
            tmp = Path(folder) / file.real.name
            yield tmp
            with open(tmp, "rb") as source, open(file.given, "wb") as target:
                shutil.copyfileobj(source, target)
        return
    private = Path(tempfile.mkdtemp(prefix=".leadpolicy-", dir=file.real.parent))
    try:
        tmp = private / file.real.name
        yield tmp
        _keep_mode_and_owner(file, tmp)
        os.replace(tmp, file.real)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _keep_mode_and_owner(file: _File, tmp: Path) -> None:
    """The replaced file's mode (a 600 rejects file stays private, a 755 script executable) and, as root,
    its owner and group (best effort: a file system may refuse); a new file keeps the mode the umask
    gave it."""
    if file.mode is None or not stat.S_ISREG(file.mode):
        return
    try:
        info = os.stat(file.real)
    except OSError:
        return
    os.chmod(tmp, stat.S_IMODE(info.st_mode))
    if os.geteuid() == 0 and (info.st_uid, info.st_gid) != (0, 0):
        with contextlib.suppress(OSError):
            os.chown(tmp, info.st_uid, info.st_gid)


@contextlib.contextmanager
def text_output(path: PathLike, follow_link: bool = True) -> Iterator[IO[str]]:
    """A UTF-8 text file (newlines as written) that replaces `path` as `replacing` does."""
    with replacing(path, follow_link) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        yield handle


def write_text(path: PathLike, text: str, follow_link: bool = True) -> None:
    with text_output(path, follow_link) as handle:
        handle.write(text)
