"""For search engines: /sitemap.xml and /robots.txt."""

from flask import Blueprint, Response, render_template
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post
from blog.platform.urls import external_url
from blog.site.pagecache import INDEX, cached_page
from blog.site.queries import tag_counts, visible

bp = Blueprint("discovery", __name__)


@bp.get("/sitemap.xml")
@cached_page(INDEX)
def sitemap() -> Response:
    posts = db.session.execute(
        select(Post.slug, Post.published_at, Post.updated_at, Post.modified_at)
        .where(visible())
        .order_by(Post.published_at.desc())
    ).all()
    body = render_template("discovery/sitemap.xml", posts=posts, tags=tag_counts(db.session))
    return Response(body, content_type="application/xml; charset=utf-8")


@bp.get("/robots.txt")
@cached_page(INDEX)
def robots() -> Response:
    lines = ["User-agent: *", "Disallow: /search", f"Sitemap: {external_url('discovery.sitemap')}", ""]
    return Response("\n".join(lines), content_type="text/plain; charset=utf-8")
