"""Schedules and digests in the database: save the schedule, create each week's digest once."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from blog.models import (
    Delivery,
    DeliveryStatus,
    Digest,
    DigestStatus,
    Frequency,
    Post,
    PostTag,
    Schedule,
    Subscriber,
)
from blog.newsletter.compose import ComposedDigest, SiteInfo, compose_digest, digest_period
from blog.newsletter.email_content import digest_post, render_note
from blog.newsletter.schedule import next_run_after
from blog.platform import site_settings
from blog.platform.urls import external_url


@dataclass(frozen=True)
class Composer:
    """What composing needs from the app: templates, the site, how to link to it, what to carry."""

    env: Environment
    site: SiteInfo
    full_text: bool = False  # each post's whole text (DIGEST_CONTENT=full), else its excerpt
    note: str = ""  # the author's note for the next digest (Markdown)

    def post_url(self, post: Post) -> str:
        return external_url("posts.show", slug=post.slug)

    def web_url(self, digest: Digest | None) -> str:
        """A sent digest's web copy; for a preview (no digest yet) the list of them."""
        if digest is None:
            return external_url("digests.index")
        return external_url("digests.show", digest_id=digest.id)


def current_schedule(session: Session) -> Schedule | None:
    """The blog's one digest schedule, whether on or off; None until the author sets it."""
    return session.scalar(select(Schedule).order_by(Schedule.id).limit(1))


def save_schedule(
    session: Session,
    *,
    weekday: int,
    local_time: time,
    timezone: str,
    min_posts: int,
    hold_for_review: bool,
    enabled: bool,
    now: datetime,
) -> Schedule:
    """Create or change the blog's one schedule and recompute its next run."""
    zone = ZoneInfo(timezone)
    if min_posts < 0:
        raise ValueError("minimum posts cannot be negative")
    schedule = current_schedule(session) or Schedule()
    schedule.weekday, schedule.local_time, schedule.timezone = weekday, local_time, timezone
    schedule.min_posts, schedule.hold_for_review, schedule.enabled = min_posts, hold_for_review, enabled
    schedule.next_run_at = next_run_after(weekday, local_time, zone, now) if enabled else None
    session.add(schedule)
    # Subscribers who follow the author's schedule with their own choices are placed again.
    session.execute(
        update(Subscriber)
        .where(Subscriber.preferences_at.is_not(None), Subscriber.delivery_hour.is_(None),
               Subscriber.frequency != Frequency.POST)
        .values(next_send_at=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return schedule


def claim_due_schedules(session: Session, now: datetime) -> list[Schedule]:
    """Lock the schedules whose run is due; a second beat skips them (SKIP LOCKED on PostgreSQL)."""
    query = select(Schedule).where(Schedule.enabled.is_(True), Schedule.next_run_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


# Digests whose posts reach (or may still reach) subscribers: a new digest starts after them.
CARRIED = (DigestStatus.SENT, DigestStatus.SENDING, DigestStatus.HELD)


class DigestBusy(ValueError):
    """Another digest is still sending: a new one would race it for the same posts."""


def sending_digest(session: Session) -> Digest | None:
    """The author's digest that is sending, if any (audiences' digests do not race it: their
    periods start where each subscriber's last one ended)."""
    query = select(Digest).where(Digest.status == DigestStatus.SENDING, Digest.audience.is_(None))
    return session.scalar(query.limit(1))


def period_for(session: Session, composer: Composer, scheduled_for: datetime) -> tuple[datetime, datetime]:
    """The week before scheduled_for, or since the newest digest that is sent, sending or held
    (or was stopped after some of it went out) when that is later: a post reaches a subscriber
    in one digest at most."""
    partly_sent = exists().where(Delivery.digest_id == Digest.id, Delivery.status == DeliveryStatus.SENT)
    previous_end = session.scalar(
        select(Digest.period_end)
        .where(or_(Digest.status.in_(CARRIED), and_(Digest.status == DigestStatus.CANCELLED, partly_sent)))
        .where(Digest.audience.is_(None))
        .order_by(Digest.period_end.desc())
        .limit(1)
    )
    return digest_period(scheduled_for, composer.site.zone, previous_end)


def compose_for(
    session: Session, composer: Composer, start: datetime, end: datetime, web_url: str
) -> tuple[list[Post], ComposedDigest]:
    """The posts and composed message of a digest for a period (nothing saved)."""
    posts = posts_in_period(session, start, end)
    return posts, compose_posts(composer, posts, start, end, web_url, composer.note)


def compose_posts(
    composer: Composer, posts: list[Post], start: datetime, end: datetime, web_url: str, note: str
) -> ComposedDigest:
    """The message of a digest carrying these posts and this note (Markdown)."""
    base = composer.site.url
    summaries = [digest_post(post, composer.post_url(post), base, composer.full_text) for post in posts]
    return compose_digest(
        composer.env, composer.site, summaries, start, end, web_url, render_note(note, base)
    )


def create_digest(
    session: Session,
    composer: Composer,
    scheduled_for: datetime,
    schedule: Schedule | None = None,
    hold: bool = False,
) -> Digest | None:
    """Freeze one digest: its period, posts, subject and bodies. None when it already exists.

    Raises DigestBusy while another digest is sending: its posts are not all out yet.
    """
    if (busy := sending_digest(session)) is not None:
        raise DigestBusy(f"digest {busy.id} is still sending; wait for it to finish, or cancel it")
    start, end = period_for(session, composer, scheduled_for)
    digest = Digest(
        schedule=schedule,
        scheduled_for=scheduled_for,
        period_start=start,
        period_end=end,
        status=DigestStatus.NEW,
    )
    try:
        with session.begin_nested():
            session.add(digest)
            session.flush()
    except IntegrityError:
        return None  # another beat, or a repeated tick, made this digest already
    posts, composed = compose_for(session, composer, start, end, composer.web_url(digest))
    freeze(digest, posts, composed, composer.note)
    minimum = schedule.min_posts if schedule else 1
    if len(posts) < minimum:
        digest.status = DigestStatus.SKIPPED
    elif hold or (schedule and schedule.hold_for_review):
        digest.status = DigestStatus.HELD
    else:
        digest.status = DigestStatus.SENDING
        note_used(session, digest)
    return digest


def note_used(session: Session, digest: Digest) -> None:
    """A digest carrying the note starts going out: the next digest starts without it. Only that
    very note is cleared (one the author wrote since stays), and not before the digest is sent:
    a held digest that is cancelled leaves the note for the next one."""
    if digest.note:
        site_settings.clear_if(session, site_settings.DIGEST_NOTE, digest.note)


def freeze(digest: Digest, posts: list[Post], composed: ComposedDigest, note: str) -> None:
    digest.post_ids = [post.id for post in posts]
    digest.note = note
    digest.subject, digest.html, digest.text = composed.subject, composed.html, composed.text


def posts_in_period(session: Session, start: datetime, end: datetime) -> list[Post]:
    """Published posts with start < published_at <= end, newest first."""
    return list(
        session.scalars(
            select(Post)
            .where(Post.draft.is_(False), Post.published_at > start, Post.published_at <= end)
            .options(selectinload(Post.post_tags).joinedload(PostTag.tag))
            .order_by(Post.published_at.desc(), Post.id.desc())
        )
    )


def held_late(session: Session, max_lateness: timedelta) -> list[Digest]:
    """Held digests that were made more than max_lateness after their run: the beat was down."""
    held = session.scalars(select(Digest).where(Digest.status == DigestStatus.HELD).order_by(Digest.id))
    return [digest for digest in held if digest.created_at - digest.scheduled_for > max_lateness]


def approve(session: Session, digest: Digest, now: datetime) -> None:
    """Release a digest held for review: it is sent as frozen (the preview the author saw).

    Conditional on its still being held, so an approval racing an edit or another approval
    (two tabs) changes it once."""
    released = session.execute(
        update(Digest)
        .where(Digest.id == digest.id, Digest.status == DigestStatus.HELD)
        .values(status=DigestStatus.SENDING, approved_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(digest)
    if released.rowcount != 1:
        raise ValueError(f"digest {digest.id} is {digest.status}, not held for review")
    note_used(session, digest)


def cancel(session: Session, digest: Digest) -> int:
    """Drop a held digest, or stop one that is sending (a relay that stays down, say); return how
    many messages will not be sent. Messages a worker is sending at this moment still go out."""
    if digest.status not in (DigestStatus.HELD, DigestStatus.SENDING):
        raise ValueError(
            f"digest {digest.id} is {digest.status}: only a held or sending digest can be cancelled"
        )
    digest.status = DigestStatus.CANCELLED
    return skip_pending(session, digest.id)


def skip_pending(session: Session, digest_id: int) -> int:
    """The pending rows of a cancelled digest are skipped (also those a batch in flight at the
    moment of cancelling hands back afterwards: the next task of its chain calls this)."""
    dropped = session.execute(
        update(Delivery)
        .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, error="the digest was cancelled", next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return dropped.rowcount
