"""Reader pages: the list of posts, one post, media files and old-URL redirects."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from blog.extensions import db
from blog.models import Post, PostTag, Redirect

bp = Blueprint("posts", __name__)
MEDIA_MAX_AGE = 365 * 24 * 3600


def published_posts():
    """Posts a reader may see: not drafts, and not scheduled for later."""
    return select(Post).where(Post.draft.is_(False), Post.published_at <= datetime.now(UTC))


@bp.get("/", defaults={"page": 1})
@bp.get("/page/<int:page>/")
def index(page: int):
    query = (
        published_posts()
        .options(selectinload(Post.post_tags).joinedload(PostTag.tag))
        .order_by(Post.published_at.desc(), Post.id.desc())
    )
    pagination = db.paginate(query, page=page, per_page=current_app.config["POSTS_PER_PAGE"], error_out=False)
    if page > 1 and not pagination.items:
        abort(404)
    return render_template("posts/index.html", pagination=pagination)


@bp.get("/posts/<slug>/")
def show(slug: str):
    post = db.session.scalar(published_posts().where(Post.slug == slug))
    if post is None:
        abort(404)
    return render_template("posts/post.html", post=post)


@bp.get("/media/<path:name>")
def media(name: str):
    return send_from_directory(current_app.config["MEDIA_FOLDER"], name, max_age=MEDIA_MAX_AGE)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        return {"status": "error", "database": str(error)}, 503
    return {"status": "ok", "database": "ok"}


def not_found(error):
    """Answer 301 for an old path of an imported post, else show the 404 page."""
    path = request.path
    candidates = {path, path.rstrip("/") or "/", path.rstrip("/") + "/"}
    old = db.session.scalar(select(Redirect).join(Redirect.post).where(Redirect.old_path.in_(candidates)))
    if old is not None:
        return redirect(url_for("posts.show", slug=old.post.slug), code=301)
    return render_template("errors/404.html"), 404


@bp.app_template_filter("localdate")
def localdate(moment: datetime) -> str:
    """A date in the site's time zone, written out: 29 July 2023."""
    local = moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return f"{local.day} {local:%B %Y}"
