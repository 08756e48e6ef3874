"""Per-client rate limits on the few views that need them (on Redis when REDIS_URL is set)."""

import math
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def init_app(app: Flask) -> None:
    """Build this app's limiter. Flask-Limiter keeps its storage on the Limiter object, so one
    shared instance would quietly share limits between apps."""
    limiter = Limiter(get_remote_address, app=app)
    # The only limits are on views, checked by their decorators when the view runs. The app-wide
    # before_request check would resolve (no) limits on every page read: drop just that hook,
    # keeping the limiter's after_request and teardown.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    app.extensions["weeknote_limiter"] = limiter


def limit_view(app: Flask, endpoint: str, setting: str, scope: str, methods: list[str]) -> None:
    """Limit requests with `methods` to one view per client IP; the limit is the config `setting`."""
    limiter: Limiter = app.extensions["weeknote_limiter"]
    limit = limiter.limit(lambda: current_app.config[setting], methods=methods, scope=scope)
    app.view_functions[endpoint] = limit(app.view_functions[endpoint])


def retry_after() -> int:
    """Seconds until the limit this request broke lets the client in again (for Retry-After)."""
    limiter: Limiter = current_app.extensions["weeknote_limiter"]
    broken = limiter.current_limit
    return max(1, math.ceil(broken.reset_at - time.time())) if broken else 60
