"""Absolute links for messages, built on SITE_URL so they work from the worker (no request there)."""

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from blog.platform.urls import external_url
from blog.subscriptions.tokens import Purpose, TokenOwner, make_token


def subscriber_token(subscriber: TokenOwner, purpose: Purpose, now: datetime | None = None) -> str:
    """Sign a token for a subscriber with the app's secret key."""
    return make_token(subscriber, purpose, current_app.config["SECRET_KEY"], now)


def confirm_url(subscriber: TokenOwner, now: datetime | None = None) -> str:
    """The link in a confirmation email: opens a page whose button confirms (valid 7 days)."""
    return external_url("subscribe.confirm", token=subscriber_token(subscriber, Purpose.CONFIRM, now))


def unsubscribe_url(subscriber: TokenOwner, now: datetime | None = None) -> str:
    """The link for List-Unsubscribe and the visible footer link; POST to it unsubscribes at once."""
    return external_url("subscribe.unsubscribe", token=subscriber_token(subscriber, Purpose.UNSUBSCRIBE, now))


def preferences_url(subscriber: TokenOwner, now: datetime | None = None) -> str:
    """The link in every email to the subscriber's preferences page (no password, no cookie)."""
    return external_url("subscribe.preferences", token=subscriber_token(subscriber, Purpose.PREFERENCES, now))


def unsubscribe_urls(now: datetime | None = None) -> Callable[[TokenOwner], str]:
    """unsubscribe_url for a whole digest's recipients: the URL around the token is built once."""
    return _urls("subscribe.unsubscribe", Purpose.UNSUBSCRIBE, now)


def preferences_urls(now: datetime | None = None) -> Callable[[TokenOwner], str]:
    """preferences_url for a whole digest's recipients, built the same way."""
    return _urls("subscribe.preferences", Purpose.PREFERENCES, now)


def _urls(endpoint: str, purpose: Purpose, now: datetime | None) -> Callable[[TokenOwner], str]:
    marker = "weeknote-token"
    before, after = external_url(endpoint, token=marker).split(marker)
    secret = current_app.config["SECRET_KEY"]
    return lambda subscriber: before + make_token(subscriber, purpose, secret, now) + after
