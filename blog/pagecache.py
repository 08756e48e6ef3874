"""Rendered-page cache and HTTP validators, keyed by the state of what readers can see.

Every cached page is keyed by a fingerprint of the visible posts (how many, the latest
change, the latest publication). Any import, edit, deletion or scheduled post going live
changes the fingerprint, so stale pages are never served, across processes and without a
restart; old entries simply expire. Each process reads the fingerprint at most once every
SITE_STATE_SECONDS (and again the moment the next scheduled post is due), and keeps the
pages of the current fingerprint in memory in front of the shared cache (Redis).
"""

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, wraps

from flask import Flask, Response, current_app, g, make_response, request
from sqlalchemy import func, select
from werkzeug.http import http_date

from blog.extensions import cache, db
from blog.models import Post
from blog.queries import visible
from blog.security import content_security_policy

PAGE = "public, max-age=60"  # HTML: a new post shows within a minute; revalidation is cheap
FEED = "public, max-age=1800"  # feed readers poll; half an hour spares them and us
INDEX = "public, max-age=3600"  # sitemap and robots.txt
STORED_HEADERS = ("Content-Type", "ETag", "Content-Security-Policy")
LOCAL_ENTRIES = 256  # pages of the current fingerprint kept in each process


@dataclass(frozen=True)
class SiteState:
    version: str
    last_modified: datetime | None
    expires: float = 0.0  # time.monotonic() after which this process reads it again

    @cached_property
    def http_date(self) -> str:
        return http_date(self.last_modified)


class ProcessMemo:
    """What one process remembers between requests: the latest state and its pages."""

    def __init__(self) -> None:
        self.state: SiteState | None = None
        self.pages: dict[str, tuple[bytes, list[tuple[str, str]]]] = {}


def init_app(app: Flask) -> None:
    app.extensions["pagecache"] = ProcessMemo()


def site_state() -> SiteState:
    """The fingerprint of the visible posts, read once per request at most."""
    if "site_state" not in g:
        memo: ProcessMemo = current_app.extensions["pagecache"]
        state = memo.state
        if state is None or time.monotonic() >= state.expires:
            state = read_site_state(current_app.config["SITE_STATE_SECONDS"])
            if memo.state is None or memo.state.version != state.version:
                memo.pages = {}
            memo.state = state
        g.site_state = state
    return g.site_state


def read_site_state(seconds: float) -> SiteState:
    """One query: how many posts are visible, their latest change and publication, the next due."""
    now = datetime.now(UTC)
    shown = visible(now)
    due = ~shown & Post.draft.is_(False)
    row = db.session.execute(
        select(
            func.count(Post.id).filter(shown),
            func.max(Post.modified_at).filter(shown),
            func.max(Post.published_at).filter(shown),
            func.min(Post.published_at).filter(due),
        )
    ).one()
    count, (changed, published, next_due) = row[0], (as_utc(value) for value in row[1:])
    moments = [moment for moment in (changed, published) if moment is not None]
    expires = time.monotonic() + seconds
    if next_due is not None:  # a scheduled post appears the moment it is due
        expires = min(expires, time.monotonic() + (next_due - now).total_seconds())
    raw = f"{count}|{changed}|{published}".encode()
    return SiteState(hashlib.sha1(raw).hexdigest()[:16], max(moments, default=None), expires)


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
            entry = lookup(key) if current_app.config["PAGE_CACHE"] else None
            if entry is None:
                rendered = make_response(view(**kwargs))
                if rendered.status_code != 200:  # redirects and the like are never cached
                    return rendered
                entry = to_entry(rendered)
                if current_app.config["PAGE_CACHE"]:
                    cache.set(key, entry)
                    remember(key, entry)
            body, headers = entry
            response = current_app.response_class(body, headers=headers)
            return finish(response, state, cache_control)

        return wrapper

    return decorator


def lookup(key: str) -> tuple[bytes, list[tuple[str, str]]] | None:
    """A page from this process's memory, else from the shared cache."""
    memo: ProcessMemo = current_app.extensions["pagecache"]
    entry = memo.pages.get(key)
    if entry is None and (entry := cache.get(key)) is not None:
        remember(key, entry)
    return entry


def remember(key: str, entry: tuple[bytes, list[tuple[str, str]]]) -> None:
    memo: ProcessMemo = current_app.extensions["pagecache"]
    if len(memo.pages) >= LOCAL_ENTRIES:
        memo.pages = {}  # crude but bounded; the shared cache still has them
    memo.pages[key] = entry


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
        response.headers["Last-Modified"] = state.http_date
    response.headers["Cache-Control"] = cache_control
    if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
        return response.make_conditional(request)
    return response
