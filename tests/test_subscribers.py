"""The subscriber lifecycle on a real database: requests, re-sends, confirmation, erasure."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from blog.extensions import db
from blog.models import Subscriber, Suppression
from blog.models import SubscriberStatus as Status
from blog.subscriptions import lifecycle as subscribers

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def consent(at: datetime = NOW, **fields) -> subscribers.Consent:
    return subscribers.Consent(at=at, ip="203.0.113.9", user_agent="Firefox/140", **fields)


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("  Zoe.Reader@Example.COM ", "Zoe.Reader@example.com"),
        ("a+tag@sub.example.org", "a+tag@sub.example.org"),
        ("ana@bücher.example", "ana@xn--bcher-kva.example"),
    ],
)
def test_normalise_email(raw, expected):
    assert subscribers.normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a@b", "two@@example.com", "josé@example.com", "a@-x.com"])
def test_invalid_addresses_say_why(raw):
    with pytest.raises(subscribers.InvalidEmail) as caught:
        subscribers.normalise_email(raw)
    assert str(caught.value)


def test_a_new_address_is_pending_with_its_consent(session):
    subscriber = subscribers.request_subscription(session, "Zoe@example.com", consent())
    assert subscriber is not None
    assert (subscriber.email, subscriber.email_key, subscriber.status) == (
        "Zoe@example.com",
        "zoe@example.com",
        Status.PENDING,
    )
    assert (subscriber.consent_at, subscriber.consent_ip, subscriber.consent_user_agent) == (
        NOW,
        "203.0.113.9",
        "Firefox/140",
    )
    assert subscriber.consent_form_version == subscribers.CONSENT_VERSION
    assert subscriber.confirmation_sent_at == subscriber.created_at == NOW
    assert len(subscriber.token_secret) >= 32


def test_addresses_are_unique_whatever_their_case(session):
    subscribers.request_subscription(session, "Zoe@example.com", consent())
    session.commit()
    assert subscribers.request_subscription(session, "ZOE@EXAMPLE.COM", consent()) is None
    assert session.scalar(select(func.count(Subscriber.id))) == 1
    session.add(Subscriber(email="zoe@example.com", email_key="zoe@example.com"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_confirmation_is_resent_at_most_every_ten_minutes(session):
    assert subscribers.request_subscription(session, "a@example.com", consent(NOW)) is not None
    assert (
        subscribers.request_subscription(session, "a@example.com", consent(NOW + timedelta(minutes=9)))
        is None
    )
    later = NOW + timedelta(minutes=10)
    again = subscribers.request_subscription(session, "a@example.com", consent(later))
    assert again is not None and again.confirmation_sent_at == later
    assert again.consent_at == later  # the newest request is the one being confirmed


def test_an_active_subscriber_is_left_alone(session):
    subscriber = subscribers.request_subscription(session, "a@example.com", consent())
    subscribers.confirm(session, subscriber, "198.51.100.1", NOW + timedelta(minutes=1))
    session.commit()
    assert (
        subscribers.request_subscription(session, "a@example.com", consent(NOW + timedelta(days=1))) is None
    )
    assert (subscriber.status, subscriber.consent_at) == (Status.ACTIVE, NOW)


def test_asking_again_after_leaving_needs_confirmation_again(session):
    subscriber = subscribers.request_subscription(session, "a@example.com", consent())
    subscriber.status = Status.UNSUBSCRIBED
    session.commit()
    again = subscribers.request_subscription(session, "a@example.com", consent(NOW + timedelta(hours=1)))
    assert again is subscriber and subscriber.status == Status.PENDING


@pytest.mark.parametrize("status", [Status.BOUNCED, Status.COMPLAINED])
def test_asking_again_after_a_bounce_or_complaint_sends_nothing(session, status):
    subscriber = subscribers.request_subscription(session, "a@example.com", consent())
    subscriber.status, subscriber.confirmation_due_at = status, None
    session.commit()
    assert (
        subscribers.request_subscription(session, "a@example.com", consent(NOW + timedelta(days=1))) is None
    )
    assert (subscriber.status, subscriber.confirmation_due_at) == (status, None)


def test_confirm_activates_once(session):
    subscriber = subscribers.request_subscription(session, "a@example.com", consent())
    subscriber.bounce_count = 2
    assert subscribers.confirm(session, subscriber, "198.51.100.1", NOW + timedelta(hours=1))
    assert (subscriber.status, subscriber.confirmed_at, subscriber.confirmed_ip, subscriber.bounce_count) == (
        Status.ACTIVE,
        NOW + timedelta(hours=1),
        "198.51.100.1",
        0,
    )
    assert not subscribers.confirm(session, subscriber, "198.51.100.2", NOW + timedelta(hours=2))
    assert subscriber.confirmed_ip == "198.51.100.1"


def test_unsubscribe_is_idempotent(session):
    subscriber = subscribers.request_subscription(session, "a@example.com", consent())
    assert subscribers.unsubscribe(subscriber, NOW + timedelta(days=1))
    assert not subscribers.unsubscribe(subscriber, NOW + timedelta(days=2))
    assert (subscriber.status, subscriber.unsubscribed_at) == (Status.UNSUBSCRIBED, NOW + timedelta(days=1))


def test_erase_keeps_only_a_hash(session):
    subscriber = subscribers.request_subscription(session, "Zoe@Example.com", consent())
    session.commit()
    assert subscribers.erase(session, "zoe@example.com")
    session.commit()
    assert session.scalar(select(func.count(Subscriber.id))) == 0
    hashes = session.scalars(select(Suppression.email_hash)).all()
    assert hashes == [subscribers.suppression_hash("ZOE@example.com")]
    assert "zoe" not in hashes[0]
    assert subscribers.is_suppressed(session, "zoe@example.com")
    assert not subscribers.erase(session, "zoe@example.com")  # unknown now; no second hash
    assert session.scalar(select(func.count(Suppression.id))) == 1
    assert subscriber.id is not None


def test_confirming_again_lifts_the_suppression(session):
    subscribers.request_subscription(session, "a@example.com", consent())
    subscribers.erase(session, "a@example.com")
    session.commit()
    returning = subscribers.request_subscription(session, "a@example.com", consent(NOW + timedelta(days=3)))
    assert subscribers.is_suppressed(session, "a@example.com")  # asking is not enough
    subscribers.confirm(session, returning, None, NOW + timedelta(days=3, minutes=5))
    assert not subscribers.is_suppressed(session, "a@example.com")


def test_coming_back_after_unsubscribing_sends_at_once(session):
    subscriber = subscribers.request_subscription(session, "a@example.com", consent())
    subscribers.confirm(session, subscriber, None, NOW + timedelta(minutes=1))
    subscribers.unsubscribe(subscriber, NOW + timedelta(minutes=2))
    session.commit()
    assert subscribers.request_subscription(session, "a@example.com", consent(NOW + timedelta(minutes=3)))
    assert not subscribers.request_subscription(session, "a@example.com", consent(NOW + timedelta(minutes=4)))


def test_addresses_never_confirmed_are_erased_after_the_retention_period(app, caplog):
    """List hygiene: an address that asked and never confirmed is not kept for ever."""
    from blog.subscriptions.lifecycle import erase_unconfirmed

    now = datetime.now(UTC)
    rows = {
        "stale": ("pending", now - timedelta(days=31)),
        "fresh": ("pending", now - timedelta(days=29)),
        "active": ("active", now - timedelta(days=400)),
        "left": ("unsubscribed", now - timedelta(days=400)),
    }
    with app.app_context():
        for name, (status, asked) in rows.items():
            db.session.add(
                Subscriber(email=f"{name}@example.com", email_key=f"{name}@example.com", status=status,
                           created_at=asked, consent_at=asked)
            )  # fmt: skip
        db.session.commit()
        logger = logging.getLogger("blog.subscriptions.lifecycle")
        logger.addHandler(caplog.handler)  # the app's logging may not propagate to the root
        try:
            with caplog.at_level("INFO", logger=logger.name):
                assert erase_unconfirmed(db.session, now, timedelta(days=30)) == 1
        finally:
            logger.removeHandler(caplog.handler)
        db.session.commit()
        left = sorted(db.session.scalars(select(Subscriber.email_key)))
    assert left == ["active@example.com", "fresh@example.com", "left@example.com"]
    assert "erased 1 address" in caplog.text
