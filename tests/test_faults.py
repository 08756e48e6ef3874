"""Outages caused for real: Redis stopped or frozen around what visitors and the author do.

Real Redis, a real Celery worker and beat, the in-process SMTP server. The figures that matter
are what was lost, doubled or kept waiting.
"""

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time

import pytest
from helpers import (
    SITE,
    Browser,
    add_post,
    add_subscribers,
    csrf_token,
    signed_in,
    subscribe,
    subscriber,
)
from servers import (
    CeleryBeat,
    CeleryWorker,
    clone_head,
    free_port,
    newcomer_env,
    press_ctrl_c,
    require_program,
    start_make_run,
    wait_until,
)
from sqlalchemy import func, select, update

from blog.extensions import db
from blog.models import Delivery, Digest, Subscriber, SubscriberStatus
from blog.subscriptions.links import confirm_url

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def site(app_factory, redis_url, smtp_config):
    return app_factory(REDIS_URL=redis_url, **SITE, **smtp_config)


def timed(action) -> tuple[object, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def confirmations_to(smtp_server, address: str) -> int:
    return sum(message["To"] == address for message in smtp_server.messages)


def test_subscribing_while_redis_is_down_thanks_at_once_and_the_confirmation_follows_once(
    site, redis_server, smtp_server, worker_env, processes, tmp_path
):
    client = site.test_client()
    assert client.get("/subscribe").status_code == 200
    redis_server.kill()
    answer, took = timed(lambda: subscribe(client, "ann@example.com"))
    assert answer.status_code == 303 and answer.location.endswith("/subscribe/thanks")
    assert took < 2, f"the visitor waited {took:.1f} s"
    assert subscriber(site, "ann@example.com").status == SubscriberStatus.PENDING
    redis_server.start()  # empty: whatever was queued before is gone
    processes(CeleryWorker, worker_env, tmp_path / "worker.log")
    processes(CeleryBeat, worker_env, tmp_path / "beat.log")
    smtp_server.wait_for(1, timeout=30)
    time.sleep(3)  # several more sweeps: none may send it again
    assert confirmations_to(smtp_server, "ann@example.com") == 1


def test_confirming_while_redis_is_down_the_welcome_follows_once(
    site, redis_server, smtp_server, worker_env, processes, tmp_path
):
    client = site.test_client()
    with site.app_context():
        add_subscribers(1, status="pending", prefix="bea")
        db.session.commit()
        row = db.session.scalar(select(Subscriber).where(Subscriber.email_key == "bea0@example.com"))
        path = confirm_url(row).removeprefix(site.config["SITE_URL"])
    page = client.get(path)
    redis_server.kill()
    answer, took = timed(lambda: client.post(path, data={"csrf_token": CSRF.search(page.text)[1]}))
    assert answer.status_code == 200 and "You are subscribed" in answer.text
    assert took < 2, f"the reader waited {took:.1f} s"
    redis_server.start()  # empty: whatever was queued before is gone
    processes(CeleryWorker, worker_env, tmp_path / "worker.log")
    processes(CeleryBeat, worker_env, tmp_path / "beat.log")
    [welcome] = smtp_server.wait_for(1, timeout=30)
    assert welcome["Subject"].startswith("Welcome to") and welcome["To"] == "bea0@example.com"
    time.sleep(3)  # several more sweeps: none may send it again
    assert confirmations_to(smtp_server, "bea0@example.com") == 1


def test_a_frozen_redis_keeps_no_visitor_waiting(site, redis_server, posts_for_faults):
    client = site.test_client()
    assert client.get("/subscribe").status_code == 200
    redis_server.pause()
    try:
        for path in ("/", "/posts/first/", "/search?q=first", "/tags/", "/feed.xml"):
            answer, took = timed(lambda path=path: client.get(path))
            assert answer.status_code == 200 and took < 2, f"{path}: {answer.status_code} after {took:.1f} s"
        answer, took = timed(lambda: subscribe(client, "bob@example.com"))
        assert answer.status_code == 303 and took < 2, f"subscribe: {answer.status_code} after {took:.1f} s"
        health, took = timed(lambda: client.get("/healthz"))
        assert health.status_code == 503 and health.json["failed"] == ["redis"] and took < 2
    finally:
        redis_server.resume()
    wait_until(lambda: client.get("/healthz").status_code == 200, 10, "healthz to recover")


@pytest.fixture
def posts_for_faults(site):
    with site.app_context():
        add_post("First", datetime.now(UTC) - timedelta(days=1), tags=("rust",))
        db.session.commit()


# --- The SMTP relay down during a digest -----------------------------------------------------


def rows(app) -> list[Delivery]:
    with app.app_context():
        found = list(db.session.scalars(select(Delivery).order_by(Delivery.id)))
        db.session.expunge_all()
        return found


def test_a_relay_refusing_connections_leaves_each_row_waiting_with_its_reason(
    mail_site, week, smtp_server, author
):
    smtp_server.refuse_connections()
    cli = mail_site.test_cli_runner()
    sent = cli.invoke(args=["digest", "send", "--now", "--yes"])
    assert sent.exit_code == 1 and "Traceback" not in sent.output, sent.output
    [problem] = [line for line in sent.output.splitlines() if "cannot reach" in line]
    assert f"SMTP server 127.0.0.1:{smtp_server.port}" in problem and "next try" in problem
    waiting = rows(mail_site)
    assert len(waiting) == 4 and {row.status for row in waiting} == {"pending"}
    assert all("cannot reach SMTP server" in row.error for row in waiting)
    assert all(row.next_attempt_at > datetime.now(UTC) for row in waiting)
    status = cli.invoke(args=["digest", "status"])
    assert "cannot reach SMTP server" in status.output and "next try" in status.output
    progress = signed_in(mail_site).get(f"/admin/digest/{waiting[0].digest_id}/progress.json").json
    assert "cannot reach SMTP server" in progress["problem"] and "next try" in progress["problem"]
    page = signed_in(mail_site).get(f"/admin/digest/{waiting[0].digest_id}/").text
    assert "cannot reach SMTP server" in page


def test_no_second_digest_while_one_is_sending_and_none_repeats_its_posts(mail_site, week, smtp_server):
    from blog.newsletter.digests import save_schedule
    from blog.newsletter.sending import run_dispatch, send_or_queue

    smtp_server.refuse_connections()
    cli = mail_site.test_cli_runner()
    assert cli.invoke(args=["digest", "send", "--now", "--yes"]).exit_code == 1
    again = cli.invoke(args=["digest", "send", "--now", "--yes"])
    assert again.exit_code == 1 and "still sending" in again.output
    with mail_site.app_context():
        add_post("Newer", datetime.now(UTC))  # after the sending digest's period: the next one's
        schedule = save_schedule(db.session, weekday=0, local_time=dt_time(8), timezone="UTC", min_posts=1,
                                 hold_for_review=False, enabled=True, now=datetime.now(UTC))  # fmt: skip
        schedule.next_run_at = datetime.now(UTC)
        db.session.commit()
        run_dispatch()
        assert db.session.scalar(select(func.count()).select_from(Digest)) == 1  # it waits its turn
        smtp_server.accept_connections()
        db.session.execute(update(Delivery).values(next_attempt_at=None))
        db.session.commit()
        send_or_queue(1)
        run_dispatch()
        digests = list(db.session.scalars(select(Digest).order_by(Digest.id)))
        assert [digest.status for digest in digests] == ["sent", "sending"]
        first, second = (set(digest.post_ids) for digest in digests)
        assert len(first) == 3 and len(second) == 1 and not first & second
        send_or_queue(2)
    per_reader = Counter(message["To"] for message in smtp_server.messages)
    assert per_reader == {f"reader{number}@example.com": 2 for number in range(4)}


def test_the_author_can_cancel_a_digest_stuck_sending(mail_site, week, smtp_server, author):
    smtp_server.refuse_connections()
    cli = mail_site.test_cli_runner()
    assert cli.invoke(args=["digest", "send", "--now", "--yes"]).exit_code == 1
    console = signed_in(mail_site)
    token = csrf_token(console.get("/admin/digest/1/").text)
    answer = console.post("/admin/digest/1/cancel", data={"csrf_token": token})
    assert answer.status_code == 302
    with mail_site.app_context():
        assert db.session.get(Digest, 1).status == "cancelled"
    assert {row.status for row in rows(mail_site)} == {"skipped"}
    smtp_server.accept_connections()
    assert cli.invoke(args=["digest", "send", "--now", "--yes"]).exit_code == 0  # the same posts, now
    assert len(smtp_server.messages) == 4


def test_through_a_relay_outage_the_worker_delivers_each_message_once(
    app_factory, redis_url, smtp_config, worker_env, smtp_server, processes, tmp_path, author
):
    site = app_factory(REDIS_URL=redis_url, **SITE, **smtp_config)
    env = worker_env | {"DELIVERY_RETRY_BASE": "0.5"}
    with site.app_context():
        for day, title in ((1, "Newest"), (2, "Middle")):
            add_post(title, datetime.now(UTC) - timedelta(days=day))
        emails = add_subscribers(6)
        db.session.commit()
    smtp_server.refuse_connections()
    processes(CeleryWorker, env, tmp_path / "worker.log")
    processes(CeleryBeat, env, tmp_path / "beat.log")
    cli = site.test_cli_runner()
    assert cli.invoke(args=["digest", "send", "--now", "--yes"]).exit_code == 0
    console = signed_in(site)
    state = wait_until(lambda: console.get("/admin/digest/1/progress.json").json["problem"], 30, "a reason")
    assert "cannot reach SMTP server" in state
    assert "cannot reach SMTP server" in cli.invoke(args=["digest", "status", "1"]).output
    refused = cli.invoke(args=["digest", "send", "--now", "--yes"])
    assert refused.exit_code == 1 and "still sending" in refused.output
    smtp_server.accept_connections()
    wait_until(
        lambda: console.get("/admin/digest/1/progress.json").json["status"] == "sent", 60, "the digest"
    )
    time.sleep(2)  # more ticks of the beat: nothing more may go out
    assert sorted(message["To"] for message in smtp_server.messages) == sorted(emails)
    assert console.get("/admin/digest/1/progress.json").json["problem"] is None


# --- The beat down for days ------------------------------------------------------------------


@pytest.mark.parametrize(("late", "expected"), [(timedelta(hours=1), "sending"), (timedelta(days=3), "held")])
def test_a_run_long_overdue_waits_for_the_author(mail_site, week, author, late, expected):
    from blog.newsletter.digests import save_schedule
    from blog.newsletter.sending import run_dispatch

    now = datetime.now(UTC)
    with mail_site.app_context():
        schedule = save_schedule(db.session, weekday=0, local_time=dt_time(8), timezone="UTC", min_posts=1,
                                 hold_for_review=False, enabled=True, now=now)  # fmt: skip
        schedule.next_run_at = now - late
        db.session.commit()
        run_dispatch(now)
        digest = db.session.scalar(select(Digest))
        assert digest.status == expected
        deliveries = db.session.scalar(select(func.count()).select_from(Delivery))
        assert deliveries == (4 if expected == "sending" else 0)
    dashboard = signed_in(mail_site).get("/admin/").text
    assert ('id="late-digest-1"' in dashboard) == (expected == "held")
    assert ("waits for you" in dashboard) == (expected == "held")


# --- make run stopped while mail waits to be retried ------------------------------------------


@pytest.mark.newcomer
def test_stopping_make_run_while_a_confirmation_waits_to_be_retried_loses_nothing(tmp_path, smtp_server):
    require_program("git")
    require_program("make")
    clone = clone_head(tmp_path / "weeknote")
    env = newcomer_env() | {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_SECURITY": "none",
    }
    smtp_server.refuse_connections()  # the relay is down: the confirmation task waits to retry
    port = free_port()
    first_log = tmp_path / "first-run.log"
    make = start_make_run(clone, env, port, first_log)
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        token = CSRF.search(browser.get("/subscribe")).group(1)
        browser.post("/subscribe", {"csrf_token": token, "email": "waiting@example.com"})
        worker_log = clone / "instance" / "logs" / "run.log"  # where make run puts the services' output
        wait_until(lambda: "Retry in" in worker_log.read_text(), 60, "the task to wait for its retry")
    finally:
        press_ctrl_c(make)
    smtp_server.accept_connections()
    make = start_make_run(clone, env, free_port(), tmp_path / "second-run.log")
    try:
        [confirmation] = smtp_server.wait_for(1, timeout=60)  # not after the hour Redis would wait
        assert confirmation["To"] == "waiting@example.com"
    finally:
        press_ctrl_c(make)


def test_after_stopping_a_digest_part_way_its_posts_go_to_no_one_again(mail_site, week, smtp_server, author):
    smtp_server.refuse_connections()
    cli = mail_site.test_cli_runner()
    assert cli.invoke(args=["digest", "send", "--now", "--yes"]).exit_code == 1
    with mail_site.app_context():  # one message went out before the relay went down
        first = db.session.scalar(select(Delivery).order_by(Delivery.id).limit(1))
        first.status = "sent"
        db.session.commit()
    assert "had gone out" in cli.invoke(args=["digest", "cancel", "1"]).output
    smtp_server.accept_connections()
    again = cli.invoke(args=["digest", "send", "--now", "--yes"])
    assert again.exit_code == 1 and "no new posts since the last digest" in again.output
    assert smtp_server.messages == []


def test_a_digest_whose_rows_all_wait_for_a_retry_is_not_started_again(mail_site, week, smtp_server):
    from blog.newsletter.dispatch import stalled_digests
    from blog.newsletter.sending import settings_from_app

    smtp_server.refuse_connections()
    cli = mail_site.test_cli_runner()
    assert cli.invoke(args=["digest", "send", "--now", "--yes"]).exit_code == 1
    now = datetime.now(UTC)
    with mail_site.app_context():
        settings = settings_from_app()
        db.session.execute(update(Digest).values(progress_at=now - settings.claim_timeout * 2))
        db.session.execute(update(Delivery).values(next_attempt_at=now + timedelta(minutes=20)))
        db.session.commit()
        assert stalled_digests(db.session, settings, now) == []  # its chain wakes them in 20 minutes
        db.session.execute(update(Delivery).values(next_attempt_at=now - timedelta(minutes=1)))
        db.session.commit()
        assert stalled_digests(db.session, settings, now) == [1]  # due, and no chain took them
