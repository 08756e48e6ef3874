"""Digests in the database and over SMTP, in this process: dispatch, fan-out, batches, failures."""

import os
import sqlite3
import threading
import time as clock
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from helpers import SITE, add_post, add_subscribers, parts, rsa_key
from servers import free_port
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Delivery, Digest, Schedule, Subscriber
from blog.newsletter import delivery
from blog.newsletter.digests import create_digest, save_schedule
from blog.newsletter.progress import digest_counts
from blog.newsletter.sending import composer_from_app, run_dispatch, send_next_batch
from blog.newsletter.settings import DeliverySettings
from blog.newsletter.writer_lock import writer_lock

NOW = datetime.now(UTC)


@pytest.fixture
def mail_site_config() -> dict:
    """Small batches (week's four subscribers take two) and retries without a wait."""
    return {"DELIVERY_BATCH_SIZE": 3, "DELIVERY_RETRY_BASE": 0.01}


def due_schedule(min_posts: int = 1, hold: bool = False, ago: timedelta = timedelta(minutes=1)) -> Schedule:
    """A schedule whose run was `ago` (one minute ago by default)."""
    schedule = save_schedule(
        db.session,
        weekday=0,
        local_time=time(8),
        timezone="UTC",
        min_posts=min_posts,
        hold_for_review=hold,
        enabled=True,
        now=NOW,
    )
    schedule.next_run_at = NOW - ago
    db.session.commit()
    return schedule


def send_all(digest_id: int) -> None:
    for _ in range(50):
        due = send_next_batch(digest_id)
        if due is None:
            return
        if due > datetime.now(UTC):
            db.session.execute(  # skip the backoff wait instead of sleeping
                Delivery.__table__.update()
                .values(next_attempt_at=None)
                .where(Delivery.digest_id == digest_id)
            )
            db.session.commit()
    raise AssertionError("the digest did not finish in 50 batches")


def test_dispatch_creates_one_digest_for_active_subscribers(mail_site, week):
    with mail_site.app_context():
        schedule = due_schedule()
        assert run_dispatch(NOW) == [1]
        assert run_dispatch(NOW) == [1]  # a repeated tick restarts, but creates nothing
        digest = db.session.scalar(select(Digest))
        assert db.session.scalar(select(func.count()).select_from(Digest)) == 1
        assert digest.status == "sending" and digest.subject.startswith("Weeknote — 3 new posts (")
        assert [db.session.get(type(schedule), schedule.id).next_run_at > NOW] == [True]
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        emails = sorted(row.subscriber.email for row in rows)
        assert emails == [f"reader{i}@example.com" for i in range(4)]
        assert html_order(digest.html) == ["Newest", "Middle", "Oldest"]


def html_order(html: str) -> list[str]:
    titles = ("Newest", "Middle", "Oldest", "Last month", "Draft")
    return sorted((title for title in titles if f">{title}<" in html), key=lambda t: html.index(f">{t}<"))


def test_thin_week_is_skipped_and_held_digest_waits(mail_site, week):
    with mail_site.app_context():
        due_schedule(min_posts=4)
        assert run_dispatch(NOW) == []
        digest = db.session.scalar(select(Digest))
        assert digest.status == "skipped"
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
        due_schedule(hold=True, ago=timedelta(seconds=30))
        run_dispatch(NOW)
        held = db.session.scalar(select(Digest).order_by(Digest.id.desc()))
        assert held.status == "held" and held.html
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_every_active_subscriber_gets_one_well_formed_message(mail_site, week, smtp_server):
    with mail_site.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        send_all(digest_id)
        digest = db.session.get(Digest, digest_id)
        assert digest.status == "sent" and digest.sent_at is not None
        assert digest_counts(db.session, digest_id) == {
            "pending": 0, "claimed": 0, "sent": 4, "failed": 0, "skipped": 0
        }  # fmt: skip
    messages = smtp_server.messages
    assert sorted(str(m["To"]) for m in messages) == [f"reader{i}@example.com" for i in range(4)]
    message = messages[0]
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert str(message["From"]) == "Weeknote <digest@blog.example.com>"
    assert message["Subject"] == digest.subject
    assert message["Date"] and message["Message-ID"].startswith(f"<digest-{digest_id}.")
    assert message["List-Id"] == "Weeknote <digest.blog.example.com>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith("https://blog.example.com/unsubscribe/")
    text, html = parts(message)
    for body in (text, html):
        assert unsubscribe in body and "1 Example Street, Berlin" in body
        assert f"https://blog.example.com/digests/{digest_id}/" in body
    assert len({m["List-Unsubscribe"] for m in messages}) == 4  # each recipient their own link
    with mail_site.app_context():
        message_ids = set(db.session.scalars(select(Delivery.message_id)))
    assert message_ids == {m["Message-ID"] for m in messages}


def test_one_click_link_in_the_digest_unsubscribes(mail_site, week, smtp_server):
    with mail_site.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        send_all(digest_id)
    message = next(m for m in smtp_server.messages if str(m["To"]) == "reader2@example.com")
    path = message["List-Unsubscribe"].strip().strip("<>").removeprefix("https://blog.example.com")
    response = mail_site.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with mail_site.app_context():
        person = db.session.scalar(select(Subscriber).where(Subscriber.email == "reader2@example.com"))
        assert person.status == "unsubscribed"


def test_hard_bounce_fails_one_row_and_suppresses_after_three(mail_site, week, smtp_server):
    smtp_server.handler.policy = lambda rcpts: (
        "550 5.1.1 No such user" if "reader1@example.com" in rcpts else None
    )
    with mail_site.app_context():
        for round_number in range(3):
            digest_id = send_now(round_number)
            numbers = digest_counts(db.session, digest_id)
            assert (numbers["sent"], numbers["failed"]) == (3, 1)
            failed = db.session.scalar(
                select(Delivery).where(Delivery.digest_id == digest_id, Delivery.status == "failed")
            )
            assert "550" in failed.error
        person = db.session.scalar(select(Subscriber).where(Subscriber.email == "reader1@example.com"))
        assert (person.bounce_count, person.status) == (3, "bounced")
        assert len([m for m in smtp_server.messages if str(m["To"]) == "reader0@example.com"]) == 3


def send_now(round_number: int) -> int:
    """Create and send a digest; each round adds a post (a digest covers the time since the last)."""
    moment = NOW + timedelta(seconds=round_number)
    add_post(f"Round {round_number}", moment - timedelta(milliseconds=500))
    digest = create_digest(db.session, composer_from_app(), moment)
    assert digest.status == "sending"
    delivery.fan_out(db.session, digest)
    db.session.commit()
    send_all(digest.id)
    return digest.id


def test_temporary_failures_are_retried_until_sent(mail_site, week, smtp_server):
    refusals = {"left": 3}

    def greylist(rcpts):
        if refusals["left"]:
            refusals["left"] -= 1
            return "451 4.7.1 Try again later"
        return None

    smtp_server.handler.policy = greylist
    with mail_site.app_context():
        digest_id = send_now(0)
        assert digest_counts(db.session, digest_id)["sent"] == 4
        attempts = sorted(
            db.session.scalars(select(Delivery.attempts).where(Delivery.digest_id == digest_id))
        )
        assert sum(attempts) == 3
    assert sorted(str(m["To"]) for m in smtp_server.messages) == [f"reader{i}@example.com" for i in range(4)]


def test_unsubscribing_after_fan_out_skips_the_row(mail_site, week, smtp_server):
    with mail_site.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        person = db.session.scalar(select(Subscriber).where(Subscriber.email == "reader3@example.com"))
        person.status = "unsubscribed"
        db.session.commit()
        send_all(digest_id)
        assert digest_counts(db.session, digest_id)["skipped"] == 1
    assert "reader3@example.com" not in {str(m["To"]) for m in smtp_server.messages}


def test_stale_claims_are_taken_over_and_live_ones_are_not(mail_site, week, smtp_server):
    settings = DeliverySettings(batch_size=10, claim_timeout=timedelta(minutes=10))
    with mail_site.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        _, first = delivery.claim_batch(db.session, digest_id, settings, NOW)
        assert len(first) == 4
        _, none = delivery.claim_batch(db.session, digest_id, settings, NOW + timedelta(minutes=5))
        assert none == []
        _, again = delivery.claim_batch(db.session, digest_id, settings, NOW + timedelta(minutes=11))
        assert again == first


def test_a_claim_takes_stale_rows_then_due_ones_and_leaves_rows_in_backoff(mail_site, week):
    with mail_site.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        ids = db.session.scalars(select(Delivery.id).order_by(Delivery.id)).all()
        _, first = delivery.claim_batch(db.session, digest_id, DeliverySettings(batch_size=2), NOW)
        assert first == ids[:2]
        db.session.execute(  # the third row waits out a retry's backoff
            Delivery.__table__.update()
            .where(Delivery.id == ids[2])
            .values(next_attempt_at=NOW + timedelta(hours=1))
        )
        db.session.commit()
        later = NOW + timedelta(minutes=11)  # the first claim is stale by then
        settings = DeliverySettings(batch_size=3)
        _, claimed = delivery.claim_batch(db.session, digest_id, settings, later)
        assert claimed == [ids[0], ids[1], ids[3]]
        # Nothing is due now: next, this claim goes stale (in 10 minutes), before the backoff ends.
        assert delivery.next_due(db.session, digest_id, settings, later) == later + settings.claim_timeout


def test_retry_failed_sends_again(mail_site, week, smtp_server):
    smtp_server.handler.policy = lambda rcpts: (
        "554 5.7.1 Rejected" if "reader0@example.com" in rcpts else None
    )
    with mail_site.app_context():
        digest_id = send_now(0)
        assert digest_counts(db.session, digest_id)["failed"] == 1
        smtp_server.handler.policy = None
        assert delivery.retry_failed(db.session, digest_id) == 1
        assert db.session.get(Digest, digest_id).status == "sending"
        send_all(digest_id)
        assert digest_counts(db.session, digest_id)["sent"] == 4
        assert db.session.get(Digest, digest_id).status == "sent"
    assert [str(m["To"]) for m in smtp_server.messages].count("reader0@example.com") == 1


def test_unreachable_smtp_server_hands_the_batch_back(mail_site, week):
    mail_site.config["SMTP_PORT"] = free_port()  # nothing listens there
    with mail_site.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        with pytest.raises(Exception, match="cannot reach SMTP server"):
            send_next_batch(digest_id)
        assert digest_counts(db.session, digest_id)["pending"] == 4


def test_a_connection_lost_mid_batch_defers_one_row_and_hands_back_the_rest(mail_site, week, smtp_server):
    dropped = []

    def hang_up_once(rcpts: list[str]) -> bool:
        if rcpts == ["reader1@example.com"] and not dropped:
            dropped.append(rcpts)
            return True
        return False

    smtp_server.handler.hang_up = hang_up_once
    with mail_site.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        send_all(digest_id)  # the connection is opened again, and the deferred row retried
        rows = db.session.execute(
            select(Subscriber.email, Delivery.status, Delivery.attempts, Delivery.claim_token)
            .join(Delivery.subscriber)
            .order_by(Subscriber.email)
        ).all()
        assert [tuple(row) for row in rows] == [
            ("reader0@example.com", "sent", 0, None),
            ("reader1@example.com", "sent", 1, None),  # in flight when the line went dead: one attempt
            ("reader2@example.com", "sent", 0, None),  # never tried then: back in the queue as it was
            ("reader3@example.com", "sent", 0, None),
        ]
    assert sorted(str(m["To"]) for m in smtp_server.messages) == [f"reader{i}@example.com" for i in range(4)]


@pytest.mark.parametrize(
    "address, reason",
    [
        ("reader1@example.com\r\nBcc: everyone@example.com", "line break"),
        ("rëader1@example.com", "not ASCII"),
    ],
)
def test_an_address_that_cannot_be_sent_to_fails_alone(mail_site, week, smtp_server, address, reason):
    with mail_site.app_context():
        person = db.session.scalar(select(Subscriber).where(Subscriber.email == "reader1@example.com"))
        person.email = address  # not through the form, which takes neither
        db.session.commit()
        digest_id = send_now(0)
        counts = digest_counts(db.session, digest_id)
        assert (counts["sent"], counts["failed"]) == (3, 1)
        error = db.session.scalar(select(Delivery.error).where(Delivery.status == "failed"))
        assert reason in error
        assert db.session.get(Subscriber, person.id).bounce_count == 0
    assert sorted(str(m["To"]) for m in smtp_server.messages) == [
        "reader0@example.com", "reader2@example.com", "reader3@example.com"
    ]  # fmt: skip


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_refused_sender_fails_the_rows_without_bouncing_anyone(mail_site, week, smtp_server, pipelining):
    smtp_server.handler.pipelining = pipelining
    smtp_server.handler.mail_reply = "550 5.7.1 Sender not allowed"
    with mail_site.app_context():
        digest_id = send_now(0)
        assert digest_counts(db.session, digest_id)["failed"] == 4
        assert all("sender refused" in error for error in db.session.scalars(select(Delivery.error)))
        people = db.session.scalars(select(Subscriber).where(Subscriber.email.like("reader%"))).all()
        assert [(person.bounce_count, person.status) for person in people] == [(0, "active")] * 4
        smtp_server.handler.mail_reply = None  # the setting is fixed: send the failed rows again
        assert delivery.retry_failed(db.session, digest_id) == 4
        send_all(digest_id)
        assert digest_counts(db.session, digest_id)["sent"] == 4
    assert len(smtp_server.messages) == 4


def test_a_row_is_marked_sent_even_when_sqlite_stays_locked_past_its_busy_timeout(
    app_factory, smtp_config, week, smtp_server, database_url
):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's busy timeout")
    quick = app_factory(**SITE, **smtp_config, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.2}})
    other = sqlite3.connect(
        database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )

    def someone_else_writes_for_a_while(rcpts):
        if rcpts == ["reader1@example.com"]:  # accepted; its row waits 0.5 s to be marked
            other.execute("BEGIN IMMEDIATE")
            threading.Timer(0.5, other.execute, ["COMMIT"]).start()
        return None

    smtp_server.handler.policy = someone_else_writes_for_a_while
    with quick.app_context():
        digest_id = send_now(0)
        assert digest_counts(db.session, digest_id)["sent"] == 4
    assert sorted(str(m["To"]) for m in smtp_server.messages) == [f"reader{i}@example.com" for i in range(4)]
    other.close()


def test_digest_sent_with_dkim_verifies_at_the_receiver(app_factory, smtp_config, week, smtp_server):
    import dkim

    pem, public = rsa_key()
    signed_app = app_factory(
        **SITE,
        **smtp_config,
        DKIM_DOMAIN="blog.example.com",
        DKIM_SELECTOR="wk1",
        DKIM_PRIVATE_KEY=pem,
    )
    with signed_app.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        send_all(digest_id)
    dns = {b"wk1._domainkey.blog.example.com.": b"v=DKIM1; k=rsa; p=" + public.encode()}
    assert len(smtp_server.handler.raw) == 4
    for raw in smtp_server.handler.raw:
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: dns.get(name))


@pytest.mark.parametrize("pipelining", [True, False])
def test_delivery_with_a_refused_recipient(mail_site, week, smtp_server, pipelining):
    smtp_server.handler.pipelining = pipelining
    smtp_server.handler.rcpt_policy = lambda address: (
        "550 5.1.1 Unknown" if address == "reader2@example.com" else None
    )
    with mail_site.app_context():
        digest_id = send_now(0)
        assert digest_counts(db.session, digest_id) == {
            "pending": 0, "claimed": 0, "sent": 3, "failed": 1, "skipped": 0
        }  # fmt: skip
    assert sorted(str(m["To"]) for m in smtp_server.messages) == [
        "reader0@example.com", "reader1@example.com", "reader3@example.com"
    ]  # fmt: skip
    text, html = parts(smtp_server.messages[0])
    assert "Round 0" in text and "Round 0" in html


def test_rows_held_by_another_worker_are_due_when_their_claim_goes_stale(mail_site, week):
    settings = DeliverySettings(batch_size=10, claim_timeout=timedelta(minutes=10))
    with mail_site.app_context():
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        assert delivery.next_due(db.session, digest_id, settings, NOW) == NOW  # pending rows
        delivery.claim_batch(db.session, digest_id, settings, NOW)
        # Everything is claimed by a live worker: come back when its claim would be stale.
        assert delivery.next_due(db.session, digest_id, settings, NOW) == NOW + timedelta(minutes=10)
        db.session.execute(Delivery.__table__.update().values(status="sent", claim_token=None))
        db.session.commit()
        assert delivery.next_due(db.session, digest_id, settings, NOW) is None


def test_workers_take_turns_on_sqlites_write_lock_in_the_kernel(app, database_url):
    """Two worker processes (forked, as Celery's are) marking rows: the second waits for the
    first's turn to end instead of polling SQLite's lock; on PostgreSQL there is nothing to wait for."""
    with app.app_context():
        lock = writer_lock(db.session)
        assert writer_lock(db.engine) is lock  # one per process and database
        if not database_url.startswith("sqlite"):
            assert lock.fd is None
            return
        assert os.path.exists(database_url.removeprefix("sqlite:///") + "-writer.lock")
        read, write = os.pipe()
        with lock:
            child = os.fork()
            if child == 0:  # pragma: no cover - the other worker; never back into pytest
                try:
                    with writer_lock(db.engine):
                        os.write(write, str(clock.monotonic()).encode())
                finally:
                    os._exit(0)
            os.close(write)
            clock.sleep(0.3)
            released = clock.monotonic()
        deadline = clock.monotonic() + 10
        while os.waitpid(child, os.WNOHANG) == (0, 0):
            if clock.monotonic() > deadline:  # it shares this process's lock, held at the fork
                os.kill(child, 9)
                os.waitpid(child, 0)
                pytest.fail("the forked worker never got its turn")
            clock.sleep(0.01)
        got_it_at = os.read(read, 64)
        os.close(read)
        assert got_it_at and float(got_it_at) >= released


def test_a_send_takes_fresh_statistics_after_a_large_fan_out(mail_site, week, database_url):
    # Stale statistics made PostgreSQL scan the whole subscriber table for every batch.
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's planner statistics")
    from servers import wait_until
    from sqlalchemy import text

    def changed_since_analyze() -> dict[str, int]:
        db.session.rollback()
        statistics = "SELECT relname, n_mod_since_analyze FROM pg_stat_user_tables"
        rows = db.session.execute(text(statistics + " WHERE relname IN ('delivery', 'subscriber')"))
        return dict(rows.all())

    with mail_site.app_context():
        add_subscribers(500, prefix="imported")
        db.session.commit()
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        wait_until(lambda: min(changed_since_analyze().values()) >= 500, 10, "the changes counted")
        delivery.refresh_statistics(db.session)
        assert changed_since_analyze() == {"delivery": 0, "subscriber": 0}
        delivery.refresh_statistics(db.session)  # fresh: nothing to do, and no error


def test_a_claim_late_in_a_digest_reads_only_the_rows_it_takes(mail_site, week, database_url):
    # PostgreSQL's planner, with statistics taken when every row was pending, walked the
    # primary key from the first row, past every row already sent, for each batch.
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's planner statistics")
    import json

    from sqlalchemy import text

    with mail_site.app_context():
        add_subscribers(1000, prefix="imported")
        db.session.commit()
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        db.session.execute(text("ANALYZE delivery"))  # every row pending
        first = db.session.scalar(select(func.min(Delivery.id)).where(Delivery.digest_id == digest_id))
        db.session.execute(  # most of the digest sent since
            Delivery.__table__.update()
            .where(Delivery.digest_id == digest_id, Delivery.id < first + 950)
            .values(status="sent")
        )
        db.session.commit()
        settings = DeliverySettings()
        for condition in (delivery._due(digest_id, NOW), delivery._stale(digest_id, NOW, settings)):
            query = delivery.candidates(db.session, condition, 20)
            sql = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            [[plan]] = db.session.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).one()
            db.session.rollback()

            def removed(node: dict) -> int:
                own = node.get("Rows Removed by Filter", 0)
                return own + sum(removed(child) for child in node.get("Plans", ()))

            assert removed(plan["Plan"]) < 20, json.dumps(plan, indent=1)


def test_a_batchs_ids_go_to_postgresql_as_one_parameter(mail_site, week, database_url):
    # An IN list of a batch's ids was a new statement for every batch, with a parameter per row:
    # the driver converted it and the server parsed and planned it anew.
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's arrays")
    from sqlalchemy import event

    statements: list = []

    def seen(connection, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with mail_site.app_context():
        add_subscribers(300, prefix="more")
        db.session.commit()
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            token, ids = delivery.claim_batch(db.session, digest_id, DeliverySettings(), NOW, 250)
            rows = delivery.claimed_rows(db.session, ids)
            delivery.release(db.session, ids[100:], token)
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        statuses = Counter(db.session.scalars(select(Delivery.status).where(Delivery.digest_id == digest_id)))
    assert len(ids) == 250 and [row[0] for row in rows] == ids
    assert all(email.startswith(("more", "reader")) for _, _, _, email, _, _ in rows)
    assert statuses == {"claimed": 100, "pending": 204}
    assert max(len(parameters) for _, parameters in statements) < 50, statements  # not one per row


def test_no_transaction_stays_open_while_the_senders_work(mail_site, week, smtp_server, database_url):
    # The task's own session stayed in a transaction for the whole send: PostgreSQL then kept
    # every row version the claims walk past, and could vacuum nothing.
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's row versions")
    from sqlalchemy import create_engine, text

    watcher = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    seen: list[set] = []  # the transactions open at each message's arrival

    def look(recipients):
        with watcher.connect() as connection:
            idle = connection.execute(text(
                "SELECT pid, xact_start FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            ))  # fmt: skip
            seen.append(set(idle.all()))
        return None

    smtp_server.handler.policy = look
    smtp_server.handler.delay = 0.1  # about a second of sending over four connections
    with mail_site.app_context():
        add_subscribers(40, prefix="more")
        db.session.commit()
        due_schedule()
        [digest_id] = run_dispatch(NOW)
        send_all(digest_id)
    watcher.dispose()
    assert len(seen) == 44
    # A sender's own short transactions may be caught at a message or two; one held across the
    # sending is there at each.
    times_seen = Counter(transaction for open_then in seen for transaction in open_then)
    assert max(times_seen.values(), default=0) <= 4, times_seen
