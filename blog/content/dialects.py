"""Markup other generators add to Markdown, rewritten line by line into what the renderer reads.

Docusaurus/MDX (`import` lines, `{/* comments */}`, truncate markers, `:::note` admonitions, Tabs,
JSX attribute values), kramdown block attributes on a line of their own, and a `#word` hashtag at
the start of a line (CommonMark reads no heading there). Only prose lines come here, never code.
"""

import html
import re

ADMONITION_TYPES = (
    "note",
    "tip",
    "info",
    "caution",
    "danger",
    "warning",
    "important",
    "success",
    "secondary",
)
ADMONITION_OPEN = re.compile(
    r"^(?P<indent>\s{0,3})(?P<colons>:{3,})\s*(?P<type>" + "|".join(ADMONITION_TYPES) + r")\b"
    r"(?:\[(?P<bracket>[^\]]*)\]|\s+(?P<title>.*?))?\s*$",
    re.IGNORECASE,
)
ADMONITION_CLOSE = re.compile(r"^\s{0,3}(?P<colons>:{3,})\s*$")
MDX_IMPORT = re.compile(
    r"""^(?:import\s+(?:[\w*{}\s,]+\s+from\s+)?["'][^"']+["'];?|export\s+(?:const|default|function)\b.*)\s*$"""
)
TRUNCATE = re.compile(r"^\s*(?:<!--\s*truncate\s*-->|\{/\*\s*truncate\s*\*/\})\s*$", re.IGNORECASE)
TABS = re.compile(r"^\s*</?Tabs\b[^>]*>\s*$")
TAB_ITEM = re.compile(r"^\s*<TabItem\b(?P<attrs>[^>]*)>\s*$")
TAB_ITEM_CLOSE = re.compile(r"^\s*</TabItem>\s*$")
JSX_STRING = re.compile(
    r"""(?P<name>[\w-]+)=(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|\{["'](?P<braced>[^"']*)["']\})"""
)
IAL_LINE = re.compile(r"^\s*\{:(?!:|\s*toc\s*\})[^}]*\}\s*$")
LIST_OR_TABLE = re.compile(r"^\s*(?:[*+-]\s|\d+\.\s|\|)")
HASHTAG = re.compile(r"^(?P<indent> {0,3})#(?=[^\s#])")


def rewrite_lines(lines: list[str], mdx: bool) -> list[str]:
    """Rewrite a run of prose lines; the number of lines may change."""
    out: list[str] = []
    for line in lines:
        out.extend(_rewrite_line(line, out[-1] if out else "", mdx))
    return out


def _rewrite_line(line: str, previous: str, mdx: bool) -> list[str]:
    if TRUNCATE.match(line):
        return ["<!--more-->"]
    if mdx and MDX_IMPORT.match(line):
        return []
    if opening := ADMONITION_OPEN.match(line):
        kind = opening["type"].lower()
        title = (opening["bracket"] or opening["title"] or "").strip()
        slashes = "/" * len(opening["colons"])
        return ["", f"{slashes} {kind}" + (f" | {title}" if title else ""), ""]
    if closing := ADMONITION_CLOSE.match(line):
        return ["", "/" * len(closing["colons"]), ""]
    if mdx and TABS.match(line):
        return [""]
    if mdx and (item := TAB_ITEM.match(line)):
        attrs = {
            m["name"]: m["double"] or m["single"] or m["braced"] or ""
            for m in JSX_STRING.finditer(item["attrs"])
        }
        label = attrs.get("label") or attrs.get("value") or "Tab"
        return ["", f"/// details | {label}", "    open: True", ""]
    if mdx and TAB_ITEM_CLOSE.match(line):
        return ["", "///", ""]
    if IAL_LINE.match(line) and (not previous.strip() or LIST_OR_TABLE.match(previous)):
        return []  # a kramdown attribute list for a block Python-Markdown cannot attach it to
    if previous.strip():  # a wrapped line: `#word` is a hashtag, not a heading
        return [HASHTAG.sub(r"\g<indent>\\#", line)]
    return [line]


# Inline rewrites run on joined prose, skipping code spans (the first alternative).
CODE_SPAN = r"(?P<code>(?P<ticks>`+)[^`].*?(?P=ticks))"
MDX_INLINE = re.compile(
    CODE_SPAN
    + r"|(?P<comment>\{/\*.*?\*/\})"
    + r"|(?P<tag><[A-Za-z][\w.-]*(?:\s+[\w-]+(?:=(?:\"[^\"]*\"|'[^']*'|\{\{.*?\}\}|\{[^{}]*\}))?)*\s*/?>)",
    re.DOTALL,
)
JSX_ATTRIBUTE = re.compile(
    r"""(?P<name>[\w-]+)=(?:\{\{(?P<object>.*?)\}\}|\{(?P<value>[^{}]*)\})""", re.DOTALL
)
INLINE_DISPLAY_MATH = re.compile(CODE_SPAN + r"|(?<!\$)\$\$(?P<math>[^$\n]+?)\$\$(?!\$)")


def rewrite_mdx(text: str) -> str:
    """Drop {/* comments */}; turn JSX attribute values (style={{...}}, width={280}) into HTML ones."""
    return MDX_INLINE.sub(_mdx, text)


def _mdx(match: re.Match) -> str:
    if match["code"]:
        return match["code"]
    if match["comment"]:
        return ""
    tag = re.sub(r"(?<=\s)className=(?=[\"'])", "class=", match["tag"])
    return JSX_ATTRIBUTE.sub(_jsx_attribute, tag)


def _jsx_attribute(match: re.Match) -> str:
    name = "class" if match["name"] == "className" else match["name"]
    if match["object"] is not None:
        if name != "style":
            return ""
        pairs = re.findall(r"""([\w-]+)\s*:\s*(?:"([^"]*)"|'([^']*)'|([\w.#%-]+))""", match["object"])
        css = "; ".join(f"{_css_name(key)}: {a or b or c}" for key, a, b, c in pairs)
        return f'style="{html.escape(css, quote=True)}"'
    value = match["value"].strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", value) or re.fullmatch(r"""(["']).*\1""", value):
        return f'{name}="{html.escape(value.strip(chr(34) + chr(39)), quote=True)}"'
    return ""  # an expression only the old site's JavaScript could evaluate


def _css_name(key: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), key)


def inline_display_math(text: str) -> str:
    """kramdown's `$$x$$` inside a sentence is inline math: `$x$` for the renderer."""
    if "$$" not in text:
        return text

    def replace(match: re.Match) -> str:
        if match["code"]:
            return match["code"]
        start = match.string.rfind("\n", 0, match.start()) + 1
        end = match.string.find("\n", match.end())
        line = match.string[start : end if end != -1 else None]
        if line.strip() == match.group(0).strip():
            return match.group(0)  # alone on its line: display math
        return f"${match['math'].strip()}$"

    return INLINE_DISPLAY_MATH.sub(replace, text)
