"""The double opt-in email: render it, build it, send it, through the worker or inline."""

import logging
from datetime import datetime
from email.message import EmailMessage

from flask import current_app, render_template
from kombu.exceptions import OperationalError

from blog import jobs
from blog.extensions import db
from blog.mail.message import build_message
from blog.mail.transport import SendError, transport_from_config
from blog.models import Subscriber, SubscriberStatus
from blog.platform.urls import external_url
from blog.subscriptions.links import confirm_url
from blog.subscriptions.tokens import MAX_AGE, Purpose

log = logging.getLogger(__name__)


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


def send_confirmation(subscriber_id: int) -> str | None:
    """Email the confirmation link to a pending subscriber; return its Message-ID, None if not due."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status != SubscriberStatus.PENDING:
        return None  # confirmed, unsubscribed or erased since the request: nothing to send
    message = build_confirmation(subscriber)
    with transport_from_config(current_app.config) as transport:
        transport.send(message)
    return message["Message-ID"]


def queue_confirmation(subscriber_id: int) -> None:
    """Send a confirmation email through the worker when REDIS_URL is set, else right now."""
    if current_app.config.get("REDIS_URL"):
        try:
            current_app.extensions["celery"].send_task(jobs.SEND_CONFIRMATION, args=[subscriber_id])
        except OperationalError:
            log.exception("could not queue the confirmation email for subscriber %s", subscriber_id)
        return
    try:
        send_confirmation(subscriber_id)
    except SendError:
        # Inline (development) sending must not turn a subscribe into an error page, or the answer
        # would differ between new and known addresses. The person can ask again in 10 minutes.
        log.exception("could not send the confirmation email to subscriber %s", subscriber_id)
