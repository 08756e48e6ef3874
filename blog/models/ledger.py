"""What the newsletter keeps per subscriber beside the Subscriber row: their preferences' values,
the history of their changes (part of the consent record), and the post ledger (which digest
carried which post to whom)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from blog.extensions import db
from blog.models.base import UTCDateTime, one_of, utcnow
from blog.models.people import Subscriber


class Frequency(StrEnum):
    """How often a subscriber gets mail: each post on its own, the weekly digest, or one a month."""

    POST = "post"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


# The preference columns of Subscriber (people.py) are kept to their values here, beside the enum.
Subscriber.__table__.append_constraint(CheckConstraint(one_of("frequency", Frequency), name="frequency"))
Subscriber.__table__.append_constraint(
    CheckConstraint("delivery_hour IS NULL OR delivery_hour BETWEEN 0 AND 23", name="delivery_hour")
)


class CarriedPost(db.Model):
    """The post ledger: which digest carried which post to which subscriber. UNIQUE (subscriber,
    post): a post goes to a subscriber at most once, whatever kind of mail carries it."""

    __tablename__ = "carried_post"
    __table_args__ = (UniqueConstraint("subscriber_id", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digest.id", ondelete="CASCADE"), index=True)


class PreferenceEvent(db.Model):
    """A change of preferences, as the subscriber made it: part of their consent record."""

    __tablename__ = "preference_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    frequency: Mapped[str] = mapped_column(String(8))
    topics: Mapped[list] = mapped_column(JSON, default=list)  # the names, as the page showed them
    timezone: Mapped[str | None] = mapped_column(String(64))
    delivery_hour: Mapped[int | None] = mapped_column()
