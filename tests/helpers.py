"""Small helpers shared by the tests: CSRF tokens, links in messages, subscriber look-ups."""

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from sqlalchemy import select

from blog.extensions import db
from blog.models import Subscriber

CSRF_INPUT = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def submit(client, path: str, data: dict, **kwargs):
    """GET a page, then POST `data` to it with the page's CSRF token, like a browser would."""
    token = csrf_token(client.get(path).text)
    return client.post(path, data={"csrf_token": token} | data, **kwargs)


def subscribe(client, email: str, **kwargs):
    return submit(client, "/subscribe", {"email": email, "website": ""}, **kwargs)


def subscriber(app, email: str) -> Subscriber | None:
    """The subscriber row as the database has it now (a fresh session, nothing cached)."""
    with app.app_context():
        row = db.session.scalar(select(Subscriber).where(Subscriber.email_key == email.lower()))
        if row is not None:
            db.session.expunge(row)
        db.session.remove()
        return row


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a multipart/alternative message."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def confirm_link(message: EmailMessage) -> str:
    text, html = parts(message)
    links = re.findall(r"https?://\S+/subscribe/confirm/[\w.-]+", text)
    assert len(set(links)) == 1, links
    assert f'href="{links[0]}"' in html
    return links[0]


def outbox(app) -> list[EmailMessage]:
    """The messages the development transport wrote into the instance folder, oldest first."""
    folder = Path(app.config["OUTBOX_FOLDER"])
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [message_from_bytes(path.read_bytes(), policy=default) for path in files]
