"""Text that ignores case means the same on every engine, for non-ASCII text too (docs/language.md)."""

from __future__ import annotations

import datetime as dt

import pytest

import leadpolicy
from leadpolicy.semantics.logic import fold

from .engines import ENGINES, decide, policy_from_text

# (lead text, condition on `t`, matches?) -- worked out from the documented folding, not from the code.
CASES = [
    ("İ", 't = "İ"', True),
    ("i", 't = "İ"', True),                       # İ folds to i (its simple lowercase mapping)
    ("aİb", 't contains "İ"', True),
    ("xİ", 't ends with "İ"', True),               # the needle is one character, so one is compared
    ("İSTANBUL", 't starts with "ist"', True),
    ("istanbul", 't in ("İSTANBUL", "ANKARA")', True),
    ("İ", 't != "i"', False),
    ("STRASSE", 't = "straße"', False),            # no expansion: ß is not ss
    ("STRAẞE", 't = "straße"', True),              # capital sharp s folds to ß
    ("ΟΔΟΣ", 't = "οδος"', True),                  # every sigma folds to σ, final ς too
    ("ΣΑΣ", 't ends with "ς"', True),
    ("σας", 't = "ΣΑΣ"', True),
    ("Müller", 't = "MÜLLER"', True),
    ("Émilie", 't starts with "é"', True),
    ("e\u0301milie", 't starts with "é"', False),  # no normalization: e + combining accent is not é
    ("🚀 Launch", 't contains "🚀"', True),
    ("go🚀", 't ends with "O🚀"', True),
    ("go🚀", 't ends with "x🚀"', False),
    ("Tokyo東京", 't ends with "東京"', True),
    ("ДМИТРИЙ", 't = "дмитрий"', True),
    ("\u212a", 't = "k"', True),                   # the Kelvin sign lowers to k
    ("ǅ", 't = "Ǆ"', True),                        # title-case digraph
    ("Ǆ", 't ends with "ǆ"', True),
    ("ﬀ", 't = "ff"', False),                      # no expansion of ligatures
]


def folding_policy() -> leadpolicy.Policy:
    fields = "\n".join(f"    t{i} text" for i in range(len(CASES)))
    scores = "\n".join(f'  score c{i} {{ +1 when {cond.replace("t ", f"t{i} ", 1)} }}'
                       for i, (_, cond, _) in enumerate(CASES))
    text = (f'policy "folding" version 1.0.0 {{\n  owner a "A"\n  owner b "B"\n  lead {{\n{fields}\n  }}\n{scores}\n'
            '  stages {\n    rest otherwise owner a\n  }\n}\n')
    return policy_from_text(text)


def test_fold_is_one_character_for_one():
    assert fold("İΣς") == "iσσ" and fold("ẞ") == "ß" and fold("ABC") == "abc"
    assert all(len(fold(chr(c))) == 1 for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)


def test_duckdbs_lower_is_the_simple_mapping_on_every_code_point():
    # The DuckDB SQL folds with LOWER and one REPLACE for the final sigma; that is only right if
    # DuckDB's LOWER is the simple lowercase mapping everywhere, which this checks.
    import duckdb

    text = "".join(chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF)
    [(lowered,)] = duckdb.connect().execute("SELECT replace(lower(?), 'ς', 'σ')", [text]).fetchall()
    assert lowered == fold(text)


@pytest.mark.parametrize("engine", ENGINES)
def test_non_ascii_text_matches_the_same_on_every_engine(engine, request, tmp_path):
    policy = folding_policy()
    lead = {f"t{i}": value for i, (value, _, _) in enumerate(CASES)}
    servers = {name: request.getfixturevalue(name) if engine == name else None for name in ("spark", "postgres")}
    [decision] = decide(engine, policy, [lead], dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc), folder=tmp_path,
                        **servers)
    got = {CASES[i][:2]: decision[f"c{i}"] == 1 for i in range(len(CASES))}
    assert got == {(value, cond): want for value, cond, want in CASES}


@pytest.mark.parametrize("engine", ["duckdb", "duckdb-batch", "postgres"])
def test_fields_named_like_sql_helpers_work_in_sql(engine, tmp_path, request):
    # The decay factors come from a VALUES table; its columns must not capture fields named n or f.
    from .engines import decide

    policy = policy_from_text(
        'policy "names" version 1.0.0 {\n  owner a "A"\n  owner b "B"\n  lead {\n    n number\n    f number\n'
        '    seen timestamp\n  }\n  score s {\n    +10 per n up to 50\n    +5 when f > 1\n'
        '    decay 50% every 1 days since seen\n  }\n  stages {\n    rest otherwise owner a\n  }\n}\n')
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
    leads = [{"n": 3, "f": 2, "seen": "2026-11-18T12:00:00Z"}, {"n": 1, "f": 0, "seen": "2026-11-20T11:00:00Z"}]
    server = request.getfixturevalue("postgres") if engine == "postgres" else None
    assert decide(engine, policy, leads, now, folder=tmp_path, postgres=server) == decide("python", policy, leads, now)
    assert [d["s"] for d in decide("python", policy, leads, now)] == [9, 10]  # 35 x 0.25 = 8.75; 10 x 1
