"""Gates over the source itself (issue 26 §4): no function above radon's grade C, so no function decides
more than about twenty paths at once."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_rank, cc_visit

SRC = Path(__file__).resolve().parents[1] / "src" / "leadpolicy"
HIGHEST_GRADE = "C"  # radon: A 1-5, B 6-10, C 11-20, D 21-30, E 31-40, F 41+


def blocks_above_grade_c() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for block in cc_visit(path.read_text(encoding="utf-8")):
            if cc_rank(block.complexity) > HIGHEST_GRADE:
                found.append(f"{path.relative_to(SRC)}:{block.lineno} {block.fullname} {block.complexity}")
    return found


def test_no_function_is_above_grade_c():
    assert blocks_above_grade_c() == []


def test_the_gate_finds_a_function_above_grade_c():
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(25))
    (block,) = cc_visit(f"def many(x):\n{branches}\n    return -1\n")
    assert cc_rank(block.complexity) > HIGHEST_GRADE
