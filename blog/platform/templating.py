"""Template filters and globals: local dates and times, absolute URLs against SITE_URL, JSON-LD."""

from flask import Flask, current_app, request, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.local import LocalProxy

from blog.models import Post
from blog.platform import site_settings
from blog.platform.site_settings import Site, site
from blog.platform.urls import absolute_url, external_url
from blog.platform.zones import (
    day_and_month,
    local_date,
    local_moment,
    long_date,
    machine_time,
    short_moment,
)


def init_app(app: Flask) -> None:
    app.add_template_filter(long_date, "localdate")
    app.add_template_filter(short_moment, "localtime")
    app.add_template_filter(machine_time, "isotime")
    app.add_template_filter(day_and_month, "daymonth")
    app.add_template_global(local_moment)
    app.add_template_global(local_date)
    app.add_template_global(absolute_url)
    app.add_template_global(external_url)
    app.add_template_global(canonical_url)
    app.add_template_global(section_url)
    app.add_template_global(blog_posting)
    app.add_template_global(LocalProxy(site_for_pages), "site")


def site_for_pages() -> Site:
    """`site` in templates: the author's settings, read when a page first uses them. An error page
    shown because the database failed still renders, with the environment's values."""
    try:
        return site()
    except SQLAlchemyError:
        return site_settings.from_values(site_settings.defaults(current_app.config), current_app.config)


def canonical_url() -> str:
    """The page's public address without query strings (search adds its own)."""
    return absolute_url(request.path)


def section_url(endpoint: str, **values) -> str | None:
    """url_for, or None when the app has no such page (a console section that is not registered)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def blog_posting(post: Post, image: str | None = None) -> dict:
    """The schema.org BlogPosting that search engines read from a post page (JSON-LD); `image`
    is the page's og:image (the cover, or the post's social card)."""
    shown = site()
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.excerpt,
        "datePublished": machine_time(post.published_at),
        "dateModified": machine_time(post.updated_at or post.published_at),
        "url": external_url("posts.show", slug=post.slug),
        "mainEntityOfPage": external_url("posts.show", slug=post.slug),
        "author": {"@type": "Person" if shown.author else "Organization", "name": shown.byline},
        "publisher": {
            "@type": "Organization",
            "name": shown.title,
            "url": external_url("posts.index"),
        },
        "keywords": [tag.name for tag in post.tags],
        "wordCount": len(post.plain_text.split()),
    }
    if image or post.cover_image:
        data["image"] = image or absolute_url(post.cover_image)
    return data
