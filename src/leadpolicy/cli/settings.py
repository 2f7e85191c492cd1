"""Project settings from `[tool.leadpolicy]` in the nearest pyproject.toml: defaults for the CLI.

    [tool.leadpolicy]
    paths = ["policies"]          # what check, test, ci, fmt and docs read without PATHS
    min-coverage = 90             # check, test and ci: the sample coverage floor
    require-approvals = true      # check: every owning team must have approved
    allow-untested = false        # check: a policy without samples is an error
    strict = false                # check: warnings count as errors

    [tool.leadpolicy.columns]     # score, feedback, backtest, calibrate, ci, sla --leads, diff --leads: a field
    job_title = "Job Title"       # read from a column of another name (as --column FIELD=HEADER)

A flag on the command line wins over a setting. The nearest pyproject.toml with a [tool.leadpolicy]
table is the project's (walking up from the current folder, as ruff and dbt find theirs), and paths
in it are relative to its folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from leadpolicy.testing.coverage_floor import find_pyproject, percent_problem

KEYS: dict[str, type | tuple[type, ...]] = {"paths": list, "min-coverage": (int, float), "require-approvals": bool,
                                            "allow-untested": bool, "strict": bool, "columns": dict}


class SettingsError(ValueError):
    """A [tool.leadpolicy] table that cannot be used; the message names the file and the key."""


@dataclass
class Settings:
    file: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def load_settings(start: Path | None = None) -> Settings:
    """The settings of the nearest pyproject.toml (none when it has no [tool.leadpolicy] table).
    Raises SettingsError for bad TOML, unknown keys and values of the wrong type."""
    path = find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return Settings()
    table = _leadpolicy_table(path, _read_toml(path))
    if table is None:
        return Settings(path)
    return Settings(path, {key: _setting(path, key, value) for key, value in table.items()})


def _read_toml(path: Path) -> dict[str, Any]:
    from leadpolicy.language.sources import read_capped

    try:
        text = read_capped(path).decode("utf-8")  # a regular file of at most 10 MiB, as policies are
        return tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:  # an integer past Python's 4,300 digits, found while tomllib converts it
        reason = str(exc).split(";")[0]
        raise SettingsError(f"{path}: cannot read: a number has too many digits ({reason})") from None
    except RecursionError:  # tomllib reads nested arrays and inline tables by recursion
        raise SettingsError(f"{path}: cannot read: {_deepest(text)} nests arrays or tables too deep") from None


def _leadpolicy_table(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """The [tool.leadpolicy] table, or None without one."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise SettingsError(f"{path}: [tool] must be a table")
    table = tool.get("leadpolicy")
    if table is not None and not isinstance(table, dict):
        raise SettingsError(f"{path}: [tool.leadpolicy] must be a table")
    return table


def _setting(path: Path, key: str, value: Any) -> Any:
    """One setting's value, checked: a known key, a value of its type, then the key's own rule."""
    from leadpolicy.language.diagnostics import did_you_mean

    if key not in KEYS:
        hint = did_you_mean(key, KEYS)
        raise SettingsError(f"{path}: [tool.leadpolicy] has no setting {key!r}" + (f" ({hint})" if hint else "")
                            + f"; the settings are {', '.join(KEYS)}")
    wanted = KEYS[key]
    if not isinstance(value, wanted) or (wanted is not bool and isinstance(value, bool)):
        raise SettingsError(f"{path}: [tool.leadpolicy] {key}: {_TAKES.get(wanted, 'a number')}, "
                            f"not {_toml_kind(value)}")
    rule = _SETTING_RULES.get(key)
    return rule(path, value) if rule is not None else value


def _paths_setting(path: Path, value: list[Any]) -> list[str]:
    """Paths relative to the pyproject.toml, as paths relative to here."""
    if not all(isinstance(p, str) for p in value):
        raise SettingsError(f"{path}: [tool.leadpolicy] paths must be a list of strings")
    return [p if Path(p).is_absolute() else os.path.relpath(path.parent / p) for p in value]


def _columns_setting(path: Path, value: dict[str, Any]) -> dict[str, Any]:
    for name, header in value.items():
        if not isinstance(header, str):
            raise SettingsError(f"{path}: [tool.leadpolicy.columns] {name}: the header of a column "
                                f"(FIELD = \"HEADER\"), not {_toml_kind(header)}")
        if not header or not name.strip():
            raise SettingsError(f"{path}: [tool.leadpolicy.columns] {name} = {header!r} is not the "
                                "header of a column (FIELD = \"HEADER\")")
    return value


def _toml_kind(value: Any) -> str:
    """A TOML value's kind in the words every reader names a value's kind in (a TOML table is "a table")."""
    from leadpolicy.semantics.events import value_kind

    return value_kind(value, mapping="a table")


def _min_coverage_setting(path: Path, value: float) -> float:
    if problem := percent_problem(value):
        raise SettingsError(f"{path}: [tool.leadpolicy] min-coverage = {value!r} {problem}")
    return value


# What a setting takes, as TOML writes it (the value given is named by value_kind, as every reader names it)
_TAKES: dict[object, str] = {list: "a list of paths", bool: "true or false",
                             dict: "a table of FIELD = \"HEADER\""}  # else a number
_SETTING_RULES: dict[str, Callable[[Path, Any], Any]] = {
    "paths": _paths_setting, "columns": _columns_setting, "min-coverage": _min_coverage_setting}


def _deepest(text: str) -> str:
    """`line N (key = ...)` of the line that opens the most arrays and inline tables."""
    lines = text.splitlines()
    number = max(range(len(lines)), key=lambda i: lines[i].count("[") + lines[i].count("{"))
    key = lines[number].split("=", 1)[0].strip() if "=" in lines[number] else ""
    return f"line {number + 1}" + (f" ({key} = ...)" if key else "")


def apply(args: Any, settings: Settings) -> None:
    """Fill in what the command line left unsaid from the settings (flags win). Raises SettingsError
    for a flag the settings' rules refuse (--min-coverage outside 0 to 100)."""
    given = getattr(args, "min_coverage", None)
    if given is not None and (problem := percent_problem(given)):
        raise SettingsError(f"--min-coverage {given:g} {problem}")
    if getattr(args, "paths", "absent") in (None, []):  # argparse gives [] for a `*` positional left out
        # policies/ of the project (the folder of its pyproject.toml), wherever inside it the command runs
        root = settings.file.parent if settings.file is not None else Path.cwd()
        args.paths = settings.get("paths") or [os.path.relpath(root / "policies")]
    if getattr(args, "min_coverage", "absent") is None and settings.get("min-coverage") is not None:
        args.min_coverage = float(settings.get("min-coverage"))
    if hasattr(args, "columns"):
        args.columns_flagged = bool(args.columns)  # `--column` on the command line, not only in the settings
        args.columns = column_mapping(args.columns or [], settings.get("columns") or {}, settings.file)
    for key in ("require-approvals", "allow-untested", "strict"):
        attr = key.replace("-", "_")
        if getattr(args, attr, None) is False and settings.get(key):
            setattr(args, attr, True)


class ProjectHeader(str):
    """A header from [tool.leadpolicy.columns]: a project default, not a demand. A policy without its field
    ignores it, and a file without the header reads the field from the column of its own name (a
    `--column` header is strict). `setting` names where it is written, for messages."""

    setting: str

    def __new__(cls, header: str, setting: str) -> ProjectHeader:
        made = super().__new__(cls, header)
        made.setting = setting
        return made


def column_mapping(flags: list[tuple[str, str]], table: dict[str, str], file: Path | None = None) -> dict[str, str]:
    """field -> header: the settings' [tool.leadpolicy.columns] (each header a ProjectHeader) with each
    `--column FIELD=HEADER` over its field, and over a table entry of the same header (the flag says what
    that column is). Raises SettingsError for a field given twice on the command line, or two fields read
    from one header."""
    given: dict[str, str] = {}
    for name, header in flags:
        if name in given:
            raise SettingsError(f"--column: {name} is mapped twice ({given[name]!r} and {header!r})")
        given[name] = header
    where = f"{os.path.relpath(file) if file is not None else 'pyproject.toml'} [tool.leadpolicy.columns]"
    project = {name: ProjectHeader(header, f"{where} {name}") for name, header in table.items()
               if name not in given and header not in given.values()}
    mapping: dict[str, str] = {**project, **given}
    fields_of: dict[str, list[str]] = {}
    for name, header in mapping.items():
        fields_of.setdefault(header, []).append(name)
    for header, names in fields_of.items():
        if len(names) > 1:
            origin = f"{where}: " if all(isinstance(mapping[n], ProjectHeader) for n in names) else "column mapping: "
            raise SettingsError(f"{origin}the header {header!r} is mapped to both {' and '.join(names)}; "
                                "a column is read as one field")
    return mapping
