"""The double opt-in email: render it, build it, send it, through the worker or inline."""

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from blog import jobs
from blog.extensions import db, send_task
from blog.mail.message import build_message
from blog.mail.transport import SendError, transport_from_config
from blog.models import Subscriber, SubscriberStatus
from blog.platform.urls import external_url
from blog.subscriptions.links import confirm_url
from blog.subscriptions.tokens import MAX_AGE, Purpose

log = logging.getLogger(__name__)
HAND_OVER_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500  # a sweep runs every DISPATCH_INTERVAL; a larger backlog takes a few


def build_confirmation(subscriber: Subscriber, now: datetime | None = None) -> EmailMessage:
    """Render the text and HTML confirmation email for one subscriber."""
    config = current_app.config
    context = {
        "site_title": config["SITE_TITLE"],
        "site_url": external_url("posts.index"),
        "confirm_url": confirm_url(subscriber, now),
        "valid_days": MAX_AGE[Purpose.CONFIRM].days,
        "postal_address": config["MAIL_POSTAL_ADDRESS"],
        "email": subscriber.email,
    }
    return build_message(
        sender=config["MAIL_FROM_ADDRESS"],
        to=subscriber.email,
        subject=f"Confirm your subscription to {config['SITE_TITLE']}",
        text=render_template("email/confirm.txt", **context),
        html=render_template("email/confirm.html", **context),
        headers={"Auto-Submitted": "auto-generated"},
        now=now,
    )


def send_confirmation(subscriber_id: int, retry_at: datetime | None = None) -> str | None:
    """Email the confirmation link if one is due; return its Message-ID, None if nothing was due.

    The due mark is claimed (cleared, and committed) before anything is sent, so of two tasks
    for one subscriber (the request's and the sweep's, say) only one sends. When the server asks
    to try later, the mark is put back, handed over until `retry_at` (the task's own retry), and
    SendError is raised; a refusal for good leaves it cleared.
    """
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status != SubscriberStatus.PENDING:
        return None  # confirmed, unsubscribed or erased since the request: nothing to send
    due = subscriber.confirmation_due_at
    if due is None:
        return None  # sent already (by another task, or the sweep's)
    claim = update(Subscriber).where(Subscriber.id == subscriber_id, Subscriber.confirmation_due_at == due)
    claimed = db.session.execute(claim.values(confirmation_due_at=None)).rowcount
    db.session.commit()
    if not claimed:
        return None  # another task claimed it a moment ago
    message = build_confirmation(subscriber)
    try:
        with transport_from_config(current_app.config) as transport:
            transport.send(message)
    except SendError as error:
        if error.temporary:
            again = {"confirmation_due_at": due, "confirmation_queued_at": retry_at or datetime.now(UTC)}
            db.session.execute(update(Subscriber).where(Subscriber.id == subscriber_id).values(again))
            db.session.commit()
        raise
    return message["Message-ID"]


def queue_confirmation(subscriber_id: int) -> None:
    """Hand a due confirmation email to the worker when REDIS_URL is set, else send it right now.

    Either way it is already recorded as due (claim_confirmation): if the worker cannot be
    reached, the sweep hands it over once it can, and the visitor never waits for Redis.
    """
    if current_app.config.get("REDIS_URL"):
        if send_task(jobs.SEND_CONFIRMATION, subscriber_id):
            mark_queued(db.session, [subscriber_id], datetime.now(UTC))
            db.session.commit()
        return
    try:
        send_confirmation(subscriber_id)
    except SendError:
        # Inline (development) sending must not turn a subscribe into an error page, or the answer
        # would differ between new and known addresses. The person can ask again in 10 minutes.
        db.session.rollback()
        log.exception("could not send the confirmation email to subscriber %s", subscriber_id)


def mark_queued(session: Session, subscriber_ids: list[int], now: datetime) -> None:
    session.execute(
        update(Subscriber).where(Subscriber.id.in_(subscriber_ids)).values(confirmation_queued_at=now)
    )


def due_confirmations(session: Session, now: datetime, requeue_after: timedelta) -> list[int]:
    """Confirmations recorded as due that no task has been handed lately (the queue lost them, or
    Redis was down when they were asked for). A few seconds' grace lets the request that recorded
    one hand it over itself."""
    stale = now - requeue_after
    query = (
        select(Subscriber.id)
        .where(
            Subscriber.status == SubscriberStatus.PENDING,
            Subscriber.confirmation_due_at <= now - HAND_OVER_GRACE,
            or_(Subscriber.confirmation_queued_at.is_(None), Subscriber.confirmation_queued_at <= stale),
        )
        .order_by(Subscriber.confirmation_due_at)
        .limit(SWEEP_BATCH)
    )
    return list(session.scalars(query))


def sweep_confirmations(now: datetime) -> int:
    """The beat's sweep: hand every forgotten confirmation to the worker; return how many."""
    requeue_after = timedelta(seconds=float(current_app.config["MAIL_REQUEUE_AFTER"]))
    handed = []
    for subscriber_id in due_confirmations(db.session, now, requeue_after):
        if not send_task(jobs.SEND_CONFIRMATION, subscriber_id):
            break  # Redis does not answer: the next sweep tries again
        handed.append(subscriber_id)
    if handed:
        mark_queued(db.session, handed, now)
    db.session.commit()
    return len(handed)
