"""The confirmation email: its content, inline sending over SMTP, and failures that send nothing."""

from datetime import UTC, datetime

import pytest
from helpers import confirm_link, parts, subscribe, subscriber
from sqlalchemy import select

from blog.extensions import db
from blog.mail.message import HeaderInjectionError
from blog.models import Subscriber
from blog.subscriptions.confirmation import build_confirmation, send_confirmation


def test_the_email_has_the_link_and_the_postal_address_in_both_parts(app_factory):
    app = app_factory(
        SITE_URL="https://notes.example.com/blog",
        SITE_TITLE="Ada's Notes",
        MAIL_FROM="Ada's Notes <digest@notes.example.com>",
        MAIL_POSTAL_ADDRESS="1 Example Street, 12345 Example City",
    )
    subscribe(app.test_client(), "a@example.org")
    with app.app_context():
        row = db.session.scalar(select(Subscriber))
        message = build_confirmation(row)
    assert str(message["Subject"]) == "Confirm your subscription to Ada's Notes"
    assert str(message["From"]) == "Ada's Notes <digest@notes.example.com>"
    assert message["Message-ID"].endswith("@notes.example.com>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert confirm_link(message).startswith("https://notes.example.com/blog/subscribe/confirm/")
    text, html = parts(message)
    assert "1 Example Street, 12345 Example City" in text and "1 Example Street, 12345 Example City" in html
    assert "Ada&#39;s Notes" in html  # escaped in HTML


def test_inline_sending_goes_to_the_smtp_server(app_factory, smtp_server, smtp_config):
    app = app_factory(**smtp_config)
    assert subscribe(app.test_client(), "a@example.org").status_code == 303
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "a@example.org"


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "550 5.1.1 No such user"])
def test_an_smtp_failure_inline_still_gives_the_same_answer(app_factory, smtp_server, smtp_config, reply):
    app = app_factory(**smtp_config)
    client = app.test_client()
    smtp_server.handler.reply = reply
    failed = subscribe(client, "a@example.org")
    smtp_server.handler.reply = None
    worked = subscribe(client, "b@example.org")
    assert (failed.status_code, failed.headers["Location"], failed.data) == (
        worked.status_code,
        worked.headers["Location"],
        worked.data,
    )
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["b@example.org"]
    assert subscriber(app, "a@example.org").status == "pending"


def test_a_line_break_in_the_subject_raises_and_sends_nothing(app_factory, smtp_server, smtp_config):
    app = app_factory(SITE_TITLE="Notes\r\nBcc: victim@example.net", **smtp_config)
    with app.app_context():
        due = datetime.now(UTC)
        row = Subscriber(email="a@example.org", email_key="a@example.org", confirmation_due_at=due)
        db.session.add(row)
        db.session.commit()
        with pytest.raises(HeaderInjectionError, match="Subject"):
            send_confirmation(row.id)
    assert smtp_server.messages == []


def test_nothing_is_sent_to_someone_no_longer_pending(app, smtp_server):
    with app.app_context():
        row = Subscriber(email="a@example.org", email_key="a@example.org", status="active")
        db.session.add(row)
        db.session.commit()
        assert send_confirmation(row.id) is None
        assert send_confirmation(row.id + 1000) is None


def test_the_sweep_hands_over_what_no_task_carries_and_leaves_the_rest(app):
    from datetime import timedelta

    from blog.subscriptions.confirmation import due_confirmations

    now = datetime.now(UTC)
    later = timedelta(minutes=5)
    rows = {
        "lost": {"confirmation_due_at": now - timedelta(minutes=1)},  # Redis was down: never queued
        "fresh": {"confirmation_due_at": now},  # the request is handing it over itself
        "queued": {"confirmation_due_at": now - timedelta(minutes=1), "confirmation_queued_at": now},
        "stale": {"confirmation_due_at": now - timedelta(hours=1), "confirmation_queued_at": now - later * 2},
        "sent": {"confirmation_due_at": None},
    }
    with app.app_context():
        for name, values in rows.items():
            db.session.add(Subscriber(email=f"{name}@example.org", email_key=f"{name}@example.org", **values))
        db.session.commit()
        ids = due_confirmations(db.session, now, later)
        emails = {db.session.get(Subscriber, subscriber_id).email for subscriber_id in ids}
    assert emails == {"lost@example.org", "stale@example.org"}


def test_a_temporary_refusal_puts_the_confirmation_back_for_the_tasks_own_retry(
    app_factory, smtp_server, smtp_config
):
    from datetime import timedelta

    from blog.mail.transport import SendError
    from blog.subscriptions.confirmation import due_confirmations

    site = app_factory(**smtp_config)
    now = datetime.now(UTC)
    retry_at = now + timedelta(minutes=2)
    smtp_server.refuse_connections()
    with site.app_context():
        row = Subscriber(email="a@example.org", email_key="a@example.org", confirmation_due_at=now)
        db.session.add(row)
        db.session.commit()
        with pytest.raises(SendError):
            send_confirmation(row.id, retry_at=retry_at)
        db.session.refresh(row)
        assert row.confirmation_due_at == now and row.confirmation_queued_at == retry_at
        later = timedelta(minutes=5)
        assert due_confirmations(db.session, now + timedelta(minutes=1), later) == []  # the retry will
        assert due_confirmations(db.session, retry_at + later, later) == [row.id]  # the retry was lost
        smtp_server.accept_connections()
        assert send_confirmation(row.id) is not None
        assert send_confirmation(row.id) is None  # claimed and sent: a second task sends nothing
    assert len(smtp_server.messages) == 1
