"""The next digest as it would be sent, composed without saving anything, and a test copy of it."""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from blog.mail.transport import transport_from_config
from blog.models import Digest, Post, Schedule
from blog.newsletter import digests
from blog.newsletter.compose import ComposedDigest, format_period
from blog.newsletter.mailer import Recipient
from blog.newsletter.sending import composer_from_app, mailer_for
from blog.platform.urls import external_url
from blog.platform.zones import day_and_time
from blog.subscriptions.queries import on_authors_digest


@dataclass(frozen=True)
class Preview:
    """What the digest of one moment would hold, and whether it would go out at all."""

    at: datetime
    start: datetime
    end: datetime
    period: str
    posts: list[Post]
    composed: ComposedDigest
    minimum: int
    active_subscribers: int

    @property
    def reason_not_sent(self) -> str | None:
        """Why this digest would be skipped, in words for the author; None when it would be sent."""
        if not self.posts:
            return f"There are no published posts in this period ({self.period}), so nothing would be sent."
        if len(self.posts) < self.minimum:
            count = len(self.posts)
            return (
                f"Only {count} post{'' if count == 1 else 's'} in this period ({self.period}); the schedule "
                f"skips weeks with fewer than {self.minimum} posts, so this digest would not be sent."
            )
        return None


def active_schedule(session: Session) -> Schedule | None:
    """The blog's schedule when it is on."""
    schedule = digests.current_schedule(session)
    return schedule if schedule is not None and schedule.enabled else None


def next_digest_words(session: Session, now: datetime) -> str | None:
    """'Monday 7 December at 08:00 CET', in the schedule's zone; None when no digest is scheduled,
    or its run is already due (the confirmed page and the welcome email say when the first one
    comes: the factory makes this a template global)."""
    schedule = active_schedule(session)
    if schedule is None or schedule.next_run_at is None or schedule.next_run_at <= now:
        return None
    return day_and_time(schedule.next_run_at, schedule.timezone)


def next_digest_moment(session: Session, now: datetime) -> datetime:
    """The moment the next digest is for: the schedule's next run, else now."""
    schedule = active_schedule(session)
    return schedule.next_run_at if schedule and schedule.next_run_at else now


def build_preview(session: Session, at: datetime) -> Preview:
    """Compose the digest of `at` exactly as create_digest would (only the web link and
    each recipient's unsubscribe link differ); nothing is saved."""
    composer = composer_from_app()
    start, end = digests.period_for(session, composer, at)
    posts, composed = digests.compose_for(session, composer, start, end, composer.web_url(None))
    schedule = active_schedule(session)
    return Preview(
        at=at,
        start=start,
        end=end,
        period=format_period(start, end, composer.site.zone),
        posts=posts,
        composed=composed,
        minimum=schedule.min_posts if schedule else 1,
        active_subscribers=on_authors_digest(session),
    )


def send_test(composed: ComposedDigest | Digest, address: str) -> None:
    """Send a composed digest (a preview, or a frozen draft or held digest) to one address, marked
    [Test], without recording a delivery.

    Raises SendError when the SMTP server refuses or cannot be reached, ValueError for an
    address that cannot go into a header.
    """
    stand_in = Digest(id=0, subject=f"[Test] {composed.subject}", html=composed.html, text=composed.text)
    home = external_url("posts.index")
    mailer = mailer_for(stand_in, unsubscribe=lambda _: home)
    message = mailer.message_for(0, Recipient(id=0, email=address, token_secret="test"))
    with transport_from_config(current_app.config) as transport:
        transport.send_prepared(message)
