"""CI outputs checked against their standards: SARIF 2.1.0 (OASIS schema and GitHub's ingestion
rules) and JUnit XML (the schema Jenkins reads)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from urllib.parse import unquote

import pytest
from jsonschema import Draft4Validator

from leadpolicy.cli.main import main

from .conftest import FIXTURES, REFERENCE_COPY

SARIF_SCHEMA = json.loads((FIXTURES / "standards" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with a policy in a folder whose name needs percent-encoding."""
    folder = tmp_path / "lead policies"
    folder.mkdir()
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml"):
        shutil.copy(REFERENCE_COPY / name, folder / name)
    samples = folder / "inbound-b2b.samples.yaml"
    samples.write_text(samples.read_text().replace("route: emea-sdr}", "route: na-sdr}", 1))  # one failing case
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_sarif_follows_the_oasis_schema_and_githubs_rules(repo, capsys):
    assert main(["ci", "lead policies", "--skip-versions", "--min-coverage", "90", "--sarif", "out.sarif"]) == 1
    capsys.readouterr()
    log = json.loads((repo / "out.sarif").read_text())
    errors = sorted(Draft4Validator(SARIF_SCHEMA).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "leadpolicy" and driver["version"] and run["columnKind"] == "unicodeCodePoints"
    for rule in driver["rules"]:
        assert rule["fullDescription"]["text"] and rule["help"]["text"] and rule["help"]["markdown"], rule["id"]
        assert rule["helpUri"].startswith("https://") and rule["helpUri"].endswith("#" + rule["id"])
    codes = {r["ruleId"] for r in run["results"]}
    # never-true: the v1 reference's grade "A" needs fit >= 75, and its rules add up to 65 at most (proved)
    assert codes == {"not-formatted", "not-approved", "low-coverage", "sample-failed", "never-true"}
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        [location] = result["locations"]
        artifact, region = location["physicalLocation"]["artifactLocation"], location["physicalLocation"]["region"]
        assert artifact["uriBaseId"] == "%SRCROOT%" and " " not in artifact["uri"]
        assert unquote(artifact["uri"]).startswith("lead policies/inbound-b2b.")
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    formatted = next(r for r in run["results"] if r["ruleId"] == "not-formatted")
    assert formatted["locations"][0]["physicalLocation"]["region"]["startLine"] == 24  # the first line fmt changes


JUNIT_XSD = FIXTURES / "standards" / "jenkins-junit-10.xsd"


def test_junit_is_valid_for_jenkins_and_counts_every_testcase(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    import xmlschema

    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.samples.yaml").write_text("policy: nowhere.policy\nleads: []\n")
    report = tmp_path / "report.xml"
    main(["test", str(FIXTURES / "samples" / "wrong.samples.yaml"), str(broken), "--junit", str(report)])
    capsys.readouterr()
    schema.validate(str(report))
    root = ET.parse(report).getroot()
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors")) == sum(c.find("error") is not None for c in cases)
    load = next(s for s in root.iter("testsuite") if s.get("name").endswith("x.samples.yaml"))
    assert (load.get("tests"), load.get("errors")) == ("1", "1")
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in root.iter("testsuite"))
    failure = root.find(".//testcase/failure")
    assert re.fullmatch(r".*wrong\.samples\.yaml:\d+", failure.text.splitlines()[0])
