"""Digest jobs as the worker and commands run them: read config, call the pure parts, commit."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address

from flask import current_app

from blog import jobs
from blog.extensions import db, send_task
from blog.mail.message import feedback_id, site_list_id
from blog.mail.signing import signer_from_config
from blog.mail.transport import SendError, transport_from_config
from blog.mail.verp import verp_from_config
from blog.models import Digest, DigestStatus
from blog.newsletter import delivery
from blog.newsletter.compose import DEFAULT_SUBJECT, SiteInfo
from blog.newsletter.digests import Composer, skip_pending
from blog.newsletter.dispatch import dispatch
from blog.newsletter.mailer import DigestMailer, Recipient
from blog.newsletter.settings import DeliverySettings
from blog.platform import site_settings
from blog.platform.urls import absolute_url
from blog.platform.zones import site_zone
from blog.subscriptions.links import unsubscribe_urls


def composer_from_app() -> Composer:
    """The site as the digest shows it, with the author's settings: full text or excerpts, the note."""
    config = current_app.config
    logo = site_settings.get(db.session, config, site_settings.SITE_LOGO)
    site = SiteInfo(
        title=config["SITE_TITLE"],
        url=config["SITE_URL"],
        description=config["SITE_DESCRIPTION"],
        postal_address=config["MAIL_POSTAL_ADDRESS"],
        zone=site_zone(),
        subject_template=config.get("DIGEST_SUBJECT") or DEFAULT_SUBJECT,
        author=config["AUTHOR_NAME"],
        logo_url=absolute_url(logo) if logo else "",
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
    unsubscribe = unsubscribe or unsubscribe_urls()
    sender: Address = config["MAIL_FROM_ADDRESS"]
    list_id = site_list_id(config["SITE_TITLE"], config["SITE_URL"])
    return DigestMailer(
        digest,
        sender,
        list_id,
        unsubscribe,
        signer_from_config(config),
        verp=verp_from_config(config),
        feedback_id=feedback_id(f"digest-{digest.id}", config["SITE_URL"]),
        complaints_address=config["COMPLAINTS_ADDRESS"],
    )


def run_dispatch(now: datetime | None = None) -> list[int]:
    """One beat tick: returns the ids of digests that need send tasks."""
    return dispatch(db.session, composer_from_app(), settings_from_app(), now or datetime.now(UTC))


class RelayUnavailable(SendError):
    """The SMTP server could not be reached, or refused the session: the batch waits until retry_at."""

    def __init__(self, error: SendError, retry_at: datetime) -> None:
        super().__init__(str(error), temporary=error.temporary, code=error.code, sender=error.sender)
        self.retry_at = retry_at


def send_next_batch(digest_id: int, attempt: int = 0) -> datetime | None:
    """Send one batch of a digest; return when to run again, or None when nothing is left.

    `attempt` counts the batches in a row that found the relay unavailable; it sets how long the
    next one waits. Raises RelayUnavailable then, after recording the reason on each row.
    """
    settings = settings_from_app()
    digest = db.session.get(Digest, digest_id)
    if digest is not None and digest.status == DigestStatus.CANCELLED:
        skip_pending(db.session, digest_id)  # rows a batch handed back after the author stopped it
        db.session.commit()
    if digest is None or digest.status != DigestStatus.SENDING:
        return None
    now = datetime.now(UTC)
    delivery.mark_progress(db.session, digest_id, now)
    token, ids = delivery.claim_batch(db.session, digest_id, settings, now)
    if ids:
        transport = transport_from_config(current_app.config)
        try:
            transport.__enter__()
        except SendError as error:
            db.session.rollback()
            wait = settings.backoff(attempt + 1) if error.temporary else timedelta(seconds=settings.retry_cap)
            retry_at = datetime.now(UTC) + wait
            delivery.release(db.session, ids, token, str(error), retry_at)
            raise RelayUnavailable(error, retry_at) from error
        try:
            delivery.send_batch(db.session, mailer_for(digest), token, ids, transport, settings)
        except BaseException:
            db.session.rollback()
            delivery.release(db.session, ids, token)  # rows not yet tried go back to the queue
            raise
        finally:
            transport.__exit__(None, None, None)
        delivery.mark_progress(db.session, digest_id, datetime.now(UTC))
    due = delivery.next_due(db.session, digest_id, settings, datetime.now(UTC))
    if due is None:
        delivery.finish_digest(db.session, digest_id, datetime.now(UTC))
    return due


def send_or_queue(digest_id: int) -> bool:
    """Hand a sending digest to the worker; without one (no Redis), send it here. True when queued."""
    if queue_digest(digest_id):
        return True
    while (due := send_next_batch(digest_id)) is not None and due <= datetime.now(UTC):
        pass
    return False


def queue_digest(digest_id: int) -> bool:
    """Start DELIVERY_PARALLEL batch chains for a digest; False when there is no worker (no Redis)."""
    if not current_app.config.get("REDIS_URL"):
        return False
    for _ in range(int(current_app.config["DELIVERY_PARALLEL"])):
        # Its delivery rows are saved: if Redis does not answer, the dispatcher restarts the digest.
        send_task(jobs.SEND_DIGEST, digest_id)
    return True
