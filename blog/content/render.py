"""Render Markdown to HTML with the extension set in docs/architecture.md ("Markdown and sanitising")."""

import threading

import markdown

from blog.content.dialects import ADMONITION_TYPES
from blog.content.lists import reindent_lists
from blog.content.math import render_math

# Python-Markdown's `extra` without its fenced_code: pymdownx.superfences reads fences nested in list
# items and block quotes, with titles (title="App.tsx") and highlighted lines.
EXTENSIONS = [
    "abbr", "attr_list", "def_list", "footnotes", "md_in_html", "tables",
    "toc", "smarty", "sane_lists",
    "pymdownx.highlight", "pymdownx.superfences", "pymdownx.arithmatex",
    "pymdownx.blocks.admonition", "pymdownx.blocks.details",
]  # fmt: skip
CONFIGS = {
    "pymdownx.highlight": {"css_class": "highlight", "guess_lang": False, "use_pygments": True},
    "pymdownx.arithmatex": {"generic": True},
    "pymdownx.blocks.admonition": {"types": list(ADMONITION_TYPES)},
}
_local = threading.local()


def _renderer(baselevel: int) -> markdown.Markdown:
    """One Markdown instance per thread and heading base level (building one is costly)."""
    cache = _local.__dict__.setdefault("renderers", {})
    if baselevel not in cache:
        cache[baselevel] = markdown.Markdown(
            extensions=EXTENSIONS,
            extension_configs=CONFIGS | {"toc": {"baselevel": baselevel}},
            output_format="html",
        )
    return cache[baselevel]


def render_markdown(text: str, shift_headings: bool = False) -> str:
    """Render text; shift_headings turns `#` into <h2> so the page title stays the only <h1>.
    List items indented as CommonMark reads them are re-indented first (content/lists.py)."""
    renderer = _renderer(2 if shift_headings else 1)
    try:
        return render_math(renderer.convert(reindent_lists(text)))
    finally:
        renderer.reset()
