"""`weeknote digest ...` as the author types it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import add_post, parts
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Delivery, Digest, Schedule

NOW = datetime.now(UTC)


@pytest.fixture
def mail_site_config() -> dict:
    """The author's zone, in which schedules and periods are shown."""
    return {"TIMEZONE": "Europe/Berlin"}


@pytest.fixture
def cli(mail_site):
    """No REDIS_URL in mail_site: commands send inline, as in development."""
    runner = mail_site.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_schedule_is_set_shown_and_validated(mail_site, cli):
    assert "No schedule yet" in cli("digest", "schedule").output
    result = cli(
        "digest", "schedule", "--weekday", "mon", "--time", "08:00", "--tz", "Europe/Berlin", "--hold"
    )
    assert result.exit_code == 0, result.output
    assert "Every mon at 08:00 Europe/Berlin, held for review" in result.output
    assert "Next digest: Monday" in result.output and "08:00 Europe/Berlin" in result.output
    with mail_site.app_context():
        schedule = db.session.scalar(select(Schedule))
        local = schedule.next_run_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
        assert (local.weekday(), local.hour, local.minute) == (0, 8, 0) and schedule.next_run_at > NOW
    assert "sent automatically" in cli("digest", "schedule", "--auto", "--min-posts", "2").output
    assert "Every mon at 08:00" in cli("digest", "schedule").output
    bad = cli("digest", "schedule", "--weekday", "someday", "--time", "08:00")
    assert bad.exit_code == 2 and "use one of mon, tue" in bad.output
    bad = cli("digest", "schedule", "--weekday", "mon", "--time", "8 o'clock")
    assert bad.exit_code == 2 and "HH:MM" in bad.output
    bad = cli("digest", "schedule", "--tz", "Mars/Olympus")
    assert bad.exit_code == 2 and "unknown time zone 'Mars/Olympus'" in bad.output


def test_preview_shows_the_message_and_saves_nothing(mail_site, cli, week):
    result = cli("digest", "preview", "--at", (NOW + timedelta(minutes=1)).isoformat())
    assert result.exit_code == 0, result.output
    assert "Subject: Weeknote — 3 new posts (" in result.stderr
    assert "3 posts; 4 active subscribers" in result.stderr
    # The post's date as the site writes it ("29 November 2026"); which day depends on the clock.
    assert re.search(
        r"\nNewest\n\d{1,2} [A-Z][a-z]+ \d{4} · rust\n\nAbout Newest\.\n\nhttps://blog\.example\.com/posts/newest/\n",
        result.stdout,
    )
    assert "<html" in cli("digest", "preview", "--html").stdout
    with mail_site.app_context():
        assert db.session.scalar(select(func.count()).select_from(Digest)) == 0


def test_test_message_goes_to_one_address_without_a_delivery(mail_site, cli, week, smtp_server):
    result = cli("digest", "test", "--to", "me@example.com")
    assert result.exit_code == 0, result.output
    [message] = smtp_server.messages
    assert str(message["To"]) == "me@example.com"
    assert message["Subject"].startswith("[Test] Weeknote — 3 new posts")
    text, _ = parts(message)
    assert "Newest" in text
    with mail_site.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    bad = cli("digest", "test", "--to", "not an address\r\nBcc: x@example.com")
    assert bad.exit_code == 1 and "the test message was not sent" in bad.output


def test_send_now_then_status_and_retry(mail_site, cli, week, smtp_server):
    smtp_server.handler.policy = lambda rcpts: (
        "550 5.1.1 No such user" if "reader1@example.com" in rcpts else None
    )
    result = cli("digest", "send", "--now", "--yes")
    assert result.exit_code == 0, result.output
    assert "to 4 subscribers" in result.output
    assert "Digest 1: Sent: 3 of 4 delivered, 1 failed" in result.output
    assert "reader1@example.com: failed: message refused: 5.1.1 No such user (SMTP 550)" in result.output
    assert sorted(str(m["To"]) for m in smtp_server.messages) == [
        "reader0@example.com",
        "reader2@example.com",
        "reader3@example.com",
    ]
    assert "Digest 1: Sent: 3 of 4 delivered, 1 failed" in cli("digest", "status").output
    smtp_server.handler.policy = None
    result = cli("digest", "retry-failed", "1")
    assert "1 failed deliveries queued again" in result.output
    assert "Sent: 4 of 4 delivered" in result.output
    assert [str(m["To"]) for m in smtp_server.messages].count("reader1@example.com") == 1
    again = cli("digest", "send", "--now", "--yes")
    assert (
        again.exit_code == 1
        and "nothing was sent: there are no new posts since the last digest" in again.output
    )
    assert cli("digest", "status", "99").output.strip().endswith("no digest 99")


def test_held_digest_is_approved_or_cancelled(mail_site, cli, week, smtp_server):
    from blog.newsletter.digests import create_digest, save_schedule
    from blog.newsletter.sending import composer_from_app

    with mail_site.app_context():
        schedule = save_schedule(
            db.session, weekday=0, local_time=__import__("datetime").time(8), timezone="UTC",
            min_posts=1, hold_for_review=True, enabled=True, now=NOW,
        )  # fmt: skip
        held = create_digest(db.session, composer_from_app(), NOW, schedule)
        # The next run carries only what came after the held one: a post reaches a reader once.
        add_post("Later", NOW + timedelta(milliseconds=500))
        other = create_digest(db.session, composer_from_app(), NOW + timedelta(seconds=1), schedule)
        db.session.commit()
        held_id, other_id = held.id, other.id
    assert smtp_server.messages == []
    listing = cli("digest", "list").output
    assert f"{held_id:>4}  held" in listing
    result = cli("digest", "approve", str(held_id))
    assert result.exit_code == 0, result.output
    assert "to 4 subscribers" in result.output and "Sent: 4 of 4 delivered" in result.output
    assert len(smtp_server.messages) == 4
    again = cli("digest", "approve", str(held_id))
    assert again.exit_code == 1 and f"digest {held_id} is sent, not held for review" in again.output
    assert "cancelled; nothing was sent" in cli("digest", "cancel", str(other_id)).output
    assert len(smtp_server.messages) == 4
    with mail_site.app_context():
        assert db.session.get(Digest, other_id).status == "cancelled"
