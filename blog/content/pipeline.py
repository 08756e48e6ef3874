"""The content pipeline: a source file in, a post's fields out (no Flask, no database)."""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from blog.content.embeds import rewrite_iframes
from blog.content.errors import ContentError
from blog.content.frontmatter import split_front_matter
from blog.content.headings import has_h1, remove_title_h1
from blog.content.metadata import Metadata, normalise_metadata
from blog.content.preprocess import preprocess_body
from blog.content.reader import MAX_BYTES, read_source
from blog.content.render import render_markdown
from blog.content.sanitize import sanitize_html
from blog.content.summary import (
    code_text,
    first_paragraph,
    html_to_text,
    prose_text,
    reading_minutes,
    split_more,
)

REST_SUFFIXES = {".rst"}

# Part of every content hash: bump it when rendering changes so re-imports re-render.
PIPELINE_VERSION = "4"


@dataclass
class ParsedPost:
    title: str
    slug: str
    slug_explicit: bool
    body: str
    html: str
    plain_text: str
    code_text: str
    excerpt: str
    reading_minutes: int
    draft: bool
    published_at: datetime
    updated_at: datetime | None
    tags: list[str]
    redirects: list[str]
    cover_image: str | None
    cover_file: Path | None
    extra: dict[str, Any]
    source_format: str
    content_hash: str
    inferred: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # the front matter as written
    cover_wanted: tuple[str, str] | None = None  # a cover the importer may find in the site


def hash_source(raw: bytes) -> str:
    """The content hash that tells an unchanged file from an edited one."""
    return hashlib.sha256(PIPELINE_VERSION.encode() + b"\0" + raw).hexdigest()


def parse_file(path: Path, zone: tzinfo, max_bytes: int = MAX_BYTES, mdx: bool | None = None) -> ParsedPost:
    """Read, split, normalise, render and sanitise one post file (MDX when .mdx, unless told)."""
    text, raw = read_source(path, max_bytes)
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    if path.suffix.lower() in REST_SUFFIXES:  # Pelican's reStructuredText: read into Markdown first
        from blog.content.rest import rest_as_markdown  # docutils only when a site has such posts

        text, warnings = rest_as_markdown(text)
        post = parse_text(text, path, zone, mtime=mtime, content_hash=hash_source(raw), mdx=False)
        post.warnings[:0] = warnings
        return post
    return parse_text(text, path, zone, mtime=mtime, content_hash=hash_source(raw), mdx=mdx)


def parse_text(
    text: str,
    path: Path,
    zone: tzinfo,
    mtime: datetime | None = None,
    content_hash: str | None = None,
    mdx: bool | None = None,
) -> ParsedPost:
    """Turn a post's text into its fields; path gives the file-name and folder fallbacks."""
    front = split_front_matter(text)
    meta = normalise_metadata(front.metadata, front.body, path, zone, mtime)
    meta.warnings[:0] = front.warnings
    meta.mdx = path.suffix.lower() == ".mdx" if mdx is None else mdx
    rendered = render_text(front.body, meta)
    if not rendered.excerpt:
        raise ContentError("the post has no text: write something below the front matter")
    return ParsedPost(
        title=meta.title,
        slug=meta.slug,
        slug_explicit=meta.slug_explicit,
        body=front.body,
        html=rendered.html,
        plain_text=rendered.plain_text,
        code_text=rendered.code_text,
        excerpt=rendered.excerpt,
        reading_minutes=rendered.reading_minutes,
        draft=meta.draft,
        published_at=meta.published_at,
        updated_at=meta.updated_at,
        tags=meta.tags,
        redirects=meta.redirects,
        cover_image=meta.cover_image,
        cover_file=meta.cover_file,
        extra=meta.extra,
        source_format=front.format,
        content_hash=content_hash or hash_source(text.encode()),
        inferred=meta.inferred,
        warnings=meta.warnings + [],
        metadata=front.metadata,
        cover_wanted=meta.cover_wanted,
    )


@dataclass
class RenderedText:
    """What a post's body gives: safe HTML, its plain text, the excerpt and the reading time."""

    html: str
    plain_text: str  # the prose: what search quotes
    code_text: str  # the code blocks' text: what search also finds
    excerpt: str
    reading_minutes: int


def render_text(body: str, meta: Metadata) -> RenderedText:
    """Render a body with its metadata (title, excerpt) into every field derived from it."""
    html, excerpt = render_body(body, meta)
    return RenderedText(html, prose_text(html), code_text(html), excerpt, reading_minutes(html))


def render_body(body: str, meta: Metadata) -> tuple[str, str]:
    """Render the body to safe HTML and settle the excerpt (recording where it came from)."""
    prepared = preprocess_body(remove_title_h1(body, meta.title), mdx=meta.mdx)
    meta.warnings.extend(prepared.warnings)
    html = render_markdown_safely(prepared.text, meta.warnings)
    excerpt = meta.excerpt
    if excerpt is None and (before := split_more(prepared.text)) is not None:
        excerpt = html_to_text(render_markdown_safely(before, []))
        meta.inferred["excerpt"] = "<!--more-->"
    if not excerpt:
        excerpt = first_paragraph(html) or html_to_text(html)[:300]
        meta.inferred["excerpt"] = "first paragraph"
    return html, excerpt


def render_markdown_safely(text: str, warnings: list[str] | None = None) -> str:
    """Markdown to sanitised HTML; a remaining `# H1` is shifted below the page's title, and each
    iframe is kept as a video embed or turned into a link (with a warning)."""
    rendered = render_markdown(text, shift_headings=has_h1(text))
    return sanitize_html(rewrite_iframes(rendered, [] if warnings is None else warnings))
