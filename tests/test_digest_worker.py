"""The weekly digest through real processes: Celery beat and worker on Redis, an SMTP server.

Each test ends with the acceptance check: every active subscriber has exactly one
message at the SMTP server and one sent delivery row; nobody else got anything.
"""

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from helpers import add_post, add_subscribers, parts
from servers import CeleryBeat, CeleryWorker, wait_until
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Delivery, Digest, Subscriber
from blog.newsletter.digests import save_schedule
from blog.newsletter.settings import DeliverySettings


@pytest.fixture
def digest_env(worker_env) -> dict[str, str]:
    """Environment for worker and beat: short claim timeout and dispatch interval for tests."""
    return worker_env | {
        "DELIVERY_CLAIM_TIMEOUT": "4",
        "DELIVERY_RETRY_BASE": "0.2",
        "DELIVERY_BATCH_SIZE": "50",
    }


def prepare(mail_site, active: int, others: bool = True) -> list[str]:
    """Three posts this week, `active` confirmed subscribers (plus a pending and a gone one),
    and a schedule whose run is due now."""
    with mail_site.app_context():
        now = datetime.now(UTC)
        for day, title in ((1, "Newest"), (2, "Middle"), (3, "Oldest")):
            add_post(title, now - timedelta(days=day, hours=1), tags=("rust",))
        emails = add_subscribers(active)
        if others:
            add_subscribers(1, status="pending", prefix="pending")
            add_subscribers(1, status="unsubscribed", prefix="gone")
        schedule = save_schedule(
            db.session,
            weekday=now.weekday(),
            local_time=now.time().replace(microsecond=0),
            timezone="UTC",
            min_posts=1,
            hold_for_review=False,
            enabled=True,
            now=now - timedelta(days=1),
        )
        schedule.next_run_at = now
        db.session.commit()
    return emails


def digest_state(mail_site) -> tuple[str | None, dict[str, int]]:
    with mail_site.app_context():
        digest = db.session.scalar(select(Digest).order_by(Digest.id.desc()))
        if digest is None:
            return None, {}
        rows = dict(
            db.session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.digest_id == digest.id)
                .group_by(Delivery.status)
            ).all()
        )
        db.session.remove()
        return digest.status, rows


def wait_for_sent(mail_site, timeout: float) -> dict[str, int]:
    def sent():
        status, rows = digest_state(mail_site)
        return rows if status == "sent" else None

    return wait_until(sent, timeout, "the digest to be sent", interval=0.2)


def assert_exactly_once(mail_site, smtp_server, emails: list[str], allowed_duplicates: int = 0) -> int:
    """Every address got one message (duplicates only as allowed); one sent row each."""
    received = Counter(str(message["To"]) for message in smtp_server.messages)
    assert set(received) == set(emails), "someone was missed, or someone not active got mail"
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= allowed_duplicates
    with mail_site.app_context():
        sent = Counter(
            db.session.scalars(
                select(Subscriber.email)
                .join(Delivery, Delivery.subscriber_id == Subscriber.id)
                .where(Delivery.status == "sent")
            )
        )
        db.session.remove()
    assert sent == Counter(emails)
    return duplicates


def normalise(body: str) -> str:
    """Blank out what only the sent copy knows: its own unsubscribe and preferences links and web address."""
    body = body.replace("\r\n", "\n")
    body = re.sub(r"https://blog\.example\.com/(unsubscribe|preferences)/[\w.-]+", r"\1", body)
    body = re.sub(r"https://(unsubscribe|preferences)\.invalid/[\w-]+", r"\1", body)
    return re.sub(r"https://blog\.example\.com/digests/(\d+/)?", "WEB-COPY", body)


def test_scheduled_digest_reaches_every_active_subscriber_once(
    mail_site, digest_env, smtp_server, processes, tmp_path
):
    emails = prepare(mail_site, active=5)
    runner = mail_site.test_cli_runner()
    preview_text = runner.invoke(args=["digest", "preview", "--text"]).stdout
    preview_html = runner.invoke(args=["digest", "preview", "--html"]).stdout
    processes(CeleryWorker, digest_env, tmp_path / "worker.log")
    processes(CeleryBeat, digest_env, tmp_path / "beat.log")
    rows = wait_for_sent(mail_site, 60)
    assert rows == {"sent": 5}
    assert_exactly_once(mail_site, smtp_server, emails)
    message = smtp_server.messages[0]
    assert message["Subject"].startswith("Weeknote — 3 new posts (")
    for header in ("Message-ID", "Date", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert message[header], header
    text, html = parts(message)
    assert "Subject: " not in preview_text
    assert normalise(text).strip() == normalise(preview_text).strip()
    assert normalise(html).strip() == normalise(preview_html).strip()


def test_killed_worker_mid_send_is_finished_by_another(
    mail_site, digest_env, smtp_server, processes, tmp_path
):
    emails = prepare(mail_site, active=2000, others=False)
    smtp_server.handler.delay = 0.002  # long enough to kill the worker in the middle
    first = processes(CeleryWorker, digest_env, tmp_path / "worker1.log", pool="prefork")
    processes(CeleryBeat, digest_env, tmp_path / "beat.log")
    wait_until(lambda: len(smtp_server.messages) >= 300, 60, "300 messages before the kill")
    first.kill()
    at_kill = len(smtp_server.messages)
    assert at_kill < 2000, "the worker finished before it could be killed"
    processes(CeleryWorker, digest_env, tmp_path / "worker2.log", pool="prefork")
    wait_for_sent(mail_site, 180)
    # At most one accepted message unrecorded per connection the killed worker had open: its one
    # pool process ran one task, with its share of SMTP_CONNECTIONS.
    in_flight = DeliverySettings.from_config(mail_site.config).connections_per_task
    duplicates = assert_exactly_once(mail_site, smtp_server, emails, allowed_duplicates=in_flight)
    print(f"\nkilled after {at_kill} of 2000 messages with {in_flight} connections open; "
          f"duplicates from the kill window: {duplicates}")  # fmt: skip


def test_redis_restart_mid_send_loses_nothing(
    mail_site, digest_env, smtp_server, redis_server, processes, tmp_path
):
    emails = prepare(mail_site, active=600, others=False)
    smtp_server.handler.delay = 0.003
    processes(CeleryWorker, digest_env, tmp_path / "worker.log", pool="prefork")
    processes(CeleryBeat, digest_env, tmp_path / "beat.log")
    wait_until(lambda: len(smtp_server.messages) >= 100, 60, "100 messages before the restart")
    redis_server.restart()  # every queued task is gone
    assert len(smtp_server.messages) < 600
    wait_for_sent(mail_site, 180)
    assert_exactly_once(mail_site, smtp_server, emails)


def test_temporary_refusals_are_retried(mail_site, digest_env, smtp_server, processes, tmp_path):
    emails = prepare(mail_site, active=60)
    refused = Counter()
    window = {}

    def greylist(rcpts: list[str]) -> str | None:
        # For a second and a half from the first message, every other one gets a 451.
        started = window.setdefault("start", time.monotonic())
        seen = window["seen"] = window.get("seen", 0) + 1
        if time.monotonic() - started < 1.5 and seen % 2:
            refused[rcpts[0]] += 1
            return "451 4.7.1 Greylisted, try again later"
        return None

    smtp_server.handler.policy = greylist
    processes(CeleryWorker, digest_env, tmp_path / "worker.log")
    processes(CeleryBeat, digest_env, tmp_path / "beat.log")
    wait_for_sent(mail_site, 90)
    assert sum(refused.values()) >= 10
    assert_exactly_once(mail_site, smtp_server, emails)
    with mail_site.app_context():
        assert db.session.scalar(select(func.sum(Delivery.attempts))) >= 1


def test_hard_bounce_affects_only_that_address(mail_site, digest_env, smtp_server, processes, tmp_path):
    emails = prepare(mail_site, active=20)
    smtp_server.handler.policy = lambda rcpts: (
        "550 5.1.1 User unknown" if "reader7@example.com" in rcpts else None
    )
    processes(CeleryWorker, digest_env, tmp_path / "worker.log")
    processes(CeleryBeat, digest_env, tmp_path / "beat.log")
    rows = wait_for_sent(mail_site, 60)
    assert rows == {"sent": 19, "failed": 1}
    assert_exactly_once(mail_site, smtp_server, [e for e in emails if e != "reader7@example.com"])
    with mail_site.app_context():
        bounced = db.session.scalar(select(Subscriber).where(Subscriber.email == "reader7@example.com"))
        assert bounced.bounce_count == 1 and bounced.status == "active"
        failed = db.session.scalar(select(Delivery).where(Delivery.status == "failed"))
        assert failed.subscriber_id == bounced.id and "550" in failed.error


def test_two_beats_make_one_digest(mail_site, digest_env, smtp_server, processes, tmp_path):
    emails = prepare(mail_site, active=30)
    processes(CeleryBeat, digest_env, tmp_path / "beat1.log")
    processes(CeleryBeat, digest_env, tmp_path / "beat2.log")
    processes(CeleryWorker, digest_env, tmp_path / "worker1.log")
    processes(CeleryWorker, digest_env, tmp_path / "worker2.log")
    wait_for_sent(mail_site, 60)
    time.sleep(2)  # more ticks from both beats after the send
    with mail_site.app_context():
        assert db.session.scalar(select(func.count()).select_from(Digest)) == 1
    assert_exactly_once(mail_site, smtp_server, emails)
