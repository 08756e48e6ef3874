"""A post and the author's note as the digest email carries them: absolute links, sized images
(mail/html.py)."""

from blog.content.metadata import Metadata
from blog.content.pipeline import render_text
from blog.content.summary import html_to_text
from blog.mail.html import email_html
from blog.models import Post
from blog.newsletter.compose import DigestPost, Note
from blog.platform.urls import absolute_url
from blog.platform.zones import long_date

CONTENT_WIDTH = 552  # the card's inner width: 600 px less its padding


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
        html=email_html(post.html, base_url, post.title, CONTENT_WIDTH) if full else "",
        text=html_to_text(post.html) if full else "",  # code included: plain_text is prose only
    )


def render_note(markdown: str, base_url: str) -> Note | None:
    """The author's note, rendered as the editor renders a post; None when it is empty."""
    if not markdown.strip():
        return None
    html = render_text(markdown, Metadata(title="")).html
    return Note(
        html=email_html(html, base_url, "the note", CONTENT_WIDTH),
        text=markdown.strip(),
        plain=html_to_text(html),
    )
