"""What a bounce or complaint does: the one place suppression is decided. No commits.

A hard bounce suppresses the address at once; soft bounces on three digests in a row do; a
complaint unsubscribes and suppresses. Each event is recorded once (MailEvent, UNIQUE source
and event id), so a report read twice, or a webhook delivered twice, counts once. The copy of
the digest it is about keeps the worst outcome (`Delivery.bounce`), which the digest's counts
and the dashboard's rates read.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blog.mail.message import copy_delivery_id
from blog.models import (
    Delivery,
    DeliveryStatus,
    MailEvent,
    Subscriber,
    SuppressionReason,
)
from blog.models import MailEventKind as Kind
from blog.subscriptions import lifecycle

SOFT_BOUNCE_LIMIT = 3  # digests in a row with a soft bounce before the address is suppressed
WORST = {Kind.SOFT_BOUNCE: 1, Kind.HARD_BOUNCE: 2, Kind.COMPLAINT: 3}


class Outcome(StrEnum):
    DUPLICATE = "duplicate"  # this report or event was handled before
    UNMATCHED = "unmatched"  # it names no subscriber we know (erased, or never ours)
    COUNTED = "counted"  # recorded; the address still gets mail
    SUPPRESSED = "suppressed"  # the address gets no more mail


@dataclass(frozen=True)
class Event:
    """One bounce or complaint, from a returned message or a provider's webhook, and what it names:
    a digest's copy (delivery), else a subscriber, else a Message-ID or an address to look up."""

    kind: Kind
    source: str  # mail, ses, postmark, mailgun, sendgrid
    event_id: str | None
    status: str = ""
    diagnostic: str = ""
    delivery_id: int | None = None
    subscriber_id: int | None = None
    message_id: str | None = None
    email: str | None = None


def record(session: Session, event: Event, now: datetime) -> Outcome:
    """Record the event once and act on it."""
    if event.event_id and _seen(session, event):
        return Outcome.DUPLICATE
    delivery, subscriber = _resolve(session, event)
    row = MailEvent(
        subscriber_id=subscriber.id if subscriber else None,
        delivery_id=delivery.id if delivery else None,
        kind=event.kind,
        source=event.source,
        event_id=event.event_id[:200] if event.event_id else None,
        status=event.status[:20] or None,
        diagnostic=event.diagnostic[:2000] or None,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same event, recorded by another process a moment ago
        return Outcome.DUPLICATE
    if subscriber is None:
        return Outcome.UNMATCHED
    if delivery is not None and WORST[event.kind] > WORST.get(delivery.bounce, 0):
        delivery.bounce, delivery.bounced_at = event.kind, now
    suppressed = _decide(session, event, subscriber, now)
    return Outcome.SUPPRESSED if subscriber.status in lifecycle.SUPPRESSED or suppressed else Outcome.COUNTED


def _decide(session: Session, event: Event, subscriber: Subscriber, now: datetime) -> bool:
    detail = " ".join(part for part in (event.status, event.diagnostic) if part)
    if event.kind == Kind.COMPLAINT:
        return lifecycle.suppress(subscriber, SuppressionReason.COMPLAINT, detail, now)
    if event.kind == Kind.HARD_BOUNCE:
        return lifecycle.suppress(subscriber, SuppressionReason.HARD_BOUNCE, detail, now)
    session.flush()
    recent = session.scalars(
        select(Delivery.bounce)
        .where(Delivery.subscriber_id == subscriber.id, Delivery.status == DeliveryStatus.SENT)
        .order_by(Delivery.digest_id.desc())
        .limit(SOFT_BOUNCE_LIMIT)
    ).all()
    if len(recent) == SOFT_BOUNCE_LIMIT and all(bounce is not None for bounce in recent):
        detail = f"soft bounces on {SOFT_BOUNCE_LIMIT} digests in a row; the last: {detail}"
        return lifecycle.suppress(subscriber, SuppressionReason.SOFT_BOUNCES, detail, now)
    return False


def _seen(session: Session, event: Event) -> bool:
    query = select(MailEvent.id).where(MailEvent.source == event.source, MailEvent.event_id == event.event_id)
    return session.scalar(query) is not None


def _resolve(session: Session, event: Event) -> tuple[Delivery | None, Subscriber | None]:
    """The copy and the subscriber an event is about, by the strongest evidence it carries."""
    delivery = session.get(Delivery, event.delivery_id) if event.delivery_id else None
    if delivery is None and event.message_id:
        # By the row the Message-ID names (message_id has no index: each one would cost every
        # mark an index entry), if that row's copy carried it.
        named = copy_delivery_id(event.message_id)
        delivery = session.get(Delivery, named) if named is not None else None
        if delivery is not None and delivery.message_id != event.message_id.strip():
            delivery = None
    if delivery is not None:
        return delivery, delivery.subscriber
    subscriber = session.get(Subscriber, event.subscriber_id) if event.subscriber_id else None
    if subscriber is None and event.email:
        subscriber = lifecycle.find_subscriber(session, event.email)
        if subscriber is not None and event.message_id is None:
            # Only an address to go by (a provider's webhook): the latest digest it was sent.
            delivery = latest_delivery(session, subscriber.id)
    return delivery, subscriber


def latest_delivery(session: Session, subscriber_id: int) -> Delivery | None:
    return session.scalar(
        select(Delivery)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.status == DeliveryStatus.SENT)
        .order_by(Delivery.digest_id.desc())
        .limit(1)
    )


def lift(session: Session, subscriber: Subscriber, now: datetime) -> bool:
    """The author lifts a suppression: mail may go to the address again; the history says so."""
    reason = subscriber.suppressed_reason
    # Confirmed, or imported as confirmed, or sent a digest: it was on the list.
    was_active = subscriber.confirmed_at is not None or latest_delivery(session, subscriber.id) is not None
    if not lifecycle.lift_suppression(subscriber, was_active):
        return False
    session.add(
        MailEvent(
            subscriber_id=subscriber.id,
            kind=Kind.LIFTED,
            source="author",
            diagnostic=f"lifted the suppression ({reason or 'bounced'})",
            created_at=now,
        )
    )
    return True
