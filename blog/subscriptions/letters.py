"""The two emails a person gets apart from the digest: the confirmation and the welcome.

Each is recorded on the subscriber as due (and when it was last handed to the worker) before
anything is sent: the database, not the queue, is the record. A task claims the mark before it
sends, so of two tasks for one person only one sends; the beat's sweep hands the worker any mark
that no task carries (Redis lost it, or was down when it was asked for).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from blog.extensions import db, send_task
from blog.mail.transport import SendError, transport_from_config
from blog.mail.verp import Sent, verp_from_config
from blog.models import Subscriber, SubscriberStatus

log = logging.getLogger(__name__)
HAND_OVER_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500  # a sweep runs every DISPATCH_INTERVAL; a larger backlog takes a few


@dataclass(frozen=True)
class Letter:
    """One kind of personal email: its task, its marks on the subscriber, who may get it, its builder."""

    name: str
    task: str
    due: InstrumentedAttribute
    queued: InstrumentedAttribute
    status: SubscriberStatus  # the subscriber's status for it to go out (else it is dropped)
    build: Callable[[Subscriber], EmailMessage]
    wanted: Callable[[], bool] = lambda: True  # the author may turn it off while some are due


def send(letter: Letter, subscriber_id: int, retry_at: datetime | None = None) -> str | None:
    """Email the letter if it is due; return its Message-ID, None if nothing was due.

    The due mark is claimed (cleared, and committed) before anything is sent. When the server
    asks to try later, the mark is put back, handed over until `retry_at` (the task's own retry),
    and SendError is raised; a refusal for good leaves it cleared.
    """
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status != letter.status:
        return None  # confirmed, unsubscribed or erased since it was asked for: nothing to send
    due = getattr(subscriber, letter.due.key)
    if due is None:
        return None  # sent already (by another task, or the sweep's)
    claim = update(Subscriber).where(Subscriber.id == subscriber_id, letter.due == due)
    claimed = db.session.execute(claim.values({letter.due: None})).rowcount
    db.session.commit()
    if not claimed or not letter.wanted():
        return None  # another task claimed it a moment ago, or the author turned it off since
    message = letter.build(subscriber)
    verp = verp_from_config(current_app.config)  # a bounce names the subscriber
    envelope = verp.sender(Sent.SUBSCRIBER, subscriber_id) if verp is not None else None
    try:
        with transport_from_config(current_app.config) as transport:
            transport.send(message, envelope)
    except SendError as error:
        if error.temporary:
            again = {letter.due: due, letter.queued: retry_at or datetime.now(UTC)}
            db.session.execute(update(Subscriber).where(Subscriber.id == subscriber_id).values(again))
            db.session.commit()
        raise
    return message["Message-ID"]


def queue(letter: Letter, subscriber_id: int) -> None:
    """Hand a due letter to the worker when REDIS_URL is set, else send it right now.

    Either way it is already recorded as due: if the worker cannot be reached, the sweep hands
    it over once it can, and the visitor never waits for Redis.
    """
    if current_app.config.get("REDIS_URL"):
        if send_task(letter.task, subscriber_id):
            mark_queued(db.session, letter, [subscriber_id], datetime.now(UTC))
            db.session.commit()
        return
    try:
        send(letter, subscriber_id)
    except SendError:
        # Inline (development) sending must not turn a page into an error page; the sweep of a
        # deployment with a worker would retry it.
        db.session.rollback()
        log.exception("could not send the %s email to subscriber %s", letter.name, subscriber_id)


def mark_queued(session: Session, letter: Letter, subscriber_ids: list[int], now: datetime) -> None:
    session.execute(update(Subscriber).where(Subscriber.id.in_(subscriber_ids)).values({letter.queued: now}))


def due(session: Session, letter: Letter, now: datetime, requeue_after: timedelta) -> list[int]:
    """Letters recorded as due that no task has been handed lately. A few seconds' grace lets
    the request that recorded one hand it over itself."""
    stale = now - requeue_after
    query = (
        select(Subscriber.id)
        .where(
            Subscriber.status == letter.status,
            letter.due <= now - HAND_OVER_GRACE,
            or_(letter.queued.is_(None), letter.queued <= stale),
        )
        .order_by(letter.due)
        .limit(SWEEP_BATCH)
    )
    return list(session.scalars(query))


def sweep(letters: list[Letter], now: datetime) -> int:
    """The beat's sweep: hand every forgotten letter to the worker; return how many."""
    requeue_after = timedelta(seconds=float(current_app.config["MAIL_REQUEUE_AFTER"]))
    count = 0
    for letter in letters:
        handed = []
        for subscriber_id in due(db.session, letter, now, requeue_after):
            if not send_task(letter.task, subscriber_id):
                break  # Redis does not answer: the next sweep tries again
            handed.append(subscriber_id)
        if handed:
            mark_queued(db.session, letter, handed, now)
        db.session.commit()
        count += len(handed)
    return count
