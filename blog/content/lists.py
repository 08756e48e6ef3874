"""List items indented as CommonMark reads them, re-indented as Python-Markdown reads them.

Every generator but Pelican (Jekyll's kramdown, Hugo's goldmark, Zola, Gatsby, Docusaurus, Hexo)
puts what belongs to a list item at the column where its text starts: two spaces under `- `,
three under `1. `. Python-Markdown wants four per level, so `- a` / `  - b` came out as one flat
list and a fence three spaces under `1.` split the list in two. Here each line inside a list item
moves to four spaces a level, keeping whatever it has beyond the item's own column (a nested code
block, a fence's content). Four-space indentation, the Python-Markdown way, comes out unchanged.
Lines outside lists, and code blocks outside lists, are never touched.
"""

import re

MARKER = re.compile(r"^(?P<indent> *)(?P<marker>[*+-]|\d{1,9}\.)(?P<gap> +|$)(?P<rest>.*)$")
ANY_MARKER = re.compile(r"^ *(?:[*+-]|\d{1,9}\.)(?: |$)", re.MULTILINE)
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})")
# `* * *`, `- - -`: a thematic break, which every reader takes before a list item.
THEMATIC_BREAK = re.compile(r"^ *([*_-])(?:[ \t]*\1){2,}[ \t]*$")
# Lines that start a block of their own: they end a paragraph, so they cannot continue one lazily.
BLOCK_START = re.compile(r"^(?:#{1,6}(?:\s|$)|>|<|`{3,}|~{3,}|(?:[*_-][ \t]*){3,}$|\|)")


def reindent_lists(text: str) -> str:
    """Re-indent the contents of list items from CommonMark's columns to four spaces a level."""
    if not ANY_MARKER.search(text):
        return text
    out: list[str] = []
    columns: list[int] = []  # the column where each open item's content starts, outermost first
    fence: tuple[str, int, int] | None = None  # (its marker, its item depth, its item column)
    paragraph = False  # the previous line was prose inside an item (a lazy line may continue it)
    for raw in text.split("\n"):
        line = _expand_indent(raw)
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if fence is not None:
            marker, depth, column = fence
            if stripped.startswith(marker) and not stripped.strip().strip(marker[0]):
                fence = None
            out.append(_at(4 * depth + max(0, indent - column), stripped) if depth else raw)
            continue
        if not stripped:
            out.append("")
            paragraph = False
            continue
        if columns and indent < columns[-1] and paragraph and not _starts_block(stripped):
            out.append(_at(4 * len(columns), stripped))  # a lazy continuation of the paragraph
            continue
        while columns and indent < columns[-1]:
            columns.pop()
        parent = columns[-1] if columns else 0
        item = None if THEMATIC_BREAK.match(line) else MARKER.match(line)
        if item and indent - parent <= 3:
            depth = len(columns)
            gap = len(item["gap"])
            width = len(item["marker"]) + (1 if gap == 0 or gap > 4 else gap)
            columns.append(indent + width)
            rest = item["rest"] if gap <= 4 else " " * (gap - 1) + item["rest"]
            out.append(_at(4 * depth, f"{item['marker']} {rest}".rstrip()) if columns[:-1] else raw)
            paragraph = bool(item["rest"].strip())
            if opening := FENCE.match(item["rest"]):
                fence = (opening["fence"], len(columns), columns[-1])
            continue
        if not columns:
            out.append(raw)
            if opening := FENCE.match(stripped) if indent <= 3 else None:
                fence = (opening["fence"], 0, 0)
            paragraph = False
            continue
        depth, column = len(columns), columns[-1]
        if (opening := FENCE.match(stripped)) and indent - column <= 3:
            out.append(_at(4 * depth, stripped))  # its content keeps what it has beyond the fence's column
            fence = (opening["fence"], depth, indent)
            paragraph = False
        else:
            out.append(_at(4 * depth + indent - column, stripped))
            paragraph = indent - column <= 3 and not _starts_block(stripped)
    return "\n".join(out)


def _expand_indent(line: str) -> str:
    """Tabs in the indentation as tab stops of four, as both readers count them."""
    stripped = line.lstrip(" \t")
    if "\t" not in line[: len(line) - len(stripped)]:
        return line
    return line[: len(line) - len(stripped)].expandtabs(4) + stripped


def _at(indent: int, text: str) -> str:
    return " " * indent + text


def _starts_block(text: str) -> bool:
    return bool(BLOCK_START.match(text) or MARKER.match(text))
