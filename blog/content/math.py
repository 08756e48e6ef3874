"""TeX math (`$...$`, `$$...$$`) rendered on the server to MathML: no script, so the strict CSP stays.

pymdownx.arithmatex finds the math in Markdown (and keeps emphasis out of it); its generic output,
`<span class="arithmatex">\\(...\\)</span>` and `<div class="arithmatex">\\[...\\]</div>`, is turned
into MathML by latex2mathml. TeX it cannot read stays visible as code, never dropped.
"""

import html
import re

from latex2mathml.converter import convert

ARITHMATEX = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<block>.*?)\\\])</(?P=tag)>',
    re.DOTALL,
)
# What latex2mathml writes, and only that, is what the sanitiser lets through (content/sanitize.py).
MATHML_TAGS = {
    "math", "semantics", "mrow", "mi", "mn", "mo", "ms", "mspace", "mtext", "msub", "msup",
    "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr",
    "mtd", "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts",
    "mprescripts", "none",
}  # fmt: skip
MATHML_ATTRIBUTES = {
    "display", "xmlns", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
    "columnalign", "rowspacing", "columnspacing", "columnlines", "rowlines", "frame", "accent",
    "accentunder", "linethickness", "movablelimits", "form", "minsize", "maxsize", "symmetric",
    "width", "height", "depth", "scriptlevel", "displaystyle", "notation", "largeop", "voffset",
}  # fmt: skip


def render_math(rendered: str) -> str:
    """Replace arithmatex's TeX placeholders with MathML."""
    if "arithmatex" not in rendered:
        return rendered
    return ARITHMATEX.sub(_convert, rendered)


def _convert(match: re.Match) -> str:
    block = match["block"] is not None
    tex = html.unescape(match["block"] if block else match["inline"]).strip()
    try:
        return convert(tex, display="block" if block else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; the TeX stays readable
        code = f'<code class="math">{html.escape(tex)}</code>'
        return f"<pre>{code}</pre>" if block else code
