"""Compose a digest from a week's posts: subject, HTML (CSS inlined) and text, once per digest.

Pure: no Flask, no database. The only per-recipient parts, the unsubscribe and preferences
links, are left as UNSUBSCRIBE_URL and PREFERENCES_URL and filled in cheaply per message.

The HTML is laid out for mail clients, not browsers: nested tables 600 px wide at most, every
style inlined, widths on images, a button made of a table cell (Outlook's Word engine knows no
flex, grid or max-width), plus a dark palette for clients that honour prefers-color-scheme.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment

UNSUBSCRIBE_URL = "https://unsubscribe.invalid/weeknote-recipient-link"
PREFERENCES_URL = "https://preferences.invalid/weeknote-recipient-link"
RECIPIENT_LINKS = (UNSUBSCRIBE_URL, PREFERENCES_URL)  # the per-recipient parts of a composed body
DEFAULT_SUBJECT = "{site} — {count} new {posts} ({period})"


PREHEADER_LENGTH = 110  # about what inbox lists show after the subject


@dataclass(frozen=True)
class DigestPost:
    title: str
    url: str
    published_at: datetime
    tags: tuple[str, ...]
    excerpt: str
    date: str = ""  # as the site writes it: '30 November 2026'
    cover_url: str | None = None  # absolute
    cover_alt: str = ""
    html: str = ""  # the whole post, email-ready, when the digest carries full text
    text: str = ""  # and its plain text, for the text part


@dataclass(frozen=True)
class Note:
    """The author's note above the posts: sanitised HTML, the Markdown as the text part's copy,
    and its plain words for the preheader (inbox lists show no Markdown)."""

    html: str
    text: str
    plain: str = ""


@dataclass(frozen=True)
class SiteInfo:
    title: str
    url: str
    description: str
    postal_address: str
    zone: ZoneInfo
    subject_template: str = DEFAULT_SUBJECT
    author: str = ""
    logo_url: str = ""  # absolute, or empty for none


@dataclass(frozen=True)
class ComposedDigest:
    subject: str
    html: str
    text: str


def digest_period(
    scheduled_for: datetime, zone: ZoneInfo, previous_end: datetime | None = None
) -> tuple[datetime, datetime]:
    """The 7 days before scheduled_for (in local days, so DST weeks stay 7 days), or less
    when the previous digest went out later than that."""
    local_end = scheduled_for.astimezone(zone)
    start = (local_end.replace(tzinfo=None) - timedelta(days=7)).replace(tzinfo=zone)
    start = start.astimezone(scheduled_for.tzinfo)
    if previous_end is not None and previous_end > start:
        start = previous_end
    return start, scheduled_for


def format_period(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """'Jan 15–21', 'Jan 29 – Feb 4' or 'Dec 28, 2025 – Jan 3, 2026'."""
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    if first.year != last.year:
        return f"{first:%b} {first.day}, {first.year} – {last:%b} {last.day}, {last.year}"
    if first.month != last.month:
        return f"{first:%b} {first.day} – {last:%b} {last.day}"
    if first == last:
        return f"{first:%b} {first.day}"
    return f"{first:%b} {first.day}–{last.day}"


def build_subject(site: SiteInfo, count: int, start: datetime, end: datetime) -> str:
    return site.subject_template.format(
        site=site.title,
        count=count,
        posts="post" if count == 1 else "posts",
        period=format_period(start, end, site.zone),
    )


def preheader(note: Note | None, posts: list[DigestPost]) -> str:
    """The line inbox lists show after the subject: the note's start, else the posts' titles."""
    words = " ".join((note.plain or note.text).split()) if note and note.text.strip() else ""
    line = words or " · ".join(post.title for post in posts)
    return line if len(line) <= PREHEADER_LENGTH else line[: PREHEADER_LENGTH - 1].rstrip() + "…"


def compose_digest(
    env: Environment,
    site: SiteInfo,
    posts: list[DigestPost],
    start: datetime,
    end: datetime,
    web_url: str,
    note: Note | None = None,
) -> ComposedDigest:
    """Render the digest once; its HTML gets its CSS inlined for mail clients."""
    subject = build_subject(site, len(posts), start, end)
    context = {
        "site": site,
        "posts": posts,
        "note": note if note and note.text.strip() else None,
        "subject": subject,
        "preheader": preheader(note, posts),
        "period": format_period(start, end, site.zone),
        "web_url": web_url,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "preferences_url": PREFERENCES_URL,
    }
    html = env.get_template("email/digest.html").render(context)
    text = env.get_template("email/digest.txt").render(context)
    return ComposedDigest(subject=subject, html=_inliner.inline(html), text=text)


# Media queries (the dark palette, the narrow-screen rules) cannot be inlined: they stay in a
# <style> block for the clients that read one.
_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def personalise(body: str, unsubscribe_url: str, preferences_url: str | None = None) -> str:
    """Put one recipient's unsubscribe and preferences links into a composed body."""
    body = body.replace(UNSUBSCRIBE_URL, unsubscribe_url)
    return body.replace(PREFERENCES_URL, preferences_url or unsubscribe_url)
