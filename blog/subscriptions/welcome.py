"""The welcome email after someone confirms: the author's words (Markdown, editable in the
console), when the first digest comes, and the one-click unsubscribe like every list message."""

from email.message import EmailMessage

from flask import current_app, render_template

from blog import jobs
from blog.content.metadata import Metadata
from blog.content.pipeline import render_text
from blog.extensions import db
from blog.mail.html import email_html
from blog.mail.message import build_message, list_headers, site_list_id
from blog.models import Subscriber, SubscriberStatus
from blog.platform import site_settings
from blog.platform.site_settings import site
from blog.platform.urls import external_url
from blog.subscriptions import letters
from blog.subscriptions.links import preferences_url, unsubscribe_url

WELCOME_WIDTH = 560  # the email's column


def welcome_enabled() -> bool:
    """The author's choice in the console, else WELCOME_EMAIL (on by default)."""
    return site_settings.get(db.session, current_app.config, site_settings.WELCOME_EMAIL) == "on"


def build_welcome(subscriber: Subscriber) -> EmailMessage:
    """Render the welcome email for one subscriber who has just confirmed."""
    config = current_app.config
    words = site_settings.get(db.session, config, site_settings.WELCOME_TEXT)
    leave = unsubscribe_url(subscriber)
    rendered = render_text(words, Metadata(title="")).html
    context = {
        "site_title": site().title,
        "site_url": external_url("posts.index"),
        "words": words.strip(),
        "words_html": email_html(rendered, config["SITE_URL"], "the welcome", WELCOME_WIDTH),
        "unsubscribe_url": leave,
        "preferences_url": preferences_url(subscriber),
        "postal_address": site().postal_address,
    }
    return build_message(
        sender=config["MAIL_FROM_ADDRESS"],
        to=subscriber.email,
        subject=f"Welcome to {site().title}",
        text=render_template("email/welcome.txt", **context),
        html=render_template("email/welcome.html", **context),
        headers=list_headers(site_list_id(site().title, config["SITE_URL"]), leave),
    )


WELCOME = letters.Letter(
    name="welcome",
    task=jobs.SEND_WELCOME,
    due=Subscriber.welcome_due_at,
    queued=Subscriber.welcome_queued_at,
    status=SubscriberStatus.ACTIVE,
    build=build_welcome,
    wanted=welcome_enabled,
)
