"""Subscribers, what their mail brought back (bounces, complaints) and the addresses never to mail."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from blog.extensions import db
from blog.models.base import UTCDateTime, new_token_secret, one_of, utcnow


class SubscriberStatus(StrEnum):
    PENDING = "pending"  # asked to subscribe, has not confirmed yet
    ACTIVE = "active"  # confirmed: receives the digest
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"  # the address failed hard too often
    COMPLAINED = "complained"  # marked a message as spam


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "hard-bounce"  # one bounce that says the address does not exist
    SOFT_BOUNCES = "soft-bounces"  # soft bounces on three digests in a row
    COMPLAINT = "complaint"  # the reader marked a message as spam


class MailEventKind(StrEnum):
    HARD_BOUNCE = "hard-bounce"
    SOFT_BOUNCE = "soft-bounce"
    COMPLAINT = "complaint"
    LIFTED = "lifted"  # the author lifted the suppression


BOUNCES = (MailEventKind.HARD_BOUNCE, MailEventKind.SOFT_BOUNCE, MailEventKind.COMPLAINT)


class Subscriber(db.Model):
    """A person on the mailing list, with the record of how and when they agreed."""

    __table_args__ = (
        CheckConstraint(one_of("status", SubscriberStatus), name="status"),
        CheckConstraint(one_of("suppressed_reason", SuppressionReason), name="suppressed_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # as typed, domain normalised; mail goes here
    email_key: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased: one row per address
    status: Mapped[str] = mapped_column(String(12), default=SubscriberStatus.PENDING, index=True)
    token_secret: Mapped[str] = mapped_column(String(64), default=new_token_secret)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A confirmation email that must still go out, and when it was last handed to the worker: the
    # database, not the queue, is the record, so a sweep can hand it over again (mail outbox).
    confirmation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    confirmation_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The welcome email after confirming, recorded the same way as the confirmation email.
    welcome_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    welcome_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounce_count: Mapped[int] = mapped_column(default=0)
    # Why no mail goes here any more (bounced or complained), until the author lifts it: the rule
    # that decided (a SuppressionReason) and the receiving server's own words.
    suppressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suppressed_reason: Mapped[str | None] = mapped_column(String(20))
    suppressed_detail: Mapped[str | None] = mapped_column(Text)
    # Consent: what the person saw and did when they asked (or who vouched for them on import).
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    consent_user_agent: Mapped[str | None] = mapped_column(String(500))
    consent_form_version: Mapped[str | None] = mapped_column(String(40))
    consent_source: Mapped[str] = mapped_column(String(20), default="form")
    consent_note: Mapped[str | None] = mapped_column(Text)
    confirmed_ip: Mapped[str | None] = mapped_column(String(45))
    # Preferences, checked in ledger.py (docs/subscriber-preferences.md): topics are tag ids (none:
    # every post); a delivery_hour in `timezone`, or None for the author's schedule. Once saved
    # (preferences_at), the dispatcher places next_send_at; covered_until ends their last period.
    frequency: Mapped[str] = mapped_column(String(8), default="weekly")  # a ledger.Frequency
    topics: Mapped[list] = mapped_column(JSON, default=list)
    timezone: Mapped[str | None] = mapped_column(String(64))
    delivery_hour: Mapped[int | None] = mapped_column()
    preferences_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_send_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    covered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Subscriber {self.id} {self.status}>"


class MailEvent(db.Model):
    """A bounce or complaint as it arrived (from the mailbox, a file or a provider's webhook), or the
    author lifting a suppression: the subscriber's history, and the record that makes each report
    count once (UNIQUE source and event id)."""

    __tablename__ = "mail_event"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        CheckConstraint(one_of("kind", MailEventKind), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL"), index=True
    )
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(20))  # mail, ses, postmark, mailgun, sendgrid, author
    event_id: Mapped[str | None] = mapped_column(String(200))  # the report's or provider's own id
    status: Mapped[str | None] = mapped_column(String(20))  # an enhanced status code, like 5.1.1
    diagnostic: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WebhookNonce(db.Model):
    """A one-time token a provider signed (Mailgun's), kept so that a replayed request is refused."""

    __tablename__ = "webhook_nonce"
    __table_args__ = (UniqueConstraint("provider", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    nonce: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Suppression(db.Model):
    """An erased address, kept only as a hash so an import cannot bring it back by accident."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(40), default="erased")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
