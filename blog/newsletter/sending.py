"""Digest jobs as the worker and commands run them: read config, call the pure parts, commit."""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from pathlib import Path

import redis
from flask import current_app

from blog import jobs
from blog.extensions import db, send_task
from blog.mail.message import feedback_id, site_list_id
from blog.mail.signing import signer_from_config
from blog.mail.transport import SendError
from blog.mail.verp import verp_from_config
from blog.models import Digest, DigestStatus
from blog.newsletter import delivery
from blog.newsletter.compose import DEFAULT_SUBJECT, SiteInfo
from blog.newsletter.digests import Composer, skip_pending
from blog.newsletter.dispatch import dispatch
from blog.newsletter.mailer import DigestMailer, Recipient
from blog.newsletter.pace import LocalPace, Pace, PaceUnavailable
from blog.newsletter.senders import Crew
from blog.newsletter.settings import DeliverySettings
from blog.platform import site_settings
from blog.platform.urls import absolute_url
from blog.platform.zones import site_zone
from blog.subscriptions.links import preferences_urls, unsubscribe_urls

log = logging.getLogger(__name__)


def composer_from_app() -> Composer:
    """The site as the digest shows it, with the author's settings: full text or excerpts, the note."""
    config = current_app.config
    shown = site_settings.site()
    site = SiteInfo(
        title=shown.title,
        url=config["SITE_URL"],
        description=shown.description,
        postal_address=shown.postal_address,
        zone=site_zone(),
        subject_template=config.get("DIGEST_SUBJECT") or DEFAULT_SUBJECT,
        author=shown.author,
        logo_url=absolute_url(shown.logo) if shown.logo else "",
    )
    return Composer(
        env=current_app.jinja_env,
        site=site,
        full_text=site_settings.get(db.session, config, site_settings.DIGEST_CONTENT) == "full",
        note=site_settings.get(db.session, config, site_settings.DIGEST_NOTE),
    )


def settings_from_app() -> DeliverySettings:
    return DeliverySettings.from_config(current_app.config)


def mailer_for(digest: Digest, unsubscribe: Callable[[Recipient], str] | None = None) -> DigestMailer:
    """The message builder for one digest, with this site's sender and list id; each copy's
    unsubscribe link is the recipient's own unless `unsubscribe` says otherwise."""
    config = current_app.config
    preferences = preferences_urls() if unsubscribe is None else unsubscribe
    unsubscribe = unsubscribe or unsubscribe_urls()
    sender: Address = config["MAIL_FROM_ADDRESS"]
    list_id = site_list_id(site_settings.site().title, config["SITE_URL"])
    return DigestMailer(
        digest,
        sender,
        list_id,
        unsubscribe,
        signer_from_config(config),
        verp=verp_from_config(config),
        feedback_id=feedback_id(f"digest-{digest.id}", config["SITE_URL"]),
        complaints_address=config["COMPLAINTS_ADDRESS"],
        preferences_url=preferences,
    )


def run_dispatch(now: datetime | None = None) -> list[int]:
    """One beat tick: returns the ids of digests that need send tasks."""
    return dispatch(db.session, composer_from_app(), settings_from_app(), now or dispatch_now())


def dispatch_now() -> datetime:
    """The dispatcher's clock: the real one, or the moment in DISPATCH_CLOCK_FILE, the seam a test
    uses to run weeks of schedules in a minute (only the dispatcher's `now`, never the system's)."""
    clock = current_app.config.get("DISPATCH_CLOCK_FILE")
    if not clock:
        return datetime.now(UTC)
    return datetime.fromisoformat(Path(clock).read_text().strip()).astimezone(UTC)


class RelayUnavailable(SendError):
    """The SMTP server could not be reached, or refused the session: the batch waits until retry_at."""

    def __init__(self, error: SendError, retry_at: datetime) -> None:
        super().__init__(str(error), temporary=error.temporary, code=error.code, sender=error.sender)
        self.retry_at = retry_at


def pace_from_app(settings: DeliverySettings) -> Pace | LocalPace:
    """The pace shared through Redis (REDIS_URL), or one for this process alone without it."""
    config = current_app.config
    if not config.get("REDIS_URL"):
        paces = current_app.extensions.setdefault("weeknote_local_pace", {})
        key = (settings.connections, settings.rates)
        return paces.setdefault(key, LocalPace(settings.connections, settings.rates))
    client = current_app.extensions.get("weeknote_pace_redis")
    if client is None:  # one client (and connection pool) per process; redis-py reconnects after a fork
        client = redis.Redis.from_url(config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5)
        current_app.extensions["weeknote_pace_redis"] = client
    return Pace(client, settings.connections, settings.rates, settings.lease_ttl)


def send_next_batch(digest_id: int, attempt: int = 0) -> datetime | None:
    """Send a digest over this task's share of the SMTP connections, for at most task_seconds;
    return when to run again, or None when nothing is left.

    `attempt` counts the tasks in a row that found the relay unavailable; it sets how long the
    next one waits. Raises RelayUnavailable then, after recording the reason on each row.
    """
    settings = settings_from_app()
    digest = db.session.get(Digest, digest_id)
    if digest is not None and digest.status == DigestStatus.CANCELLED:
        skip_pending(db.session, digest_id)  # rows a batch handed back after the author stopped it
        db.session.commit()
    if digest is None or digest.status != DigestStatus.SENDING:
        return None
    started = time.monotonic()
    delivery.refresh_statistics(db.session)
    delivery.mark_progress(db.session, digest_id, datetime.now(UTC))
    pace = pace_from_app(settings)
    crew = None
    try:
        leases = pace.acquire(settings.connections_per_task)
    except PaceUnavailable as error:
        log.warning("digest %s waits: %s", digest_id, error)
        leases, come_back = [], datetime.now(UTC) + timedelta(seconds=settings.lease_ttl)
    else:
        # Every connection busy elsewhere: look again when a lease could have been given back.
        come_back = datetime.now(UTC) + timedelta(seconds=settings.lease_ttl / 2)
    if leases:
        mailer = mailer_for(digest)
        # Nothing of this session's stays open while the senders work: on PostgreSQL an open
        # transaction keeps every row version the claims pass over (docs/architecture.md).
        db.session.commit()
        crew = Crew(current_app._get_current_object(), digest_id, mailer, settings, pace, leases,
                    deadline=started + settings.task_seconds, attempt=attempt)  # fmt: skip
        try:
            crew.run()
        finally:
            pace.release(leases)
        come_back = crew.come_back_at or come_back
    db.session.commit()  # the senders committed in their own sessions: read afresh
    now = datetime.now(UTC)
    due = delivery.next_due(db.session, digest_id, settings, now)
    if due is None:
        delivery.finish_digest(db.session, digest_id, now)
        return None
    if crew is not None and crew.unavailable is not None and not any(crew.counts):
        raise RelayUnavailable(crew.unavailable, crew.retry_at)  # nothing went out: the relay is down
    if crew is None or crew.come_back_at is not None:
        return max(due, come_back)
    return due


def send_or_queue(digest_id: int) -> bool:
    """Hand a sending digest to the worker; without one (no Redis), send it here. True when queued."""
    if queue_digest(digest_id):
        return True
    while (due := send_next_batch(digest_id)) is not None and due <= datetime.now(UTC):
        pass
    return False


def queue_digest(digest_id: int) -> bool:
    """Start DELIVERY_PARALLEL task chains for a digest, which share SMTP_CONNECTIONS; False when
    there is no worker (no Redis)."""
    if not current_app.config.get("REDIS_URL"):
        return False
    for _ in range(int(current_app.config["DELIVERY_PARALLEL"])):
        # Its delivery rows are saved: if Redis does not answer, the dispatcher restarts the digest.
        send_task(jobs.SEND_DIGEST, digest_id)
    return True
