"""A post and the author's note as the digest email carries them: absolute links, sized images.

Mail clients resolve no relative address and Outlook sizes an image by its width attribute
alone, so every image gets one (and alt text), and every link and source is made absolute.
"""

import re

from blog.content.metadata import Metadata
from blog.content.pipeline import render_text
from blog.content.sanitize import absolutize_urls
from blog.models import Post
from blog.newsletter.compose import DigestPost, Note
from blog.platform.urls import absolute_url
from blog.platform.zones import long_date

CONTENT_WIDTH = 552  # the card's inner width: 600 px less its padding
# An <img> tag of sanitised HTML (attribute values are quoted, and may hold a ">").
IMG = re.compile(r"<img\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.IGNORECASE)
ATTRIBUTE = re.compile(r"\s(width|alt)\s*=", re.IGNORECASE)


def email_html(html: str, base_url: str, title: str) -> str:
    """Sanitised post HTML with absolute URLs, and a width and alt text on every image."""

    def sized(match: re.Match) -> str:
        attributes = match.group(1).rstrip("/").rstrip()
        present = {name.lower() for name in ATTRIBUTE.findall(attributes)}
        if "width" not in present:
            attributes += f' width="{CONTENT_WIDTH}"'
        if "alt" not in present:
            attributes += f' alt="Image from {escape_attribute(title)}"'
        return f"<img{attributes}>"

    return IMG.sub(sized, absolutize_urls(html, base_url + "/"))


def escape_attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def digest_post(post: Post, url: str, base_url: str, full: bool) -> DigestPost:
    """One post as the digest lists it; with `full`, its whole text too."""
    return DigestPost(
        title=post.title,
        url=url,
        published_at=post.published_at,
        tags=tuple(tag.name for tag in post.tags),
        excerpt=post.excerpt,
        date=long_date(post.published_at),
        cover_url=absolute_url(post.cover_image) if post.cover_image else None,
        cover_alt=post.title,
        html=email_html(post.html, base_url, post.title) if full else "",
        text=post.plain_text if full else "",
    )


def render_note(markdown: str, base_url: str) -> Note | None:
    """The author's note, rendered as the editor renders a post; None when it is empty."""
    if not markdown.strip():
        return None
    html = render_text(markdown, Metadata(title="")).html
    return Note(html=email_html(html, base_url, "the note"), text=markdown.strip())
