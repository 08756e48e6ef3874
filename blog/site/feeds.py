"""Feeds: RSS 2.0, Atom, JSON Feed 1.1 and an RSS feed per tag, the newest posts in full."""

import json

from flask import Blueprint, Response
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post, Tag
from blog.platform.site_settings import site
from blog.platform.urls import absolute_url, external_url
from blog.site.pagecache import FEED, cached_page, site_state
from blog.site.queries import newest_first, posts_tagged, published_posts
from blog.site.syndication import FeedInfo, atom_document, build_items, json_feed, rss_document

bp = Blueprint("feeds", __name__)
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"


@bp.get("/feed.xml")
@cached_page(FEED)
def rss() -> Response:
    return Response(rss_document(site_info("feeds.rss"), newest_items()), content_type=RSS)


@bp.get("/atom.xml")
@cached_page(FEED)
def atom() -> Response:
    return Response(atom_document(site_info("feeds.atom"), newest_items()), content_type=ATOM)


@bp.get("/feed.json")
@cached_page(FEED)
def json_document() -> Response:
    document = json_feed(site_info("feeds.json_document"), newest_items())
    return Response(json.dumps(document, ensure_ascii=False, indent=1), content_type=JSON_FEED)


@bp.get("/tags/<tag>/feed.xml")
@cached_page(FEED)
def tag_rss(tag: str) -> Response:
    found = db.session.scalar(select(Tag).where(Tag.slug == tag))
    posts = db.session.scalars(posts_tagged(found).limit(site().feed_items)).all() if found else []
    if not posts:  # as /tags/<tag>/: a tag only drafts or scheduled posts carry is not public yet
        return Response("No such tag.\n", 404, content_type="text/plain; charset=utf-8")
    info = FeedInfo(
        title=f"{site().title}: {found.name}",
        description=f"Posts tagged {found.name} on {site().title}.",
        home_url=external_url("tags.show", tag=found.slug),
        feed_url=external_url("feeds.tag_rss", tag=found.slug),
        author=author_name(),
        updated=site_state().last_modified,
    )
    return Response(rss_document(info, items_for(posts)), content_type=RSS)


def site_info(endpoint: str) -> FeedInfo:
    return FeedInfo(
        title=site().title,
        description=site().description,
        home_url=external_url("posts.index"),
        feed_url=external_url(endpoint),
        author=author_name(),
        updated=site_state().last_modified,
    )


def author_name() -> str:
    """Atom needs an author: the configured one, else the blog's name."""
    return site().byline


def newest_items():
    limit = site().feed_items
    return items_for(db.session.scalars(newest_first(published_posts()).limit(limit)).all())


def items_for(posts: list[Post]):
    return build_items(posts, lambda post: external_url("posts.show", slug=post.slug), absolute_url)
