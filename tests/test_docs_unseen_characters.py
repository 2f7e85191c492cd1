"""The published page shows no invisible character raw: a bidi override or an escape code in a samples file's
event name (a policy without an events block reads any name) or in --site-name is replaced by U+FFFD, in the
Markdown and in the built HTML, so no text reads other than it is."""

from __future__ import annotations

import html.parser
import importlib.util
import shutil
from pathlib import Path

from leadpolicy.cli.main import main

from .conftest import POLICIES

UNSEEN = ["\u202e", "\x1b", "\u2066", "\u200f"]
SAMPLES = ("policy: p.policy\nnow: 2026-11-20T12:00:00-05:00\nleads:\n  - name: c\n"
           "    lead: {email: a@b.io, employees: 10, industry: software, source: webinar}\n"
           '    events: [{event: "demo\\u202erequest\\u2066x", at: 2026-11-19T10:00:00-05:00}]\n'
           "    expect: {stage: nurture}\n")


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self._in_title = tag == "title"
        self.parts.extend(value or "" for _, value in attrs)

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        self.parts.append(data)
        if self._in_title:
            self.title += data


def _assert_none_unseen(text: str, where: str) -> None:
    for ch in UNSEEN:
        assert ch not in text, f"{ch!r} raw in {where}"


def test_event_names_and_the_site_name_show_no_invisible_character(tmp_path: Path, capsys, monkeypatch):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "p.policy")
    (tmp_path / "p.samples.yaml").write_text(SAMPLES, "utf-8")
    monkeypatch.chdir(tmp_path)
    build = importlib.util.find_spec("mkdocs") is not None
    code = main(["docs", "p.policy", "-o", "out", "--site-name", "\x1b[31mred\u202e", *(["--build"] if build else [])])
    said = capsys.readouterr()
    assert code == 0, said
    page = (tmp_path / "out" / "docs" / "policies").glob("*.md")
    for path in [*page, tmp_path / "out" / "mkdocs.yml"]:
        _assert_none_unseen(path.read_text("utf-8"), path.name)
    assert "demo\ufffdrequest" in next((tmp_path / "out" / "docs" / "policies").glob("*.md")).read_text("utf-8")
    assert build, "the docs extra (MkDocs) is installed for the tests"
    for path in (tmp_path / "out" / "site").rglob("*.html"):
        parsed = _Text()
        parsed.feed(path.read_text("utf-8"))
        _assert_none_unseen(" ".join(parsed.parts), str(path))
        if path.name == "index.html":
            assert "red\ufffd" in parsed.title, parsed.title
