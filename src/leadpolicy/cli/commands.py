"""The implementations of the `leadpolicy` commands (the argument parser is in cli)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import IO, Any, Iterator

from leadpolicy.cli.main import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.language.ast import NO_SPAN

# ---------------------------------------------------------------- check and test


def _print_diagnostics(diags, sources: dict[str, str | None]) -> None:
    from leadpolicy.language.diagnostics import render
    from leadpolicy.language.parser import read_source

    for d in sorted(diags, key=lambda d: d.sort_key()):
        if d.file not in sources:
            sources[d.file] = read_source(d.file)[0] if d.span.line else None
        print(render(d, sources.get(d.file)))


def _print_case_failures(run) -> None:
    for case in run.cases:
        if case.passed:
            continue
        print(f"{case.file}:{case.line}: {case.status.upper()}: {case.name}")
        for failure in case.failures:
            print(f"    {failure}")
        if case.explanation:
            print("    because:")
            for line in case.explanation:
                print(f"      {line}")


def _print_coverage(run) -> None:
    missing = [i for i in run.coverage if not i.covered]
    percent = run.coverage_percent
    print(f"coverage {run.file}: {percent if percent is not None else '-'}% "
          f"({len(run.coverage) - len(missing)} of {len(run.coverage)})")
    words = {"rule": "no case fires rule", "stage": "no case reaches stage", "route": "no case reaches route",
             "boundary": "no case tests the boundary"}
    for item in missing:
        print(f"  {run.policy_file}:{item.line}: {words[item.kind]} {item.what}")


def cmd_check(args: argparse.Namespace, extra: list | None = None, sink=None) -> int:
    """`check`; `ci` passes more diagnostics in (`extra`) and gets the results out (`sink`)."""
    from leadpolicy.governance.approvals import GitError, approval_diagnostics, default_base, version_diagnostics
    from leadpolicy.language.diagnostics import Diagnostic
    from leadpolicy.language.loader import discover, load_policy, samples_for
    from leadpolicy.testing.harness import run_samples

    policies, samples, problems = discover(args.paths)
    diags = list(problems) + list(extra or [])
    sources: dict[str, str | None] = {}
    runs = []
    rows = []
    used_samples: set[Path] = set()
    against = args.against
    if against == "":
        try:
            against = default_base(Path.cwd())
        except GitError as exc:
            diags.append(Diagnostic("bad-ref", str(exc), "."))
            against = None
    for path in policies:
        loaded = load_policy(path)
        sources[loaded.file] = loaded.source
        diags.extend(loaded.diagnostics)
        approval = "-"
        if loaded.policy is not None and not loaded.has_errors:
            approval, approval_diags = approval_diagnostics(loaded.file, loaded.policy, args.require_approvals)
            diags.extend(approval_diags)
            if against:
                diags.extend(version_diagnostics(loaded.file, loaded.policy, against))
        sample_path = samples_for(path)
        run = None
        if loaded.has_errors:
            status = "errors"
        elif sample_path.exists():
            used_samples.add(sample_path.resolve())
            run = run_samples(sample_path, loaded.policy, loaded.file)
            runs.append(run)
            diags.extend(run.diagnostics)
            assert loaded.policy is not None  # a tree without errors
            diags.extend(coverage_diagnostics(run, args.min_coverage, loaded.file, loaded.policy.id_span))
            status = "ok" if run.ok else "failing"
        else:
            status = "untested"
            if not args.allow_untested:
                diags.append(Diagnostic("untested", f"no samples file: create {sample_path.name} next to it",
                                        loaded.file, hint="see docs/samples.md for the format"))
        if status == "ok" and any(d.is_error and d.file == loaded.file for d in diags):
            status = "errors"  # for example not approved, or a version that did not move
        rows.append((loaded, run, status, approval))
    for sample_path in samples:
        if sample_path.resolve() not in used_samples:
            run = run_samples(sample_path)
            runs.append(run)
            diags.extend(run.diagnostics)
            diags.extend(coverage_diagnostics(run, args.min_coverage, run.file, NO_SPAN))
    errors = [d for d in diags if d.is_error or (args.strict and d.severity == "warning")]
    failing_cases = [c for r in runs for c in r.cases if not c.passed]
    ok = not errors and not failing_cases  # a coverage floor below its mark is an error (`low-coverage`)
    if sink is not None:
        sink(diags, runs)
    if args.format == "json":
        print(json.dumps({
            "ok": ok,
            "diagnostics": [d.as_dict() for d in sorted(diags, key=lambda d: d.sort_key())],
            "cases": [c.as_dict() for r in runs for c in r.cases],
            "policies": [_summary_dict(loaded, run, status, approval, diags) for loaded, run, status, approval in rows],
        }, indent=2, default=str))
        return EXIT_OK if ok else EXIT_PROBLEMS
    if args.format == "github":
        from leadpolicy.governance.ci import github_annotations

        for line in github_annotations(diags, runs):
            print(line)
    else:
        _print_diagnostics(diags, sources)
        for run in runs:
            _print_case_failures(run)
        _print_summary(rows, runs, diags)
    n_err = len([d for d in diags if d.is_error])
    n_warn = len([d for d in diags if not d.is_error])
    verdict = "all is well" if ok else "problems found"
    print(f"\n{len(policies)} polic{'y' if len(policies) == 1 else 'ies'}, {n_err} error(s), {n_warn} warning(s), "
          f"{sum(len(r.cases) for r in runs) - len(failing_cases)}/{sum(len(r.cases) for r in runs)} cases passed: "
          f"{verdict}")
    return EXIT_OK if ok else EXIT_PROBLEMS


def coverage_diagnostics(run, floor: float | None, file: str, span) -> list:
    """A `low-coverage` error when the run's coverage is below the floor."""
    from leadpolicy.language.diagnostics import Diagnostic

    if floor is None or (run.coverage_percent or 0) >= floor:
        return []
    missing = [i for i in run.coverage if not i.covered]
    first = "; ".join(f"the {i.kind} {i.what}" for i in missing[:3])
    first += f"; and {len(missing) - 3} more" if len(missing) > 3 else ""
    return [Diagnostic("low-coverage", f"sample coverage {run.coverage_percent}% is below the floor of {floor}%: "
                       f"no case tests {first}", file, span,
                       hint=f"add cases to {Path(run.file).name}; `leadpolicy test --coverage` lists what is untested")]


def _summary_dict(loaded, run, status, approval="-", diags=None) -> dict[str, Any]:
    policy = loaded.policy
    mine = [d for d in (diags if diags is not None else loaded.diagnostics) if d.file == loaded.file]
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


def _print_summary(rows, runs, diags) -> None:
    if not rows:
        return
    table = [("policy", "version", "errors", "warnings", "cases", "coverage", "approval", "status")]
    for loaded, run, status, approval in rows:
        s = _summary_dict(loaded, run, status, approval, diags)
        table.append((s["file"], s["version"] or "-", str(s["errors"]), str(s["warnings"]),
                      f"{s['passed']}/{s['cases']}" if run else "-",
                      f"{s['coverage']}%" if s["coverage"] is not None else "-", approval, status))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print()
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _samples_paths(paths: list[str]) -> tuple[list[Path], list]:
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


def cmd_approve(args: argparse.Namespace) -> int:
    from leadpolicy.governance.approvals import approve, load_approvals, samples_fingerprint, status

    loaded = _load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    try:
        path, record = approve(loaded.file, loaded.policy, args.team, args.by)
    except ValueError as exc:
        print(f"leadpolicy approve: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    state, _, missing = status(loaded.policy, load_approvals(path)[0], samples_fingerprint(loaded.file))
    print(f"{record.by} approved {loaded.policy.id} {record.version} for {record.team} ({record.fingerprint[:19]}...)")
    print(f"recorded in {path}; status: {state}" + (f" (still to approve: {', '.join(missing)})" if missing else ""))
    return EXIT_OK


def cmd_docs(args: argparse.Namespace) -> int:
    from leadpolicy.publish.site import build, render_site

    out = Path(args.output)
    pages, diags = render_site(args.paths, out, args.site_name)
    _print_diagnostics(diags, {})
    print(f"wrote {len(pages)} policy page(s), an index and {out / 'mkdocs.yml'}")
    if args.build:
        import importlib.util

        if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
            print("leadpolicy docs: --build needs MkDocs and the Material theme, which a plain install does not "
                  "bring: pip install 'leadpolicy[docs]' (the pages were written; `--build` only renders them)",
                  file=sys.stderr)
            return EXIT_PROBLEMS
        code, output = build(out)
        if code != 0:
            print(f"leadpolicy docs: mkdocs build failed:\n{output}", file=sys.stderr)
            return EXIT_PROBLEMS
        print(f"built {out / 'site' / 'index.html'}")
    return EXIT_PROBLEMS if any(d.is_error for d in diags) else EXIT_OK


def cmd_ci(args: argparse.Namespace) -> int:
    from leadpolicy.governance.ci import fmt_diagnostics, github_annotations, sarif

    extra = [] if args.skip_fmt else fmt_diagnostics(args.paths)
    check_args = argparse.Namespace(paths=args.paths, format="text", min_coverage=args.min_coverage,
                                    allow_untested=False, strict=False, require_approvals=not args.skip_approvals,
                                    against=None if args.skip_versions else args.against)
    collected: dict = {}

    def sink(diags, runs):
        collected.update(diags=diags, runs=runs)
    status = cmd_check(check_args, extra, sink)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(collected["diags"], collected["runs"]):
            print(line)
    if args.sarif:
        Path(args.sarif).write_text(json.dumps(sarif(collected["diags"], collected["runs"]), indent=2), "utf-8")
        print(f"wrote {args.sarif}")
    return status


def _policy_from(spec: str):
    """A loaded policy from a path or GIT_REF:path; prints diagnostics and returns None on errors."""
    from leadpolicy.governance.approvals import GitError, file_at
    from leadpolicy.language.loader import load_policy_text

    path = Path(spec)
    if not path.exists() and ":" in spec:
        ref, _, name = spec.partition(":")
        try:
            text = file_at(ref, Path(name))
        except GitError as exc:
            print(f"leadpolicy diff: {spec}: {exc}", file=sys.stderr)
            return None
        if text is None:
            print(f"leadpolicy diff: {name} does not exist at {ref}", file=sys.stderr)
            return None
        loaded = load_policy_text(text, spec)
    else:
        from leadpolicy.language.loader import load_policy

        loaded = load_policy(path)
    if loaded.has_errors:
        _print_diagnostics(loaded.diagnostics, {loaded.file: loaded.source})
        return None
    return loaded


def cmd_diff(args: argparse.Namespace) -> int:
    from leadpolicy.api import Policy
    from leadpolicy.governance.diff import PolicyDiff, changes, impact, read_leads, render_text
    from leadpolicy.language.loader import samples_for
    from leadpolicy.semantics.leads import read_text_cell
    from leadpolicy.semantics.lowering import lower
    from leadpolicy.testing.harness import load_samples

    old, new = _policy_from(args.old), _policy_from(args.new)
    if old is None or new is None:
        return EXIT_PROBLEMS
    result = PolicyDiff(old.policy, new.policy, changes(old.policy, new.policy))
    now_text = args.now
    leads: list[dict] = []
    if args.leads:
        kinds = {f.name: f.type.name for f in old.policy.fields} | {f.name: f.type.name for f in new.policy.fields}
        try:
            rows = read_leads(Path(args.leads))
        except Exception as exc:  # a clear message for any unreadable file
            print(f"leadpolicy diff: {args.leads}: cannot read leads: {str(exc).splitlines()[0]}", file=sys.stderr)
            return EXIT_PROBLEMS
        leads = [{k: (read_text_cell(kinds[k], v) if k in kinds and isinstance(v, str) else v) for k, v in r.items()}
                 for r in rows]
    elif Path(args.new).exists() and samples_for(args.new).exists():
        doc, _ = load_samples(samples_for(args.new))
        if doc is not None:
            leads = [c["lead"] for c in doc.data.get("leads") or [] if "invalid" not in c["expect"]]
            now_text = now_text or doc.data.get("now")
    if leads:
        old_policy, new_policy = Policy(old.policy, lower(old.policy)), Policy(new.policy, lower(new.policy))
        result.impact = impact(old_policy, new_policy, leads, parse_now(now_text, new.policy.timezone))
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        sys.stdout.write(render_text(result, markdown=args.format == "markdown"))
    return EXIT_PROBLEMS if args.exit_code and result.changes else EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    from leadpolicy.testing.harness import run_samples

    paths, problems = _samples_paths(args.paths)
    runs = [run_samples(p) for p in paths]
    if args.pattern:
        for run in runs:
            run.cases = [c for c in run.cases if args.pattern.lower() in c.name.lower()]
    diags = problems + [d for r in runs for d in r.diagnostics]
    for run in runs:
        diags += coverage_diagnostics(run, args.min_coverage, run.file, NO_SPAN)
    cases = [c for r in runs for c in r.cases]
    failed = [c for c in cases if not c.passed]
    ok = not [d for d in diags if d.is_error] and not failed and (cases or not paths)
    if args.junit:
        from leadpolicy.testing.junit import write_junit

        write_junit(args.junit, runs)
    if args.format == "json":
        print(json.dumps({
            "ok": bool(ok),
            "diagnostics": [d.as_dict() for d in diags],
            "cases": [c.as_dict() for c in cases],
            "coverage": {r.file: {"percent": r.coverage_percent,
                                  "uncovered": [vars(i) for i in r.coverage if not i.covered]} for r in runs},
        }, indent=2, default=str))
        return EXIT_OK if ok else EXIT_PROBLEMS
    if args.format == "github":
        from leadpolicy.governance.ci import github_annotations

        for line in github_annotations(diags, runs):
            print(line)
    else:
        _print_diagnostics(diags, {})
        for run in runs:
            _print_case_failures(run)
        if args.coverage or args.min_coverage is not None:
            for run in runs:
                _print_coverage(run)
    counts = {s: sum(c.status == s for c in cases) for s in ("passed", "failed", "error")}
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors "
          f"in {len(runs)} samples file(s)")
    return EXIT_OK if ok else EXIT_PROBLEMS


# ---------------------------------------------------------------- explain, schema, fmt


def _load_or_report(path: str):
    from leadpolicy.language.loader import load_policy

    loaded = load_policy(path)
    if loaded.has_errors:
        _print_diagnostics(loaded.diagnostics, {loaded.file: loaded.source})
        return None
    return loaded


def _read_lead(text: str) -> Any:
    """A lead from JSON text or a JSON/YAML file; every problem is a ValueError naming where."""
    from leadpolicy.language.yamldoc import YamlError, read_yaml

    stripped = text.strip()
    try:
        if stripped.startswith("{"):
            return json.loads(stripped)
        path = Path(text)
        if not path.exists():
            raise ValueError(f"--lead: {text!r} is neither a JSON object nor a file")
        content = path.read_text("utf-8")
        return json.loads(content) if path.suffix == ".json" else read_yaml(content)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--lead: not valid JSON: {exc}") from None
    except YamlError as exc:
        raise ValueError(f"--lead: {text}:{exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"--lead: {text} is not UTF-8 text") from None


def parse_now(text: str | None, timezone: str) -> dt.datetime:
    from zoneinfo import ZoneInfo

    from leadpolicy.semantics.leads import parse_timestamp

    if text is None:
        return dt.datetime.now(dt.timezone.utc).astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    return parse_timestamp(text, ZoneInfo(timezone))


def cmd_explain(args: argparse.Namespace) -> int:
    from leadpolicy.semantics.interpreter import evaluate
    from leadpolicy.semantics.leads import LeadReader
    from leadpolicy.semantics.lowering import lower

    loaded = _load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    try:
        raw = _read_lead(args.lead)
        now = parse_now(args.now, loaded.policy.timezone)
    except (ValueError, OSError) as exc:
        print(f"leadpolicy explain: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    policy_ir = lower(loaded.policy)
    values, errors = LeadReader(policy_ir).read(raw)
    if errors:
        for e in errors:
            print(f"lead: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
    decision = evaluate(policy_ir, values, now)
    if args.format == "json":
        print(json.dumps(decision.as_dict(), indent=2))
        return EXIT_OK
    print(f"{loaded.policy.id} {loaded.policy.version} at {now.isoformat()}" + ("" if args.now else " (now)"))
    summary = ", ".join(f"{k} {v.value}" for k, v in decision.scores.items())
    grades = ", ".join(f"{k} {v}" for k, v in decision.grades.items())
    print(f"scores: {summary}" + (f"; grades: {grades}" if grades else ""))
    print(f"stage: {decision.stage} (owner {decision.owner}); route: {decision.route or '-'}")
    print("why:")
    for line in decision.explanation:
        print(f"  {line}")
    return EXIT_OK


def cmd_sla(args: argparse.Namespace) -> int:
    from leadpolicy.sla.engine import SlaEngine
    from leadpolicy.sla.events import EventFileError, EventReader, write_rejects
    from leadpolicy.sla.report import build_report, render_csv, render_json, render_table

    loaded = _load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    from leadpolicy.semantics.lowering import lower

    policy = lower(loaded.policy)
    now = parse_now(args.now, policy.timezone)
    date_from, date_to = args.date_from, args.date_to
    target = Path(args.rejects or Path(args.events).stem + ".rejects.csv")
    outputs = {"the event log": args.events, "the rejects file": target, "the details file": args.details}
    from leadpolicy.warehouse.staging import same_file_clash

    clash = same_file_clash({k: Path(v) for k, v in outputs.items() if v is not None})
    if clash:
        print(f"leadpolicy sla: {clash}", file=sys.stderr)
        return EXIT_USAGE
    try:
        from zoneinfo import ZoneInfo

        reader = EventReader(args.events, SlaEngine(policy).event_names(), ZoneInfo(policy.timezone), now,
                             args.events_format)
        if args.details:
            with atomic_output(Path(args.details)) as details:
                report = build_report(policy, reader, now, date_from, date_to, details)
        else:
            report = build_report(policy, reader, now, date_from, date_to)
    except (EventFileError, OSError) as exc:
        print(f"leadpolicy sla: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    if reader.rejects:
        write_rejects(target, reader.rejects)
        print(f"{len(reader.rejects)} rejected row(s) written to {target}; the first:", file=sys.stderr)
        for r in sorted(reader.rejects, key=lambda r: r.row)[:5]:
            print(f"  {args.events}: row {r.row}: {r.field + ': ' if r.field else ''}{r.problem}", file=sys.stderr)
    if args.format == "json":
        print(render_json(report))
    elif args.format == "csv":
        sys.stdout.write(render_csv(report))
    else:
        if args.now is None:
            print(f"(now = {now.isoformat()})")
        render_table(report, sys.stdout)
    failing = report.failing()
    if failing and args.format == "table":
        print(f"below target: {', '.join(failing)}")
    return EXIT_OK if args.report_only or not failing else EXIT_PROBLEMS


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[IO[str]]:
    """A text file written beside `path` and renamed into place only when the block succeeds."""
    if not path.parent.is_dir():
        raise OSError(f"{path}: the folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def cmd_score(args: argparse.Namespace) -> int:
    from leadpolicy.api import Policy
    from leadpolicy.semantics.lowering import lower
    from leadpolicy.warehouse.batch import BatchError, run

    loaded = _load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    policy = Policy(loaded.policy, lower(loaded.policy))
    now = parse_now(args.now, loaded.policy.timezone)
    progress = sys.stderr.isatty() and not os.environ.get("CI")
    from leadpolicy.warehouse.sqlgen import UnsupportedError, compile_sql

    if args.engine == "duckdb":
        try:
            compile_sql(policy.ir, "duckdb", "leads", now)
        except UnsupportedError as exc:
            print(f"leadpolicy score: this policy has no SQL form ({exc}); score it with --engine python",
                  file=sys.stderr)
            return EXIT_PROBLEMS
    warn = lambda text: print(f"leadpolicy score: warning: {text}", file=sys.stderr)  # noqa: E731
    try:
        result, out, rejects = run(policy, args.leads, args.output, now, args.engine, args.rejects, progress,
                                   args.leads_format, args.strict_columns, warn)
    except BatchError as exc:
        print(f"leadpolicy score: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.now is None:
        print(f"(now = {now.isoformat()})")
    print(f"wrote {out}")
    if rejects is not None:
        print(f"{result.rejected} rejected row(s) written to {rejects}; the first:")
        for r in sorted(result.rejects, key=lambda r: (r["row"], r["field"]))[:5]:
            print(f"  {args.leads}: row {r['row']}: {r['field'] + ': ' if r['field'] else ''}{r['problem']}")
    print(result.summary())
    if args.max_rejects is not None and result.rejected > args.max_rejects:
        print(f"leadpolicy score: {result.rejected} rejected rows, more than --max-rejects {args.max_rejects}",
              file=sys.stderr)
        return EXIT_PROBLEMS
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from leadpolicy.api import Policy
    from leadpolicy.semantics.lowering import lower

    loaded = _load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    policy = Policy(loaded.policy, lower(loaded.policy))
    if args.target == "sql":
        from leadpolicy.warehouse.sqlgen import UnsupportedError, compile_sql

        try:
            text = compile_sql(policy.ir, args.dialect, args.table, parse_now(args.now, loaded.policy.timezone))
        except (UnsupportedError, ValueError) as exc:
            print(f"leadpolicy compile: {exc}", file=sys.stderr)
            return EXIT_PROBLEMS
    else:
        text = policy.artifact_json() if args.target == "artifact" else policy.python_source
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(out)  # atomic: never a half-written artifact
        print(f"wrote {out} ({policy.id} {policy.version}, {policy.fingerprint[:19]}...)")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from leadpolicy.semantics.leads import lead_schema

    loaded = _load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    print(json.dumps(lead_schema(loaded.policy), indent=2))
    return EXIT_OK


def _fmt_stream(args: argparse.Namespace) -> int:
    """`leadpolicy fmt -`: a policy on standard input, formatted to standard output (for editors).
    With --check nothing is written and the exit code says whether it was formatted."""
    import difflib

    from leadpolicy.language.diagnostics import render_all
    from leadpolicy.language.formatter import format_policy
    from leadpolicy.language.parser import parse_text

    text = sys.stdin.read()
    parsed = parse_text(text, "<stdin>")
    if parsed.policy is None:
        print(render_all(parsed.diagnostics, {"<stdin>": text}), file=sys.stderr)
        return EXIT_PROBLEMS
    formatted = format_policy(parsed.policy, parsed.comments)
    if args.check:
        return EXIT_OK if formatted == text else EXIT_PROBLEMS
    if args.diff:
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), formatted.splitlines(True),
                                                   "<stdin> (now)", "<stdin> (formatted)"))
        return EXIT_OK if formatted == text else EXIT_PROBLEMS
    sys.stdout.write(formatted)
    return EXIT_OK


def cmd_fmt(args: argparse.Namespace) -> int:
    import difflib

    from leadpolicy.language.formatter import format_policy
    from leadpolicy.language.loader import discover
    from leadpolicy.language.parser import parse_file

    if args.paths == ["-"]:
        return _fmt_stream(args)
    policies, _, problems = discover(args.paths)
    _print_diagnostics(problems, {})
    status = EXIT_PROBLEMS if problems else EXIT_OK
    for path in policies:
        parsed = parse_file(path)
        if parsed.policy is None:
            _print_diagnostics(parsed.diagnostics, {parsed.file: parsed.source})
            status = EXIT_PROBLEMS
            continue
        formatted = format_policy(parsed.policy, parsed.comments)
        if formatted == parsed.source:
            continue
        if args.check or args.diff:
            status = EXIT_PROBLEMS
            if args.diff:
                sys.stdout.writelines(difflib.unified_diff(parsed.source.splitlines(True), formatted.splitlines(True),
                                                           f"{path} (now)", f"{path} (formatted)"))
            else:
                print(f"{path}: not formatted (run: leadpolicy fmt {path})")
        else:
            Path(path).write_text(formatted, "utf-8")
            print(f"formatted {path}")
    return status
