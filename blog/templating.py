"""Template filters and globals: local dates and absolute URLs against SITE_URL."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for

from blog.models import Post


def init_app(app: Flask) -> None:
    app.add_template_filter(localdate)
    app.add_template_filter(localtime)
    app.add_template_global(absolute_url)
    app.add_template_global(external_url_for)
    app.add_template_global(canonical_url)
    app.add_template_global(blog_posting)


def site_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def localdate(moment: datetime) -> str:
    """A date in the site's time zone, written out: 29 July 2023."""
    local = moment.astimezone(site_zone())
    return f"{local.day} {local:%B %Y}"


def localtime(moment: datetime) -> str:
    """A moment in the site's time zone, to the minute and with the zone: 29 Jul 2023, 14:05 CEST."""
    local = moment.astimezone(site_zone())
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def absolute_url(path_or_url: str) -> str:
    """A path made absolute against SITE_URL; absolute URLs are returned as they are."""
    if "://" in path_or_url:
        return path_or_url
    return current_app.config["SITE_URL"] + "/" + path_or_url.lstrip("/")


def external_url_for(endpoint: str, **values) -> str:
    """url_for, absolute against SITE_URL (the public address, whatever host served the request)."""
    return absolute_url(url_for(endpoint, **values))


def canonical_url() -> str:
    """The page's public address without query strings (search adds its own)."""
    return absolute_url(request.path)


def blog_posting(post: Post) -> dict:
    """The schema.org BlogPosting that search engines read from a post page (JSON-LD)."""
    config = current_app.config
    author = config["AUTHOR_NAME"] or config["SITE_TITLE"]
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.excerpt,
        "datePublished": post.published_at.isoformat(),
        "dateModified": (post.updated_at or post.published_at).isoformat(),
        "url": external_url_for("posts.show", slug=post.slug),
        "mainEntityOfPage": external_url_for("posts.show", slug=post.slug),
        "author": {"@type": "Person" if config["AUTHOR_NAME"] else "Organization", "name": author},
        "publisher": {
            "@type": "Organization",
            "name": config["SITE_TITLE"],
            "url": external_url_for("posts.index"),
        },
        "keywords": [tag.name for tag in post.tags],
        "wordCount": len(post.plain_text.split()),
    }
    if post.cover_image:
        data["image"] = absolute_url(post.cover_image)
    return data
