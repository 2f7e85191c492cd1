"""`leadpolicy compile --target python` writes a module another system loads with the standard library only
(docs/api.md, "A standalone Python module"): run here in a fresh virtualenv that has no leadpolicy, on every
lead case of each policy's samples, and compared with the interpreter's decisions."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.testing.harness import load_samples

from .conftest import POLICIES, ROOT
from .engines import decide

# The shared design examples sit beside the project (and beside CI's clone of it) when they are there.
EXAMPLES = ROOT.parent / "shared" / "design" / "examples"


def _loads(path: Path) -> bool:
    """Whether the language of this version reads the policy (a design example may be ahead of it)."""
    from leadpolicy.semantics.loading import load_policy_text

    return not load_policy_text(path.read_text("utf-8"), str(path)).has_errors


POLICY_FILES = sorted(POLICIES.glob("*.policy")) + sorted(p for p in EXAMPLES.glob("*.policy") if _loads(p))

SCRIPT = r'''
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("compiled_policy", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
job = json.load(sys.stdin)
now = module.read_instant(job["now"], module.TZ)
out = []
for case in job["cases"]:
    events = [(e["event"], module.read_instant(e["at"], module.TZ)) for e in case["events"]]
    decision = module.decide(case["lead"], now, events)
    out.append("invalid" if decision is module.INVALID else decision)
leaked = sorted(name for name in sys.modules if name.split(".")[0] in ("leadpolicy", "jsonschema", "tzdata"))
json.dump({"decisions": out, "leaked": leaked}, sys.stdout)
'''


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """The python of a new virtualenv without pip and without leadpolicy."""
    folder = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=False).create(folder)
    python = str(folder / "bin" / "python")
    found = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('leadpolicy') is None)"],
                           capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "True", "the virtualenv must not see leadpolicy"
    return python


def _plain(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _cases(policy_file: Path) -> tuple[str, list[dict]]:
    doc, _ = load_samples(policy_file.with_name(policy_file.name.replace(".policy", ".samples.yaml")))
    cases = [{"lead": {k: _plain(v) for k, v in c["lead"].items()},
              "events": [{"event": e["event"], "at": _plain(e["at"])} for e in c.get("events", [])]}
             for c in doc.data["leads"]]
    return _plain(doc.data["now"]), cases


@pytest.mark.parametrize("policy_file", POLICY_FILES, ids=[f"{p.parent.name}/{p.name}" for p in POLICY_FILES])
def test_the_compiled_module_decides_as_the_interpreter_without_leadpolicy(policy_file, bare_python, tmp_path):
    module = tmp_path / "compiled_policy.py"
    assert main(["compile", str(policy_file), "--target", "python", "-o", str(module)]) == 0
    now_text, cases = _cases(policy_file)
    job = json.dumps({"now": now_text, "cases": cases})
    ran = subprocess.run([bare_python, "-I", "-c", SCRIPT, str(module)], input=job, capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["leaked"] == []
    policy = leadpolicy.load(policy_file)
    now = policy.instant(now_text)
    want = decide("interpreter", policy, [c["lead"] for c in cases], now, events=[c["events"] for c in cases])
    names = {"scores": [s.name for s in policy.ir.scores], "grades": [g.name for g in policy.ir.grades]}
    got = [{"rejected": True} if d == "invalid" else
           {**d["scores"], **d["grades"], "stage": d["stage"], "owner": d["owner"], "route": d["route"]}
           for d in result["decisions"]]
    assert [("rejected" if "rejected" in w else w) for w in want] == \
           [("rejected" if "rejected" in g else g) for g in got]
    assert len(cases) >= 3 and any("rejected" not in w for w in want)
    assert all(set(g) >= {*names["scores"], *names["grades"]} for g in got if "rejected" not in g)


def test_every_policy_of_the_project_is_compiled():
    assert set(POLICIES.glob("*.policy")) <= set(POLICY_FILES) and len(POLICY_FILES) >= 3


def test_the_module_uses_the_standard_library_only():
    """Every import of the generated module names a module of the standard library."""
    import ast

    from leadpolicy.semantics.codegen import module_source

    text = module_source(leadpolicy.load(POLICIES / "inbound-activity.policy").ir)
    tree = ast.parse(text)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module}
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_policy_text_never_becomes_code_in_the_module(bare_python, tmp_path):
    """A policy full of quotes and Python fragments compiles to a module that runs none of them."""
    from leadpolicy.api import from_tree
    from leadpolicy.semantics.codegen import module_source
    from leadpolicy.semantics.linemap import places
    from leadpolicy.semantics.loading import load_policy_text

    from .test_compiled import HOSTILE

    loaded = load_policy_text(HOSTILE, "hostile.policy")
    assert not loaded.has_errors, loaded.diagnostics
    module = tmp_path / "hostile_policy.py"
    # the file name and the labels in the line map are policy text too: data, never code
    hostile_file = "x'); raise SystemExit('pwned') #.policy"
    module.write_text(module_source(from_tree(loaded.policy).ir, places(loaded.policy), hostile_file), "utf-8")
    note = "'); __import__('os').system('echo pwned'); ('"
    script = ("import datetime as dt, importlib.util, json, sys\n"
              "spec = importlib.util.spec_from_file_location('hostile', sys.argv[1])\n"
              "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
              "now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)\n"
              f"print(json.dumps(m.decide({{'email': 'a@b.io', 'note': {note!r}}}, now)))\n")
    ran = subprocess.run([bare_python, "-I", "-c", script, str(module)], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    decision = json.loads(ran.stdout)
    assert (decision["stage"], decision["route"]) == ("hot", "'); raise SystemExit('pwned') #")
    assert "pwned" not in ran.stdout.replace(decision["route"], "")
