"""Template filters and globals: local dates and times, absolute URLs against SITE_URL, JSON-LD."""

from flask import Flask, current_app, request, url_for

from blog.models import Post
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
    config = current_app.config
    author = config["AUTHOR_NAME"] or config["SITE_TITLE"]
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.excerpt,
        "datePublished": machine_time(post.published_at),
        "dateModified": machine_time(post.updated_at or post.published_at),
        "url": external_url("posts.show", slug=post.slug),
        "mainEntityOfPage": external_url("posts.show", slug=post.slug),
        "author": {"@type": "Person" if config["AUTHOR_NAME"] else "Organization", "name": author},
        "publisher": {
            "@type": "Organization",
            "name": config["SITE_TITLE"],
            "url": external_url("posts.index"),
        },
        "keywords": [tag.name for tag in post.tags],
        "wordCount": len(post.plain_text.split()),
    }
    if image or post.cover_image:
        data["image"] = image or absolute_url(post.cover_image)
    return data
