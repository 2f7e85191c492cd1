"""The work reading a YAML file takes, counted rather than timed (a busy machine slows the clock, not
the counts): the nodes the loader composes, and the values walked turning the composed document into
data and a line map, where aliases are expanded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from leadpolicy.language import yamldoc

# A file refused at a limit is read no further than the limit: a 20,000-level file stops at MAX_DEPTH
# levels (two nodes a level for mappings, key and value), and each hostile file read here up to its
# refusal holds under 60 nodes. None of them gets as far as its data being built.
REFUSED_NODES = 4 * yamldoc.MAX_DEPTH
REFUSED_VALUES = 0


class TooMuchWork(BaseException):
    """Raised the moment a count passes its bound, so a reader with its limit gone fails the test at
    once instead of expanding billions of values; a BaseException, so no `except Exception` of the
    code under test can take it for a diagnostic."""


@dataclass
class YamlWork:
    most_nodes: int
    most_values: int
    composed: int = 0  # nodes the loader built, an alias counting once
    walked: int = 0  # values visited building the data and the line map, aliases expanded

    def node(self) -> None:
        self.composed += 1
        if self.composed > self.most_nodes:
            raise TooMuchWork(f"the YAML loader composed more than {self.most_nodes} nodes")

    def value(self) -> None:
        self.walked += 1
        if self.walked > self.most_values:
            raise TooMuchWork(f"more than {self.most_values} YAML values were walked")


def count_yaml_work(monkeypatch: pytest.MonkeyPatch, most_nodes: int = REFUSED_NODES,
                    most_values: int = REFUSED_VALUES) -> YamlWork:
    """Counts, from now to the end of the test, the work of every YAML file read, raising TooMuchWork
    past either bound; a document read earlier is read again, not taken from the cache."""
    work = YamlWork(most_nodes, most_values)
    compose, to_data, line_map = yamldoc._Loader.compose_node, yamldoc.jsonable, yamldoc._line_map

    def composing(loader: Any, parent: Any, index: Any) -> Any:
        work.node()
        return compose(loader, parent, index)

    def building(value: Any) -> Any:
        work.value()
        return to_data(value)

    def mapping(*args: Any) -> Any:
        work.value()
        return line_map(*args)

    monkeypatch.setattr(yamldoc._Loader, "compose_node", composing)  # the recursion goes through these
    monkeypatch.setattr(yamldoc, "jsonable", building)
    monkeypatch.setattr(yamldoc, "_line_map", mapping)
    monkeypatch.setattr(yamldoc, "_RECENT", {})
    return work
