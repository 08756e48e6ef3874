"""The beat's dispatcher: create due digests once, and find digests that need a worker again."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from blog.models import Delivery, DeliveryStatus, Digest, DigestStatus
from blog.newsletter.audiences import dispatch_audiences
from blog.newsletter.delivery import fan_out, finish_digest, next_due
from blog.newsletter.digests import Composer, claim_due_schedules, create_digest, sending_digest
from blog.newsletter.schedule import next_run_after
from blog.newsletter.settings import DeliverySettings


def dispatch(session: Session, composer: Composer, settings: DeliverySettings, now: datetime) -> list[int]:
    """Create the digest of every due schedule, then return the ids of digests to (re)start.

    A repeated tick or a second beat cannot create a second digest for the same run:
    the schedule row is locked (SKIP LOCKED on PostgreSQL) and (schedule, scheduled_for)
    is UNIQUE. A digest whose workers vanished (killed, or Redis lost their tasks) shows
    no progress for longer than the claim timeout and is handed out again.
    """
    for schedule in claim_due_schedules(session, now):
        if sending_digest(session) is not None:
            session.rollback()  # the run stays due: it is made once the digest before it is out
            break
        # A run long overdue (the beat was down for days) waits for the author instead of
        # surprising the readers with last week's news.
        late = now - schedule.next_run_at > settings.max_lateness
        digest = create_digest(session, composer, schedule.next_run_at, schedule, hold=late)
        if digest is not None and digest.status == DigestStatus.SENDING:
            fan_out(session, digest)
        # Skip runs missed while nothing dispatched: one digest covers the gap.
        schedule.next_run_at = next_run_after(
            schedule.weekday, schedule.local_time, ZoneInfo(schedule.timezone), now
        )
        session.commit()
    dispatch_audiences(session, composer, settings, now)
    return stalled_digests(session, settings, now)


def stalled_digests(session: Session, settings: DeliverySettings, now: datetime) -> list[int]:
    """Sending digests with rows claimable now and no worker progress lately; finishes completed
    ones. A digest whose rows all wait for a retry is left to the chain that will retry them:
    starting more would only reset their backoff."""
    sending = list(
        session.execute(
            select(Digest.id, Digest.progress_at)
            .where(Digest.status == DigestStatus.SENDING)
            .order_by(Digest.id)
        )
    )
    stalled = []
    for digest_id, progress_at in sending:
        has_open = session.scalar(
            select(
                exists().where(
                    Delivery.digest_id == digest_id,
                    or_(Delivery.status == DeliveryStatus.PENDING, Delivery.status == DeliveryStatus.CLAIMED),
                )
            )
        )
        if not has_open:
            finish_digest(session, digest_id, now)
        elif progress_at is None or progress_at < now - settings.claim_timeout:
            due = next_due(session, digest_id, settings, now)
            if due is not None and due <= now:
                stalled.append(digest_id)
    return stalled
