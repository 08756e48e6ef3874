"""Where each digest stands: its deliveries counted by status, for the console and `weeknote digest`.

The one place deliveries are counted: the dashboard, the digest pages, the progress bar and
the CLI all read these numbers.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from blog.models import Delivery, DeliveryStatus, Digest, DigestStatus, MailEventKind, Subscriber, as_utc
from blog.platform.zones import distance, short_moment

# A digest in one of these states has nothing more to send (until failed rows are retried).
FINISHED = (DigestStatus.SENT, DigestStatus.CANCELLED, DigestStatus.SKIPPED)
DONE = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)


def delivery_counts(session: Session, digest_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each digest's rows by status, in one query (every status present, zero when none)."""
    numbers = {digest_id: {status.value: 0 for status in DeliveryStatus} for digest_id in digest_ids}
    if digest_ids:
        rows = session.execute(
            select(Delivery.digest_id, Delivery.status, func.count())
            .where(Delivery.digest_id.in_(digest_ids))
            .group_by(Delivery.digest_id, Delivery.status)
        )
        for digest_id, status, count in rows:
            numbers[digest_id][status] = count
    return numbers


def digest_counts(session: Session, digest_id: int) -> dict[str, int]:
    """One digest's rows by status."""
    return delivery_counts(session, [digest_id])[digest_id]


# What came back after a copy was sent, by its Delivery.bounce; the words the page and CLI use.
CAME_BACK = {
    MailEventKind.HARD_BOUNCE: "hard",
    MailEventKind.SOFT_BOUNCE: "soft",
    MailEventKind.COMPLAINT: "complaint",
}


def came_back(session: Session, digest_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each digest's sent copies that bounced (hard, soft) or drew a complaint, in one query."""
    numbers = {digest_id: dict.fromkeys(CAME_BACK.values(), 0) for digest_id in digest_ids}
    if digest_ids:
        rows = session.execute(
            select(Delivery.digest_id, Delivery.bounce, func.count())
            .where(Delivery.digest_id.in_(digest_ids), Delivery.bounce.is_not(None))
            .group_by(Delivery.digest_id, Delivery.bounce)
        )
        for digest_id, bounce, count in rows:
            numbers[digest_id][CAME_BACK[bounce]] = count
    return numbers


def rate(part: int, whole: int) -> str:
    """'2.5%' of the copies sent; '0%' when none was."""
    return f"{part / whole:.1%}" if whole else "0%"


def came_back_words(sent: int, back: dict[str, int]) -> str:
    """'Of 1,204 delivered: 3 bounced hard (0.2%), 5 soft (0.4%), 1 complaint (0.1%)'."""
    if not sent:
        return "Nothing delivered yet, so nothing has come back."
    if not any(back.values()):
        return f"Of {number(sent)} delivered: no bounce and no complaint so far."
    hard, soft, complaints = back["hard"], back["soft"], back["complaint"]
    return (
        f"Of {number(sent)} delivered: {number(hard)} bounced hard ({rate(hard, sent)}), "
        f"{number(soft)} soft ({rate(soft, sent)}), "
        f"{number(complaints)} complaint{'s' if complaints != 1 else ''} ({rate(complaints, sent)})"
    )


# What relays and mailbox providers act on: SES reviews an account whose mail bounces hard above
# 2%; Gmail asks bulk senders to stay under 0.1% complaints, and rejects their mail above 0.3%.
BOUNCE_LIMIT, COMPLAINT_TARGET, COMPLAINT_LIMIT = 0.02, 0.001, 0.003


@dataclass(frozen=True)
class Standing:
    """The last days' digest copies delivered, and how many bounced or drew a complaint."""

    days: int
    sent: int
    hard: int
    soft: int
    complaints: int

    @property
    def bounce_rate(self) -> float:
        return self.hard / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sent if self.sent else 0.0

    def warnings(self) -> list[str]:
        """A plain sentence for each threshold the rates are over."""
        found = []
        if self.bounce_rate > BOUNCE_LIMIT:
            found.append(
                f"{self.bounce_rate:.1%} of the last {self.days} days' mail bounced hard, above 2%: relays "
                "such as Amazon SES review or suspend accounts over that. The addresses are suppressed "
                "now; check where new ones come from (an old list, an import without confirmation)."
            )
        if self.complaint_rate > COMPLAINT_LIMIT:
            found.append(
                f"{self.complaint_rate:.2%} of the last {self.days} days' mail drew a complaint, above "
                "0.3%: Gmail and Yahoo reject bulk mail from senders over that. Make the unsubscribe "
                "link easy to find and send only what people asked for."
            )
        elif self.complaint_rate > COMPLAINT_TARGET:
            found.append(
                f"{self.complaint_rate:.2%} of the last {self.days} days' mail drew a complaint, above "
                "the 0.1% Gmail asks bulk senders to stay under (mail is rejected above 0.3%)."
            )
        return found


def standing(session: Session, now: datetime, days: int = 30) -> Standing:
    """Digest copies sent in the last `days` days, and what came back of them, in one query."""
    sent, hard, soft, complaints = session.execute(
        select(
            func.count(),
            func.count().filter(Delivery.bounce == MailEventKind.HARD_BOUNCE),
            func.count().filter(Delivery.bounce == MailEventKind.SOFT_BOUNCE),
            func.count().filter(Delivery.bounce == MailEventKind.COMPLAINT),
        ).where(Delivery.status == DeliveryStatus.SENT, Delivery.sent_at >= now - timedelta(days=days))
    ).one()
    return Standing(days, sent, hard, soft, complaints)


def done(counts: dict[str, int]) -> int:
    """Rows that need nothing more: sent, failed or skipped."""
    return sum(counts[status] for status in DONE)


@dataclass(frozen=True)
class DigestSummary:
    """A digest without its bodies, and its deliveries by status."""

    id: int
    subject: str
    status: str
    scheduled_for: datetime
    sent_at: datetime | None
    counts: dict[str, int]
    audience: str | None = None  # None: the author's digest; else its audience's key

    @property
    def sent(self) -> int:
        return self.counts[DeliveryStatus.SENT]

    @property
    def failed(self) -> int:
        return self.counts[DeliveryStatus.FAILED]

    @property
    def pending(self) -> int:
        """Not sent yet: waiting, or being sent."""
        return self.counts[DeliveryStatus.PENDING] + self.counts[DeliveryStatus.CLAIMED]


def recent_digests(session: Session, limit: int) -> list[DigestSummary]:
    """The latest digests, newest first, with their counts: two queries, however many rows."""
    digests = session.scalars(
        select(Digest)
        .options(
            load_only(
                Digest.id,
                Digest.subject,
                Digest.status,
                Digest.scheduled_for,
                Digest.sent_at,
                Digest.audience,
            )
        )  # fmt: skip
        .where(Digest.status != DigestStatus.DRAFT)  # a draft is Send now's preview, not a digest yet
        .order_by(Digest.scheduled_for.desc(), Digest.id.desc())
        .limit(limit)
    ).all()
    numbers = delivery_counts(session, [digest.id for digest in digests])
    return [
        DigestSummary(
            id=digest.id,
            subject=digest.subject,
            status=digest.status,
            scheduled_for=digest.scheduled_for,
            sent_at=digest.sent_at,
            counts=numbers[digest.id],
            audience=digest.audience,
        )
        for digest in digests
    ]


@dataclass(frozen=True)
class Waiting:
    """Rows that wait for another try, with the reason most of them give."""

    count: int
    error: str
    next_attempt_at: datetime | None

    def describe(self) -> str:
        """'4 messages wait: cannot reach SMTP server 127.0.0.1:25 (...); next try 30 Nov 2026, 14:32 CET'"""
        when = f"; next try {short_moment(self.next_attempt_at)}" if self.next_attempt_at else ""
        return f"{self.count} message{'s' if self.count != 1 else ''} wait: {self.error}{when}"


def waiting(session: Session, digest_id: int) -> Waiting | None:
    """Why the digest's deferred rows wait (the most common reason), and when they try next."""
    row = session.execute(
        select(func.count(), Delivery.error, func.min(Delivery.next_attempt_at))
        .where(
            Delivery.digest_id == digest_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.error.is_not(None),
        )
        .group_by(Delivery.error)
        .order_by(func.count().desc())
        .limit(1)
    ).first()
    return Waiting(row[0], row[1], as_utc(row[2])) if row else None


# Each status in the author's words, for the counts on the progress page and in the CLI.
LABELS = {
    DeliveryStatus.SENT: "Delivered",
    DeliveryStatus.PENDING: "Waiting",
    DeliveryStatus.CLAIMED: "Being sent now",
    DeliveryStatus.FAILED: "Failed",
    DeliveryStatus.SKIPPED: "Not sent",
}
STATE_WORDS = {
    DigestStatus.SENDING: "Sending",
    DigestStatus.SENT: "Sent",
    DigestStatus.CANCELLED: "Stopped",
    DigestStatus.HELD: "Held for your review",
    DigestStatus.SKIPPED: "Skipped",
    DigestStatus.DRAFT: "Not sent yet",
    DigestStatus.NEW: "Being prepared",
}


def number(value: int) -> str:
    return f"{value:,}"


def summary(status: str, counts: dict[str, int], retrying: int) -> str:
    """'Sending: 1,180 of 1,204 delivered, 3 waiting to retry, 1 failed'."""
    total = sum(counts.values())
    if status in (DigestStatus.HELD, DigestStatus.SKIPPED, DigestStatus.DRAFT, DigestStatus.NEW) or not total:
        return f"{STATE_WORDS.get(status, status)}: nothing sent."
    parts = [f"{number(counts[DeliveryStatus.SENT])} of {number(total)} delivered"]
    if retrying:
        parts.append(f"{number(retrying)} waiting to retry")
    if counts[DeliveryStatus.FAILED]:
        parts.append(f"{number(counts[DeliveryStatus.FAILED])} failed")
    if skipped := counts[DeliveryStatus.SKIPPED]:
        # Rows are skipped when their subscriber left, and all at once when the digest is stopped.
        why = "the digest was stopped or they left" if status == DigestStatus.CANCELLED else "they left"
        parts.append(f"{number(skipped)} not sent because {why}")
    return f"{STATE_WORDS.get(status, status)}: {', '.join(parts)}"


@dataclass(frozen=True)
class Trouble:
    """A delivery that failed or waits to retry: to whom, why (the server's words), and what next."""

    email: str
    status: str
    error: str
    attempts: int
    next_attempt_at: datetime | None

    def describe(self) -> str:
        if self.status == DeliveryStatus.FAILED:
            tries = f" after {self.attempts} tries" if self.attempts > 1 else ""
            return f"{self.email}: failed{tries}: {self.error}"
        when = f"; next try {short_moment(self.next_attempt_at)}" if self.next_attempt_at else ""
        return f"{self.email}: waiting to retry: {self.error}{when}"


def troubles(session: Session, digest_id: int, limit: int = 100) -> list[Trouble]:
    """The digest's failed and deferred deliveries, failed first, with each server's reason."""
    rows = session.execute(
        select(Subscriber.email, Delivery.status, Delivery.error, Delivery.attempts, Delivery.next_attempt_at)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id, isouter=True)
        .where(
            Delivery.digest_id == digest_id,
            (Delivery.status == DeliveryStatus.FAILED)
            | ((Delivery.status == DeliveryStatus.PENDING) & Delivery.error.is_not(None)),
        )
        .order_by(Delivery.status, Delivery.id)  # 'failed' sorts before 'pending'
        .limit(limit)
    )
    return [
        Trouble(email or "(erased subscriber)", status, error or "no reason given", attempts, as_utc(next_at))
        for email, status, error, attempts, next_at in rows
    ]


def retrying(session: Session, digest_id: int) -> int:
    """Rows that a temporary failure sent back to wait for another try."""
    return session.scalar(
        select(func.count()).where(
            Delivery.digest_id == digest_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.error.is_not(None),
        )
    )


RATE_WINDOW = timedelta(seconds=10)  # the current rate is the messages sent in this window
RATE_ROWS = 5000  # newest sent rows read for it (the claim index, newest first): enough for 500/s


def sending_rate(session: Session, digest_id: int, now: datetime) -> float:
    """Messages a second the digest went out at lately: its newest sent rows over RATE_WINDOW."""
    newest = session.scalars(
        select(Delivery.sent_at)
        .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.SENT)
        .order_by(Delivery.id.desc())
        .limit(RATE_ROWS)
    ).all()
    recent = [moment for moment in map(as_utc, newest) if moment is not None and moment >= now - RATE_WINDOW]
    if len(recent) == RATE_ROWS:  # faster than the rows read: measure over the time they took
        return len(recent) / max((now - min(recent)).total_seconds(), 0.001)
    return len(recent) / RATE_WINDOW.total_seconds()


@dataclass(frozen=True)
class Pace:
    """How fast a sending digest goes, and when it should be done at that pace."""

    rate: float  # messages a second
    left: int
    finish_at: datetime | None

    def describe(self, now: datetime) -> str:
        """'12.5 messages a second; 4,000 to go, done in about 5 minutes (2 Dec 2026, 14:32 CET)'"""
        if self.finish_at is None:
            return f"{self.left:,} to go; none sent in the last {RATE_WINDOW.seconds} seconds"
        when = distance(self.finish_at, now).removeprefix("in ")
        return (
            f"{self.rate:.1f} messages a second; {self.left:,} to go, done in about {when}"
            f" ({short_moment(self.finish_at)})"
        )


def pace(session: Session, digest_id: int, counts: dict[str, int], now: datetime) -> Pace:
    left = counts[DeliveryStatus.PENDING] + counts[DeliveryStatus.CLAIMED]
    rate = sending_rate(session, digest_id, now)
    finish_at = now + timedelta(seconds=left / rate) if rate else None
    return Pace(rate, left, finish_at)


def progress(session: Session, digest: Digest, now: datetime | None = None) -> dict:
    """A digest's status and counts, with how many rows are done (sent, failed or skipped), the
    same in words, who failed or waits and why, and while it sends, its rate and expected finish."""
    now = now or datetime.now(UTC)
    numbers = digest_counts(session, digest.id)
    sending = digest.status == DigestStatus.SENDING and done(numbers) < sum(numbers.values())
    current = pace(session, digest.id, numbers, now) if sending else None
    back = came_back(session, [digest.id])[digest.id]
    return {
        "id": digest.id,
        "came_back": back,
        "came_back_words": came_back_words(numbers[DeliveryStatus.SENT], back),
        "status": digest.status,
        "counts": numbers,
        "total": sum(numbers.values()),
        "done": done(numbers),
        "finished": digest.status in FINISHED,
        "summary": summary(digest.status, numbers, retrying(session, digest.id)),
        "troubles": [trouble.describe() for trouble in troubles(session, digest.id)],
        "problem": problem.describe() if (problem := waiting(session, digest.id)) else None,
        "rate": round(current.rate, 1) if current else None,
        "finish_at": current.finish_at.isoformat() if current and current.finish_at else None,
        "pace": current.describe(now) if current else None,
    }


def describe_cancel(digest_id: int, dropped: int, counts: dict[str, int]) -> str:
    """What cancelling did, in words: 'Digest 3 cancelled: 120 messages had gone out; 80 will not be sent.'"""
    sent = counts[DeliveryStatus.SENT]
    if not sent:
        return f"Digest {digest_id} cancelled; nothing was sent."
    return (
        f"Digest {digest_id} cancelled: {sent} message{'s' if sent != 1 else ''} had gone out; "
        f"{dropped} will not be sent."
    )
