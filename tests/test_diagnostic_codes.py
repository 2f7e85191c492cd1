"""Every diagnostic code the source can emit is registered in CODES and documented in docs/diagnostics.md.

The source is read with `ast`: every call that makes a diagnostic (`Diagnostic(...)`, `ctx.report(...)`,
`load_yaml(path, code, ...)`) must pass its code as a string literal (or either branch of a conditional of
literals), except inside the functions that forward their own `code` parameter, and the `.code` of a diagnostic
passed on (the language server's, from one checked when it was made). A call whose code cannot be
read is a failure too, so a new way of emitting cannot slip past the scan.
"""

from __future__ import annotations

import ast

from leadpolicy.language.diagnostics import CODES

from .conftest import ROOT

SOURCE = ROOT / "src" / "leadpolicy"
# Callables that make a diagnostic, and the position of their code argument.
EMITTERS = {"Diagnostic": 0, "report": 0, "load_yaml": 1}
# Functions that take a code and pass it on: their own `code` parameter is checked at their callers.
FORWARDERS = {"report", "load_yaml"}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _code_argument(call: ast.Call, position: int) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "code":
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def _literals(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


class _Scan(ast.NodeVisitor):
    def __init__(self, where: str):
        self.where = where
        self.functions: list[str] = []
        self.codes: dict[str, list[str]] = {}
        self.unreadable: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node.func)
        if name in EMITTERS:
            self._emitted(node, EMITTERS[name])
        self.generic_visit(node)

    def _emitted(self, call: ast.Call, position: int) -> None:
        place = f"{self.where}:{call.lineno}"
        argument = _code_argument(call, position)
        if argument is None:
            self.unreadable.append(f"{place}: no code argument")
            return
        forwarded = (isinstance(argument, ast.Name) and argument.id == "code"
                     and bool(self.functions) and self.functions[-1] in FORWARDERS
                     or isinstance(argument, ast.Attribute) and argument.attr == "code")
        literals = _literals(argument)
        if literals is None and not forwarded:
            self.unreadable.append(f"{place}: code is not a string literal: {ast.unparse(argument)}")
        for code in literals or ():
            self.codes.setdefault(code, []).append(place)


def scan(text: str, where: str) -> _Scan:
    found = _Scan(where)
    found.visit(ast.parse(text))
    return found


def emitted_codes() -> tuple[dict[str, list[str]], list[str]]:
    codes: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for path in sorted(SOURCE.rglob("*.py")):
        found = scan(path.read_text("utf-8"), path.relative_to(ROOT).as_posix())
        for code, places in found.codes.items():
            codes.setdefault(code, []).extend(places)
        unreadable += found.unreadable
    return codes, unreadable


def test_every_emitted_code_is_registered():
    codes, unreadable = emitted_codes()
    assert not unreadable, "diagnostic codes the scan cannot read:\n" + "\n".join(unreadable)
    unregistered = {code: places for code, places in codes.items() if code not in CODES}
    assert not unregistered, f"codes emitted but not in CODES (language/diagnostics.py): {unregistered}"


def test_every_emitted_code_is_documented():
    doc = (ROOT / "docs" / "diagnostics.md").read_text("utf-8")
    codes, _ = emitted_codes()
    undocumented = sorted(code for code in codes if f'<a id="{code}"></a>`{code}`' not in doc)
    assert not undocumented, f"codes missing from docs/diagnostics.md: {undocumented}"


def test_every_registered_code_is_emitted_somewhere():
    codes, _ = emitted_codes()
    assert sorted(set(CODES) - set(codes)) == []


def test_the_scan_finds_the_emitters_of_every_area():
    codes, _ = emitted_codes()
    areas = {place.split("/")[2] for places in codes.values() for place in places}
    assert {"language", "governance", "testing", "cli"} <= areas
    assert any("checks/events.py" in place for place in codes["unknown-event"])
    assert any("testing/harness.py" in place for place in codes["bad-samples"])
    assert any("governance/approvals.py" in place for place in codes["bad-approvals"])


def test_the_scan_catches_an_unregistered_literal_and_an_unreadable_code():
    planted = scan('def f(ctx, name):\n'
                   '    ctx.report("no-such-code", "m", None)\n'
                   '    Diagnostic(code="other-code" if name else "unknown-name", message="m", file="f")\n'
                   '    load_yaml("p.yaml", "yaml-code", "")\n'
                   '    Diagnostic(name, "m", "f")\n'
                   '    ctx.report(code, "m", None)\n', "planted.py")
    assert set(planted.codes) == {"no-such-code", "other-code", "unknown-name", "yaml-code"}
    assert [u.split(":")[1] for u in planted.unreadable] == ["5", "6"]
    forwarded = scan("class C:\n    def report(self, code, m):\n        self.d.append(Diagnostic(code, m, 'f'))\n",
                     "ok.py")
    assert forwarded.unreadable == [] and forwarded.codes == {}
