"""The double opt-in email: render it and build it; letters.py sends it once, through the worker
or inline."""

from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from sqlalchemy.orm import Session

from blog import jobs
from blog.mail.message import build_message
from blog.models import Subscriber, SubscriberStatus
from blog.platform.site_settings import site
from blog.platform.urls import external_url
from blog.subscriptions import letters
from blog.subscriptions.links import confirm_url
from blog.subscriptions.tokens import MAX_AGE, Purpose


def build_confirmation(subscriber: Subscriber, now: datetime | None = None) -> EmailMessage:
    """Render the text and HTML confirmation email for one subscriber."""
    config = current_app.config
    context = {
        "site_title": site().title,
        "site_url": external_url("posts.index"),
        "confirm_url": confirm_url(subscriber, now),
        "valid_days": MAX_AGE[Purpose.CONFIRM].days,
        "postal_address": site().postal_address,
        "email": subscriber.email,
    }
    return build_message(
        sender=config["MAIL_FROM_ADDRESS"],
        to=subscriber.email,
        subject=f"Confirm your subscription to {site().title}",
        text=render_template("email/confirm.txt", **context),
        html=render_template("email/confirm.html", **context),
        headers={"Auto-Submitted": "auto-generated"},
        now=now,
    )


CONFIRMATION = letters.Letter(
    name="confirmation",
    task=jobs.SEND_CONFIRMATION,
    due=Subscriber.confirmation_due_at,
    queued=Subscriber.confirmation_queued_at,
    status=SubscriberStatus.PENDING,
    build=build_confirmation,
)


def send_confirmation(subscriber_id: int, retry_at: datetime | None = None) -> str | None:
    """Email the confirmation link if one is due (see letters.send)."""
    return letters.send(CONFIRMATION, subscriber_id, retry_at)


def queue_confirmation(subscriber_id: int) -> None:
    """Hand a due confirmation email to the worker, or send it now without one (see letters.queue)."""
    letters.queue(CONFIRMATION, subscriber_id)


def due_confirmations(session: Session, now: datetime, requeue_after: timedelta) -> list[int]:
    """Confirmations recorded as due that no task has been handed lately."""
    return letters.due(session, CONFIRMATION, now, requeue_after)
