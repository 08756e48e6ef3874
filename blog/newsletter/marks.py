"""Marking a row sent: the one statement run for every message, so it is made cheap.

MARK_SENT is compiled once per sender and run on the driver's own connection, in autocommit
mode: SQLAlchemy's per-statement work would cost more than the UPDATE itself. The marker is
called right after the server accepts a message and before the next message's content goes
on that connection, so a kill leaves at most one accepted message unrecorded per connection.

On PostgreSQL each commit waits for the write-ahead log to reach the disk. PipelinedMarks
sends the UPDATE (its own transaction) and flushes it onto the server's socket at once, and
reads its result only when the next mark goes: the server commits it even if the worker is
killed a moment later, and the wait for the disk overlaps the next message's round trip to
the relay instead of adding to it.
"""

import select
import sqlite3
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.engine import Connection

from blog.models import Delivery, DeliveryStatus
from blog.newsletter.writer_lock import writer_lock

BUSY_RETRIES = 3  # more tries to mark a row sent when SQLite stays locked past its busy timeout
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
    """PostgreSQL refused a mark that was sent one message earlier."""


def sent_marker(connection: Connection) -> Callable[[int, str, datetime, str], None]:
    """A function that marks one row sent, if this sender still holds its claim, on a connection
    in autocommit mode; its `drain()` waits for the last mark to be committed."""
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        return PipelinedMarks(connection)
    return DirectMarks(connection)


class DirectMarks:
    """Each mark is committed when the call returns (SQLite, and any other driver)."""

    def __init__(self, connection: Connection) -> None:
        dialect = connection.dialect
        compiled = MARK_SENT.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = compiled.positiontup  # None for drivers with named parameters
        self.process_time = DELIVERIES.c.sent_at.type.bind_processor(dialect) or (lambda value: value)
        self.constants = compiled.params  # status 'sent' and the NULLs
        self.cursor = connection.connection.dbapi_connection.cursor()
        self.lock = writer_lock(connection)

    def __call__(self, delivery_id: int, token: str, sent_at: datetime, message_id: str) -> None:
        values = self.constants | {"row": delivery_id, "token": token, "sent_at": self.process_time(sent_at),
                                   "message_id": message_id}  # fmt: skip
        parameters = tuple(values[name] for name in self.order) if self.order else values
        for attempt in range(BUSY_RETRIES + 1):
            try:
                with self.lock:
                    self.cursor.execute(self.sql, parameters)
                return
            except sqlite3.OperationalError as error:
                # Someone outside the delivery code (a large fan-out, say) held SQLite's write
                # lock past its busy timeout. The message has left: try again rather than
                # give the row back to be sent twice.
                if "locked" not in str(error) or attempt == BUSY_RETRIES:
                    raise

    def drain(self) -> None:
        return None


class PipelinedMarks:
    """PostgreSQL (psycopg): send each mark at once, read its result when the next one goes."""

    def __init__(self, connection: Connection) -> None:
        compiled = MARK_SENT.compile(dialect=postgresql_psycopg.dialect(paramstyle="numeric_dollar"))
        self.sql = str(compiled).encode()
        self.order = compiled.positiontup
        self.constants = compiled.params
        # libpq's own connection: nothing else uses this one while the sender lives.
        self.pgconn = connection.connection.dbapi_connection.pgconn
        self.pending = False

    def __call__(self, delivery_id: int, token: str, sent_at: datetime, message_id: str) -> None:
        self.drain()
        values = self.constants | {"row": delivery_id, "token": token, "sent_at": sent_at.isoformat(),
                                   "message_id": message_id}  # fmt: skip
        parameters = [None if values[name] is None else str(values[name]).encode() for name in self.order]
        self.pgconn.send_query_params(self.sql, parameters)  # its own transaction: it ends in a Sync
        while self.pgconn.flush():  # all of it on the server's socket before the next message goes
            select.select([], [self.pgconn.socket], [])
        self.pending = True

    def drain(self) -> None:
        """Wait for the mark sent last (its commit), and raise if the server refused it."""
        if not self.pending:
            return
        self.pending = False
        while self.pgconn.is_busy():  # wait outside libpq, so other threads run meanwhile
            select.select([self.pgconn.socket], [], [])
            self.pgconn.consume_input()
        problems = []
        while (result := self.pgconn.get_result()) is not None:
            if result.error_message:
                problems.append(result.error_message.decode(errors="replace"))
        if problems:
            raise MarkFailed("; ".join(problems))
