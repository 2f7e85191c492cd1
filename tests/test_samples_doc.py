"""docs/samples.md describes the samples files that exist: its example runs and passes, and it names every
key the samples schema allows."""

from __future__ import annotations

import json
import re
import shutil

from leadpolicy.cli.main import main

from .conftest import POLICIES, ROOT

DOC = (ROOT / "docs" / "samples.md").read_text("utf-8")
SCHEMA = json.loads((ROOT / "src" / "leadpolicy" / "schemas" / "samples.schema.json").read_text("utf-8"))


def test_the_example_of_docs_samples_runs_and_every_case_passes(tmp_path, capsys):
    example = re.search(r"```yaml\n(policy: .*?)```", DOC, re.S)
    assert example is not None
    policy = re.match(r"policy: (\S+)", example.group(1)).group(1)
    shutil.copy(POLICIES / policy, tmp_path / policy)
    (tmp_path / "example.samples.yaml").write_text(example.group(1), "utf-8")
    code = main(["test", str(tmp_path / "example.samples.yaml"), "--format", "json"])
    cases = json.loads(capsys.readouterr().out)["cases"]
    assert code == 0 and cases and all(c["status"] == "passed" for c in cases), cases
    kinds = {c["kind"] for c in cases}
    assert kinds == {"lead", "timeline"}


def test_docs_samples_names_every_key_of_the_schema():
    defs = SCHEMA["$defs"]
    keys = set(SCHEMA["properties"]) | set(defs["leadCase"]["properties"]) | set(defs["timelineCase"]["properties"])
    keys |= set(defs["leadCase"]["properties"]["expect"]["properties"])
    keys |= set(defs["timelineCase"]["properties"]["expect"]["properties"])
    keys |= set(defs["event"]["properties"]) | set(defs["timelineCase"]["properties"]["events"]["items"]["properties"])
    missing = sorted(k for k in keys if not re.search(rf"\b{re.escape(k)}:", DOC) and f"`{k}`" not in DOC)
    assert not missing, f"docs/samples.md does not describe {missing}"
