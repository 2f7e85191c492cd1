"""Shared helpers for the test suite."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from .components import require_chromium, require_java_home

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
POLICIES = ROOT / "policies"
# The shared reference policy and samples byte for byte as agreed (policies/ holds it formatted, with more cases).
REFERENCE_COPY = FIXTURES / "reference"
UPDATE_GOLDEN = os.environ.get("LEADPOLICY_UPDATE_GOLDEN") == "1"

# Fixture samples files are data for tests, not test modules of their own.
collect_ignore = ["fixtures"]
pytest_plugins = ["pytester"]


def golden(path: Path, actual: str) -> None:
    """Compare with a golden file; LEADPOLICY_UPDATE_GOLDEN=1 rewrites it."""
    if UPDATE_GOLDEN or not path.exists():
        path.write_text(actual, "utf-8")
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path.name} was missing and has been written; review it and run again")
    assert actual == path.read_text("utf-8"), f"output differs from {path.name} (LEADPOLICY_UPDATE_GOLDEN=1 rewrites)"


def now(text: str = "2026-11-20T12:00:00-05:00") -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts Spark (asks for the `spark` fixture or runs on the spark engine) is slow:
    the JVM alone takes tens of seconds, so `-m "not slow"` leaves every one of them out."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_spark_engine = callspec is not None and callspec.params.get("engine") == "spark"
        if "spark" in getattr(item, "fixturenames", ()) or on_spark_engine:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark():
    java_home = require_java_home()
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JAVA_HOME", str(java_home))  # pyspark starts its JVM from JAVA_HOME
        session = (SparkSession.builder.master("local[1]").appName("leadpolicy-tests")
                   .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
                   .config("spark.driver.host", "127.0.0.1").config("spark.sql.session.timeZone", "UTC")
                   # The tests' tables hold a few rows and their SLA queries are tens of KB of SQL: adaptive
                   # re-planning between stages costs more than it saves there, and changes no operator.
                   # Whole-stage code generation stays on: it is how Spark runs the SQL for users.
                   .config("spark.sql.adaptive.enabled", "false")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


@pytest.fixture(autouse=True)
def _without_this_repositorys_settings(monkeypatch):
    """Tests call the CLI from this checkout; its own [tool.leadpolicy] settings (a 90% floor for
    policies/) are for the README's command, not for the fixtures tests check."""
    from leadpolicy.cli import settings

    found = settings.find_pyproject

    def elsewhere(start):
        path = found(start)
        return None if path is not None and path.resolve() == (ROOT / "pyproject.toml").resolve() else path
    monkeypatch.setattr(settings, "find_pyproject", elsewhere)


@pytest.fixture(scope="session")
def postgres():
    """A connection (autocommit) to a throwaway PostgreSQL server."""
    import psycopg

    from .pgserver import throwaway_server

    with throwaway_server() as conninfo:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            yield connection


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the system's, tests/components.py), one per test module; skipped without it, failed
    without it under CI."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(executable), args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()
