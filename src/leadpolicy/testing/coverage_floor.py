"""The sample coverage floor: the project's (`[tool.leadpolicy] min-coverage` of the nearest pyproject.toml) and
the `low-coverage` error of a run below it. Here, below the command line, so `check` and the language server
find the same project and say the same error."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.language.sources import read_capped

if TYPE_CHECKING:
    from leadpolicy.language.ast import Span
    from leadpolicy.testing.harness import SamplesRun


def find_pyproject(start: Path) -> Path | None:
    """The project's pyproject.toml: the nearest, walking up from `start`, with a [tool.leadpolicy] table (or
    one that cannot be read, so its problem is said), past those of other tools (a pyproject.toml inside
    policies/ for ruff), as ruff and dbt find their own."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and may_be_ours(candidate):
            return candidate
    return None


def may_be_ours(path: Path) -> bool:
    try:
        tool = tomllib.loads(read_capped(path).decode("utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):  # said by the command line's settings
        return True
    return not isinstance(tool, dict) or "leadpolicy" in tool


def percent_problem(value: float) -> str | None:
    """Why a coverage floor is unusable (NaN, infinite, outside 0 to 100), or None."""
    if not math.isfinite(value) or not 0 <= value <= 100:
        return "is not a percentage from 0 to 100"
    return None


def project_floor(start: Path) -> float | None:
    """The `min-coverage` of the project holding `start` (a folder), None without one, or when the settings
    cannot be used (the command line refuses them, saying why)."""
    found = find_pyproject(start.resolve())
    if found is None:
        return None
    try:
        tool = tomllib.loads(read_capped(found).decode("utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    table = tool.get("leadpolicy") if isinstance(tool, dict) else None
    value = table.get("min-coverage") if isinstance(table, dict) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or percent_problem(value):
        return None
    return float(value)


def coverage_diagnostics(run: SamplesRun, floor: float | None, file: str, span: Span) -> list[Diagnostic]:
    """A `low-coverage` error when the run's coverage is below the floor.

    Nothing when no coverage was measured: a samples file that could not be read or run says why itself.
    """
    percent = run.coverage_percent
    if floor is None or percent is None or percent >= floor:
        return []
    missing = [i for i in run.coverage if not i.covered]
    first = "; ".join(f"the {i.kind} {i.what}" for i in missing[:3])
    first += f"; and {len(missing) - 3} more" if len(missing) > 3 else ""
    return [Diagnostic("low-coverage", f"sample coverage {percent}% is below the floor of {floor}%: "
                       f"no case tests {first}", file, span,
                       hint=f"add cases to {Path(run.file).name}; `leadpolicy test --coverage` lists what is untested")]


def untested(samples_file: Path, file: str) -> Diagnostic:
    """The error of a policy with no samples file next to it: nothing tests it (no coverage at all)."""
    return Diagnostic("untested", f"no samples file: create {samples_file.name} next to it", file,
                      hint="see docs/samples.md for the format")
