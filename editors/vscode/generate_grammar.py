"""Writes syntaxes/leadpolicy.tmLanguage.json, the extension's TextMate grammar, from the policy language's
Lark grammar (grammar/leadpolicy.lark), so a keyword added to the language reaches highlighting.

    python editors/vscode/generate_grammar.py           # write the grammar
    python editors/vscode/generate_grammar.py --check   # exit 1 when the committed grammar is out of date

Lark's own loader reads the grammar: its keywords are its anonymous word terminals ("score", "yes/no"), and
its numbers, dates, times, versions, comparisons and comments come from the grammar's own terminals. The
parser's lexer is contextual (`days` is a keyword only where the grammar expects it), which a TextMate
grammar cannot be; so a word the grammar only ever writes next to other keywords (`email` in
`match accounts by email domain`, `last` in `in last`) is highlighted only in that phrase, and a field
called `email` or `last` stays a name.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lark import Lark
from lark.grammar import Rule, Terminal
from lark.lexer import PatternStr

HERE = Path(__file__).resolve().parent
LARK_GRAMMAR = HERE.parent.parent / "grammar" / "leadpolicy.lark"
OUTPUT = HERE / "syntaxes" / "leadpolicy.tmLanguage.json"
SCOPE_NAME = "source.leadpolicy"

KEYWORD_TEXT = re.compile(r"[a-z][a-z/]*")
# Where a word stands decides its colour: words of conditions are operators, of field types types, the
# grammar's literals (yes, no) constants; the rest (score, stages, owner...) declare things.
CONDITION_RULES = {"condition", "or_cond", "and_cond", "not_cond", "test", "operand"}
CATEGORY_RULES = (("operator", CONDITION_RULES), ("constant", {"literal", "default_value"}),
                  ("type", {"field_type"}))
SCOPES = {"operator": "keyword.operator.word.leadpolicy", "constant": "constant.language.boolean.leadpolicy",
          "type": "keyword.other.type.leadpolicy", "declaration": "keyword.other.leadpolicy"}
# A word boundary for policy words: a dash or slash joins words (a team `inbound-sdr`, the type `yes/no`).
BEFORE_WORD, AFTER_WORD = r"(?<![\w/-])", r"(?![\w/-])"
# A number stands apart from a name (`tier-1`) and from a version's or a time's other parts.
BEFORE_NUMBER, AFTER_NUMBER = r"(?<![\w.:-])", r"(?![\w.:])"


def load(path: Path) -> Lark:
    return Lark(path.read_text("utf-8"), parser="lalr")


def keyword_terminals(lark: Lark) -> dict[str, str]:
    """The grammar's keywords: terminal name -> word."""
    return {t.name: t.pattern.value for t in lark.terminals
            if isinstance(t.pattern, PatternStr) and KEYWORD_TEXT.fullmatch(t.pattern.value)}


def rule_name(rule: Rule) -> str:
    """The rule a compiled rule came from (`__or_cond_plus_18` -> `or_cond`, `_item` -> `item`)."""
    name = str(rule.origin.name).lstrip("_")
    return re.sub(r"_(?:star|plus)_\d+$", "", name)


def keyword_runs(lark: Lark) -> list[tuple[str, tuple[str, ...]]]:
    """Each run of keywords the grammar writes one after another, with the rule it stands in."""
    keywords = keyword_terminals(lark)
    runs: list[tuple[str, tuple[str, ...]]] = []
    for rule in lark.rules:
        run: list[str] = []
        for symbol in [*rule.expansion, None]:
            if isinstance(symbol, Terminal) and symbol.name in keywords:
                run.append(keywords[symbol.name])
                continue
            if run:
                runs.append((rule_name(rule), tuple(run)))
            run = []
    return runs


def category_of(rules: set[str]) -> str:
    """The first of CATEGORY_RULES that any of `rules` belongs to, else a declaration."""
    return next((category for category, names in CATEGORY_RULES if rules & names), "declaration")


def categories(runs: Iterable[tuple[str, tuple[str, ...]]]) -> dict[str, str]:
    """Each keyword's category, from every rule that uses it."""
    used_in: dict[str, set[str]] = defaultdict(set)
    for rule, run in runs:
        for word in run:
            used_in[word].add(rule)
    return {word: category_of(rules) for word, rules in used_in.items()}


def standalone_words(runs: Iterable[tuple[str, tuple[str, ...]]]) -> set[str]:
    """The keywords the grammar writes somewhere on their own (not only inside a longer phrase)."""
    return {run[0] for _, run in runs if len(run) == 1}


def word_list(words: Iterable[str]) -> str:
    """An alternation of words, the longer first, so `yes/no` is tried before `yes`."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


def phrase_patterns(runs: Sequence[tuple[str, tuple[str, ...]]]) -> list[dict[str, Any]]:
    """A pattern for each phrase that holds a word highlighted only in phrases, its words coloured as the
    rules it stands in; the longest first."""
    alone = standalone_words(runs)
    phrase_rules: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for rule, run in runs:
        if len(run) > 1 and not set(run) <= alone:
            phrase_rules[run].add(rule)
    patterns = []
    for phrase in sorted(phrase_rules, key=lambda run: (-len(run), run)):
        body = r"\s+".join(f"({re.escape(word)})" for word in phrase)
        scope = SCOPES[category_of(phrase_rules[phrase])]
        captures = {str(i): {"name": scope} for i in range(1, len(phrase) + 1)}
        patterns.append({"match": BEFORE_WORD + body + AFTER_WORD, "captures": captures})
    return patterns


def word_patterns(runs: Sequence[tuple[str, tuple[str, ...]]], category: dict[str, str]) -> list[dict[str, Any]]:
    """One pattern per category for the keywords that stand on their own; types before constants, so
    `yes/no` is a type and not the constant `yes`."""
    alone = standalone_words(runs)
    patterns = []
    for name in ("type", "constant", "operator", "declaration"):
        words = sorted(w for w in alone if category[w] == name)
        if words:
            patterns.append({"name": SCOPES[name], "match": f"{BEFORE_WORD}(?:{word_list(words)}){AFTER_WORD}"})
    return patterns


def terminal_regex(lark: Lark, name: str) -> str:
    return str(lark.get_terminal(name).pattern.value)


def literal_patterns(lark: Lark) -> list[dict[str, Any]]:
    """Comments, texts, the version after `version`, dates, times, numbers and comparisons, each from the
    grammar's own terminal."""
    escape = {"name": "constant.character.escape.leadpolicy", "match": r"\\."}
    return [
        {"name": "comment.line.number-sign.leadpolicy", "match": terminal_regex(lark, "COMMENT")},
        {"name": "string.quoted.double.leadpolicy", "begin": '"', "end": '"|$', "patterns": [escape],
         "beginCaptures": {"0": {"name": "punctuation.definition.string.begin.leadpolicy"}},
         "endCaptures": {"0": {"name": "punctuation.definition.string.end.leadpolicy"}}},
        {"match": f"{BEFORE_WORD}(version)\\s+({terminal_regex(lark, 'VERSION')})",
         "captures": {"1": {"name": SCOPES["declaration"]}, "2": {"name": "constant.numeric.version.leadpolicy"}}},
        {"name": "constant.numeric.date.leadpolicy",
         "match": f"{BEFORE_NUMBER}(?:{terminal_regex(lark, 'DATE')}){AFTER_NUMBER}"},
        {"name": "constant.numeric.time.leadpolicy",
         "match": f"(?<![\\w.:])(?:{terminal_regex(lark, 'TIME')}){AFTER_NUMBER}"},
        {"name": "constant.numeric.leadpolicy",
         "match": f"{BEFORE_NUMBER}(?:{terminal_regex(lark, 'NUMBER')}){AFTER_NUMBER}"},
        {"name": "keyword.operator.comparison.leadpolicy", "match": terminal_regex(lark, "COMPARE")},
    ]


PUNCTUATION = [
    {"name": "punctuation.section.braces.leadpolicy", "match": r"[{}]"},
    {"name": "punctuation.section.parens.leadpolicy", "match": r"[()]"},
    {"name": "punctuation.separator.leadpolicy", "match": r"[,:]"},
    {"name": "keyword.operator.percent.leadpolicy", "match": "%"},
]


def build_grammar(path: Path = LARK_GRAMMAR) -> dict[str, Any]:
    """The TextMate grammar for the policy language in `path`."""
    lark = load(path)
    runs = keyword_runs(lark)
    category = categories(runs)
    patterns = [*literal_patterns(lark), *phrase_patterns(runs), *word_patterns(runs, category),
                *PUNCTUATION]
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "comment": "Generated by generate_grammar.py from grammar/leadpolicy.lark: do not edit by hand.",
        "name": "leadpolicy",
        "scopeName": SCOPE_NAME,
        "fileTypes": ["policy"],
        "patterns": patterns,
    }


def render(grammar: dict[str, Any]) -> str:
    return json.dumps(grammar, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed grammar is out of date")
    parser.add_argument("--grammar", type=Path, default=LARK_GRAMMAR, help="the Lark grammar to read")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the TextMate grammar to write")
    args = parser.parse_args(argv)
    text = render(build_grammar(args.grammar))
    if args.check:
        current = args.output.read_text("utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is out of date: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
