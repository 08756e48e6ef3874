"""Every app-wide error page: a moved post's old address, not found, too many requests, an expired
form, and the plain apology when something broke.

Console pages (under /admin/) get the console's own version of a page where one exists. The one
handler scoped to a single view, a cover image over COVER_MAX_BYTES, stays with that view
(admin/posts.py).
"""

from flask import Flask, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from blog.extensions import db
from blog.models import Redirect
from blog.platform import ratelimit

# A missing page may be cached as long as a page (site.pagecache.PAGE): a post published a
# minute later is found.
NOT_FOUND_CACHE = "public, max-age=60"


def init_app(app: Flask) -> None:
    app.register_error_handler(404, not_found)
    app.register_error_handler(429, too_many_requests)
    app.register_error_handler(CSRFError, form_expired)
    app.register_error_handler(500, server_error)


def in_console() -> bool:
    return "admin" in request.blueprints


def not_found(error: HTTPException):
    """Answer 301 for an old path of an imported post, else show the 404 page."""
    path = request.path
    candidates = {path, path.rstrip("/") or "/", path.rstrip("/") + "/"}
    old = db.session.scalar(select(Redirect).join(Redirect.post).where(Redirect.old_path.in_(candidates)))
    if old is not None:
        return redirect(url_for("posts.show", slug=old.post.slug), code=301)
    return render_template("errors/404.html"), 404, {"Cache-Control": NOT_FOUND_CACHE}


def too_many_requests(error: HTTPException):
    template = "admin/auth/limited.html" if in_console() else "subscribe/limited.html"
    page = render_template(template, limit=getattr(error, "description", ""))
    return page, 429, {"Retry-After": str(ratelimit.retry_after())}


def form_expired(error: CSRFError):
    template = "admin/form_expired.html" if in_console() else "subscribe/form_expired.html"
    return render_template(template, reason=error.description), 400


def server_error(error: HTTPException):
    """A plain apology that needs no database (the database may be why we are here)."""
    return render_template("errors/500.html"), 500, {"Cache-Control": "no-store"}
