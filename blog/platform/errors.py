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
from werkzeug.routing import RequestRedirect

from blog.extensions import db
from blog.models import Redirect
from blog.platform import ratelimit

# A missing page may be cached as long as a page (site.pagecache.PAGE): a post published a
# minute later is found.
NOT_FOUND_CACHE = "public, max-age=60"


def init_app(app: Flask) -> None:
    # First of all hooks: before urls.redirect_on_site_url answers Werkzeug's 308 slash redirect.
    app.before_request_funcs.setdefault(None, []).insert(0, old_address_before_slash)
    app.register_error_handler(404, not_found)
    app.register_error_handler(429, too_many_requests)
    app.register_error_handler(CSRFError, form_expired)
    app.register_error_handler(500, server_error)


def in_console() -> bool:
    return "admin" in request.blueprints


def old_address(path: str):
    """A 301 to the post that once lived at path (with or without its trailing slash), else None."""
    candidates = {path, path.rstrip("/") or "/", path.rstrip("/") + "/"}
    old = db.session.scalar(select(Redirect).join(Redirect.post).where(Redirect.old_path.in_(candidates)))
    if old is None:
        return None
    return redirect(url_for("posts.show", slug=old.post.slug), code=301)


def old_address_before_slash():
    """An old address such as /posts/a.html that a route would first send to /posts/a.html/ (308):
    answer the one 301 straight away."""
    if isinstance(request.routing_exception, RequestRedirect):
        return old_address(request.path)
    return None


def not_found(error: HTTPException):
    """Answer 301 for an old path of an imported post, else show the 404 page."""
    if (moved := old_address(request.path)) is not None:
        return moved
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
