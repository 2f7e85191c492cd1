"""The wheel ships everything the package reads: a virtualenv holding only the wheel runs `leadpolicy check`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(out)], check=True,
                   capture_output=True)
    [built] = out.glob("leadpolicy-*.whl")
    return built


def test_the_wheel_carries_the_grammar_templates_schemas_and_entry_points(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    grammar = zipfile.ZipFile(wheel).read("leadpolicy/grammar/leadpolicy.lark").decode("utf-8")
    assert grammar == (ROOT / "grammar" / "leadpolicy.lark").read_text("utf-8")  # the top-level source of truth
    assert {"leadpolicy/publish/templates/policy.md.j2", "leadpolicy/schemas/artifact.schema.json",
            "leadpolicy/schemas/samples.schema.json", "leadpolicy/schemas/approvals.schema.json"} <= set(names)
    entry_points = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "leadpolicy = leadpolicy.cli.main:main" in entry_points
    assert "leadpolicy = leadpolicy.testing.pytest_plugin" in entry_points


def test_a_virtualenv_with_only_the_wheel_checks_the_policies(wheel, tmp_path):
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    with zipfile.ZipFile(wheel) as archive:  # what an installer does with a pure-Python wheel
        archive.extractall(target)
    # The dependencies come from this interpreter's site-packages, added as a plain path: no .pth file
    # there runs, so the editable install of this checkout stays out of sight.
    (target / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "project"
    shutil.copytree(ROOT / "policies", work / "policies")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    found = subprocess.run([str(python), "-c", "import leadpolicy; print(leadpolicy.__file__)"], cwd=work, env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(found).is_relative_to(target), found
    result = subprocess.run([str(python), "-m", "leadpolicy", "check", "policies"], cwd=work, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 policies, 0 error(s)" in result.stdout
