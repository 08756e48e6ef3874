"""The digest's schedule, its digests and their delivery rows."""

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blog.extensions import db
from blog.models.base import UTCDateTime, new_message_key, one_of, utcnow
from blog.models.people import BOUNCES, Subscriber


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
    # Not indexed: a bounce finds its row by the id in the Message-ID (mail.message.copy_delivery_id).
    message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    # What came back after it was sent: the worst of hard-bounce, soft-bounce and complaint.
    bounce: Mapped[str | None] = mapped_column(String(12))
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    digest: Mapped[Digest] = relationship()
    subscriber: Mapped["Subscriber | None"] = relationship()
