"""Deliver a digest exactly once to each active subscriber.

Each (digest, subscriber) pair is one Delivery row. A sender claims a batch of rows
with a conditional UPDATE (SKIP LOCKED on PostgreSQL), sends them over its SMTP
connection (newsletter/senders.py), and records each row as sent, with its Message-ID,
right after the server accepts it (newsletter/marks.py: the sender's journal, a file beside
a SQLite database or a list in Redis on PostgreSQL, applied a few times a second). A claim
older than the claim timeout (longer than a task may run) is taken over, once the journals
are applied, so the rows of a killed worker are sent by another. The only possible duplicate
is a message accepted by the server in the instant between its acceptance and its record.

This module commits: each commit is the record that a message left, and that
record is what makes a retry skip it.
"""

import logging
import secrets
from datetime import datetime

from sqlalchemy import Integer, and_, any_, bindparam, case, func, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from blog.mail.transport import SendError
from blog.models import (
    CarriedPost,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestStatus,
    Post,
    Subscriber,
    SubscriberStatus,
    as_utc,
)
from blog.newsletter.marks import journal_folder, replay_journals
from blog.newsletter.settings import DeliverySettings
from blog.newsletter.writer_lock import writing

log = logging.getLogger(__name__)
HARD_BOUNCE_LIMIT = 3  # hard bounces before an address is suppressed
MAX_ATTEMPTS = 8  # temporary failures before a row is given up as failed


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def refresh_statistics(session: Session) -> None:
    """On PostgreSQL, analyze the delivery and subscriber tables if they changed by more than a
    tenth since their statistics were taken, as autovacuum would a minute or more later. Until
    then, right after a large import or fan-out, the planner took a batch's lookups by primary
    key for scans of the whole table, every batch. Committed on its own; a failure (no right
    to analyze, a lock not given within a second) leaves the statistics as they are."""
    if _dialect(session) != "postgresql":
        return
    session.commit()
    stale = session.scalars(
        text(
            "SELECT relid::regclass::text FROM pg_stat_user_tables"
            " WHERE relid IN ('delivery'::regclass, 'subscriber'::regclass)"
            " AND n_mod_since_analyze > 50 + 0.1 * greatest(n_live_tup, 0)"
        )
    ).all()
    try:
        for table in stale:
            session.execute(text("SET LOCAL lock_timeout = '1s'"))
            session.execute(text(f"ANALYZE {table}"))  # a name the catalogue gave, not input
            session.commit()
    except DBAPIError as error:
        session.rollback()
        log.warning("statistics of %s not refreshed: %s", ", ".join(stale), error)


def fan_out(session: Session, digest: Digest) -> int:
    """Create a pending row for each active subscriber on the author's digest (who never chose
    preferences: those get theirs per audience, newsletter/audiences.py) that has none yet."""
    everyone = and_(Subscriber.status == SubscriberStatus.ACTIVE, Subscriber.preferences_at.is_(None))
    added = add_rows(session, digest.id, everyone)
    record_carried(session, digest.id, list(digest.post_ids or ()))
    return added


def _insert(session: Session):
    return postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert


def add_rows(session: Session, digest_id: int, which) -> int:
    """A pending row of the digest for each subscriber the condition picks (none twice)."""
    rows = select(literal(digest_id), Subscriber.id, literal(DeliveryStatus.PENDING), literal(0)).where(which)
    statement = (
        _insert(session)(Delivery.__table__)
        .from_select(["digest_id", "subscriber_id", "status", "attempts"], rows)
        .on_conflict_do_nothing(index_elements=["digest_id", "subscriber_id"])
    )
    # preserve_rowcount: without it an INSERT ... SELECT reports -1 on PostgreSQL.
    return session.execute(statement.execution_options(preserve_rowcount=True)).rowcount


def record_carried(session: Session, digest_id: int, post_ids: list[int]) -> None:
    """The post ledger: each post of the digest to each subscriber it has a row for (UNIQUE
    subscriber and post, so a post already carried to someone stays with its first digest)."""
    if not post_ids:
        return
    rows = (
        select(Delivery.subscriber_id, Post.id, literal(digest_id))
        .join(Post, Post.id.in_(post_ids))  # every row with every post of the digest
        .where(Delivery.digest_id == digest_id, Delivery.subscriber_id.is_not(None))
    )
    session.execute(
        _insert(session)(CarriedPost.__table__)
        .from_select(["subscriber_id", "post_id", "digest_id"], rows)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "post_id"])
    )


def _status_is(status: DeliveryStatus):
    """`status = value`, written as a range so a claim ordered by (status, id) can only be read
    from the (digest, status, id) index: with an equality PostgreSQL's planner may serve the
    order from the primary key instead, and when its statistics still say every row is pending
    (they were taken at the fan-out) it walked past every row already sent, each batch."""
    return and_(Delivery.status >= status, Delivery.status <= status)


def _stale(digest_id: int, now: datetime, settings: DeliverySettings):
    """Rows claimed by a worker longer ago than a task may run: that worker is gone."""
    return and_(
        Delivery.digest_id == digest_id,
        _status_is(DeliveryStatus.CLAIMED),
        Delivery.claimed_at < now - settings.claim_timeout,
    )


def _due(digest_id: int, now: datetime):
    """Pending rows that are not waiting out a retry's backoff."""
    return and_(
        Delivery.digest_id == digest_id,
        _status_is(DeliveryStatus.PENDING),
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )


def claim_batch(
    session: Session, digest_id: int, settings: DeliverySettings, now: datetime, size: int | None = None
) -> tuple[str, list[int]]:
    """Claim up to `size` (batch_size) stale or due rows for this sender; commit so others see it.

    Stale and due rows are found by two queries, each an ordered walk of the (digest, status)
    index that stops at batch_size: one query with an OR between them would read every row of
    the digest, and the last batches of a 100,000-recipient digest would each read them all.
    """
    token = secrets.token_hex(16)
    stale = select(Delivery.id).where(_stale(digest_id, now, settings)).limit(1)
    journaled = journal_folder(session) is not None or bool(settings.redis_url)
    if journaled and session.scalar(stale) is not None:
        # What the stale claims' senders journaled as sent is sent. Raises JournalsUnavailable
        # when the journals cannot be read: a mark there may be the only record of a message.
        replay_journals(session, settings.redis_url)
    with writing(session):
        ids: list[int] = []
        for condition in (_stale(digest_id, now, settings), _due(digest_id, now)):
            wanted = (size or settings.batch_size) - len(ids)
            if wanted:
                ids += session.scalars(candidates(session, condition, wanted))
        if ids:
            # Conditional: a row another worker claimed meanwhile no longer matches (SQLite, too).
            session.execute(
                update(Delivery)
                .where(
                    among(session, Delivery.id, ids),
                    or_(_stale(digest_id, now, settings), _due(digest_id, now)),
                )
                .values(status=DeliveryStatus.CLAIMED, claim_token=token, claimed_at=now)
                .execution_options(synchronize_session=False)
            )
    if not ids:
        return token, []
    claimed = select(Delivery.id).where(among(session, Delivery.id, ids), Delivery.claim_token == token)
    return token, list(session.scalars(claimed.order_by(Delivery.id)))


def among(bind: Session | Connection, column, ids) -> ColumnElement:
    """`column IN ids`. On PostgreSQL `column = ANY(:ids)`, an array in one parameter: an IN list
    of a batch's thousand ids made a new statement each batch, which the driver converted and the
    server parsed and planned anew; this one statement stays the same whatever the batch."""
    if (bind.dialect.name if isinstance(bind, Connection) else _dialect(bind)) != "postgresql":
        return column.in_(ids)
    return column == any_(bindparam(None, sorted(ids), type_=postgresql.ARRAY(Integer)))


def candidates(session: Session, condition, wanted: int):
    """The first `wanted` rows a claim may take (`condition` one status), by id: on PostgreSQL
    each locked, skipping those another worker is claiming. See _status_is for the order."""
    query = select(Delivery.id).where(condition).order_by(Delivery.status, Delivery.id).limit(wanted)
    if _dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


DELIVERIES = Delivery.__table__
SUBSCRIBERS = Subscriber.__table__


def claimed_rows(session: Session, ids: list[int]) -> list[tuple]:
    """The claimed rows with what sending needs of each subscriber, in id order; the read
    transaction is ended, so the session holds nothing while the rows are sent.

    Two lookups by primary key rather than a join: right after a large import or fan-out the
    planner's statistics are stale, and PostgreSQL then hashed the whole subscriber table for
    every batch."""
    rows = session.execute(
        select(Delivery.id, Delivery.attempts, Delivery.subscriber_id).where(among(session, Delivery.id, ids))
    ).all()
    people = {
        person[0]: person
        for person in session.execute(
            select(Subscriber.id, Subscriber.email, Subscriber.status, Subscriber.token_secret).where(
                among(
                    session,
                    Subscriber.id,
                    {row.subscriber_id for row in rows if row.subscriber_id is not None},
                )
            )
        )
    }
    session.commit()
    nobody = (None, None, None, None)
    return sorted((row.id, row.attempts, *people.get(row.subscriber_id, nobody)) for row in rows)


def finish(connection: Connection, delivery_id: int, token: str, *also, **values) -> None:
    """Record a row's outcome, if this worker still holds its claim, with the statements in
    `also`, and commit."""
    with writing(connection):
        for statement in also:
            connection.execute(statement)
        connection.execute(
            DELIVERIES.update()
            .where(DELIVERIES.c.id == delivery_id, DELIVERIES.c.claim_token == token)
            .values({"claim_token": None, "next_attempt_at": None} | values)
        )


def fail(connection: Connection, delivery_id: int, token: str, subscriber_id: int, error: SendError) -> None:
    """A permanent (5xx) refusal: the row fails and the address earns a hard bounce, unless the
    server refused our sender (a setting to fix, and `digest retry-failed` sends again)."""
    if error.sender:
        finish(connection, delivery_id, token, status=DeliveryStatus.FAILED, error=str(error))
        return
    bounces = SUBSCRIBERS.c.bounce_count + 1
    bounce = (
        SUBSCRIBERS.update()
        .where(SUBSCRIBERS.c.id == subscriber_id)
        .values(
            bounce_count=bounces,
            status=case(
                (bounces >= HARD_BOUNCE_LIMIT, SubscriberStatus.BOUNCED.value), else_=SUBSCRIBERS.c.status
            ),
        )
    )
    finish(connection, delivery_id, token, bounce, status=DeliveryStatus.FAILED, error=str(error))


def defer(
    connection: Connection,
    delivery_id: int,
    attempts: int,
    token: str,
    error: str,
    settings: DeliverySettings,
    now: datetime,
) -> None:
    """A temporary (4xx or connection) failure: try again after a backoff, or give up."""
    attempts += 1
    if attempts >= MAX_ATTEMPTS:
        finish(connection, delivery_id, token, status=DeliveryStatus.FAILED, attempts=attempts, error=error)
        return
    finish(
        connection,
        delivery_id,
        token,
        status=DeliveryStatus.PENDING,
        attempts=attempts,
        error=error,
        next_attempt_at=now + settings.backoff(attempts),
    )


def throttle(connection: Connection, delivery_id: int, token: str, error: str, retry_at: datetime) -> None:
    """The relay asked to slow down: the row waits out the pause and is tried again. No attempt is
    counted, since the answer was about the pace, not about the address."""
    finish(
        connection, delivery_id, token, status=DeliveryStatus.PENDING, error=error, next_attempt_at=retry_at
    )


def release(
    connection: Connection | Session,
    ids: list[int],
    token: str,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Hand claimed rows back untried. With an error (the server could not be reached), each row
    says why and waits until retry_at, as the console and `weeknote digest status` show; no
    attempt is counted, since no message was tried."""
    with writing(connection):
        if ids:
            connection.execute(
                DELIVERIES.update()
                .where(among(connection, DELIVERIES.c.id, ids), DELIVERIES.c.claim_token == token)
                .values(status=DeliveryStatus.PENDING, claim_token=None, claimed_at=None)
                .values(error=error, next_attempt_at=retry_at)
            )


def next_due(session: Session, digest_id: int, settings: DeliverySettings, now: datetime) -> datetime | None:
    """When this digest next has a row this worker could claim, or None when no row is open.

    Pending rows are due now, or at their retry time; a row another worker holds becomes
    claimable when its claim goes stale, so a chain does not spin while others finish.
    Each question is a short walk of the (digest, status) index: the first stops at the
    first row due now, and the others only read the few rows deferred or claimed.
    """
    in_digest = Delivery.digest_id == digest_id
    due_now = select(Delivery.id).where(
        in_digest, Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at.is_(None)
    )
    if session.scalar(due_now.limit(1)) is not None:
        return now
    earliest_retry, earliest_claim = (
        session.scalar(select(func.min(column)).where(in_digest, Delivery.status == status))
        for column, status in (
            (Delivery.next_attempt_at, DeliveryStatus.PENDING),
            (Delivery.claimed_at, DeliveryStatus.CLAIMED),
        )
    )
    stale_at = earliest_claim + settings.claim_timeout if earliest_claim is not None else None
    moments = [moment for moment in (earliest_retry, stale_at) if moment is not None]
    if not moments:
        return None
    return max(now, min(as_utc(moment) for moment in moments))


def mark_progress(session: Session, digest_id: int, now: datetime) -> None:
    with writing(session):
        session.execute(update(Digest).where(Digest.id == digest_id).values(progress_at=now))


def finish_digest(session: Session, digest_id: int, now: datetime) -> bool:
    """Mark a sending digest sent once none of its rows is pending or claimed."""
    still_open = session.scalar(
        select(func.count()).where(
            Delivery.digest_id == digest_id,
            Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.CLAIMED)),
        )
    )
    if still_open:
        return False
    with writing(session):
        result = session.execute(
            update(Digest)
            .where(Digest.id == digest_id, Digest.status == DigestStatus.SENDING)
            .values(status=DigestStatus.SENT, sent_at=now)
        )
    return bool(result.rowcount)


def retry_failed(session: Session, digest_id: int) -> int:
    """Put failed rows of still-active subscribers back in the queue; reopen the digest."""
    active = select(Subscriber.id).where(Subscriber.status == SubscriberStatus.ACTIVE)
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.digest_id == digest_id,
            Delivery.status == DeliveryStatus.FAILED,
            Delivery.subscriber_id.in_(active),
        )
        .values(status=DeliveryStatus.PENDING, attempts=0, error=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        session.execute(
            update(Digest)
            .where(Digest.id == digest_id, Digest.status == DigestStatus.SENT)
            .values(status=DigestStatus.SENDING)
        )
    session.commit()
    return result.rowcount
