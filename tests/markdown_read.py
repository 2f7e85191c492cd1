"""A Markdown report read back as a reader sees it once rendered: its tables' cells, its list items, the HTML
elements it made, and its text without tags."""

from __future__ import annotations

from html.parser import HTMLParser

import markdown


class Tables(HTMLParser):
    """The tables (rows of cell texts), list items and element tags of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.items: list[str] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None
        self._item: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "li":
            self._item = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "li" and self._item is not None:
            self.items.append("".join(self._item).strip())
            self._item = None

    def handle_data(self, data):
        for part in (self._cell, self._item):
            if part is not None:
                part.append(data)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def html_of(page: str) -> str:
    return markdown.markdown(page, extensions=["tables"])


def read_markdown(page: str) -> Tables:
    """The Markdown `page` rendered to HTML and read back."""
    tables = Tables()
    tables.feed(html_of(page))
    return tables


def text_of(page: str) -> str:
    """The text a reader of the rendered Markdown `page` sees, tags left out."""
    parser = _Text()
    parser.feed(html_of(page))
    return "".join(parser.parts)


def named_rows(table: list[list[str]]) -> list[dict[str, str]]:
    """A table's rows under its header row's names."""
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]
