"""Marking a row sent: the one statement run for every message, so it is made cheap.

MARK_SENT is compiled once per sender and run on the driver's own connection: SQLAlchemy's
per-statement work would cost more than the UPDATE itself. The marker is called right after
the server accepts a message and before the next message's content goes on that connection,
and what it does before it returns survives a kill of the worker: so a kill leaves at most
one accepted message unrecorded per connection.

A commit per message was most of a message's cost, so the marks go to a journal first (one
write per mark, which the kernel keeps when the process is killed) and reach the database
together, a few times a second, in one transaction. A journal whose owner died is applied
(replay_journals) before any of its rows can be taken over. On a SQLite file, JournaledMarks
keeps each sender's journal in a file beside the database. On PostgreSQL the journal is a
list in the worker's Redis, which every worker machine reads (newsletter/postgres_marks.py);
without Redis, each mark is its own transaction, pipelined. See "Marks on SQLite" and "Marks
on PostgreSQL" in docs/architecture.md.
"""

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from blog.models import Delivery, DeliveryStatus
from blog.newsletter.settings import DeliverySettings
from blog.newsletter.writer_lock import sqlite_file, writer_lock, writing

try:
    import fcntl
except ImportError:  # no journals where there is no SQLite file to put them beside (sqlite_file)
    fcntl = None

BUSY_RETRIES = 3  # more tries to mark rows sent when SQLite stays locked past its busy timeout
JOURNAL_SECONDS = 0.25  # a journal's marks reach the database at least this often
JOURNAL_ROWS = 1000  # or when this many wait
DELIVERIES = Delivery.__table__
MARK_SENT = (
    DELIVERIES.update()
    .where(DELIVERIES.c.id == bindparam("row"), DELIVERIES.c.claim_token == bindparam("token"))
    .values(
        status=DeliveryStatus.SENT,
        sent_at=bindparam("sent_at"),
        message_id=bindparam("message_id"),
        claim_token=None,
        next_attempt_at=None,
    )
)


class MarkFailed(Exception):
    """PostgreSQL refused a mark sent a few messages earlier."""


class JournalsUnavailable(Exception):
    """The journals in Redis cannot be read: stale rows may not be taken over until they can."""


def sent_marker(
    connection: Connection, settings: DeliverySettings | None = None
) -> Callable[[int, str, datetime, str], None]:
    """A function that marks one row sent, if this sender still holds its claim, on a connection
    in autocommit mode; its `drain()` waits until every mark made is in the database, and
    `close()` drains and lets go of what the marker holds. On PostgreSQL the journal is in the
    Redis of `settings.redis_url`; without one, each mark is its own transaction."""
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        # Here, not above: a worker on SQLite never loads the driver (8 MiB).
        from blog.newsletter import postgres_marks

        if settings is not None and settings.redis_url:
            return postgres_marks.RedisJournal(connection, settings.redis_url, settings.journal_seconds)
        return postgres_marks.PipelinedMarks(connection)
    folder = journal_folder(connection)
    if folder is not None:
        return JournaledMarks(connection, folder)
    return DirectMarks(connection)


def journal_folder(bind: Connection | Session) -> Path | None:
    """Where the senders' journals are: beside the SQLite file; None for other databases."""
    path = sqlite_file(bind)
    return Path(f"{path}-marks") if path else None


class DirectMarks:
    """Each mark is committed when the call returns (SQLite in memory, and any other driver)."""

    def __init__(self, connection: Connection) -> None:
        dialect = connection.dialect
        compiled = MARK_SENT.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = compiled.positiontup  # None for drivers with named parameters
        self.process_time = DELIVERIES.c.sent_at.type.bind_processor(dialect) or (lambda value: value)
        self.constants = compiled.params  # status 'sent' and the NULLs
        self.cursor = connection.connection.dbapi_connection.cursor()
        self.lock = writer_lock(connection)

    def parameters(self, delivery_id: int, token: str, sent_at, message_id: str):
        """The statement's parameters; `sent_at` as the driver takes it (see process_time)."""
        values = self.constants | {"row": delivery_id, "token": token, "sent_at": sent_at,
                                   "message_id": message_id}  # fmt: skip
        return tuple(values[name] for name in self.order) if self.order else values

    def __call__(self, delivery_id: int, token: str, sent_at: datetime, message_id: str) -> None:
        self.apply([self.parameters(delivery_id, token, self.process_time(sent_at), message_id)])

    def apply(self, rows: list) -> None:
        """Run the marks in one transaction and commit."""
        for attempt in range(BUSY_RETRIES + 1):
            try:
                with self.lock:
                    if len(rows) == 1:
                        self.cursor.execute(self.sql, rows[0])  # autocommit: its own transaction
                    else:
                        self.cursor.execute("BEGIN IMMEDIATE")
                        try:
                            self.cursor.executemany(self.sql, rows)
                            self.cursor.execute("COMMIT")
                        except BaseException:
                            self.cursor.execute("ROLLBACK")
                            raise
                return
            except sqlite3.OperationalError as error:
                # Someone outside the delivery code (a large fan-out, say) held SQLite's write
                # lock past its busy timeout. The messages have left: try again rather than
                # give the rows back to be sent twice.
                if "locked" not in str(error) or attempt == BUSY_RETRIES:
                    raise

    def drain(self) -> None:
        return None

    def unapplied(self) -> set[int]:
        """Rows marked sent whose marks are not yet in the database (a journal's)."""
        return set()

    def close(self) -> None:
        return None


class JournaledMarks(DirectMarks):
    """SQLite file: each mark is written to this sender's journal, and the journal applied to
    the database in one transaction at least every JOURNAL_SECONDS and at `drain()`.

    The journal is `<database>-marks/<name>.marks`, a line per mark (row, claim token, time,
    Message-ID), held under an exclusive file lock while its sender lives; it is emptied once
    its marks are committed, and removed when the sender ends. A mark is idempotent (it
    applies only while the row still carries the claim token), so applying one twice is
    harmless."""

    def __init__(self, connection: Connection, folder: Path) -> None:
        super().__init__(connection)
        folder.mkdir(mode=0o700, exist_ok=True)
        name = f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(4)}"
        # Locked under a name replay_journals does not read, then renamed: a journal is never
        # seen unlocked while its sender lives.
        starting = folder / f"{name}.new"
        self.fd = os.open(starting, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.path = folder / f"{name}.marks"
        starting.rename(self.path)
        self.waiting: list = []
        self.waiting_rows: list[int] = []
        self.applied_at = time.monotonic()

    def __call__(self, delivery_id: int, token: str, sent_at: datetime, message_id: str) -> None:
        stamp = self.process_time(sent_at)
        os.write(self.fd, f"{delivery_id}\t{token}\t{stamp}\t{message_id}\n".encode())
        self.waiting.append(self.parameters(delivery_id, token, stamp, message_id))
        self.waiting_rows.append(delivery_id)
        if len(self.waiting) >= JOURNAL_ROWS or time.monotonic() - self.applied_at >= JOURNAL_SECONDS:
            self.drain()

    def drain(self) -> None:
        """Commit the journal's marks and empty it."""
        if self.waiting:
            self.apply(self.waiting)
            os.ftruncate(self.fd, 0)  # appends go on at the new end
            self.waiting, self.waiting_rows = [], []
        self.applied_at = time.monotonic()

    def unapplied(self) -> set[int]:
        return set(self.waiting_rows)

    def close(self) -> None:
        """Drain and remove the journal; one that cannot be drained is left for replay_journals."""
        if self.fd is None:
            return
        try:
            self.drain()
            self.path.unlink()
        finally:
            os.close(self.fd)  # lets go of its lock
            self.fd = None


def replay_journals(session: Session, redis_url: str | None = None) -> int:
    """Apply the marks in every sender's journal: beside this SQLite file (removing the
    journals whose sender is gone), or, on PostgreSQL, in the Redis at `redis_url` (raises
    JournalsUnavailable when it cannot be read). Returns how many marks were read. Run before
    rows are taken over from a sender whose claim went stale: a mark it journaled is the record
    that the message left, even if the sender died before it reached the database."""
    if redis_url and session.get_bind().dialect.name == "postgresql":
        from blog.newsletter.postgres_marks import replay_redis_journals  # loads the driver

        return replay_redis_journals(session, redis_url)
    folder = journal_folder(session)
    if folder is None or not folder.is_dir():
        return 0
    marker = DirectMarks(session.connection())
    rows, opened, orphans = [], [], []
    try:
        for path in sorted(folder.glob("*.marks")):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # its sender just ended, or another replay removed it
                continue
            opened.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                orphans.append(path)
            except BlockingIOError:
                pass  # its sender lives (or is stopped): its marks count, its journal stays
            with os.fdopen(os.dup(fd), "rb") as journal:
                for line in journal.read().split(b"\n")[:-1]:  # a line without its end was not made
                    fields = line.decode(errors="replace").split("\t")  # damaged: matches no claim
                    if len(fields) == 4 and fields[0].isdigit():
                        rows.append(marker.parameters(int(fields[0]), *fields[1:]))
        if rows:
            with writing(session):
                session.connection().exec_driver_sql(marker.sql, rows)
        for path in orphans:
            path.unlink(missing_ok=True)
        for path in folder.glob("*.new"):  # a sender killed before its journal had its name
            with contextlib.suppress(OSError), open(path, "rb") as starting:
                fcntl.flock(starting, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink()
    finally:
        for fd in opened:
            os.close(fd)
    return len(rows)
