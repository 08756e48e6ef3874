"""The web copy of each sent digest: a list and one page per digest."""

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from blog.extensions import db
from blog.models import Digest, Post

bp = Blueprint("digests", __name__, url_prefix="/digests")


def sent_digests():
    return select(Digest).where(Digest.status == "sent").order_by(Digest.sent_at.desc(), Digest.id.desc())


@bp.get("/")
def index():
    return render_template("digests/index.html", digests=db.session.scalars(sent_digests().limit(200)).all())


@bp.get("/<int:digest_id>/")
def show(digest_id: int):
    digest = db.session.get(Digest, digest_id)
    if digest is None or digest.status != "sent":
        abort(404)
    found = {post.id: post for post in db.session.scalars(select(Post).where(Post.id.in_(digest.post_ids)))}
    # The digest keeps its order; a post deleted or unpublished since is left out.
    posts = [found[post_id] for post_id in digest.post_ids if post_id in found and not found[post_id].draft]
    return render_template("digests/show.html", digest=digest, posts=posts)
