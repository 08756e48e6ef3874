"""Rendered-page cache and HTTP validators, keyed by the state of what readers can see.

Every cached page is keyed by a fingerprint of the visible posts (how many, the latest
change, the latest publication), read with one small query per request. Any import,
edit, deletion or scheduled post going live changes the fingerprint, so stale pages are
never served, across processes and without a restart; old entries simply expire.
"""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps

from flask import Response, current_app, g, make_response, request
from sqlalchemy import func, select

from blog.extensions import cache, db
from blog.models import Post
from blog.queries import visible
from blog.security import content_security_policy

PAGE = "public, max-age=60"  # HTML: a new post shows within a minute; revalidation is cheap
FEED = "public, max-age=1800"  # feed readers poll; half an hour spares them and us
INDEX = "public, max-age=3600"  # sitemap and robots.txt
STORED_HEADERS = ("Content-Type", "ETag", "Content-Security-Policy")


@dataclass(frozen=True)
class SiteState:
    version: str
    last_modified: datetime | None


def site_state() -> SiteState:
    """The fingerprint of the visible posts, read once per request."""
    if "site_state" not in g:
        now = datetime.now(UTC)
        count, changed, published = db.session.execute(
            select(func.count(Post.id), func.max(Post.modified_at), func.max(Post.published_at)).where(
                visible(now)
            )
        ).one()
        changed, published = as_utc(changed), as_utc(published)
        moments = [moment for moment in (changed, published) if moment is not None]
        raw = f"{count}|{changed}|{published}".encode()
        g.site_state = SiteState(hashlib.sha1(raw).hexdigest()[:16], max(moments, default=None))
    return g.site_state


def as_utc(moment: datetime | str | None) -> datetime | None:
    """An aggregate's datetime as aware UTC (SQLite hands back naive values or strings)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def cached_page(cache_control: str = PAGE, vary_args: Iterable[str] = ()) -> Callable:
    """Serve a view from the page cache with ETag, Last-Modified and 304s; render on a miss."""
    vary_args = tuple(vary_args)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(**kwargs) -> Response:
            state = site_state()
            args = "&".join(f"{name}={request.args.get(name, '')[:200]}" for name in vary_args)
            key = f"page:{state.version}:{request.path}?{args}"
            entry = cache.get(key) if current_app.config["PAGE_CACHE"] else None
            if entry is None:
                rendered = make_response(view(**kwargs))
                if rendered.status_code != 200:  # redirects and the like are never cached
                    return rendered
                entry = to_entry(rendered)
                if current_app.config["PAGE_CACHE"]:
                    cache.set(key, entry)
            body, headers = entry
            response = current_app.response_class(body, headers=headers)
            return finish(response, state, cache_control)

        return wrapper

    return decorator


def to_entry(response: Response) -> tuple[bytes, list[tuple[str, str]]]:
    """A rendered page as (body, headers), with its ETag and CSP worked out once."""
    body = response.get_data()
    response.set_etag(hashlib.sha1(body).hexdigest())
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = content_security_policy(body)
    headers = [(name, value) for name, value in response.headers.items() if name in STORED_HEADERS]
    return body, headers


def finish(response: Response, state: SiteState, cache_control: str) -> Response:
    """Add validators and caching rules, and answer 304 when the client's copy is current."""
    if state.last_modified is not None:
        response.last_modified = state.last_modified
    response.headers["Cache-Control"] = cache_control
    return response.make_conditional(request)
