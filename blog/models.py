"""Database models: posts, tags, old paths that redirect, subscribers, digests and the authors."""

import secrets
from datetime import UTC, datetime, time
from enum import StrEnum
from uuid import uuid4

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.ext.orderinglist import ordering_list
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blog.extensions import db


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The largest id a row can have (PostgreSQL's integer); a larger number from a URL or a token
# would make SQLite's driver raise OverflowError.
LARGEST_ID = 2**31 - 1


def as_utc(moment: datetime | str | None) -> datetime | None:
    """An aggregate's datetime as aware UTC (SQLite hands back naive values or strings)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_guid() -> str:
    """A feed id for a new post; stored once, so edits and slug changes never change it."""
    return f"urn:uuid:{uuid4()}"


def one_of(column: str, statuses: type[StrEnum]) -> str:
    """The CHECK condition that keeps a status column to the enum's values."""
    return f"{column} IN ({', '.join(repr(status.value) for status in statuses)})"


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    guid: Mapped[str] = mapped_column(String(200), unique=True, index=True, default=new_guid)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    plain_text: Mapped[str] = mapped_column(Text, default="")  # what search indexes and quotes
    excerpt: Mapped[str] = mapped_column(Text, default="")
    reading_minutes: Mapped[int] = mapped_column(default=1)
    draft: Mapped[bool] = mapped_column(default=False, index=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cover_image: Mapped[str | None] = mapped_column(String(1000))
    source_path: Mapped[str | None] = mapped_column(String(1000), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    post_tags: Mapped[list["PostTag"]] = relationship(
        back_populates="post",
        order_by="PostTag.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )
    tags: AssociationProxy[list["Tag"]] = association_proxy(
        "post_tags", "tag", creator=lambda tag: PostTag(tag=tag)
    )
    redirects: Mapped[list["Redirect"]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="Redirect.old_path"
    )

    def __repr__(self) -> str:
        return f"<Post {self.slug}>"


class Tag(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The author offers this tag to subscribers as a topic they can choose on their preferences page.
    topic: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


class PostTag(db.Model):
    """A post's tag, in the order the author wrote them."""

    __tablename__ = "post_tag"

    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    post: Mapped[Post] = relationship(back_populates="post_tags")
    tag: Mapped[Tag] = relationship(lazy="joined")


class Redirect(db.Model):
    """An old URL path (from aliases, redirect_from or permalink) that answers 301."""

    id: Mapped[int] = mapped_column(primary_key=True)
    old_path: Mapped[str] = mapped_column(String(1000), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)

    post: Mapped[Post] = relationship(back_populates="redirects")


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


def new_token_secret() -> str:
    return secrets.token_urlsafe(24)


def new_message_key() -> str:
    return secrets.token_hex(6)


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


class DigestStatus(StrEnum):
    DRAFT = "draft"  # what Send now would send, frozen for the author to confirm; never sent unconfirmed
    NEW = "new"  # being composed: the row exists first, so a second beat cannot make it again
    SKIPPED = "skipped"  # fewer posts than the schedule's minimum
    HELD = "held"  # waiting for the author to approve or cancel it
    SENDING = "sending"
    SENT = "sent"  # no delivery is pending or claimed any more
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for a worker, perhaps until next_attempt_at
    CLAIMED = "claimed"  # a worker is sending it
    SENT = "sent"  # the receiving server accepted it
    FAILED = "failed"  # refused for good, or temporary failures too often
    SKIPPED = "skipped"  # the subscriber left before it was sent


class Schedule(db.Model):
    """When the weekly digest goes out, in the author's zone; next_run_at is its UTC instant."""

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column()  # 0 is Monday
    local_time: Mapped[time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    min_posts: Mapped[int] = mapped_column(default=1)
    hold_for_review: Mapped[bool] = mapped_column(default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Digest(db.Model):
    """One issue of the newsletter, frozen at creation: what the preview shows is what is sent."""

    __table_args__ = (
        UniqueConstraint("schedule_id", "scheduled_for"),
        UniqueConstraint("audience", "scheduled_for"),  # one digest per audience and moment
        CheckConstraint(one_of("status", DigestStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedule.id", ondelete="SET NULL"))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), index=True)  # a DigestStatus
    post_ids: Mapped[list] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(300), default="")
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")  # the author's note (Markdown), frozen with it
    # Part of every copy's Message-ID, so IDs never repeat across sites and databases.
    message_key: Mapped[str] = mapped_column(String(16), default=new_message_key)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a worker last finished a batch: the dispatcher restarts a digest that stalls.
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # None: the author's weekly digest; else its audience's key (newsletter/audiences.py).
    audience: Mapped[str | None] = mapped_column(String(500), index=True)

    schedule: Mapped[Schedule | None] = relationship()


class Delivery(db.Model):
    """One digest to one subscriber: claimed by a worker, then sent, failed or skipped, once."""

    __table_args__ = (
        UniqueConstraint("digest_id", "subscriber_id"),
        # A claim walks (digest, status) in id order and stops at the batch size.
        Index("ix_delivery_digest_status_id", "digest_id", "status", "id"),
        CheckConstraint(one_of("status", DeliveryStatus), name="status"),
        CheckConstraint(one_of("bounce", BOUNCES), name="bounce"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digest.id", ondelete="CASCADE"))
    # SET NULL: erasing a person keeps the digest's counts but not who they were.
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscriber.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # What came back after it was sent: the worst of hard-bounce, soft-bounce and complaint.
    bounce: Mapped[str | None] = mapped_column(String(12))
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    digest: Mapped[Digest] = relationship()
    subscriber: Mapped["Subscriber | None"] = relationship()


class Setting(db.Model):
    """A site setting the author changed in the console; the environment gives its default."""

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Author(UserMixin, db.Model):
    """Someone who signs in to /admin/ to write posts and run the newsletter."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    # Set for a generated password (printed once by `make run`): the first sign-in asks for a new one.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Changes with the password, and is part of the session, so a new password signs out other sessions.
    session_key: Mapped[str] = mapped_column(String(64), default=new_token_secret)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_key}"
