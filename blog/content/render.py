"""Render Markdown to HTML with the extension set in docs/architecture.md ("Markdown and sanitising")."""

import threading

import markdown

EXTENSIONS = ["extra", "toc", "codehilite", "smarty", "sane_lists"]
_local = threading.local()


def _renderer(baselevel: int) -> markdown.Markdown:
    """One Markdown instance per thread and heading base level (building one is costly)."""
    cache = _local.__dict__.setdefault("renderers", {})
    if baselevel not in cache:
        cache[baselevel] = markdown.Markdown(
            extensions=EXTENSIONS,
            extension_configs={
                "codehilite": {"css_class": "highlight", "guess_lang": False},
                "toc": {"baselevel": baselevel},
            },
            output_format="html",
        )
    return cache[baselevel]


def render_markdown(text: str, shift_headings: bool = False) -> str:
    """Render text; shift_headings turns `#` into <h2> so the page title stays the only <h1>."""
    renderer = _renderer(2 if shift_headings else 1)
    try:
        return renderer.convert(text)
    finally:
        renderer.reset()
