"""`leadpolicy init` against a hostile folder and hostile answers: a folder of DIR that is a symbolic link to
elsewhere is never written through (refused before anything is written, and the writer itself opens each folder
without following a link, should one appear after the check); a refused answer is worded as English."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from leadpolicy.cli.commands.init import LinkInTheWay, write_inside


def init(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leadpolicy", "init", *argv], cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def files_in(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text("utf-8") for p in folder.rglob("*") if p.is_file()}


def entries_in(folder: Path) -> set[str]:
    """Every name under `folder`, links not followed."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("linked", ["policies", ".github", ".github/workflows"])
@pytest.mark.parametrize("force", [False, True], ids=["", "--force"])
def test_a_folder_of_dir_linked_elsewhere_is_never_written_through(tmp_path: Path, linked: str, force: bool) -> None:
    """docs/cli.md: init never writes through a symbolic link (refused even with --force). A link in place of a
    file was refused; a link in place of a folder init writes into (`policies -> ../elsewhere`, as a checkout may
    hold) was followed: the policy, its samples or the workflow were created outside DIR (and with --force a
    file there of the same name replaced). Now: exit 2, the link named, nothing written anywhere."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    names = ["inbound.policy", "leadpolicy.yml"] if force else ["unrelated.txt"]  # --force: files it would replace
    for name in names:
        (elsewhere / name).write_text("not init's\n", "utf-8")
    before = files_in(elsewhere)
    repo = tmp_path / "repo"
    (repo / linked).parent.mkdir(parents=True, exist_ok=True)
    (repo / linked).symlink_to(elsewhere, target_is_directory=True)
    in_repo = entries_in(repo)
    done = init(tmp_path, "repo", *(["--force"] if force else []))
    after = files_in(elsewhere)
    assert after == before, f"init wrote outside DIR: {sorted(k for k in after if after[k] != before.get(k))}"
    assert done.returncode == 2, done.stderr
    assert f"repo/{linked} is a symbolic link: init never writes through one" in done.stderr
    assert "nothing written" in done.stderr
    assert entries_in(repo) == in_repo, "a refused init wrote in DIR"


def test_a_link_to_a_file_in_place_of_a_folder_is_named_as_a_link(tmp_path: Path) -> None:
    """A folder init writes into that is a link to a file is a link first (not merely 'not a folder')."""
    target = tmp_path / "target.txt"
    target.write_text("not init's\n", "utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "policies").symlink_to(target)
    done = init(tmp_path, "repo")
    assert done.returncode == 2, done.stderr
    assert "repo/policies is a symbolic link" in done.stderr
    assert target.read_text("utf-8") == "not init's\n"


def test_dir_itself_may_be_a_link(tmp_path: Path) -> None:
    """DIR is the user's choice: a link given as DIR is where they asked for the repository."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "repo").symlink_to(real, target_is_directory=True)
    done = init(tmp_path, "repo")
    assert done.returncode == 0, done.stderr
    assert (real / "policies" / "inbound.policy").is_file()


@pytest.mark.parametrize("name", ["policies/inbound.policy", ".github/workflows/leadpolicy.yml"])
def test_the_writer_never_follows_a_folder_link_that_appears_after_the_check(tmp_path: Path, name: str) -> None:
    """Between init's check and its write a folder may be swapped for a link: the writer opens each folder
    with O_NOFOLLOW, relative to the one before, and refuses the link."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "repo"
    root.mkdir()
    first = name.split("/")[0]
    (root / first).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(LinkInTheWay) as refused:
        write_inside(root, name, "text\n")
    assert refused.value.name == first
    assert list(elsewhere.iterdir()) == []


def test_the_writer_replaces_a_link_at_the_file_itself_not_its_target(tmp_path: Path) -> None:
    """A link at the file's own name (appeared after the check) is replaced, never written through."""
    target = tmp_path / "target.txt"
    target.write_text("not init's\n", "utf-8")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README.md").symlink_to(target)
    write_inside(root, "README.md", "ours\n")
    assert target.read_text("utf-8") == "not init's\n"
    assert not (root / "README.md").is_symlink() and (root / "README.md").read_text("utf-8") == "ours\n"


def test_the_writer_creates_folders_and_keeps_a_replaced_files_mode(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    assert write_inside(root, ".github/workflows/leadpolicy.yml", "one\n") is False
    script = root / ".github/workflows/leadpolicy.yml"
    script.chmod(0o640)
    assert write_inside(root, ".github/workflows/leadpolicy.yml", "two\r\n") is True
    assert script.read_bytes() == b"two\r\n"
    assert script.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in script.parent.iterdir()) == ["leadpolicy.yml"], "a temporary file was left"


@pytest.mark.parametrize("character", ["\u202e", "\u2028", "\u2029", "\x1b", "\t"])
def test_a_refused_answer_is_worded_as_english(tmp_path: Path, character: str) -> None:
    """`--marketing-owner "Dana \u202e"` was refused (exit 2, right) with "holds a invisible format character":
    now the character is named with "the", right before every kind (an invisible format character, a line
    separator, a control character)."""
    done = init(tmp_path, "repo", "--marketing-owner", f"Dana {character} <dana@example.com>")
    assert done.returncode == 2
    assert f"U+{ord(character):04X}" in done.stderr, done.stderr
    assert " a invisible" not in done.stderr and " a unassigned" not in done.stderr, done.stderr
    kind = {"Cf": "invisible format character", "Zl": "line separator", "Zp": "paragraph separator"}.get(
        unicodedata.category(character), "control character")
    assert f"holds the {kind} U+{ord(character):04X}" in done.stderr, done.stderr


def test_docs_say_a_linked_folder_is_refused() -> None:
    """docs/cli.md's init section quotes the refusal init prints for a linked folder."""
    docs = (Path(__file__).parents[1] / "docs" / "cli.md").read_text("utf-8")
    section = docs.split("## `leadpolicy init", 1)[1].split("\n## ", 1)[0]
    said = " ".join(section.split())
    assert "`policies is a symbolic link: init never writes through one`, exit 2, nothing written" in said
    assert "`.github/workflows` linked elsewhere" in said
