"""Reader pages: the list of posts, one post, and media files."""

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    send_from_directory,
)

from blog.extensions import db
from blog.models import Post
from blog.platform.site_settings import site
from blog.site.pagecache import cached_page
from blog.site.queries import neighbours, newest_first, published_posts, related_posts

bp = Blueprint("posts", __name__)
MEDIA_MAX_AGE = 365 * 24 * 3600


@bp.get("/", defaults={"page": 1})
@bp.get("/page/<int(min=1):page>/")
@cached_page()
def index(page: int):
    pagination = db.paginate(
        newest_first(published_posts()),
        page=page,
        per_page=site().posts_per_page,
        error_out=False,
    )
    if page > 1 and not pagination.items:
        abort(404)
    return render_template("posts/index.html", pagination=pagination)


@bp.get("/posts/<slug>/")
@cached_page()
def show(slug: str):
    post = db.session.scalar(newest_first(published_posts()).where(Post.slug == slug))
    if post is None:
        abort(404)
    older, newer = neighbours(db.session, post)
    related = related_posts(db.session, post, exclude=(older, newer))
    return render_template("posts/post.html", post=post, older=older, newer=newer, related=related)


@bp.get("/media/<path:name>")
def media(name: str):
    response = send_from_directory(current_app.config["MEDIA_FOLDER"], name, max_age=MEDIA_MAX_AGE)
    # Stored names carry a hash of the content: a name never gets other bytes, so never revalidate.
    response.headers["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}, immutable"
    return response
