"""Build RSS 2.0 and Atom (with feedgen) and JSON Feed 1.1 documents from posts."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from feedgen.feed import FeedGenerator

from blog.content.controls import xml_safe
from blog.content.sanitize import absolutize_urls
from blog.models import Post

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class FeedInfo:
    """What a feed says about itself; every URL is absolute."""

    title: str
    description: str
    home_url: str
    feed_url: str
    author: str
    updated: datetime | None
    language: str = "en"


@dataclass(frozen=True)
class FeedItem:
    """One post as feeds carry it: full sanitised HTML with absolute links."""

    guid: str
    url: str
    title: str
    content_html: str
    summary: str
    published: datetime
    updated: datetime
    tags: list[tuple[str, str]]  # (slug, display name)
    image: str | None


def build_items(
    posts: Sequence[Post], url_for_post: Callable[[Post], str], absolute: Callable
) -> list[FeedItem]:
    """Feed items for posts, resolving relative links against each post's own address."""
    items = []
    for post in posts:
        url = url_for_post(post)
        items.append(
            FeedItem(
                guid=post.guid,
                url=url,
                title=post.title,
                content_html=absolutize_urls(post.html, url),
                summary=post.excerpt,
                published=post.published_at,
                updated=max(post.updated_at or post.published_at, post.published_at),
                tags=[(tag.slug, tag.name) for tag in post.tags],
                image=absolute(post.cover_image) if post.cover_image else None,
            )
        )
    return items


def feed_generator(info: FeedInfo, items: list[FeedItem]) -> FeedGenerator:
    """A feedgen document with fixed dates, so the same posts always give the same bytes."""
    updated = info.updated or max((item.updated for item in items), default=None)
    fg = FeedGenerator()
    fg.load_extension("dc")  # RSS <author> must be an email address; dc:creator takes a name
    fg.id(info.home_url)
    fg.title(xml_safe(info.title))
    fg.subtitle(xml_safe(info.description or info.title))
    fg.description(xml_safe(info.description or info.title))
    fg.link(href=info.feed_url, rel="self")
    fg.link(href=info.home_url, rel="alternate")  # last: feedgen makes it the RSS <link>
    fg.language(info.language)
    fg.author({"name": xml_safe(info.author)})
    fg.generator("Weeknote")
    if updated is not None:
        fg.updated(updated)
        fg.lastBuildDate(updated)
    for item in items:
        entry = fg.add_entry(order="append")
        entry.id(item.guid)
        entry.guid(item.guid, permalink=False)
        entry.title(xml_safe(item.title))
        entry.link(href=item.url, rel="alternate")
        entry.published(item.published)
        entry.updated(item.updated)
        entry.author({"name": xml_safe(info.author)})
        entry.dc.dc_creator(xml_safe(info.author))
        entry.summary(xml_safe(item.summary))
        entry.content(xml_safe(item.content_html), type="html")
        for slug, name in item.tags:
            entry.category(term=slug, label=xml_safe(name))
    return fg


def rss_document(info: FeedInfo, items: list[FeedItem]) -> bytes:
    return feed_generator(info, items).rss_str(pretty=True)


def atom_document(info: FeedInfo, items: list[FeedItem]) -> bytes:
    return feed_generator(info, items).atom_str(pretty=True)


def json_feed(info: FeedInfo, items: list[FeedItem]) -> dict:
    """A JSON Feed 1.1 document (https://www.jsonfeed.org/version/1.1/)."""
    return {
        "version": JSON_FEED_VERSION,
        "title": info.title,
        "home_page_url": info.home_url,
        "feed_url": info.feed_url,
        "description": info.description,
        "language": info.language,
        "authors": [{"name": info.author}],
        "items": [
            {
                "id": item.guid,
                "url": item.url,
                "title": item.title,
                "content_html": item.content_html,
                "summary": item.summary,
                **({"image": item.image} if item.image else {}),
                "date_published": item.published.isoformat(),
                "date_modified": item.updated.isoformat(),
                "tags": [name for _, name in item.tags],
                "authors": [{"name": info.author}],
            }
            for item in items
        ],
    }
