"""Compose a digest from a week's posts: subject, HTML (CSS inlined) and text, once per digest.

Pure: no Flask, no database. The only per-recipient part, the unsubscribe link, is
left as UNSUBSCRIBE_URL and filled in cheaply when each message is built.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment

UNSUBSCRIBE_URL = "https://unsubscribe.invalid/weeknote-recipient-link"
DEFAULT_SUBJECT = "{site} — {count} new {posts} ({period})"


@dataclass(frozen=True)
class DigestPost:
    title: str
    url: str
    published_at: datetime
    tags: tuple[str, ...]
    excerpt: str


@dataclass(frozen=True)
class SiteInfo:
    title: str
    url: str
    description: str
    postal_address: str
    zone: ZoneInfo
    subject_template: str = DEFAULT_SUBJECT


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


def compose_digest(
    env: Environment,
    site: SiteInfo,
    posts: list[DigestPost],
    start: datetime,
    end: datetime,
    web_url: str,
) -> ComposedDigest:
    """Render the digest once; its HTML gets its CSS inlined for mail clients."""
    context = {
        "site": site,
        "posts": posts,
        "period": format_period(start, end, site.zone),
        "web_url": web_url,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "local": lambda moment: moment.astimezone(site.zone),
    }
    html = env.get_template("email/digest.html").render(context)
    text = env.get_template("email/digest.txt").render(context)
    return ComposedDigest(
        subject=build_subject(site, len(posts), start, end),
        html=css_inline.inline(html),
        text=text,
    )


def personalise(body: str, unsubscribe_url: str) -> str:
    """Put one recipient's unsubscribe link into a composed body."""
    return body.replace(UNSUBSCRIBE_URL, unsubscribe_url)
