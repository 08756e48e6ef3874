"""Signed, per-subscriber tokens for confirm and unsubscribe links (itsdangerous, one salt per purpose).

A token carries the subscriber's id and the time it was signed. It is signed with the app's secret
joined to the subscriber's own `token_secret`, so replacing that secret revokes every link at once.
Pure: no Flask; callers pass the app secret and, in tests, the clock.
"""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Protocol

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer


class Purpose(Enum):
    """What a token may be used for; the value is its salt, so one purpose's token fails another's."""

    CONFIRM = "weeknote.subscribe.confirm"
    UNSUBSCRIBE = "weeknote.subscribe.unsubscribe"
    PREFERENCES = "weeknote.subscribe.preferences"  # the link in every email to the preferences page
    PREFERENCES_FORM = "weeknote.subscribe.preferences-form"  # the page's form carries this, not a cookie


MAX_AGE: dict[Purpose, timedelta | None] = {
    Purpose.CONFIRM: timedelta(days=7),
    Purpose.UNSUBSCRIBE: None,  # an unsubscribe link in a year-old digest must still work
    Purpose.PREFERENCES: None,  # as must the preferences link beside it
    Purpose.PREFERENCES_FORM: timedelta(days=1),  # a page left open overnight can still be saved
}


class TokenError(Exception):
    """The token was forged, damaged, for another purpose, or for a subscriber who is gone."""


class TokenExpired(TokenError):
    """The token was genuine but is older than its purpose allows."""


class TokenOwner(Protocol):
    """What a token is made for and checked against: a subscriber's id and their own token secret."""

    id: int
    token_secret: str


class _ClockSigner(TimestampSigner):
    """A TimestampSigner whose clock can be set, so tests move time instead of sleeping."""

    def __init__(self, *args, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        return int((self.now or datetime.now(UTC)).timestamp())


def _serializer(secret_key: str, owner_secret: str, purpose: Purpose, now: datetime | None):
    return URLSafeTimedSerializer(
        f"{secret_key}:{owner_secret}",
        salt=purpose.value,
        signer=_ClockSigner,
        signer_kwargs={"now": now},
    )


def make_token(owner: TokenOwner, purpose: Purpose, secret_key: str, now: datetime | None = None) -> str:
    """Sign a token for this subscriber and purpose, dated now (or at `now`).

    The very token `_serializer(...).dumps(owner.id)` makes (itsdangerous' URL-safe timed
    format: the id as JSON, the time, an HMAC-SHA1 under a key derived "django-concat" from the
    purpose and the two secrets), made directly: every message of a digest carries two, and
    itsdangerous' objects per call cost three times as much. check_token reads it with
    itsdangerous; tests/test_tokens.py holds the two to the same bytes."""
    stamp = int((now or datetime.now(UTC)).timestamp())
    value = _base64(str(owner.id).encode()) + b"." + _base64(stamp.to_bytes(8, "big").lstrip(b"\0"))
    secret = f"{secret_key}:{owner.token_secret}".encode()
    key = hashlib.sha1(purpose.value.encode() + b"signer" + secret).digest()
    return (value + b"." + _base64(hmac.new(key, value, hashlib.sha1).digest())).decode()


def _base64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def token_subscriber_id(token: str) -> int | None:
    """Read the subscriber id a token claims, before checking it; None when it cannot be read."""
    _, payload = URLSafeTimedSerializer("unused").loads_unsafe(token)
    return payload if isinstance(payload, int) and not isinstance(payload, bool) else None


def check_token(
    token: str, owner: TokenOwner, purpose: Purpose, secret_key: str, now: datetime | None = None
) -> None:
    """Raise TokenExpired or TokenError unless `token` is this subscriber's, for this purpose, in date."""
    max_age = MAX_AGE[purpose]
    serializer = _serializer(secret_key, owner.token_secret, purpose, now)
    try:
        payload = serializer.loads(token, max_age=max_age.total_seconds() if max_age else None)
    except SignatureExpired as error:
        raise TokenExpired(f"the link is older than {max_age.days} days") from error
    except BadData as error:
        raise TokenError("the link is not valid") from error
    if payload != owner.id:
        raise TokenError("the link is not valid")


# The small subscribe form on every page carries this instead of a CSRF token: the page stays
# cookie-free and cacheable. It proves only that the form came from this site within the week.
# It is dated to the hour, not the second: a page's bytes, so its ETag, then stay the same when it
# is rendered again (after an edit elsewhere), and visitors' copies keep answering 304.
FORM_SALT = "weeknote.subscribe.form"
FORM_MAX_AGE = timedelta(days=7)


def make_form_token(secret_key: str, now: datetime | None = None) -> str:
    """A token for the small form, dated to the start of this hour (or of `now`'s)."""
    dated = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    return _ClockSigner(secret_key, salt=FORM_SALT, now=dated).sign("form").decode()


def form_token_valid(token: str, secret_key: str, now: datetime | None = None) -> bool:
    """Whether the token was made by this site in the last FORM_MAX_AGE."""
    signer = _ClockSigner(secret_key, salt=FORM_SALT, now=now)
    try:
        return signer.unsign(token, max_age=FORM_MAX_AGE.total_seconds()) == b"form"
    except BadData:
        return False
