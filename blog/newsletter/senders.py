"""Several SMTP connections in one worker process: a thread each, within the shared pace.

A task takes up to its share of SMTP_CONNECTIONS leases (newsletter/pace.py) and runs one
sender thread per lease. Threads, not asyncio: each sender spends its time waiting on its
socket or its database connection, where Python lets the others run, and the blocking parts
that already keep the guarantees (smtplib with pipelining, the marks in delivery.py) are
used as they are. A sender holds one SMTP connection and claims batch after batch, each
about two seconds of its own pace (so the last batches of a digest end together), until
nothing is due soon, its lease is lost, Redis stops answering, or the task's time is up.

Each row is still committed as sent right after its own acceptance, before the next message
on that connection is let go: a kill can leave one accepted message unrecorded per connection.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Flask

from blog.extensions import db
from blog.mail.message import HeaderInjectionError
from blog.mail.transport import SendError, Transport, transport_from_config
from blog.models import DeliveryStatus, SubscriberStatus
from blog.newsletter import delivery
from blog.newsletter.mailer import DigestMailer, Recipient
from blog.newsletter.marks import JournalsUnavailable, sent_marker
from blog.newsletter.pace import PAUSE, LocalPace, Pace, PaceUnavailable
from blog.newsletter.settings import DeliverySettings

log = logging.getLogger(__name__)
FIRST_BATCH = 20  # rows a sender claims before it knows its pace
BATCH_SECONDS = 2.0  # a batch is about this long at the sender's own pace
IDLE = 2.0  # seconds a sender waits for rows that come due soon (a pause, a quick retry) before it ends
MAX_WAIT = 10.0  # seconds a sender may wait for the allowance; longer, the task comes back later
FRESH = 0.2  # seconds tokens taken in advance stay valid, so a slow-down reaches every sender soon


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class Crew:
    """The sender threads of one task, and what made them stop."""

    app: Flask
    digest_id: int
    mailer: DigestMailer
    settings: DeliverySettings
    pace: Pace | LocalPace
    leases: list[str]
    deadline: float  # time.monotonic() after which no new message starts
    attempt: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lost: set = field(default_factory=set)  # leases that expired: their places may be taken
    errors: list = field(default_factory=list)
    unavailable: SendError | None = None  # the relay could not be reached
    retry_at: datetime | None = None  # the relay was unreachable until then
    come_back_at: datetime | None = None  # Redis or the allowance stopped the senders until then
    counts: list = field(default_factory=list)  # messages each sender let go

    def run(self) -> None:
        """Run a sender per lease and a heartbeat that renews the leases; wait for them all."""
        senders = [threading.Thread(target=self._sender, args=(lease,), daemon=True) for lease in self.leases]
        heartbeat = threading.Thread(target=self._renew, daemon=True)
        for thread in [heartbeat, *senders]:
            thread.start()
        try:
            for thread in senders:
                while thread.is_alive():
                    thread.join(0.5)  # a timed join lets Celery's soft time limit reach this thread
        finally:
            self.stop.set()
            for thread in [*senders, heartbeat]:
                thread.join()
        if self.errors:
            raise self.errors[0]

    def keep_going(self, lease: str) -> bool:
        return not self.stop.is_set() and lease not in self.lost and time.monotonic() < self.deadline

    def _renew(self) -> None:
        interval = self.settings.lease_ttl / 3
        while not self.stop.wait(interval):
            try:
                self.lost |= self.pace.renew(self.leases)
            except PaceUnavailable as error:
                self.pace_lost(error)

    def pace_lost(self, error: Exception) -> None:
        """Redis is away: stop sending (unthrottled is not an option) and come back later."""
        log.warning("digest %s: stopping its senders: %s", self.digest_id, error)
        self.come_back(now_utc() + timedelta(seconds=self.settings.lease_ttl))
        self.stop.set()

    def come_back(self, moment: datetime) -> None:
        self.come_back_at = max(self.come_back_at or moment, moment)

    def _sender(self, lease: str) -> None:
        try:
            with self.app.app_context():
                self._send_until_done(lease)
        except BaseException as error:  # noqa: BLE001 - handed to the task's thread, which raises it
            self.errors.append(error)
            self.stop.set()

    def _send_until_done(self, lease: str) -> None:
        session, settings = db.session, self.settings
        gate = Gate(self, lease)
        try:
            self._send_batches(lease, session, settings, gate)
        finally:
            self.counts.append(gate.count)

    def _send_batches(self, lease: str, session, settings: DeliverySettings, gate: "Gate") -> None:
        size = min(settings.batch_size, FIRST_BATCH)
        engine = session.get_bind()
        transport = None
        # Outcomes go through one connection, marks through another in autocommit mode (one
        # round trip a message); both live as long as the sender.
        with engine.connect() as connection, engine.connect() as marking:
            mark_sent = sent_marker(marking.execution_options(isolation_level="AUTOCOMMIT"), settings)
            try:
                while self.keep_going(lease):
                    now = now_utc()
                    try:
                        token, ids = delivery.claim_batch(session, self.digest_id, settings, now, size)
                    except JournalsUnavailable as error:
                        session.rollback()
                        self.pace_lost(error)  # Redis is away: come back when it may answer
                        return
                    if not ids:
                        due = delivery.next_due(session, self.digest_id, settings, now)
                        session.commit()
                        if due is None or due - now > timedelta(seconds=IDLE):
                            return
                        self.stop.wait((due - now).total_seconds())
                        continue
                    if transport is None:
                        transport = self._connect(session, ids, token)
                        if transport is None:
                            return
                    started, before = time.monotonic(), gate.count
                    try:
                        rows = delivery.claimed_rows(session, ids)
                        send_rows(connection, mark_sent, self.mailer, token, rows, transport, settings, gate)
                    except BaseException:
                        session.rollback()
                        with contextlib.suppress(Exception):
                            mark_sent.drain()  # a mark on its way is the record that a message left
                        # Rows not yet tried go back to the queue; a row whose mark is journaled
                        # (it could not be applied) keeps its claim, for replay_journals.
                        journaled = mark_sent.unapplied()
                        untried = [row for row in ids if row not in journaled]
                        delivery.release(session, untried, token)
                        raise
                    delivery.mark_progress(session, self.digest_id, now_utc())
                    pace = (gate.count - before) / max(time.monotonic() - started, 0.001)
                    size = max(1, min(settings.batch_size, int(pace * BATCH_SECONDS)))
                    if not transport.connected:
                        transport = None  # lost, or closed by a 421: the next batch opens another
            finally:
                try:
                    mark_sent.close()  # its last marks committed, its journal (SQLite) removed
                finally:
                    if transport is not None:
                        transport.__exit__(None, None, None)

    def _connect(self, session, ids: list[int], token: str) -> Transport | None:
        """Open this sender's SMTP connection; when the relay cannot be reached, the batch waits
        (each row says why) and the sender ends."""
        transport = transport_from_config(self.app.config)
        try:
            return transport.__enter__()
        except SendError as error:
            session.rollback()
            settings = self.settings
            wait = (
                settings.backoff(self.attempt + 1)
                if error.temporary
                else timedelta(seconds=settings.retry_cap)
            )
            retry_at = now_utc() + wait
            delivery.release(session, ids, token, str(error), retry_at)
            self.unavailable, self.retry_at = error, retry_at
            return None


class Gate:
    """One sender's turn: tokens from the shared pace, and the reasons to stop."""

    def __init__(self, crew: Crew, lease: str) -> None:
        self.crew, self.lease = crew, lease
        self.tokens, self.fresh_until, self.count = 0, 0.0, 0
        self.started = time.monotonic()

    def open(self) -> bool:
        """Whether this sender may go on: not stopped, its lease held, its time not up."""
        return self.crew.keep_going(self.lease)

    def next(self) -> bool:
        """Wait for this sender's next token, right before a message's content goes (the moment the
        relay counts it); False when it must stop instead."""
        crew = self.crew
        if not crew.keep_going(self.lease):
            return False
        if self.tokens == 0 or time.monotonic() > self.fresh_until:
            pace = self.count / max(time.monotonic() - self.started, 0.1)
            wanted = max(1, min(50, int(pace * FRESH)))
            max_wait = min(MAX_WAIT, crew.deadline - time.monotonic())
            try:
                wait, granted = crew.pace.take(wanted, max(0.0, max_wait))
            except PaceUnavailable as error:
                crew.pace_lost(error)
                return False
            if not granted:  # the allowance is spent for longer than a task should wait
                crew.come_back(now_utc() + timedelta(seconds=wait))
                return False
            if wait and crew.stop.wait(wait):
                return False
            self.tokens, self.fresh_until = granted, time.monotonic() + FRESH
        self.tokens -= 1
        self.count += 1
        return True

    def throttled(self) -> float:
        """The relay asked to slow down: tell every worker; returns the seconds to pause."""
        self.tokens = 0
        try:
            return self.crew.pace.throttled()
        except PaceUnavailable as error:
            self.crew.pace_lost(error)
            return PAUSE


def send_rows(connection, mark_sent: Callable, mailer: DigestMailer, token: str, rows: list,
              transport: Transport, settings: DeliverySettings, gate: Gate) -> None:  # fmt: skip
    """Send the claimed rows over one open transport, each when the gate lets it; each outcome
    is committed at once, and rows the transport did not reach go back to the queue."""

    def messages():
        for delivery_id, attempts, subscriber_id, email, status, secret in rows:
            if subscriber_id is None or status != SubscriberStatus.ACTIVE:
                delivery.finish(connection, delivery_id, token, status=DeliveryStatus.SKIPPED,
                                error="no longer subscribed")  # fmt: skip
                continue
            # Neither can come through the form; a retry or a bounce count would change nothing.
            if not email.isascii():
                delivery.finish(connection, delivery_id, token, status=DeliveryStatus.FAILED,
                                error="the address is not ASCII")  # fmt: skip
                continue
            if not gate.open():
                return
            try:
                message = mailer.message_for(delivery_id, Recipient(subscriber_id, email, secret))
            except HeaderInjectionError as error:
                delivery.finish(
                    connection, delivery_id, token, status=DeliveryStatus.FAILED, error=str(error)
                )
                continue
            yield (delivery_id, attempts, subscriber_id, message.message_id), message

    # The transport may be sending the next message while it reports on this one; each
    # outcome is committed as soon as it is known.
    for (delivery_id, attempts, subscriber_id, message_id), error in transport.send_all(
        messages(), gate.next
    ):
        if error is None:
            mark_sent(delivery_id, token, now_utc(), message_id)
        elif error.throttled:
            retry_at = now_utc() + timedelta(seconds=gate.throttled())
            delivery.throttle(connection, delivery_id, token, f"slowing down: {error}", retry_at)
        elif error.temporary:
            delivery.defer(connection, delivery_id, attempts, token, str(error), settings, now_utc())
        else:
            delivery.fail(connection, delivery_id, token, subscriber_id, error)
    mark_sent.drain()  # before the release: a row whose mark is still on its way is sent, not untried
    delivery.release(connection, [row[0] for row in rows], token)
