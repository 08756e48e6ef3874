"""Signed links: one salt per purpose, 7-day confirm tokens, long-lived unsubscribe tokens."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from blog.subscriptions.tokens import (
    Purpose,
    TokenError,
    TokenExpired,
    check_token,
    make_token,
    token_subscriber_id,
)

KEY = "app-secret"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Owner:
    id: int
    token_secret: str


ALICE = Owner(7, "alice-secret")


def test_a_token_names_its_subscriber_and_checks_out():
    token = make_token(ALICE, Purpose.CONFIRM, KEY, now=NOW)
    assert token_subscriber_id(token) == 7
    check_token(token, ALICE, Purpose.CONFIRM, KEY, now=NOW)


@pytest.mark.parametrize(
    "made_for,used_for", [(Purpose.CONFIRM, Purpose.UNSUBSCRIBE), (Purpose.UNSUBSCRIBE, Purpose.CONFIRM)]
)
def test_a_token_for_one_purpose_fails_the_other(made_for, used_for):
    token = make_token(ALICE, made_for, KEY, now=NOW)
    with pytest.raises(TokenError) as caught:
        check_token(token, ALICE, used_for, KEY, now=NOW)
    assert not isinstance(caught.value, TokenExpired)


def test_forged_and_damaged_tokens_fail():
    token = make_token(ALICE, Purpose.UNSUBSCRIBE, KEY, now=NOW)
    signature = token.rsplit(".", 1)[1]
    for forged in (
        token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # damaged signature
        make_token(Owner(8, "alice-secret"), Purpose.UNSUBSCRIBE, KEY, now=NOW).rsplit(".", 1)[0]
        + "."
        + signature,  # another id with Alice's signature
        make_token(ALICE, Purpose.UNSUBSCRIBE, "another-app-key", now=NOW),
        "not-a-token",
    ):
        with pytest.raises(TokenError):
            check_token(forged, ALICE, Purpose.UNSUBSCRIBE, KEY, now=NOW)


def test_a_new_token_secret_revokes_old_links():
    token = make_token(ALICE, Purpose.UNSUBSCRIBE, KEY, now=NOW)
    with pytest.raises(TokenError):
        check_token(token, Owner(7, "rotated"), Purpose.UNSUBSCRIBE, KEY, now=NOW)


def test_confirm_tokens_expire_after_seven_days():
    token = make_token(ALICE, Purpose.CONFIRM, KEY, now=NOW)
    check_token(token, ALICE, Purpose.CONFIRM, KEY, now=NOW + timedelta(days=7) - timedelta(seconds=1))
    with pytest.raises(TokenExpired, match="older than 7 days"):
        check_token(token, ALICE, Purpose.CONFIRM, KEY, now=NOW + timedelta(days=7, seconds=1))


@pytest.mark.parametrize("days", [31, 400])
def test_unsubscribe_tokens_outlive_thirty_days(days):
    token = make_token(ALICE, Purpose.UNSUBSCRIBE, KEY, now=NOW)
    check_token(token, ALICE, Purpose.UNSUBSCRIBE, KEY, now=NOW + timedelta(days=days))


def test_unreadable_tokens_name_no_one():
    assert token_subscriber_id("garbage") is None
    assert token_subscriber_id("") is None


def test_the_small_forms_token_keeps_a_page_the_same_for_the_hour():
    """Pages carry the small form's token: if it changed each second, so would every page's
    bytes, and with them its ETag, so a visitor's copy would be sent again after any edit."""
    from blog.subscriptions.tokens import form_token_valid, make_form_token

    hour = datetime(2026, 12, 1, 10, tzinfo=UTC)
    early, late = (make_form_token("secret", now=hour + timedelta(seconds=s)) for s in (1, 3599))
    assert early == late != make_form_token("secret", now=hour + timedelta(hours=1))
    assert form_token_valid(late, "secret", now=hour + timedelta(days=6, hours=23))
    assert not form_token_valid(late, "secret", now=hour + timedelta(days=7, seconds=1))


@pytest.mark.parametrize("purpose", list(Purpose))
def test_tokens_are_made_in_itsdangerous_own_format(purpose):
    # make_token writes the format itself (it is made twice per message of a digest); links
    # already sent, and check_token, read it with itsdangerous: the two must be the same bytes.
    from itsdangerous import URLSafeTimedSerializer

    from blog.subscriptions.tokens import _ClockSigner

    for owner_id, secret, key, moment in [
        (1, "s", KEY, NOW),
        (255, "a" * 40, "ключ", NOW + timedelta(seconds=1)),
        (256, "ünïcode", KEY, datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)),
        (2**31 - 1, "x:y", "k:k", datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC)),
    ]:
        reference = URLSafeTimedSerializer(
            f"{key}:{secret}", salt=purpose.value, signer=_ClockSigner, signer_kwargs={"now": moment}
        ).dumps(owner_id)
        assert make_token(Owner(owner_id, secret), purpose, key, moment) == reference
