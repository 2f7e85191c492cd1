"""The published page's picture of each team: members as bars of their share of the leads, caps, hours, fallback."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from leadpolicy.publish.english import calendar
from leadpolicy.publish.pictures import team_picture
from leadpolicy.publish.site import render_site
from leadpolicy.semantics.loading import load_policy, load_policy_text
from leadpolicy.semantics.lowering import lower

from .conftest import ROOT

SVG = "{http://www.w3.org/2000/svg}"
REFERENCE = ROOT / "examples" / "inbound-teams.policy"


def _pictures(policy) -> dict[str, ET.Element]:
    """Each team's picture, parsed as XML (a picture that is not well-formed fails here), by team name."""
    calendars = {c.name: calendar(c) for c in policy.calendars}
    return {t.name: ET.fromstring(team_picture(t, calendars)) for t in lower(policy).teams}


def _members(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG}g") if g.get("class") == "member"]


def _text(element: ET.Element) -> str:
    return " ".join("".join(t.itertext()) for t in element.iter(f"{SVG}text"))


def _bar_width(member: ET.Element) -> float:
    bar = next(r for r in member.iter(f"{SVG}rect") if r.get("class") == "share")
    return float(bar.get("width", "nan"))


def test_by_weight_each_member_is_a_bar_of_its_weights_share_and_weight_0_is_paused():
    pictures = _pictures(load_policy(REFERENCE).policy)
    sdr = _members(pictures["inbound-sdr"])
    assert [m.get("data-person") for m in sdr] == ["Ana Ruiz <ana@example.com>", "Ben Okafor <ben@example.com>",
                                                     "Chloe Park <chloe@example.com>", "Dev Iyer <dev@example.com>"]
    assert [m.get("data-share") for m in sdr] == ["25", "50", "25", "0"]  # weights 1, 2, 1, 0
    ana, ben, chloe, dev = sdr
    assert _bar_width(ben) == 2 * _bar_width(ana) == 2 * _bar_width(chloe) > 0
    assert _bar_width(dev) == 0 and "paused" in _text(dev) and "25%" in _text(ana) and "50%" in _text(ben)
    assert "cap 2 per day" in _text(chloe) and "no cap" in _text(ana)
    assert "America/New_York" in _text(ana) and "calendar ny" in _text(ana)
    assert "America/Los_Angeles" in _text(dev) and "calendar sf" in _text(dev)  # the member's own calendar
    assert "enterprise-ae" in _text(pictures["inbound-sdr"].find(f"{SVG}g[@class='nobody']"))


def test_round_robin_gives_equal_shares_and_a_team_that_holds_says_so():
    pictures = _pictures(load_policy(REFERENCE).policy)
    ae = _members(pictures["enterprise-ae"])
    assert [m.get("data-share") for m in ae] == ["50", "50"]
    assert _bar_width(ae[0]) == _bar_width(ae[1]) > 0
    assert "cap 5 per week" in _text(ae[1]) and "calendar sf" in _text(ae[1])
    nobody = _text(pictures["enterprise-ae"].find(f"{SVG}g[@class='nobody']"))
    assert "held" in nobody and "enterprise-ae" not in nobody


def test_least_loaded_is_equal_among_the_members_not_paused():
    text = REFERENCE.read_text().replace("assign by weight", "assign least loaded today")
    loaded = load_policy_text(text)
    assert not loaded.has_errors, loaded.diagnostics
    sdr = _members(_pictures(loaded.policy)["inbound-sdr"])
    shares = [m.get("data-share") for m in sdr]
    assert shares[:3] == [shares[0]] * 3 and float(shares[0]) == round(100 / 3, 1) and shares[3] == "0"
    assert "paused" in _text(sdr[3])


HOSTILE = "</svg><script>alert(1)</script> & \"q\" 'a'"
# A member's name holds no angle bracket (it is "Name <email>"); quotes and ampersands it may hold.
MEMBER = "*Ana* \"q\" & 'a' `Co` [x](http://e.test) onload=alert(1) <a&b'c@example.com>"


def _hostile_policy() -> str:
    def quoted(text: str) -> str:
        return '"' + text.replace('"', '\\"') + '"'
    return REFERENCE.read_text().replace('"Inbound SDRs"', quoted(HOSTILE)).replace(
        '"Ana Ruiz <ana@example.com>"', quoted(MEMBER))


def test_every_policy_text_in_the_picture_is_escaped_and_reads_as_written():
    loaded = load_policy_text(_hostile_policy())
    assert not loaded.has_errors, loaded.diagnostics
    calendars = {c.name: calendar(c) for c in loaded.policy.calendars}
    team = lower(loaded.policy).teams[0]
    raw = team_picture(team, calendars)
    assert "<script>" not in raw and "</svg><" not in raw
    svg = ET.fromstring(raw)  # well-formed: no text became markup
    assert [e.tag for e in svg.iter()].count(f"{SVG}script") == 0
    ana = _members(svg)[0]
    assert set(ana.attrib) == {"class", "data-person", "data-share", "data-weight"}
    assert ana.get("data-person") == MEMBER and "".join(ana.find(f"{SVG}title").itertext()).startswith(MEMBER)
    shown = next(t for t in ana.iter(f"{SVG}text") if t.get("font-weight") == "bold").text or ""
    assert shown.endswith("…") and MEMBER.startswith(shown[:-1]) and len(shown) > 20  # in full on hover
    assert HOSTILE in "".join(svg.find(f"{SVG}title").itertext())


def _page_pictures(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg .*?</svg>", page, re.S) if "leadpolicy-team" in s]


def test_the_page_draws_one_picture_per_team_in_its_teams_section(tmp_path: Path):
    source = tmp_path / "inbound-teams.policy"
    source.write_text(_hostile_policy())
    pages, diags = render_site([str(source)], tmp_path / "out")
    assert pages and not [d for d in diags if d.is_error], diags
    page = pages[0].read_text("utf-8")
    teams = page.split("## Teams", 1)[1].split("\n## ", 1)[0]
    pictures = _page_pictures(teams)
    assert [p.get("data-team") for p in pictures] == ["inbound-sdr", "enterprise-ae"]
    assert len(_page_pictures(page)) == 2
    assert _members(pictures[0])[0].get("data-person") == MEMBER
    assert "<script>" not in teams


def test_the_built_page_shows_each_picture_in_a_figure_before_the_members_table(tmp_path: Path):
    from html.parser import HTMLParser

    source = tmp_path / "inbound-teams.policy"
    source.write_text(_hostile_policy())
    out = tmp_path / "out"
    render_site([str(source)], out)
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(out / "mkdocs.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    class Order(HTMLParser):
        """The page's team pictures and tables, in order, each picture with the element it sits in."""

        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.seen: list[tuple[str, str]] = []
            self.titles: list[str] = []
            self.classes: list[str] = []

        def handle_starttag(self, tag, attrs):
            css = dict(attrs).get("class") or ""
            self.classes.extend(css.split() if tag == "svg" else [])
            if tag == "svg" and "leadpolicy-team" in css.split() or tag == "table":
                self.seen.append((tag, self.open[-1] if self.open else ""))
            self.open.append(tag)

        def handle_data(self, data):
            if self.open and self.open[-1] == "title" and "leadpolicy-team" in self.classes:
                self.titles.append(data)

        def handle_endtag(self, tag):
            while self.open and self.open.pop() != tag:
                pass

    order = Order()
    order.feed((out / "site" / "policies" / "inbound-teams.html").read_text("utf-8"))
    pictures = [i for i, (tag, _) in enumerate(order.seen) if tag == "svg"]
    assert len(pictures) == 2 and all(order.seen[i][1] == "figure" for i in pictures)
    assert all(order.seen[i + 1][0] == "table" for i in pictures)  # each team's members table right after
    assert HOSTILE in order.titles[0] and any(t.startswith(MEMBER + ":") for t in order.titles)  # as written
