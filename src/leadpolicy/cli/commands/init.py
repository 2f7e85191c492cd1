"""`leadpolicy init`: a working policy repository for a new team, in one command.

Writes, from the templates in leadpolicy/cli/starter, a starter policy with sample cases over the coverage
floor, [tool.leadpolicy] in pyproject.toml, a pre-commit config, a GitHub Actions workflow and a README for
the teams. It asks for what no flag gave only when standard input is a terminal; it never writes over a file
that exists (--force replaces the scaffolding init writes, never another file, never a policy, its samples or
approvals, and never an existing pyproject.toml's content), never writes through a symbolic link (in place of
a file, or of a folder of DIR it writes into), and it never records an approval: the owners do, with the commands
it prints."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import help_formatter

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands

PYPROJECT = "pyproject.toml"
GITIGNORE = ".gitignore"
MERGED = (PYPROJECT, GITIGNORE)  # an existing one keeps every byte and gains only what it lacks
ADDED_TO = {PYPROJECT: "added [tool.leadpolicy] to", GITIGNORE: "added leadpolicy's lines to"}
KEPT_BECAUSE = {PYPROJECT: "it has [tool.leadpolicy] already", GITIGNORE: "it has leadpolicy's lines already"}
# The scaffolding init writes whatever the answers: --force replaces it.
FIXED_FILES = {".pre-commit-config.yaml": "pre-commit-config.yaml",
               ".github/workflows/leadpolicy.yml": "workflow.yml.j2", "README.md": "README.md.j2"}
TEAM_FILE_KINDS = (".policy", ".samples.yaml", ".approvals.yaml")  # the team's work: never written over
SECOND_POLICY = "to start another policy beside it: leadpolicy init --name NAME"
REPLACEABLE = "(--force replaces it)"
MAX_NAME = 64  # the policy's file names stay well within a file system's 255 bytes
DEFAULTS = {"name": "inbound", "marketing_owner": "Marketing Lead <marketing@example.com>",
            "sales_owner": "Sales Lead <sales@example.com>", "timezone": "America/New_York", "calendar": "US"}


class Refused(ValueError):
    """An answer or a folder init cannot use; the message says which and why (bad usage, exit 2)."""


class LinkInTheWay(Refused):
    """A folder of DIR init writes into was a symbolic link when it came to write (it was not at the check)."""

    def __init__(self, root: Path, name: str) -> None:
        super().__init__(f"{_shown(root / name)} is a symbolic link: init never writes through one")
        self.name = name  # the link's path inside DIR


@dataclass(frozen=True)
class Question:
    key: str  # the answer's name: the flag's dest and the templates' variable
    flag: str
    metavar: str
    prompt: str  # asked on a terminal, and the flag's help
    problem: Callable[[str], str | None]  # why an answer cannot be used, or None


def _name_problem(text: str) -> str | None:
    from leadpolicy.language.checks.context import SLUG

    if not SLUG.match(text):
        return 'is not a slug: lowercase letters, digits and single dashes, as "inbound-b2b"'
    return f"is longer than {MAX_NAME} characters" if len(text) > MAX_NAME else None


def _owner_problem(text: str) -> str | None:
    from leadpolicy.language.diagnostics import character_kind, unsafe_character

    if not text.strip():
        return 'is empty: name a person, as "Dana Whitfield <dana@example.com>"'
    bad = "\t" if "\t" in text else unsafe_character(text)
    return f"holds the {character_kind(bad)}: a policy's texts cannot" if bad else None


def _timezone_problem(text: str) -> str | None:
    from leadpolicy import zones
    from leadpolicy.language.diagnostics import did_you_mean

    if text in zones.names():
        return None
    hint = did_you_mean(text, zones.names()) or 'an IANA name, as "Europe/Berlin" or "America/New_York"'
    return f"is not a time zone ({hint})"


def _calendar_problem(text: str) -> str | None:
    from leadpolicy.language.units import holiday_problem

    country, _, subdivision = text.partition("-")
    problem = holiday_problem(country, subdivision or None)
    if problem is None:
        return None
    message, hint = problem
    return f"names no holiday calendar: {message}" + (f" ({hint})" if hint else "")


QUESTIONS = (
    Question("name", "--name", "NAME", "Policy name (a slug: the policy's id and file name)", _name_problem),
    Question("marketing_owner", "--marketing-owner", "PERSON", "Who approves for Marketing", _owner_problem),
    Question("sales_owner", "--sales-owner", "PERSON", "Who approves for Sales", _owner_problem),
    Question("timezone", "--timezone", "ZONE", "Time zone of the business hours", _timezone_problem),
    Question("calendar", "--calendar", "COUNTRY", "Country of the holidays (ISO code, or COUNTRY-SUBDIVISION)",
             _calendar_problem),
)


def register(sub: Subcommands) -> None:
    p = sub.add_parser("init", formatter_class=help_formatter, help="create a policy repository for a new team",
                       description="Create, in DIR, a starter policy with sample cases over the 90% coverage floor, "
                                   "[tool.leadpolicy] in pyproject.toml, a pre-commit config, a GitHub Actions "
                                   "workflow running `leadpolicy ci`, and a README for the teams. On a terminal it "
                                   "asks for each answer no flag gives; elsewhere it takes the defaults. It never "
                                   "writes over an existing file (--force replaces the README, the pre-commit "
                                   "config and the workflow; never a policy, its samples or its approvals), and "
                                   "never records an approval.",
                       epilog="examples:\n  leadpolicy init\n  leadpolicy init lead-policy --name inbound-emea "
                              "--timezone Europe/Berlin --calendar DE \\\n    --marketing-owner \"Dana Whitfield "
                              "<dana@example.com>\" --sales-owner \"Raj Patel <raj@example.com>\"\n")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="where to create it (default: .)")
    for question in QUESTIONS:
        p.add_argument(question.flag, dest=question.key, metavar=question.metavar,
                       help=f"{question.prompt[0].lower()}{question.prompt[1:]} (default: {DEFAULTS[question.key]})")
    p.add_argument("--force", action="store_true",
                   help="replace the README, the pre-commit config and the workflow when they exist (never "
                        "another file, nor a policy, its samples or approvals; an existing pyproject.toml only "
                        "gains [tool.leadpolicy] when it has none)")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.language.diagnostics import escaped

    root = Path(args.dir)
    try:
        _check_folder(root)
        _check_targets(root, [*FIXED_FILES, *_team_files(args.name or DEFAULTS["name"])], args.force)
        answers = _answers(args, root)
        files = _rendered(answers)
        merged = {PYPROJECT: _pyproject(root), GITIGNORE: _gitignore(root)}
        files.update({name: text for name, text in merged.items() if text is not None})
        _check_targets(root, [*files, *_team_files(answers["name"])], args.force)
    except Refused as exc:
        print(f"leadpolicy init: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        written = _write(root, files)
    except Refused as exc:
        print(f"leadpolicy init: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"leadpolicy init: cannot write in {escaped(str(root))}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    _say_done(root, written, [name for name, text in merged.items() if text is None], answers)
    return EXIT_OK


# The answers --------------------------------------------------------------------------------------------------

def _answers(args: argparse.Namespace, root: Path) -> dict[str, str]:
    """Each answer: the flag's (checked), else asked on a terminal, else the default. A name typed whose
    policy files are there is asked again."""
    asking = sys.stdin is not None and sys.stdin.isatty()
    answers = {}
    for question in QUESTIONS:
        given = getattr(args, question.key)
        if given is not None:
            answers[question.key] = _checked_flag(question, given)
        elif asking:
            answers[question.key] = _ask(_with_team_files(question, root) if question.key == "name" else question)
        else:
            answers[question.key] = DEFAULTS[question.key]
    return answers


def _with_team_files(question: Question, root: Path) -> Question:
    def problem(text: str) -> str | None:
        found = question.problem(text) or _team_files_there(root, text)
        return f"{found} (another name starts a second policy beside it)" if found else None

    return dataclasses.replace(question, problem=problem)


def _team_files_there(root: Path, name: str) -> str | None:
    there = [_shown(root / file) for file in _team_files(name) if _exists(root / file)]
    return f"is taken: {', '.join(there)} exists, and init never writes over it" if there else None


def _checked_flag(question: Question, given: str) -> str:
    from leadpolicy.language.diagnostics import escaped

    problem = question.problem(given)
    if problem:
        raise Refused(f'{question.flag}: "{escaped(given)}" {problem}')
    return given


def _ask(question: Question) -> str:
    """The answer typed at the terminal (the default when none is), asked again until it can be used. The
    question goes to stderr, with init's other messages: stdout may be a file."""
    from leadpolicy.language.diagnostics import escaped

    default = DEFAULTS[question.key]
    while True:
        try:
            print(f"{question.prompt} [{default}]: ", end="", file=sys.stderr, flush=True)
            answer = input().strip() or default
        except EOFError:
            raise Refused(f"no answer for {question.flag}: give it as a flag") from None
        problem = question.problem(answer)
        if problem is None:
            return answer
        print(f'  "{escaped(answer)}" {problem}', file=sys.stderr)


# The files ----------------------------------------------------------------------------------------------------

def _rendered(answers: dict[str, str]) -> dict[str, str]:
    """The files init writes, by path inside DIR, but pyproject.toml. Every answer reaches a file through a
    filter that quotes it for that file (a policy text, a shell word), so no answer can end its string."""
    import shlex

    from jinja2 import Environment, PackageLoader, StrictUndefined

    from leadpolicy import __version__
    from leadpolicy.language.formatter import quote

    env = Environment(loader=PackageLoader("leadpolicy.cli", "starter"), autoescape=False,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(policy_text=quote, shell=shlex.quote)
    name = answers["name"]
    country, _, subdivision = answers["calendar"].partition("-")
    values = {**answers, "title": _title(name), "country": country, "subdivision": subdivision,
              "version": __version__}
    policy = f"policies/{name}.policy"
    return {policy: _canonical(env.get_template("policy.j2").render(values), policy),
            f"policies/{name}.samples.yaml": env.get_template("samples.yaml.j2").render(values),
            **{path: env.get_template(template).render(values) for path, template in FIXED_FILES.items()}}


def _title(name: str) -> str:
    """'inbound-emea' -> 'Inbound emea leads'."""
    words = name.replace("-", " ").capitalize()
    return words if "lead" in words else f"{words} leads"


def _canonical(text: str, file: str) -> str:
    """The policy in canonical form (so `fmt --check` passes whatever the answers' lengths), refused when the
    answers made a policy with errors, with its diagnostics."""
    from leadpolicy.language.diagnostics import render_all
    from leadpolicy.language.formatter import format_policy
    from leadpolicy.semantics.loading import load_policy_text

    loaded = load_policy_text(text, file)
    if loaded.policy is None or loaded.has_errors:
        raise Refused("these answers make a policy with errors:\n" + render_all(loaded.diagnostics, {file: text}))
    return format_policy(loaded.policy, loaded.comments)


def _starter_file(name: str) -> str:
    from importlib import resources

    return resources.files("leadpolicy.cli").joinpath("starter", name).read_text("utf-8")


def _pyproject(root: Path) -> str | None:
    """pyproject.toml's new text (None: left as it is). An existing file keeps every byte: [tool.leadpolicy] is
    added at its end, and only when it has none."""
    import tomllib

    from leadpolicy.language.sources import read_capped

    path, table = root / PYPROJECT, _starter_file("pyproject-table.toml")
    if not _exists(path):
        return table
    try:
        text = read_capped(path).decode("utf-8")
        tool = tomllib.loads(text).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise Refused(f"{_shown(path)} cannot be read as TOML ({exc}): fix it, or add [tool.leadpolicy] by hand"
                      ) from None
    if isinstance(tool, dict) and "leadpolicy" in tool:
        return None
    return _with_table(path, text, table)


def _gitignore(root: Path) -> str | None:
    """.gitignore's new text (None: left as it is). An existing file keeps every byte: the lines it lacks are
    added at its end, with their comment."""
    from leadpolicy.language.sources import read_capped

    path, ours = root / GITIGNORE, _starter_file("gitignore")
    if not _exists(path):
        return ours
    try:
        text = read_capped(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"{_shown(path)} cannot be read as UTF-8 text ({exc}): add {GITIGNORE}'s lines by hand"
                      ) from None
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in ours.splitlines() if not line.startswith("#") and line not in present]
    if not missing:
        return None
    comments = [line for line in ours.splitlines() if line.startswith("#")]
    return _appended(text, [*comments, *missing])


def _appended(text: str, lines: list[str]) -> str:
    """`text` with `lines` after it, in its own line endings."""
    newline = "\r\n" if "\r\n" in text else "\n"
    ending = "" if not text or text.endswith("\n") else newline
    return text + ending + "".join(line + newline for line in lines)


def _with_table(path: Path, text: str, table: str) -> str:
    import tomllib

    newline = "\r\n" if "\r\n" in text else "\n"
    ending = "" if not text or text.endswith("\n") else newline
    joined = text + ending + (newline if text else "") + table.replace("\n", newline)
    try:
        added = tomllib.loads(joined).get("tool", {}).get("leadpolicy") is not None
    except (tomllib.TOMLDecodeError, AttributeError):
        added = False
    if not added:
        raise Refused(f"{_shown(path)}: [tool.leadpolicy] cannot be added (its `tool` is not a table): add it by "
                      "hand")
    return joined


# The folder ---------------------------------------------------------------------------------------------------

def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _shown(path: Path) -> str:
    from leadpolicy.language.diagnostics import escaped

    return escaped(str(path))


def _check_folder(root: Path) -> None:
    if _exists(root) and not root.is_dir():
        raise Refused(f"{_shown(root)} is not a folder: give the folder to create the repository in")


def _check_targets(root: Path, files: list[str], force: bool) -> None:
    """Refuses, before anything is written, when a file init writes is there (unless --force, and never a link,
    a folder or a device), or when a folder it writes into is a file."""
    problems = [problem for name in files for problem in _target_problems(root, name, force)]
    if problems:
        raise Refused("nothing written:\n" + "\n".join(f"  {problem}" for problem in dict.fromkeys(problems))
                      + _second_policy_hint(root, files, problems))


def _second_policy_hint(root: Path, files: list[str], problems: list[str]) -> str:
    if not any(_is_team_file(name) and _exists(root / name) for name in files):
        return ""
    if any(problem.endswith(REPLACEABLE) for problem in problems):
        return f"\n{SECOND_POLICY} --force (--force replaces only the files above that say so)"
    return f"\n{SECOND_POLICY}"


def _team_files(name: str) -> list[str]:
    return [f"policies/{name}{kind}" for kind in TEAM_FILE_KINDS]


def _is_team_file(name: str) -> bool:
    return name.startswith("policies/") and name.endswith(TEAM_FILE_KINDS)


def _target_problems(root: Path, name: str, force: bool) -> list[str]:
    path = root / name
    problems = [problem for folder in _folders(root, path) if (problem := _folder_problem(folder))]
    if problems or not _exists(path):
        return problems
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return [f"{_shown(path)} is a symbolic link: init never writes through one"]
    if not stat.S_ISREG(mode):
        return [f"{_shown(path)} is not a regular file"]
    if _is_team_file(name):
        return [f"{_shown(path)} exists (the team's: never written over, --force or not)"]
    if name not in MERGED and not force:
        return [f"{_shown(path)} exists {REPLACEABLE}"]
    return []


def _folder_problem(folder: Path) -> str | None:
    """Why init cannot write into `folder` (None: it can, or it is not there yet)."""
    if folder.is_symlink():
        return f"{_shown(folder)} is a symbolic link: init never writes through one"
    if _exists(folder) and not folder.is_dir():
        return f"{_shown(folder)} is not a folder"
    return None


def _folders(root: Path, path: Path) -> list[Path]:
    """The folders between `root` and `path`, outermost first."""
    inner = path.relative_to(root).parents
    return [root / folder for folder in reversed(inner) if folder != Path(".")]


def _write(root: Path, files: dict[str, str]) -> list[tuple[str, str]]:
    """Writes each file (a new one only if it still does not exist); returns (what was done, path)."""
    done = []
    for name, text in files.items():
        replaced = write_inside(root, name, text)
        done.append((ADDED_TO.get(name, "replaced") if replaced else "created", name))
    return done


FOLDER_NO_LINK = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
NEW_FILE_NO_LINK = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


def write_inside(root: Path, name: str, text: str) -> bool:
    """Writes `text` (UTF-8, newlines as given) to `name`, a '/'-separated path inside `root`, creating its
    folders; True when it replaced a file. Each folder is opened relative to the one before it and never
    through a link (O_NOFOLLOW), so a folder swapped for a link after init's check is refused (LinkInTheWay),
    not written through; a link at the file's own name is replaced itself. `root` (DIR) is the user's to
    choose and may be a link."""
    *folders, file = name.split("/")
    root.mkdir(parents=True, exist_ok=True)
    folder_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for depth, folder in enumerate(folders):
            inner = _opened_folder(folder_fd, folder, root, "/".join(folders[:depth + 1]))
            os.close(folder_fd)
            folder_fd = inner
        return _written_in_folder(folder_fd, file, text.encode("utf-8"))
    finally:
        os.close(folder_fd)


def _opened_folder(parent_fd: int, folder: str, root: Path, name: str) -> int:
    """`folder` in the folder `parent_fd` (created when missing), opened never through a link."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, dir_fd=parent_fd)
    try:
        return os.open(folder, FOLDER_NO_LINK, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(parent_fd, folder):
            raise LinkInTheWay(root, name) from None
        raise


def _is_link(folder_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _written_in_folder(folder_fd: int, file: str, data: bytes) -> bool:
    """Creates `file` in the folder (only if it still does not exist), or replaces the one there keeping its
    mode; True when it replaced one."""
    try:
        there = os.stat(file, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        with os.fdopen(os.open(file, NEW_FILE_NO_LINK, 0o666, dir_fd=folder_fd), "wb") as handle:
            handle.write(data)
        return False
    _replace_in_folder(folder_fd, file, data, there if stat.S_ISREG(there.st_mode) else None)
    return True


def _replace_in_folder(folder_fd: int, file: str, data: bytes, kept: os.stat_result | None) -> None:
    """Writes a new file of a random name beside `file` (O_EXCL: never an existing one, nor a link planted
    there) and renames it over `file`: a reader sees the old file or the new, and a link at `file` is replaced,
    not followed. The new file keeps the mode (and, as root, the owner) of `kept`, the file replaced."""
    temporary = f".{file}.{secrets.token_hex(8)}.leadpolicy"
    try:
        with os.fdopen(os.open(temporary, NEW_FILE_NO_LINK, 0o666, dir_fd=folder_fd), "wb") as handle:
            handle.write(data)
            if kept is not None:
                os.fchmod(handle.fileno(), stat.S_IMODE(kept.st_mode))
                if os.geteuid() == 0:
                    with contextlib.suppress(OSError):
                        os.fchown(handle.fileno(), kept.st_uid, kept.st_gid)
        os.replace(temporary, file, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder_fd)
        raise


def _say_done(root: Path, written: list[tuple[str, str]], kept: list[str], answers: dict[str, str]) -> None:
    import shlex

    from leadpolicy.language.diagnostics import escaped

    for what, name in written:
        print(f"{what} {_shown(root / name)}")
    for name in kept:
        print(f"kept {_shown(root / name)} ({KEPT_BECAUSE[name]})")
    print("\nnext:")
    if str(root) != ".":
        print(f"  cd {escaped(shlex.quote(str(root)))}")
    if not any((folder / ".git").exists() for folder in (root.resolve(), *root.resolve().parents)):
        print("  git init -b main                    the branch the workflow runs on")
    print("  leadpolicy check                    the checks and every sample case pass as created\n"
          "  git add . && git commit -m \"A lead policy\"\n"
          "  leadpolicy ci                       fails until both teams approve; each owner runs their own:")
    policy = f"policies/{answers['name']}.policy"
    for team, key in (("marketing", "marketing_owner"), ("sales", "sales_owner")):
        print(f"    leadpolicy approve {policy} --team {team} --by {shlex.quote(answers[key])}")
