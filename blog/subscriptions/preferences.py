"""A subscriber's preferences: how often, which topics, and when; every change kept with the consent.

No request, no commits: the preferences page (views.py) parses the form and commits. Saving
hands the subscriber to the audience dispatcher (newsletter/audiences.py), which places their
next send and composes their mail with everyone who chose the same.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blog.models import Delivery, DeliveryStatus, Digest, Frequency, PreferenceEvent, Subscriber, Tag, as_utc
from blog.subscriptions.lifecycle import FIRST_PERIOD

FREQUENCY_LABELS = {
    Frequency.POST: "Every post, a few minutes after it is published",
    Frequency.WEEKLY: "Weekly digest",
    Frequency.MONTHLY: "Monthly digest, after each calendar month",
}


class PreferenceError(ValueError):
    """A value the page cannot take; `field` says which, the message what to do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Preferences:
    frequency: str = Frequency.WEEKLY
    topics: tuple[int, ...] = ()  # tag ids; empty is every post
    timezone: str | None = None
    delivery_hour: int | None = None  # None: the author's schedule


def zone_names() -> list[str]:
    """The IANA zones a subscriber can pick from (the page's select), sorted."""
    return sorted(name for name in available_timezones() if "/" in name and not name.startswith("Etc/"))


def topic_tags(session: Session) -> list[Tag]:
    """The tags the author offers as topics, by name."""
    return list(session.scalars(select(Tag).where(Tag.topic.is_(True)).order_by(func.lower(Tag.name))))


def all_tags(session: Session) -> list[tuple[Tag, int]]:
    """Every tag with how many subscribers chose it, by name: the console's topics control."""
    tags = list(session.scalars(select(Tag).order_by(func.lower(Tag.name))))
    chosen: dict[int, int] = {}
    for (topics,) in session.execute(select(Subscriber.topics).where(Subscriber.status == "active")):
        for tag_id in topics or ():
            chosen[tag_id] = chosen.get(tag_id, 0) + 1
    return [(tag, chosen.get(tag.id, 0)) for tag in tags]


def set_topics(session: Session, tag_ids: set[int]) -> int:
    """Offer exactly these tags as topics; return how many are offered. A subscriber who chose a tag
    that is no longer offered keeps it (their mail does not change behind their back)."""
    for tag in session.scalars(select(Tag)):
        tag.topic = tag.id in tag_ids
    return len(tag_ids)


def current(subscriber: Subscriber) -> Preferences:
    return Preferences(
        subscriber.frequency, tuple(subscriber.topics or ()), subscriber.timezone, subscriber.delivery_hour
    )


def parse_preferences(
    frequency: str, topics: list[str], timezone: str, when: str, hour: str, offered: list[Tag]
) -> Preferences:
    """The form's values checked: a known frequency, offered topics, a real zone and an hour 0-23."""
    if frequency not in set(Frequency):
        raise PreferenceError("frequency", "Choose every post, weekly or monthly.")
    offered_ids = {tag.id for tag in offered}
    try:
        chosen = tuple(sorted({int(value) for value in topics}))
    except ValueError:
        raise PreferenceError("topics", "Choose topics from the list.") from None
    if not set(chosen) <= offered_ids:
        raise PreferenceError("topics", "One of those topics is no longer offered; choose again.")
    zone = timezone.strip() or None
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"Unknown time zone {zone!r}: pick yours from the list."
            raise PreferenceError("timezone", message) from None
    delivery_hour = None
    if when == "mine":
        if zone is None:
            raise PreferenceError("timezone", "Pick your time zone, so the email comes in your morning.")
        try:
            delivery_hour = int(hour)
        except ValueError:
            raise PreferenceError("hour", "Pick the hour the email should arrive.") from None
        if not 0 <= delivery_hour <= 23:
            raise PreferenceError("hour", "Pick an hour between 00:00 and 23:00.")
    elif when != "author":
        raise PreferenceError("when", "Choose the author's schedule or your own morning.")
    return Preferences(Frequency(frequency), chosen, zone, delivery_hour)


def covered_so_far(session: Session, subscriber: Subscriber) -> datetime | None:
    """The end of the newest period a digest covered for this subscriber (None: none yet)."""
    newest = session.scalar(
        select(func.max(Digest.period_end))
        .join(Delivery, Delivery.digest_id == Digest.id)
        .where(Delivery.subscriber_id == subscriber.id, Delivery.status != DeliveryStatus.SKIPPED)
    )
    return as_utc(newest)


def save_preferences(
    session: Session,
    subscriber: Subscriber,
    chosen: Preferences,
    now: datetime,
    ip: str | None = None,
    user_agent: str | None = None,
) -> bool:
    """Store the subscriber's choice and append it to their history; False when nothing changed.

    The first save moves them from the author's one weekly digest to their own audience, starting
    where the digests they already got ended, so no post reaches them twice. Their next send is
    placed again by the dispatcher (next_send_at None): the change takes effect from the next send.
    """
    if subscriber.preferences_at is not None and current(subscriber) == chosen:
        return False
    if subscriber.preferences_at is None:  # their first period starts where the author's digests left them
        first = max(subscriber.confirmed_at or now, now - FIRST_PERIOD)
        subscriber.covered_until = covered_so_far(session, subscriber) or first
    subscriber.frequency, subscriber.topics = chosen.frequency, list(chosen.topics)
    subscriber.timezone, subscriber.delivery_hour = chosen.timezone, chosen.delivery_hour
    subscriber.preferences_at, subscriber.next_send_at = now, None
    names = {tag.id: tag.name for tag in session.scalars(select(Tag).where(Tag.id.in_(chosen.topics)))}
    session.add(
        PreferenceEvent(
            subscriber_id=subscriber.id,
            created_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:500] or None,
            frequency=chosen.frequency,
            topics=[names.get(tag_id, str(tag_id)) for tag_id in chosen.topics],
            timezone=chosen.timezone,
            delivery_hour=chosen.delivery_hour,
        )
    )
    return True


def history(session: Session, subscriber_id: int) -> list[PreferenceEvent]:
    """The subscriber's changes of preferences, newest first (the console's subscriber page)."""
    return list(
        session.scalars(
            select(PreferenceEvent)
            .where(PreferenceEvent.subscriber_id == subscriber_id)
            .order_by(PreferenceEvent.created_at.desc(), PreferenceEvent.id.desc())
        )
    )


def describe(event_or_subscriber, topic_names: list[str] | None = None) -> str:
    """'Weekly · ML, Python · 08:00 Asia/Tokyo': a choice in one line, for the console."""
    frequency = {Frequency.POST: "Every post", Frequency.WEEKLY: "Weekly", Frequency.MONTHLY: "Monthly"}[
        Frequency(event_or_subscriber.frequency)
    ]
    topics = ", ".join(topic_names) if topic_names else "all posts"
    hour = event_or_subscriber.delivery_hour
    when = "the author's schedule" if hour is None else f"{hour:02d}:00 {event_or_subscriber.timezone}"
    return f"{frequency} · {topics} · {when}"
