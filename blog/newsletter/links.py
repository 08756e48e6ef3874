"""Absolute links for messages, built on SITE_URL so they work from the worker (no request there)."""

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app

from blog.newsletter.tokens import Purpose, TokenOwner, make_token


def external_url(endpoint: str, **values: object) -> str:
    """Return the absolute URL of an endpoint on the public SITE_URL."""
    site = urlsplit(current_app.config["SITE_URL"])
    adapter = current_app.url_map.bind(
        site.netloc, script_name=site.path.rstrip("/") or "/", url_scheme=site.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def subscriber_token(subscriber: TokenOwner, purpose: Purpose, now: datetime | None = None) -> str:
    """Sign a token for a subscriber with the app's secret key."""
    return make_token(subscriber, purpose, current_app.config["SECRET_KEY"], now)


def confirm_url(subscriber: TokenOwner, now: datetime | None = None) -> str:
    """The link in a confirmation email: opens a page whose button confirms (valid 7 days)."""
    return external_url("subscribe.confirm", token=subscriber_token(subscriber, Purpose.CONFIRM, now))


def unsubscribe_url(subscriber: TokenOwner, now: datetime | None = None) -> str:
    """The link for List-Unsubscribe and the visible footer link; POST to it unsubscribes at once."""
    return external_url("subscribe.unsubscribe", token=subscriber_token(subscriber, Purpose.UNSUBSCRIBE, now))


def unsubscribe_urls(now: datetime | None = None) -> Callable[[TokenOwner], str]:
    """unsubscribe_url for a whole digest's recipients: the URL around the token is built once."""
    marker = "weeknote-token"
    before, after = external_url("subscribe.unsubscribe", token=marker).split(marker)
    secret = current_app.config["SECRET_KEY"]
    return lambda subscriber: before + make_token(subscriber, Purpose.UNSUBSCRIBE, secret, now) + after
