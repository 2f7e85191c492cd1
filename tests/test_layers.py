"""The package's layers have no back-edges (issue 26 §3; docs/internals.md, "Layers").

Every import, at module level or inside a function, goes from a higher layer to a lower one, or stays
inside one component. Components that share a layer are independent: neither imports the other.
grimp reads every import statement of every module, so lazy imports count as much as top-level ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

import leadpolicy

# Highest first. A component is a package or module; a module belongs to the longest component naming it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("leadpolicy.__main__",),
    ("leadpolicy.cli",),
    ("leadpolicy.measure", "leadpolicy.service", "leadpolicy.lsp"),
    ("leadpolicy.publish",),
    ("leadpolicy.governance", "leadpolicy.testing"),
    ("leadpolicy.warehouse", "leadpolicy.assignment"),
    ("leadpolicy.sla", "leadpolicy.proofs"),
    ("leadpolicy",),  # the package's own __init__: the version and the public names of api
    ("leadpolicy.api",),
    ("leadpolicy.semantics", "leadpolicy.outputs"),
    ("leadpolicy.language",),
    # Generated Python carries runtime's text and runs without leadpolicy, so runtime imports nothing of it.
    ("leadpolicy.runtime", "leadpolicy.zones"),
)
RANK = {component: len(LAYERS) - i for i, layer in enumerate(LAYERS) for component in layer}
SRC = Path(leadpolicy.__file__).parent


def component(module: str) -> str:
    """The longest component that is the module or one of its packages. The `leadpolicy` component is the
    package's own __init__ only, so a new top-level package is named here, not filed under it silently."""
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        name = ".".join(parts[:end])
        if name in RANK:
            return name
    if module == "leadpolicy":
        return module
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS")


def test_a_new_top_level_package_must_be_given_a_layer() -> None:
    assert component("leadpolicy") == "leadpolicy"
    assert component("leadpolicy.runtime") == "leadpolicy.runtime"
    with pytest.raises(AssertionError, match="add its package to LAYERS"):
        component("leadpolicy.newpkg.module")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("leadpolicy", cache_dir=None)


def imports_between_components(graph: grimp.ImportGraph) -> list[tuple[str, str, int, str]]:
    """(importer, imported, line, text) of every import from one component into another."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if component(importer) != component(imported):
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    found.append((importer, imported, detail["line_number"], detail["line_contents"]))
    return found


def test_every_module_has_a_layer(graph: grimp.ImportGraph) -> None:
    assert {component(m) for m in graph.modules} == set(RANK)


def test_imports_only_go_down(graph: grimp.ImportGraph) -> None:
    upward = [f"{a}:{line} imports {b} ({component(a)} may not import {component(b)}): {text}"
              for a, b, line, text in imports_between_components(graph)
              if RANK[component(a)] <= RANK[component(b)]]
    assert upward == []


def test_language_imports_nothing_of_semantics(graph: grimp.ImportGraph) -> None:
    """The checker asks semantics what conditions mean through a protocol; it imports none of it."""
    language = {m for m in graph.modules if component(m) == "leadpolicy.language"}
    assert language
    assert [(a, b) for a in sorted(language) for b in sorted(graph.find_modules_directly_imported_by(a))
            if b.startswith("leadpolicy.semantics")] == []


def test_the_check_sees_lazy_imports(graph: grimp.ImportGraph) -> None:
    """A function-level import is an edge too (api imports the loader inside its load functions)."""
    lazy = {(a, b) for a, b, _line, text in imports_between_components(graph) if text.startswith("from ")}
    lines = (SRC / "api.py").read_text(encoding="utf-8").splitlines()
    indented = [line.strip() for line in lines if line.startswith("    from leadpolicy.")]
    assert indented, "api.py has function-level imports to check against"
    importer_edges = {b for a, b in lazy if a == "leadpolicy.api"}
    for line in indented:
        module = line.split()[1]
        assert any(b == module or b.startswith(module + ".") for b in importer_edges), line


def test_runtime_imports_nothing_of_leadpolicy() -> None:
    """runtime is carried by generated code, which runs without leadpolicy installed."""
    tree = ast.parse((SRC / "runtime.py").read_text(encoding="utf-8"))
    modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    modules += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert [m for m in modules if m.split(".")[0] == "leadpolicy"] == []


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private_names_defined(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, variables, attributes it sets."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return {n for n in names if private(n)}


def private_uses_across_modules(sources: dict[str, str]) -> list[str]:
    """`obj._name` where `_name` is private to another leadpolicy module (obj not self or cls), and every
    `from leadpolicy... import _name`. Private names leadpolicy does not define (argparse's) are not its own."""
    trees = {module: ast.parse(text) for module, text in sources.items()}
    defined = {module: private_names_defined(tree) for module, tree in trees.items()}
    found = []
    for module, tree in trees.items():
        elsewhere = set().union(*(names for other, names in defined.items() if other != module)) - defined[module]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("leadpolicy"):
                found += [f"{module}:{node.lineno}: from {node.module} import {a.name}"
                          for a in node.names if private(a.name)]
            elif (isinstance(node, ast.Attribute) and node.attr in elsewhere
                  and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                found.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_private_member_is_used_across_modules() -> None:
    sources = {module_name(p): p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}
    assert private_uses_across_modules(sources) == []


def test_the_private_member_check_finds_what_it_should() -> None:
    sources = {
        "leadpolicy.a": "class Policy:\n    def _now(self):\n        return self._tz\n",
        "leadpolicy.b": "from leadpolicy.a import _helper\n\ndef f(policy):\n    return policy._now(), policy._own\n"
                        "\n\ndef g(x):\n    x._own = 1\n    return parser._actions\n",
    }
    assert private_uses_across_modules(sources) == [
        "leadpolicy.b:1: from leadpolicy.a import _helper", "leadpolicy.b:4: policy._now"]
