"""What the console shows about subscribers: counts by status, a searchable page, deliveries."""

import json
from dataclasses import dataclass

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from blog.models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus, Tag

PER_PAGE = 50


@dataclass(frozen=True)
class SubscriberPage:
    """One page of a filtered list, with what page links need."""

    subscribers: list[Subscriber]
    total: int  # rows matching the filter, on every page
    page: int
    pages: int


def status_counts(session: Session) -> dict[str, int]:
    """How many subscribers have each status, every status present (zero when none)."""
    counts = dict(session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)).all())
    return {status.value: counts.get(status.value, 0) for status in SubscriberStatus}


def find_page(
    session: Session, query: str = "", status: str | None = None, page: int = 1, per_page: int = PER_PAGE
) -> SubscriberPage:
    """Subscribers whose address contains `query` (any case), with `status` if given, newest first."""
    conditions = []
    if query.strip():
        conditions.append(Subscriber.email_key.contains(query.strip().lower(), autoescape=True))
    if status:
        conditions.append(Subscriber.status == status)
    total = session.scalar(select(func.count()).select_from(Subscriber).where(*conditions)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)  # a stale link past the end shows the last page, not nothing
    rows = session.scalars(
        select(Subscriber)
        .where(*conditions)
        .order_by(Subscriber.created_at.desc(), Subscriber.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return SubscriberPage(list(rows), total, page, pages)


def delivered_count(session: Session, subscriber_id: int) -> int:
    """How many digests reached this subscriber's mail server."""
    query = select(func.count()).where(
        Delivery.subscriber_id == subscriber_id, Delivery.status == DeliveryStatus.SENT
    )
    return session.scalar(query) or 0


@dataclass(frozen=True)
class PreferenceCounts:
    """Active subscribers by what they chose: the subscribers page and the dashboard."""

    frequencies: dict[str, int]  # 'post', 'weekly', 'monthly'
    topics: list[tuple[str, int]]  # ('All posts', n), then each topic chosen, most chosen first
    zones: list[tuple[str, int]]  # by zone, most first; 'Not given' for those who gave none
    own_morning: int  # how many chose an hour in their own zone


HAS_HOUR = Subscriber.delivery_hour.is_not(None)
TOPICS = cast(Subscriber.topics, Text)


def overview(session: Session) -> tuple[dict[str, int], PreferenceCounts]:
    """Subscribers by status, and the active ones by what they chose, from one grouped query (the
    dashboard's query count stays fixed; a second reads topic names once topics are chosen)."""
    rows = session.execute(
        select(
            Subscriber.status, Subscriber.frequency, Subscriber.timezone, HAS_HOUR, TOPICS, func.count()
        ).group_by(Subscriber.status, Subscriber.frequency, Subscriber.timezone, HAS_HOUR, TOPICS)
    ).all()
    statuses = {status.value: 0 for status in SubscriberStatus}
    frequencies = {frequency: 0 for frequency in ("post", "weekly", "monthly")}
    zones: dict[str, int] = {}
    chosen: dict[int, int] = {}
    every = own = 0
    for status, frequency, zone, has_hour, topics, count in rows:
        statuses[status] = statuses.get(status, 0) + count
        if status != SubscriberStatus.ACTIVE:
            continue
        frequencies[frequency] = frequencies.get(frequency, 0) + count
        zones[zone or "Not given"] = zones.get(zone or "Not given", 0) + count
        own += count if has_hour else 0
        tag_ids = json.loads(topics) if topics else []
        every += 0 if tag_ids else count
        for tag_id in tag_ids:
            chosen[tag_id] = chosen.get(tag_id, 0) + count
    names = dict(session.execute(select(Tag.id, Tag.name).where(Tag.id.in_(chosen))).all()) if chosen else {}
    topics = sorted(
        ((names.get(tag_id, f"tag {tag_id}"), n) for tag_id, n in chosen.items()), key=lambda x: -x[1]
    )
    choices = PreferenceCounts(
        frequencies=frequencies,
        topics=[("All posts", every), *topics],
        zones=sorted(zones.items(), key=lambda item: (-item[1], item[0])),
        own_morning=own,
    )
    return statuses, choices


def preference_counts(session: Session) -> PreferenceCounts:
    """Active subscribers by frequency, topic and zone (those who never chose: weekly, all posts)."""
    return overview(session)[1]


def on_authors_digest(session: Session) -> int:
    """How many the author's own digest goes to: active, and never chose preferences (the others
    get theirs per audience)."""
    query = select(func.count()).where(
        Subscriber.status == SubscriberStatus.ACTIVE, Subscriber.preferences_at.is_(None)
    )
    return session.scalar(query) or 0
