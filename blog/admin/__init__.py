"""The author's console under /admin/: every page needs a signed-in author, every form a CSRF token."""

from flask import Blueprint, Flask, Response, redirect, request, url_for
from flask_login import LoginManager, current_user

from blog.admin import auth, dashboard, digest, emails, imports, outbox, posts, settings, subscribers
from blog.extensions import db
from blog.models import Author
from blog.platform import ratelimit, upload_limits

bp = Blueprint("admin", __name__, url_prefix="/admin")
for section in (auth, dashboard, posts, imports, digest, emails, subscribers, outbox, settings):
    bp.register_blueprint(section.bp)
# The pages reachable without signing in: the sign-in form itself.
PUBLIC_ENDPOINTS = {"admin.auth.sign_in"}
# Admin pages run the console's own script (live preview, progress) and frame the digest preview;
# style attributes are allowed because a post preview shows the colours the sanitiser keeps.
POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' https: data:; "
    "style-src 'self'; style-src-attr 'unsafe-inline'; font-src 'self'; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; manifest-src 'self'"
)
# The console's navigation: (label, endpoint).
NAVIGATION = [
    ("Dashboard", "admin.dashboard.index"),
    ("Posts", "admin.posts.index"),
    ("Import", "admin.imports.upload"),
    ("Digest", "admin.digest.index"),
    ("Emails", "admin.emails.index"),
    ("Subscribers", "admin.subscribers.index"),
    ("Outbox", "admin.outbox.index"),
    ("Settings", "admin.settings.index"),
]


def init_app(app: Flask) -> None:
    """Register the console, sign-in with Flask-Login, and the sign-in rate limit."""
    login_manager = LoginManager(app)
    login_manager.login_view = "admin.auth.sign_in"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_author)
    app.register_blueprint(bp)
    ratelimit.limit_view(app, "admin.auth.sign_in", "SIGN_IN_RATE_LIMIT", "sign-in", ["POST"])
    upload_limits.allow(app, "admin.imports.upload", "IMPORT_MAX_UPLOAD", "IMPORT_MAX_FILES")


def load_author(session_id: str) -> Author | None:
    """The author of a session id ('<id>:<session key>'): a changed password ends old sessions."""
    author_id, _, key = session_id.partition(":")
    author = db.session.get(Author, int(author_id)) if author_id.isdigit() else None
    return author if author is not None and author.session_key == key else None


@bp.before_request
def require_author():
    """Send anonymous visitors to the sign-in page; a one-time password must be changed first."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("admin.auth.sign_in", next=request.full_path.rstrip("?")))
    if current_user.must_change_password and request.endpoint not in auth.PASSWORD_ENDPOINTS:
        return redirect(url_for("admin.auth.password"))
    return None


@bp.after_request
def admin_headers(response: Response) -> Response:
    """Never cache an admin page anywhere; give it the console's policy unless the view set one."""
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Content-Security-Policy", POLICY)
    return response


@bp.context_processor
def navigation() -> dict:
    return {"admin_navigation": NAVIGATION}
