"""Rendered-page cache and HTTP validators, keyed by the state of what readers can see.

Every cached page is keyed by a fingerprint of the visible posts (how many, the latest
change, the latest publication) and of the console's settings (the latest change). Any import,
edit, deletion, scheduled post going live or change of the site's title, zone and the like
changes the fingerprint, so stale pages are never served, across processes and without a
restart; old entries simply expire. Each process reads the fingerprint at most once every
SITE_STATE_SECONDS (and again the moment the next scheduled post is due), and keeps the
pages of the current fingerprint in memory in front of the shared cache (Redis), each with
every header of its answer worked out, so a hit is one lookup and one Response.
"""

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, wraps
from typing import NamedTuple

from flask import Flask, Response, current_app, g, make_response, request
from redis.exceptions import RedisError
from sqlalchemy import func, select
from werkzeug.http import http_date

from blog.extensions import cache, db
from blog.models import Post, Setting, as_utc
from blog.platform.security import fixed_headers, policy_for
from blog.site.queries import visible

PAGE = "public, max-age=60"  # HTML: a new post shows within a minute; revalidation is cheap
FEED = "public, max-age=1800"  # feed readers poll; half an hour spares them and us
INDEX = "public, max-age=3600"  # sitemap and robots.txt
STORED_HEADERS = ("Content-Type", "ETag", "Content-Security-Policy")  # shared between processes
LOCAL_ENTRIES = 256  # pages of the current fingerprint kept in each process
SHARED_REST = 5.0  # seconds without the shared cache after Redis failed to answer
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteState:
    version: str
    last_modified: datetime | None
    expires: float = 0.0  # time.monotonic() after which this process reads it again

    @cached_property
    def http_date(self) -> str:
        return http_date(self.last_modified)


class Page(NamedTuple):
    """A cached 200 answer: its body and every header it goes out with."""

    body: bytes
    headers: list[tuple[str, str]]


class ProcessMemo:
    """What one process remembers between requests: the latest state and its pages."""

    def __init__(self) -> None:
        self.state: SiteState | None = None
        self.pages: dict[str, Page] = {}
        self.shared_down_until = 0.0  # time.monotonic() before which the shared cache is not asked


def init_app(app: Flask) -> None:
    app.extensions["pagecache"] = ProcessMemo()


def site_state() -> SiteState:
    """The fingerprint of the visible posts, read once per request at most."""
    state = g.get("site_state")
    if state is None:
        memo: ProcessMemo = current_app.extensions["pagecache"]
        state = memo.state
        if state is None or time.monotonic() >= state.expires:
            state = read_site_state(current_app.config["SITE_STATE_SECONDS"])
            if memo.state is None or memo.state.version != state.version:
                memo.pages = {}
            memo.state = state
        g.site_state = state
    return state


def read_site_state(seconds: float) -> SiteState:
    """One query: how many posts are visible, their latest change and publication, the next due,
    and the latest change of a setting."""
    now = datetime.now(UTC)
    shown = visible(now)
    due = ~shown & Post.draft.is_(False)
    row = db.session.execute(
        select(
            func.count(Post.id).filter(shown),
            func.max(Post.modified_at).filter(shown),
            func.max(Post.published_at).filter(shown),
            func.min(Post.published_at).filter(due),
            select(func.max(Setting.updated_at)).scalar_subquery(),
        )
    ).one()
    count, (changed, published, next_due, configured) = row[0], (as_utc(value) for value in row[1:])
    moments = [moment for moment in (changed, published, configured) if moment is not None]
    expires = time.monotonic() + seconds
    if next_due is not None:  # a scheduled post appears the moment it is due
        expires = min(expires, time.monotonic() + (next_due - now).total_seconds())
    raw = f"{count}|{changed}|{published}|{configured}".encode()
    return SiteState(hashlib.sha1(raw).hexdigest()[:16], max(moments, default=None), expires)


def cached_page(cache_control: str = PAGE, vary_args: Iterable[str] = (), shared: bool = True) -> Callable:
    """Serve a view from the page cache with ETag, Last-Modified and 304s; render on a miss.

    A page whose address a visitor can vary without end (search: any words, any page) is kept
    only in this process's bounded memory (`shared=False`): in the shared Redis, which also holds
    the mail queue, such pages would pile up for a day each.
    """
    vary_args = tuple(vary_args)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(**kwargs) -> Response:
            state = site_state()
            key = f"page:{state.version}:{request.path}?"
            if vary_args:
                key += "&".join(f"{name}={request.args.get(name, '')[:200]}" for name in vary_args)
            use_cache = current_app.config["PAGE_CACHE"]
            page = lookup(key, state, cache_control, shared) if use_cache else None
            if page is None:
                rendered = make_response(view(**kwargs))
                if rendered.status_code != 200:  # redirects and the like are never cached
                    return rendered
                entry = to_entry(rendered)
                page = to_page(entry, state, cache_control)
                if use_cache:
                    if shared:
                        store_shared(key, entry)
                    remember(key, page)
            response = current_app.response_class(page.body, headers=page.headers)
            environ = request.environ
            if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
                return response.make_conditional(request)
            return response

        return wrapper

    return decorator


def lookup(key: str, state: SiteState, cache_control: str, shared: bool = True) -> Page | None:
    """A page from this process's memory, else from the shared cache."""
    memo: ProcessMemo = current_app.extensions["pagecache"]
    page = memo.pages.get(key)
    if page is None and shared and (entry := fetch_shared(key)) is not None:
        page = to_page(entry, state, cache_control)
        remember(key, page)
    return page


def fetch_shared(key: str) -> tuple | None:
    """An entry of the shared cache; a miss when Redis does not answer (pages render without it)."""
    memo: ProcessMemo = current_app.extensions["pagecache"]
    if time.monotonic() < memo.shared_down_until:
        return None
    try:
        return cache.get(key)
    except RedisError as error:
        shared_cache_down(memo, error)
        return None


def store_shared(key: str, entry: tuple) -> None:
    memo: ProcessMemo = current_app.extensions["pagecache"]
    if time.monotonic() < memo.shared_down_until:
        return
    try:
        cache.set(key, entry)
    except RedisError as error:
        shared_cache_down(memo, error)


def shared_cache_down(memo: ProcessMemo, error: Exception) -> None:
    """Leave the shared cache alone for a while: each try would cost REDIS_TIMEOUT again."""
    log.warning("page cache: Redis did not answer (%s); serving without it for %ss", error, SHARED_REST)
    memo.shared_down_until = time.monotonic() + SHARED_REST


def remember(key: str, page: Page) -> None:
    memo: ProcessMemo = current_app.extensions["pagecache"]
    if len(memo.pages) >= LOCAL_ENTRIES:
        memo.pages = {}  # crude but bounded; the shared cache still has them
    memo.pages[key] = page


def to_entry(response: Response) -> tuple[bytes, list[tuple[str, str]]]:
    """A rendered page as (body, headers), with its ETag and CSP worked out once, for every process."""
    body = response.get_data()
    response.set_etag(hashlib.sha1(body).hexdigest())
    response.headers["Content-Security-Policy"] = policy_for(response)
    headers = [(name, value) for name, value in response.headers.items() if name in STORED_HEADERS]
    return body, headers


def to_page(entry: tuple[bytes, list[tuple[str, str]]], state: SiteState, cache_control: str) -> Page:
    """A shared entry with this process's validators, caching rules and security headers added."""
    body, headers = entry
    headers = [*headers, ("Cache-Control", cache_control), *fixed_headers()]
    if state.last_modified is not None:
        headers.append(("Last-Modified", state.http_date))
    return Page(body, headers)
