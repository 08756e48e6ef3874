"""Marks on PostgreSQL: a journal in Redis applied in batches, or each mark pipelined alone.

A commit on PostgreSQL waits for the write-ahead log to reach the disk, and each one costs the
worker and the server more than the message it records. So, as on SQLite, a sender journals
each mark before the next message goes and applies its journal in one transaction a few times
a second (RedisJournal). The journal is a list in the worker's Redis, not a file: a row whose
sender died may be taken over on another worker machine, and every machine reads the same
Redis. Before stale rows are taken over, replay_redis_journals applies every journal there.

Without Redis (sending in the web process), PipelinedMarks sends each mark as its own
transaction onto the server's socket and reads the outcome a few marks later. See "Marks on
PostgreSQL" in docs/architecture.md.
"""

import logging
import os
import secrets
import select
import socket
import threading
import time
from datetime import datetime

import redis
from psycopg import pq
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from blog.models import DeliveryStatus
from blog.newsletter.marks import (
    DELIVERIES,
    JOURNAL_ROWS,
    JOURNAL_SECONDS,
    MARK_SENT,
    JournalsUnavailable,
    MarkFailed,
)

log = logging.getLogger(__name__)
DEPTH = 4  # PipelinedMarks: marks on their way to the server before a sender waits for the oldest
JOURNALS = "weeknote:marks:"  # a sender's journal is the Redis list JOURNALS + its name
REDIS_SECONDS = 5.0  # a journal's Redis gives up after this long: the marks go to PostgreSQL alone
# Every mark of a batch in one statement: four arrays, joined to the rows they name.
APPLY = (
    f"UPDATE {DELIVERIES.name} SET status = '{DeliveryStatus.SENT}', sent_at = m.sent_at,"
    " message_id = m.message_id, claim_token = NULL, next_attempt_at = NULL"
    " FROM unnest(%s::integer[], %s::text[], %s::timestamptz[], %s::text[])"
    " AS m(id, token, sent_at, message_id)"
    f" WHERE {DELIVERIES.name}.id = m.id AND {DELIVERIES.name}.claim_token = m.token"
)


def columns(marks: list[tuple[int, str, datetime, str]]) -> tuple[list, ...]:
    """APPLY's four arrays: the rows, their claim tokens, the moments and the Message-IDs."""
    return tuple(list(column) for column in zip(*marks, strict=True))


class RedisJournal:
    """Each mark is pushed onto this sender's list in Redis (one write onto the socket; the
    replies are read at the next drain) and kept in memory; at least every JOURNAL_SECONDS the
    marks are applied to PostgreSQL in one transaction, then the list is deleted. Should Redis
    fail, what is in memory is applied at once, and from then on every mark is committed
    before the call returns.

    The list expires `keep` seconds after its first mark: long after its rows' claims go
    stale, when any mark it held has been replayed."""

    def __init__(self, connection: Connection, redis_url: str, keep: float) -> None:
        self.cursor = connection.connection.dbapi_connection.cursor()
        options = {"socket_timeout": REDIS_SECONDS, "socket_connect_timeout": REDIS_SECONDS}
        self.link = redis.ConnectionPool.from_url(redis_url, **options).make_connection()
        self.waiting: list[tuple[int, str, datetime, str]] = []
        self.replies = 0  # commands sent whose replies are not read yet
        self.applied_at = time.monotonic()
        name = f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(4)}"
        key = (JOURNALS + name).encode()
        # Built once: RPUSH's head by hand (each mark only adds its line), the others by redis-py.
        self.push = b"*3\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n" % (len(key), key)
        self.expire = b"".join(self.link.pack_command("PEXPIRE", key, int(keep * 1000)))
        self.delete = b"".join(self.link.pack_command("DEL", key))
        try:
            self.link.connect()
        except (redis.RedisError, OSError) as error:
            self._without_redis(error)

    def __call__(self, delivery_id: int, token: str, sent_at: datetime, message_id: str) -> None:
        self.waiting.append((delivery_id, token, sent_at, message_id))
        if self.link is None:
            self.drain()
            return
        line = f"{delivery_id}\t{token}\t{sent_at.isoformat()}\t{message_id}".encode()
        command = self.push + b"$%d\r\n%s\r\n" % (len(line), line)
        if self.replies == 0:  # the list's first mark since it was applied: it expires
            command += self.expire
            self.replies += 1
        try:
            self.link.send_packed_command([command], check_health=False)
        except (redis.RedisError, OSError) as error:
            self._without_redis(error)
            self.drain()  # the mark is recorded before the next message goes
            return
        self.replies += 1
        if len(self.waiting) >= JOURNAL_ROWS or time.monotonic() - self.applied_at >= JOURNAL_SECONDS:
            self.drain()

    def drain(self) -> None:
        """Commit the marks made, then empty the journal."""
        if self.waiting:
            self.apply(self.waiting)
            self.waiting = []
            if self.link is not None:
                try:
                    self.link.send_packed_command([self.delete], check_health=False)
                    self.replies += 1
                    for _ in range(self.replies):
                        self.link.read_response()  # an error reply raises
                    self.replies = 0
                except (redis.RedisError, OSError) as error:
                    self._without_redis(error)
        self.applied_at = time.monotonic()

    def apply(self, marks: list[tuple[int, str, datetime, str]]) -> None:
        """Run the marks in one transaction and commit."""
        with self.cursor.connection.transaction():  # the connection is in autocommit mode
            self.cursor.execute(APPLY, columns(marks))

    def _without_redis(self, error: Exception) -> None:
        log.warning("marks go to PostgreSQL one by one: the journal's Redis failed: %s", error)
        if self.link is not None:
            self.link.disconnect()
        self.link = None

    def unapplied(self) -> set[int]:
        """Rows marked sent whose marks are not yet in the database: in the journal, unless
        Redis failed too (then their claims go stale with no record, and they are sent again)."""
        if self.waiting and self.link is None:
            log.warning("%d marks neither in Redis nor in PostgreSQL", len(self.waiting))
        return {mark[0] for mark in self.waiting}

    def close(self) -> None:
        """Drain and let go of the Redis connection; marks that cannot be applied stay in Redis."""
        try:
            self.drain()
        finally:
            if self.link is not None:
                self.link.disconnect()
                self.link = None


def replay_redis_journals(session: Session, redis_url: str) -> int:
    """Apply the marks in every sender's journal in Redis, its sender alive or not; returns how
    many were read. Raises JournalsUnavailable when Redis cannot be read: then no stale row may
    be taken over, since a mark there may be the only record that its message left."""
    options = {"socket_timeout": REDIS_SECONDS, "socket_connect_timeout": REDIS_SECONDS}
    client = redis.Redis.from_url(redis_url, **options)
    marks, damaged = [], 0
    try:
        for key in client.scan_iter(match=JOURNALS + "*", count=1000, _type="list"):
            for line in client.lrange(key, 0, -1):
                fields = line.decode(errors="replace").split("\t")
                try:
                    marks.append((int(fields[0]), fields[1], datetime.fromisoformat(fields[2]), fields[3]))
                except (ValueError, IndexError):
                    damaged += 1
    except (redis.RedisError, OSError) as error:
        raise JournalsUnavailable(f"the marks journaled in Redis cannot be read: {error}") from error
    finally:
        client.close()
    if damaged:
        log.warning("%d damaged lines in the journals in Redis: they mark nothing", damaged)
    if marks:
        session.connection().exec_driver_sql(APPLY, columns(marks))
        session.commit()
    return len(marks)


class PipelinedMarks:
    """PostgreSQL (psycopg): each mark goes onto the server's socket at once, in libpq's pipeline
    mode, as a prepared statement in its own transaction; up to DEPTH of them may be on their
    way before the sender waits for the oldest, so the commits (each waiting for the disk)
    overlap the messages that follow instead of holding them up."""

    def __init__(self, connection: Connection) -> None:
        compiled = MARK_SENT.compile(dialect=postgresql_psycopg.dialect(paramstyle="numeric_dollar"))
        self.order = compiled.positiontup
        self.constants = compiled.params
        # libpq's own connection: nothing else uses this one while the sender lives.
        self.connection, self.pgconn = connection, connection.connection.dbapi_connection.pgconn
        self.name = f"weeknote_mark_sent_{secrets.token_hex(4)}".encode()  # unique on a pooled connection
        self.problems: list[str] = []
        self.pgconn.enter_pipeline_mode()
        self.pgconn.send_prepare(self.name, str(compiled).encode())
        self.on_their_way = 0  # transactions sent whose end (their Sync) has not been read
        self._end_transaction()
        self._read(0)  # prepared, or refused now, before any message depends on it

    def __call__(self, delivery_id: int, token: str, sent_at: datetime, message_id: str) -> None:
        values = self.constants | {"row": delivery_id, "token": token, "sent_at": sent_at.isoformat(),
                                   "message_id": message_id}  # fmt: skip
        parameters = [None if values[name] is None else str(values[name]).encode() for name in self.order]
        self.pgconn.send_query_prepared(self.name, parameters)
        self._end_transaction()
        self._read(DEPTH)

    def _end_transaction(self) -> None:
        """End what was sent with a Sync (a transaction of its own) and put it all on the
        server's socket before the next message goes."""
        self.pgconn.pipeline_sync()
        self.on_their_way += 1
        while self.pgconn.flush():
            select.select([], [self.pgconn.socket], [])

    def _read(self, at_most: int) -> None:
        """Read results until no more than `at_most` transactions are on their way; raise
        MarkFailed for any the server refused."""
        pgconn = self.pgconn
        while self.on_their_way > at_most:
            pgconn.consume_input()
            if pgconn.is_busy():  # wait outside libpq, so other threads run meanwhile
                select.select([pgconn.socket], [], [])
                continue
            result = pgconn.get_result()
            if result is None:
                continue  # the end of one statement's results
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                self.on_their_way -= 1
            elif result.status == pq.ExecStatus.FATAL_ERROR:
                self.problems.append(result.error_message.decode(errors="replace"))
        if self.problems:
            problems, self.problems = self.problems, []
            raise MarkFailed("; ".join(problems))

    def drain(self) -> None:
        """Wait until every mark sent is committed, and raise if the server refused one."""
        self._read(0)

    def unapplied(self) -> set[int]:
        return set()  # on the server's socket: committed there, or refused

    def close(self) -> None:
        """Drain, forget the statement and leave pipeline mode: the connection goes back to the pool."""
        try:
            self.drain()
            self.pgconn.send_close_prepared(self.name)
            self._end_transaction()
            self._read(0)
            self.pgconn.exit_pipeline_mode()
        except BaseException:
            self.connection.invalidate()  # in an unknown state: never back to the pool
            raise
