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
    ("leadpolicy.measure", "leadpolicy.service"),
    ("leadpolicy.publish",),
    ("leadpolicy.governance", "leadpolicy.testing"),
    ("leadpolicy.warehouse",),
    ("leadpolicy.sla",),
    ("leadpolicy",),  # the package's own __init__: the version and the public names of api
    ("leadpolicy.api",),
    ("leadpolicy.semantics", "leadpolicy.outputs"),
    ("leadpolicy.language",),
    # Generated Python carries runtime's text and runs without leadpolicy, so runtime imports nothing of it
    # and every layer may read its definitions (how text folds, what a blank is).
    ("leadpolicy.semantics.runtime", "leadpolicy.zones"),
)
RANK = {component: len(LAYERS) - i for i, layer in enumerate(LAYERS) for component in layer}
SRC = Path(leadpolicy.__file__).parent


def component(module: str) -> str:
    """The longest component that is the module or one of its packages."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in RANK:
            return name
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS")


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
    tree = ast.parse((SRC / "semantics" / "runtime.py").read_text(encoding="utf-8"))
    modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    modules += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert [m for m in modules if m.split(".")[0] == "leadpolicy"] == []
