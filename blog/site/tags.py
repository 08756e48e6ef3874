"""Tag pages: every tag with its count, and each tag's posts, a page at a time."""

from flask import Blueprint, abort, redirect, render_template, url_for
from sqlalchemy import select

from blog.content.slugs import slugify
from blog.extensions import db
from blog.models import Tag
from blog.platform.site_settings import site
from blog.site.pagecache import cached_page
from blog.site.queries import posts_tagged, tag_counts

bp = Blueprint("tags", __name__, url_prefix="/tags")


@bp.get("/")
@cached_page()
def index():
    return render_template("tags/index.html", tags=tag_counts(db.session))


@bp.get("/<tag>/", defaults={"page": 1})
@bp.get("/<tag>/page/<int(min=1):page>/")
@cached_page()
def show(tag: str, page: int):
    found = find_tag(tag)
    if found.slug != tag:
        return redirect(url_for("tags.show", tag=found.slug, page=page), code=301)
    pagination = db.paginate(posts_tagged(found), page=page, per_page=site().posts_per_page, error_out=False)
    if not pagination.items:
        abort(404)
    return render_template("tags/tag.html", tag=found, pagination=pagination)


def find_tag(tag: str) -> Tag:
    """The tag at this address, also when written by its name (/tags/@journal/ finds journal)."""
    for slug in dict.fromkeys([tag, slugify(tag)]):
        if found := db.session.scalar(select(Tag).where(Tag.slug == slug)):
            return found
    abort(404)
