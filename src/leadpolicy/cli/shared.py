"""What the commands share: printing diagnostics and summaries, loading a policy, reading a lead,
evaluation times, atomic output files."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeAlias

if TYPE_CHECKING:
    from argparse import ArgumentParser, _SubParsersAction
    from collections.abc import Iterable

    from leadpolicy.language import ast
    from leadpolicy.language.diagnostics import Diagnostic
    from leadpolicy.language.loader import LoadedPolicy
    from leadpolicy.semantics import ir
    from leadpolicy.testing.harness import SamplesRun

    Subcommands: TypeAlias = _SubParsersAction[ArgumentParser]  # what each command's `register` adds itself to
    SummaryRow: TypeAlias = tuple[LoadedPolicy, SamplesRun | None, str, str]  # policy, its run, status, approval


def print_diagnostics(diags: Iterable[Diagnostic], sources: dict[str, str | None]) -> None:
    from leadpolicy.language.diagnostics import colour_wanted, render
    from leadpolicy.language.sources import read_source

    colour = colour_wanted(sys.stdout)
    for d in sorted(diags, key=lambda d: d.sort_key()):
        if d.file not in sources:
            sources[d.file] = read_source(d.file)[0] if d.span.line else None
        print(render(d, sources.get(d.file), colour))


def print_case_failures(run: SamplesRun) -> None:
    """Each case that did not pass, its failures and why; texts from the samples file (names, values) may
    hold control characters, shown as U+FFFD so none acts in the terminal."""
    from leadpolicy.language.diagnostics import escaped, printable

    for case in run.cases:
        if case.passed:
            continue
        print(f"{escaped(str(case.file))}:{case.line}: {case.status.upper()}: {printable(str(case.name))}")
        for failure in case.failures:
            print(f"    {printable(failure)}")
        if case.explanation:
            print("    because:")
            for line in case.explanation:
                print(f"      {printable(line)}")


def print_coverage(run: SamplesRun) -> None:
    from leadpolicy.language.diagnostics import escaped

    missing = [i for i in run.coverage if not i.covered]
    percent = run.coverage_percent
    if percent is None:  # every policy has stages to reach: nothing measured means no case ran
        print(f"coverage {escaped(str(run.file))}: not measured, no case could run (the errors above say why)")
        return
    print(f"coverage {escaped(str(run.file))}: {percent}% ({len(run.coverage) - len(missing)} of {len(run.coverage)})")
    words = {"rule": "no case fires rule", "stage": "no case reaches stage", "route": "no case reaches route",
             "boundary": "no case tests the boundary", "member": "no assignment case assigns member",
             "cap": "no assignment case reaches the cap of", "calendar": "no assignment case finds closed calendar",
             "fallback": "no assignment case takes the fallback"}
    for item in missing:
        print(f"  {escaped(str(run.policy_file))}:{item.line}: {words[item.kind]} {item.what}")


def summary_dict(loaded: LoadedPolicy, run: SamplesRun | None, status: str, approval: str = "-",
                 diags: list[Diagnostic] | None = None) -> dict[str, Any]:
    policy = loaded.policy
    files = {os.path.normpath(loaded.file)} | ({os.path.normpath(run.file)} if run else set())  # its samples file's too
    mine = [d for d in (diags if diags is not None else loaded.diagnostics) if os.path.normpath(d.file) in files]
    return {
        "file": loaded.file,
        "id": policy.id if policy else None,
        "version": policy.version if policy else None,
        "errors": sum(d.is_error for d in mine),
        "warnings": sum(not d.is_error for d in mine),
        "cases": len(run.cases) if run else 0,
        "passed": sum(c.passed for c in run.cases) if run else 0,
        "coverage": run.coverage_percent if run else None,
        "status": status,
        "approval": approval,
    }


def print_summary(rows: list[SummaryRow], runs: list[SamplesRun], diags: list[Diagnostic]) -> None:
    from leadpolicy.language.diagnostics import escaped

    if not rows:
        return
    table = [("policy", "version", "errors", "warnings", "cases", "coverage", "approval", "status")]
    for loaded, run, status, approval in rows:
        s = summary_dict(loaded, run, status, approval, diags)
        table.append((escaped(s["file"]), s["version"] or "-", str(s["errors"]), str(s["warnings"]),
                      f"{s['passed']}/{s['cases']}" if run else "-",
                      f"{s['coverage']}%" if s["coverage"] is not None else "-", approval, status))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print()
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def samples_paths(paths: list[str]) -> tuple[list[Path], list[Diagnostic]]:
    from leadpolicy.language.diagnostics import Diagnostic
    from leadpolicy.language.loader import discover, samples_for

    policies, samples, problems = discover(paths)
    found = list(samples)
    for policy in policies:
        s = samples_for(policy)
        if s.exists():
            found.append(s)
        elif str(policy) in paths:  # named on the command line, so its missing samples matter
            problems.append(Diagnostic("untested", f"no samples file {s.name}", str(policy)))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [Path(os.path.relpath(p)) for p in unique], problems


def policy_files(policy: str | Path) -> list[Path]:
    """A policy file and the files that belong to it (its samples and approvals files): inputs of every
    command given the policy, which no output may replace even when the command does not read them."""
    from leadpolicy.governance.approvals import approvals_path
    from leadpolicy.language.loader import samples_for

    return [Path(policy), samples_for(policy), approvals_path(policy)]


def policy_inputs(policy: str | Path | None, what: str = "the policy") -> dict[str, Path]:
    """`policy_files` named for `check_outputs`, with the policy its samples file names (`policy:`, which
    `test` and `ci` read in its place) and that policy's files: what -> path."""
    if policy is None:
        return {}
    path, samples, approvals = policy_files(policy)
    inputs = {what: path, f"{what}'s samples file": samples, f"{what}'s approvals file": approvals}
    named = named_policy(samples)
    if named is not None:
        named_path, named_samples, named_approvals = policy_files(named)
        inputs |= {f"the policy {samples} names": named_path,
                   f"the samples file of the policy {samples} names": named_samples,
                   f"the approvals file of the policy {samples} names": named_approvals}
    return inputs


def named_policy(samples: Path) -> Path | None:
    """The policy a samples file names (its `policy` key, relative to the samples file), if it names one."""
    from leadpolicy.language.yamldoc import load_yaml

    if not samples.is_file():
        return None
    doc, _ = load_yaml(samples, "bad-samples", "")
    name = doc.data.get("policy") if doc is not None and isinstance(doc.data, dict) else None
    return samples.parent / name if isinstance(name, str) and name else None


@dataclass(frozen=True)
class CheckedPolicy:
    """A policy that parsed and checked without errors: unlike a parse result, its tree is always there."""

    file: str
    source: str
    policy: ast.Policy
    diagnostics: list[Diagnostic]

    @classmethod
    def of(cls, loaded: LoadedPolicy) -> CheckedPolicy | None:
        """The checked policy, or None after printing the diagnostics when the policy has errors."""
        if loaded.policy is None or loaded.has_errors:
            print_diagnostics(loaded.diagnostics, {loaded.file: loaded.source})
            return None
        return cls(loaded.file, loaded.source, loaded.policy, loaded.diagnostics)


def policy_from(spec: str, command: str = "diff") -> CheckedPolicy | None:
    """A loaded policy from a path or GIT_REF:path; prints diagnostics and returns None on errors."""
    from leadpolicy.governance.approvals import GitError, file_at
    from leadpolicy.semantics.loading import load_policy_text

    path = Path(spec)
    if not path.exists() and ":" in spec:
        ref, _, name = spec.partition(":")
        try:
            text = file_at(ref, Path(name))
        except GitError as exc:
            print(f"leadpolicy {command}: {spec}: {exc}", file=sys.stderr)
            return None
        if text is None:
            print(f"leadpolicy {command}: {name} does not exist at {ref}", file=sys.stderr)
            return None
        loaded = load_policy_text(text, spec)
    else:
        from leadpolicy.semantics.loading import load_policy

        loaded = load_policy(path)
    return CheckedPolicy.of(loaded)


def load_or_report(path: str) -> CheckedPolicy | None:
    from leadpolicy.semantics.loading import load_policy

    return CheckedPolicy.of(load_policy(path))


def read_lead(text: str, flag: str = "--lead") -> Any:
    """A lead (or, for `explain --events`, a list) from JSON text or a JSON/YAML file; every problem is a
    ValueError naming `flag` and where."""
    from leadpolicy.language.sources import read_capped
    from leadpolicy.language.yamldoc import YamlError, read_yaml
    from leadpolicy.semantics.leads import read_json

    stripped = text.strip()
    try:
        if stripped.startswith(("{", "[")):
            return read_json(stripped)
        path = Path(text)
        if not path.exists():
            raise ValueError(f"{flag}: {text!r} is neither JSON nor a file")
        content = read_capped(path).decode("utf-8-sig")  # at most 10 MiB, read without waiting; a BOM is dropped
        return read_json(content) if path.suffix == ".json" else read_yaml(content)
    except OSError as exc:
        raise ValueError(f"{flag}: {text}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{flag}: not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{flag}: nested too deep to read") from None
    except YamlError as exc:
        raise ValueError(f"{flag}: {text}:{exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{flag}: {text} is not UTF-8 text") from None
    except ValueError as exc:  # a key given twice (read_json), or our own message
        if str(exc).startswith(flag):
            raise
        raise ValueError(f"{flag}: {exc}") from None


def parse_now(text: str | None, timezone: str) -> dt.datetime:
    """`--now` (the current time when None) as the instant it names, at the offset it was written with or else
    the policy's zone's then (`semantics.now`): every command reads it so, and counts windows in real days."""
    from leadpolicy import zones
    from leadpolicy.semantics.now import current, written_instant

    zone = zones.zone(timezone)
    return current(zone) if text is None else written_instant(text, zone)


def outputs_refused(command: str, outputs: dict[str, Any], inputs: dict[str, Any]) -> bool:
    """Whether an output cannot be written (one of the inputs, another output, a folder, ...): says why on
    stderr, so the command stops with bad usage before any work."""
    from leadpolicy.outputs import OutputError, check_outputs

    try:
        check_outputs(outputs, inputs)
    except OutputError as exc:
        print(f"leadpolicy {command}: {exc}", file=sys.stderr)
        return True
    return False


def column_mapping_problem(command: str, mapping: dict[str, str], *policies: ir.Policy) -> bool:
    """Whether the column mapping names a field that none of the policies (IR policies) has: says so on
    stderr (bad usage), with the field it was likely meant for. An entry of [tool.leadpolicy.columns] for a
    field the policies lack is taken out of `mapping` (it concerns another policy of the project), unless
    it looks like a misspelled field of theirs, which is said naming pyproject.toml and the entry."""
    from leadpolicy.language.diagnostics import did_you_mean

    fields = list(dict.fromkeys(f.name for policy in policies for f in policy.fields))
    for name, header in list(mapping.items()):
        if name in fields:
            continue
        hint = did_you_mean(name, fields)
        setting = getattr(header, "setting", None)  # a project default (settings.ProjectHeader)
        if setting is not None and hint is None:
            del mapping[name]
            continue
        where = f"{setting}: names" if setting else f"the column mapping {name}={header} names"
        print(f"leadpolicy {command}: {where} no field {name} of the policy" + (f" ({hint})" if hint else "")
              + f"; its fields are {', '.join(fields)}", file=sys.stderr)
        return True
    return False


LOUD_SHARE = 0.05  # a run that rejects more than this share of its rows says so on stderr
QUOTED_VALUE = re.compile(r"'(?:[^'\\]|\\.)*'" + r'|"(?:[^"\\]|\\.)*"')  # a value as Python's repr quotes it
HINT = re.compile(r" \(did you mean [^)]*\)$")
JSON_AFTER_KIND = re.compile(r"\bgot (a list|a JSON object|yes/no|a number) .*$")  # `got a list [1, 2]`
JSON_BEFORE_CHOICES = re.compile(r"(^|: )(?:[\[{].*|true|false|null|-?[0-9][0-9.eE+-]*) (is not one of: )")


def reason_of(reject: dict[str, Any]) -> str:
    """A reject's reason without the value it names (`'EMEA' is not one of: a, b` -> `is not one of: a, b`),
    so rows rejected for one reason are counted together; the header of a column it names is kept."""
    problem = HINT.sub("", reject["problem"])
    problem = JSON_BEFORE_CHOICES.sub(r"\1\2", JSON_AFTER_KIND.sub(r"got \1", problem))
    text = " ".join(QUOTED_VALUE.sub(lambda m: m[0] if _names_a_column(problem, m.start()) else "", problem).split())
    return f"{reject['field']}: {text}" if reject["field"] else text


def _names_a_column(text: str, start: int) -> bool:
    """Whether the quoted text at `start` is a header (`column 'No. of Employees'`), which a reason keeps."""
    return text[:start].rstrip().lower().endswith(("column", "header"))


def reject_summary(what: str, read: int, rejects: list[dict[str, Any]], top: int = 3) -> list[str] | None:
    """`rejected K of N WHAT (P%)` and the top reasons with how many rows each rejected, when more than
    LOUD_SHARE of the rows were rejected; else None."""
    from leadpolicy.language.diagnostics import printable

    rows_of: dict[str, set[int]] = {}
    for reject in rejects:
        rows_of.setdefault(reason_of(reject), set()).add(reject["row"])
    rejected = len({r["row"] for r in rejects})
    if not read or rejected <= LOUD_SHARE * read:
        return None
    ranked = sorted(rows_of.items(), key=lambda item: (-len(item[1]), item[0]))[:top]
    width = len(f"{len(ranked[0][1]):,}")
    return [f"rejected {rejected:,} of {read:,} {what} ({round(100 * rejected / read)}%)"] + [
        f"{len(rows):>{width},}  {printable(reason)}" for reason, rows in ranked]


def say_rejects_loudly(command: str, what: str, read: int, rejects: list[dict[str, Any]],
                       hint: str = "") -> None:
    """The reject summary on stderr (nothing when few rows were rejected)."""
    lines = reject_summary(what, read, rejects)
    if lines is None:
        return
    print(f"leadpolicy {command}: warning: {lines[0]}; top reasons:", file=sys.stderr)
    for line in lines[1:]:
        print(f"  {line}", file=sys.stderr)
    if hint:
        print(f"  {hint}", file=sys.stderr)


MAX_REJECTS_HINT = "--max-rejects N makes a run that rejects more than N rows (of leads, or of events) exit 1"


def too_many_rejects(command: str, limit: int | None, rejected: dict[str, int]) -> bool:
    """Whether `--max-rejects N` fails the run: more than N rows rejected of the leads, or of the events, each
    (`rejected`: what -> how many rows, as in {"rows": 3, "event rows": 100}); says which on stderr."""
    over = [f"{count:,} rejected {what}" for what, count in rejected.items() if limit is not None and count > limit]
    if over:
        print(f"leadpolicy {command}: {' and '.join(over)}, more than --max-rejects {limit}", file=sys.stderr)
    return bool(over)


ProgressUpdate = Callable[[int, "int | None"], None]  # (done, total): how far a long step is


@contextlib.contextmanager
def progress_bar(description: str, quiet: bool = False, unit: str = "rows") -> Iterator[ProgressUpdate | None]:
    """A progress bar on stderr (done/total UNIT, UNIT/s, ETA) for a long step: yields the function that moves
    it, or None when no bar is shown (stderr is not a terminal, `--quiet`, or a CI job). It honours NO_COLOR
    (see `leadpolicy.cli.progress`)."""
    if quiet or not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from leadpolicy.cli.progress import terminal_progress
    from leadpolicy.language.diagnostics import printable

    with terminal_progress(printable(description), unit) as update:
        yield update
