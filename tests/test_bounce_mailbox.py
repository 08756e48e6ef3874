"""The bounce mailbox, end to end: a real dovecot (IMAP and POP3), a Celery worker and beat on
Redis, and the SMTP server. A digest goes out; reports come back into the mailbox; one poll acts."""

import re
from datetime import UTC, datetime

import pytest
from helpers import SITE, add_post, send_digest_now, signed_in, subscriber
from imap_server import DovecotServer, find_dovecot
from reports import arf, dsn
from servers import CeleryBeat, CeleryWorker, wait_until
from sqlalchemy import func, select
from test_bounce_parse import FIXTURES

from blog.bounces import mailbox
from blog.extensions import db
from blog.models import MailEvent

BOUNCES = {"BOUNCE_ADDRESS": "bounces@blog.example.com", "COMPLAINTS_ADDRESS": "abuse@blog.example.com"}


@pytest.fixture
def dovecot():
    server = DovecotServer(find_dovecot())
    yield server
    server.stop()


@pytest.fixture
def mail_site_config(dovecot, redis_url) -> dict:
    """The site sends through the worker and reads its bounces from dovecot over IMAP."""
    return BOUNCES | {"BOUNCE_MAILBOX": dovecot.url("imap"), "REDIS_URL": redis_url}


def copies(smtp_server) -> dict[str, tuple[str, str]]:
    """Each recipient's latest copy as it arrived: (envelope sender, Message-ID)."""
    return {
        recipient: (sender, message["Message-ID"])
        for (sender, [recipient]), message in zip(
            smtp_server.handler.envelopes, smtp_server.messages, strict=True
        )
    }


def test_one_poll_suppresses_counts_and_unsubscribes(
    mail_site, week, author, worker_env, dovecot, smtp_server, processes, tmp_path
):
    env = worker_env | BOUNCES | {"BOUNCE_MAILBOX": dovecot.url("imap"), "BOUNCE_POLL_INTERVAL": "1"}
    worker = processes(CeleryWorker, env, tmp_path / "worker.log")
    digest_id = send_digest_now(mail_site)
    smtp_server.wait_for(4)
    sent = copies(smtp_server)
    envelope, message_id = sent["reader1@example.com"]
    dovecot.append(dsn("reader1@example.com", envelope, message_id, "5.1.1", "failed"))
    envelope, message_id = sent["reader2@example.com"]
    dovecot.append(dsn("reader2@example.com", envelope, message_id, "4.2.2", "delayed"))
    envelope, message_id = sent["reader3@example.com"]
    dovecot.append(arf("reader3@example.com", envelope, message_id))
    dovecot.append((FIXTURES / "out-of-office.eml").read_bytes())
    dovecot.append((FIXTURES / "not-a-report.eml").read_bytes())
    processes(CeleryBeat, env, tmp_path / "beat.log")  # polls only once all five are in the mailbox

    # One poll reads all five, commits each outcome, then files it: the inbox keeps only the unknown one.
    wait_until(lambda: len(dovecot.messages("INBOX")) == 1, 60, "a poll of the bounce mailbox", interval=0.2)
    assert [subscriber(mail_site, f"reader{i}@example.com").status for i in range(4)] == [
        "active", "bounced", "active", "complained"
    ]  # fmt: skip
    assert subscriber(mail_site, "reader1@example.com").suppressed_reason == "hard-bounce"
    assert subscriber(mail_site, "reader3@example.com").unsubscribed_at is not None
    [left] = dovecot.messages("INBOX")
    assert b"Please take me off your list" in left
    assert len(dovecot.messages("Processed")) == 4
    wait_until(lambda: "1 left in the mailbox (not recognised)" in worker.output(), 10, "the poll's count")
    assert "5 read: 3 bounces or complaints, 1 ignored" in worker.output()

    page = signed_in(mail_site).get(f"/admin/digest/{digest_id}/").text
    counts = {
        name: re.search(rf'id="count-{name}">(\d+)<', page).group(1) for name in ("hard", "soft", "complaint")
    }
    assert counts == {"hard": "1", "soft": "1", "complaint": "1"}
    assert "Of 4 delivered: 1 bounced hard (25.0%), 1 soft (25.0%), 1 complaint (25.0%)" in page

    before = len(smtp_server.messages)
    with mail_site.app_context():
        add_post("Next week", datetime.now(UTC))
        db.session.commit()
    send_digest_now(mail_site)
    smtp_server.wait_for(before + 2)
    assert {str(m["To"]) for m in smtp_server.messages[before:]} == {
        "reader0@example.com",
        "reader2@example.com",
    }
    with mail_site.app_context():  # later polls read the unknown message again and change nothing
        assert db.session.scalar(select(func.count()).select_from(MailEvent)) == 3


def test_pop3_deletes_what_it_read_and_keeps_the_unknown(
    mail_site, week, app_factory, smtp_config, dovecot, smtp_server
):
    send_digest_now(app_factory(**(SITE | smtp_config | BOUNCES)))  # sent here: no worker in this test
    smtp_server.wait_for(4)
    envelope, message_id = copies(smtp_server)["reader0@example.com"]
    dovecot.append(dsn("reader0@example.com", envelope, message_id))
    dovecot.append((FIXTURES / "not-a-report.eml").read_bytes())
    config = mail_site.config | {"BOUNCE_MAILBOX": dovecot.url("pop3")}
    with mail_site.app_context():
        result = mailbox.poll(db.session, config)
        again = mailbox.poll(db.session, config)
    assert (result.read, result.counted, result.unknown) == (2, 1, 1)
    assert (again.read, again.counted, again.unknown) == (1, 0, 1)
    assert subscriber(mail_site, "reader0@example.com").status == "bounced"
    [left] = dovecot.messages("INBOX")
    assert b"Please take me off your list" in left


def test_a_wrong_password_is_a_clear_error(mail_site, dovecot):
    config = mail_site.config | {"BOUNCE_MAILBOX": dovecot.url("imap").replace("imap-test-password", "wrong")}
    with (
        mail_site.app_context(),
        pytest.raises(mailbox.MailboxError, match="bounce mailbox imap://127.0.0.1"),
    ):
        mailbox.poll(db.session, config)
