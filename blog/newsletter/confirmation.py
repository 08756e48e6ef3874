"""The double opt-in email: render it, build it, send it. Called by the worker task or inline."""

from datetime import datetime
from email.message import EmailMessage

from flask import current_app, render_template

from blog.extensions import db
from blog.models import Subscriber, SubscriberStatus
from blog.newsletter.links import confirm_url, external_url
from blog.newsletter.message import build_message
from blog.newsletter.tokens import MAX_AGE, Purpose
from blog.newsletter.transport import transport_from_config


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
