"""What the console shows about subscribers: counts by status, a searchable page, deliveries."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blog.models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus

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
