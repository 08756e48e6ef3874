"""Marks go through each sender's journal (a file beside a SQLite database; a list in Redis on
PostgreSQL): what a killed sender journaled is sent, not taken over and sent again."""

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from test_delivery import due_schedule

from blog.extensions import db
from blog.models import Delivery
from blog.newsletter import delivery
from blog.newsletter.marks import JournalsUnavailable, journal_folder, replay_journals, sent_marker
from blog.newsletter.postgres_marks import JOURNALS
from blog.newsletter.sending import run_dispatch
from blog.newsletter.settings import DeliverySettings

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)


def claim_the_week() -> tuple[int, str, list[int]]:
    """In an app context: the week's digest with its four rows claimed under one token."""
    due_schedule()
    [digest_id] = run_dispatch(NOW)
    token, ids = delivery.claim_batch(db.session, digest_id, DeliverySettings(), NOW)
    assert len(ids) == 4
    return digest_id, token, ids


@pytest.fixture
def claimed(mail_site, week, database_url):
    """claim_the_week() on SQLite: (digest id, token, row ids)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("journals in files are for SQLite")
    with mail_site.app_context():
        return claim_the_week()


@pytest.fixture
def journal(mail_site, week, database_url, request):
    """Where a sender's marks go first on this database, and the week claimed:
    (Redis URL or None, lines(), digest id, token, row ids)."""
    redis_url = request.getfixturevalue("redis_url") if database_url.startswith("postgresql") else None

    def lines() -> list[str]:
        if redis_url is None:
            return [line for path in journal_folder(db.session).glob("*.marks")
                    for line in path.read_text().splitlines()]  # fmt: skip
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        return [line for key in client.scan_iter(JOURNALS + "*") for line in client.lrange(key, 0, -1)]

    with mail_site.app_context():
        return (redis_url, lines, *claim_the_week())


def journal_ttl(redis_url: str) -> int:
    """Milliseconds the one journal in Redis has left."""
    client = redis.Redis.from_url(redis_url)
    [key] = client.keys(JOURNALS + "*")
    return client.pttl(key)


def statuses(ids: list[int]) -> dict[int, tuple]:
    columns = select(Delivery.id, Delivery.status, Delivery.message_id)
    rows = db.session.execute(columns.where(Delivery.id.in_(ids)))
    return {row_id: (status, message_id) for row_id, status, message_id in rows}


def test_marks_reach_the_database_within_a_moment_and_at_drain(mail_site, journal):
    redis_url, lines, digest_id, token, ids = journal
    with mail_site.app_context(), db.engine.connect() as connection:
        mark = sent_marker(
            connection.execution_options(isolation_level="AUTOCOMMIT"), DeliverySettings(redis_url=redis_url)
        )
        mark(ids[0], token, NOW, "<one@example.com>")
        [line] = lines()
        assert line.startswith(f"{ids[0]}\t{token}\t")
        db.session.remove()
        assert statuses(ids)[ids[0]][0] == "claimed"  # journaled, not yet applied
        mark.drain()
        db.session.remove()
        assert statuses(ids)[ids[0]] == ("sent", "<one@example.com>")
        assert lines() == []  # applied: the journal is emptied
        if redis_url is not None:  # a list made again after a drain expires too
            mark(ids[1], token, NOW, "<two@example.com>")
            assert 0 < journal_ttl(redis_url) <= DeliverySettings().journal_seconds * 1000
        mark.close()
        if redis_url is None:
            assert not list(journal_folder(db.session).glob("*.marks")), "removed when its sender ends"


KILLED_SENDER = """
    import os, signal, sys
    from datetime import UTC, datetime
    from blog import create_app
    from blog.extensions import db
    from blog.newsletter.marks import sent_marker
    from blog.newsletter.settings import DeliverySettings
    url, instance, redis_url, token, *rows = sys.argv[1:]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "INSTANCE_PATH": instance})
    with app.app_context(), db.engine.connect() as connection:
        settings = DeliverySettings(redis_url=redis_url or None)
        mark = sent_marker(connection.execution_options(isolation_level="AUTOCOMMIT"), settings)
        for row in rows:
            mark(int(row), token, datetime.now(UTC), f"<{row}@example.com>")
        os.kill(os.getpid(), signal.SIGKILL)  # before the marks reach the database
"""


def test_a_killed_senders_journal_is_applied_before_its_rows_are_taken_over(
    mail_site, journal, database_url, tmp_path
):
    redis_url, lines, digest_id, token, ids = journal
    sender = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_SENDER), database_url, str(tmp_path / "instance"),
         redis_url or "", token, *map(str, ids[:3])],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert sender.returncode == -signal.SIGKILL, sender.stderr
    with mail_site.app_context():
        assert len(lines()) == 3
        assert all(status == "claimed" for status, _ in statuses(ids).values())
        settings = DeliverySettings(redis_url=redis_url)
        later = NOW + settings.claim_timeout + timedelta(seconds=1)
        _, taken = delivery.claim_batch(db.session, digest_id, settings, later)
        assert taken == [ids[3]], "only the row whose message never left is sent again"
        sent = [("sent", f"<{row}@example.com>") for row in ids[:3]]
        assert [statuses(ids)[row] for row in ids[:3]] == sent
        if redis_url is None:
            assert lines() == [], "a dead sender's journal is removed once applied"
        else:  # it expires once every claim it could name is long stale
            assert 0 < journal_ttl(redis_url) <= settings.journal_seconds * 1000


def test_a_live_senders_journal_is_applied_and_kept_and_a_torn_line_is_not_a_mark(mail_site, claimed):
    digest_id, token, ids = claimed
    with mail_site.app_context(), db.engine.connect() as connection:
        mark = sent_marker(connection.execution_options(isolation_level="AUTOCOMMIT"))
        mark(ids[0], token, NOW, "<zero@example.com>")
        [journal] = journal_folder(connection).glob("*.marks")
        with journal.open("a") as torn:
            torn.write(f"{ids[1]}\t{token}\t2026-12-01 10:00:00")  # no line end: the write never finished
        assert replay_journals(db.session) == 1
        db.session.remove()
        assert statuses(ids)[ids[0]] == ("sent", "<zero@example.com>")
        assert statuses(ids)[ids[1]][0] == "claimed"
        assert journal.exists(), "a live sender keeps its journal"
        os.truncate(journal, 0)
        mark.close()


def test_postgresql_marks_are_pipelined_and_leave_the_connection_as_they_found_it(
    mail_site, week, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("libpq's pipeline mode")
    from psycopg import pq

    with mail_site.app_context():
        _, token, ids = claim_the_week()
        with db.engine.connect() as connection:
            mark = sent_marker(connection.execution_options(isolation_level="AUTOCOMMIT"))
            pgconn = connection.connection.dbapi_connection.pgconn
            for row in ids:
                mark(row, token, NOW, f"<{row}@example.com>")
            assert pgconn.pipeline_status == pq.PipelineStatus.ON
            mark.drain()
            db.session.remove()
            assert set(statuses(ids).values()) == {("sent", f"<{row}@example.com>") for row in ids}
            mark.close()
            assert pgconn.pipeline_status == pq.PipelineStatus.OFF
            prepared = connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
            assert prepared == 0, "the mark's statement is not left on a pooled connection"


def test_marks_that_cannot_be_applied_keep_their_rows_from_being_sent_again(
    mail_site, journal, smtp_server, monkeypatch
):
    redis_url, lines, digest_id, token, ids = journal
    from blog.newsletter import marks, postgres_marks
    from blog.newsletter.sending import send_next_batch

    if redis_url is None:
        journaled, error = marks.JournaledMarks, sqlite3.OperationalError("disk I/O error")
    else:
        import psycopg

        mail_site.config["REDIS_URL"] = redis_url  # a worker's settings: the journal in Redis
        journaled, error = postgres_marks.RedisJournal, psycopg.OperationalError("server closed it")

    def database_error(self, rows):
        raise error

    with mail_site.app_context():
        delivery.release(db.session, ids, token)  # the week's rows, due again
        db.session.commit()
        monkeypatch.setattr(journaled, "apply", database_error)
        with pytest.raises(type(error)):
            send_next_batch(digest_id)
        monkeypatch.undo()
        sent_first = len(smtp_server.messages)
        assert sent_first >= 1
        db.session.remove()
        claimed = db.session.scalars(select(Delivery.id).where(Delivery.status == "claimed")).all()
        assert len(claimed) == sent_first, "rows whose messages left keep their claims, not released"
        settings = DeliverySettings(redis_url=redis_url)
        later = datetime.now(UTC) + settings.claim_timeout + timedelta(seconds=1)
        token, taken = delivery.claim_batch(db.session, digest_id, settings, later)
        assert not set(taken) & set(claimed)
        assert {statuses(claimed)[row][0] for row in claimed} == {"sent"}
        delivery.release(db.session, taken, token)
        db.session.commit()
        while send_next_batch(digest_id) is not None:
            pass
    received = sorted(str(message["To"]) for message in smtp_server.messages)
    assert received == [f"reader{i}@example.com" for i in range(4)], "each once"


def test_replay_skips_damaged_lines_and_removes_journals_never_named(mail_site, claimed):
    digest_id, token, ids = claimed
    with mail_site.app_context():
        folder = journal_folder(db.session)
        folder.mkdir(exist_ok=True)
        damaged = folder / "gone.marks"  # left by a machine that stopped mid-write
        damaged.write_bytes(
            b"\xff\xfe\x00garbage\n" + f"{ids[0]}\t{token}\t2026-12-01 10:00:00\t<a@b>\n".encode()
        )
        (folder / "killed-early.new").write_bytes(b"")
        starting = folder / "starting.new"  # a sender between creating and naming its journal
        with open(starting, "wb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            assert replay_journals(db.session) == 1
            assert starting.exists()
        db.session.remove()
        assert statuses(ids)[ids[0]] == ("sent", "<a@b>")
        assert sorted(path.name for path in folder.iterdir()) == ["starting.new"]


@pytest.fixture
def redis_journal(journal):
    """journal, on PostgreSQL only: (Redis URL, lines(), digest id, token, row ids)."""
    if journal[0] is None:
        pytest.skip("PostgreSQL's journals are in Redis")
    return journal


def test_when_the_journals_redis_dies_each_mark_is_committed_before_the_next_message(
    mail_site, redis_journal, redis_server
):
    redis_url, lines, digest_id, token, ids = redis_journal
    with mail_site.app_context(), db.engine.connect() as connection:
        mark = sent_marker(
            connection.execution_options(isolation_level="AUTOCOMMIT"), DeliverySettings(redis_url=redis_url)
        )
        mark(ids[0], token, NOW, "<0@example.com>")
        redis_server.kill()
        try:
            # The kernel may still take the first write after the kill; a write that fails is
            # committed before the call returns, with every mark before it.
            for count, row in enumerate(ids[1:3], start=2):
                mark(row, token, NOW, f"<{row}@example.com>")
                db.session.remove()
                if mark.link is None:  # this write failed
                    assert [statuses(ids)[done][0] for done in ids[:count]] == ["sent"] * count
            assert mark.link is None, "the journal's Redis is gone: a write to it failed"
            mark(ids[3], token, NOW, "<3@example.com>")
            db.session.remove()
            assert statuses(ids)[ids[3]] == ("sent", "<3@example.com>"), "committed before the call returned"
            mark.close()
        finally:
            redis_server.start()


def test_stale_rows_wait_while_the_journals_cannot_be_read(mail_site, redis_journal, redis_server):
    redis_url, lines, digest_id, token, ids = redis_journal
    with mail_site.app_context():
        settings = DeliverySettings(redis_url=redis_url)
        later = NOW + settings.claim_timeout + timedelta(seconds=1)
        redis_server.kill()
        try:
            with pytest.raises(JournalsUnavailable):
                delivery.claim_batch(db.session, digest_id, settings, later)
        finally:
            redis_server.start()
        assert delivery.claim_batch(db.session, digest_id, settings, later)[1] == ids


def test_a_sender_that_cannot_read_the_journals_stops_and_comes_back_later(
    mail_site, redis_journal, smtp_server, monkeypatch
):
    redis_url, lines, digest_id, token, ids = redis_journal
    from blog.newsletter import postgres_marks, sending

    tries = []

    def unreadable(session, url):
        tries.append(url)
        raise JournalsUnavailable("NOPERM this user has no permissions to run the 'scan' command")

    mail_site.config.update(REDIS_URL=redis_url, DELIVERY_CLAIM_TIMEOUT=0.5)
    monkeypatch.setattr(postgres_marks, "replay_redis_journals", unreadable)
    time.sleep(0.6)  # the week's claims go stale
    with mail_site.app_context():
        started = time.monotonic()
        come_back = sending.send_next_batch(digest_id)
        assert time.monotonic() - started < 5, "no sender waits out its task"
        assert come_back is not None and come_back > datetime.now(UTC), "it comes back later"
        assert 1 <= len(tries) <= 4, "each sender asked once, then stopped"
        db.session.remove()
        assert {status for status, _ in statuses(ids).values()} == {"claimed"}
    assert smtp_server.messages == []


def test_replay_from_redis_skips_damaged_lines(mail_site, redis_journal):
    redis_url, lines, digest_id, token, ids = redis_journal
    client = redis.Redis.from_url(redis_url)
    client.rpush(JOURNALS + "gone", b"\xff\xfe\x00garbage", f"{ids[0]}\t{token}\tnot a time\t<x@y>",
                 f"{ids[1]}\t{token}\t2026-12-01T10:00:00+00:00\t<a@b>")  # fmt: skip
    client.set(JOURNALS + "not-a-list", "ignored")
    with mail_site.app_context():
        assert replay_journals(db.session, redis_url) == 1
        db.session.remove()
        assert statuses(ids)[ids[1]] == ("sent", "<a@b>")
        assert statuses(ids)[ids[0]][0] == "claimed"
