"""Excerpts and reading time, taken from a post's rendered HTML."""

import html
import math
import re

MORE_MARKER = re.compile(r"<!--\s*more\s*-->", re.IGNORECASE)
PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")
BLOCK_TAG = re.compile(r"</?(?:p|br|li|h[1-6]|div|tr|td|th|blockquote|pre|ul|ol|dt|dd|figure)\b[^>]*>")
CODE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.DOTALL)
# A footnote's number in the text and its way back: markers for the eye, noise in a quotation.
FOOTNOTE_MARKS = re.compile(
    r'<sup id="fnref[^"]*">.*?</sup>|<a class="footnote-backref"[^>]*>.*?</a>', re.DOTALL
)
WORDS_PER_MINUTE = 230
EXCERPT_LIMIT = 300


def split_more(text: str) -> str | None:
    """The Markdown before a <!--more--> marker, or None when there is none."""
    parts = MORE_MARKER.split(text, maxsplit=1)
    return parts[0] if len(parts) == 2 else None


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed."""
    return " ".join(html.unescape(TAG.sub("", BLOCK_TAG.sub(" ", fragment))).split())


def prose_text(fragment: str) -> str:
    """The words a reader reads: the plain text without code blocks and footnote marks (what
    search indexes and quotes in its snippets)."""
    return html_to_text(FOOTNOTE_MARKS.sub("", CODE_BLOCK.sub(" ", fragment)))


def code_text(fragment: str) -> str:
    """The text of the code blocks: search finds a word used only there, snippets never quote it."""
    return html_to_text(" ".join(CODE_BLOCK.findall(fragment)))


def first_paragraph(rendered: str) -> str:
    """The text of the first paragraph that has words (an image alone is skipped)."""
    for match in PARAGRAPH.finditer(rendered):
        if text := html_to_text(match.group(1)):
            return shorten(text)
    return ""


def shorten(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """Cut text at a word boundary so it fits in limit characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def reading_minutes(rendered: str) -> int:
    """Minutes to read at 230 words a minute (code counts at half speed); at least 1."""
    code = " ".join(CODE_BLOCK.findall(rendered))
    prose_words = len(html_to_text(CODE_BLOCK.sub(" ", rendered)).split())
    code_words = len(html_to_text(code).split())
    return max(1, math.ceil((prose_words + code_words / 2) / WORDS_PER_MINUTE))
