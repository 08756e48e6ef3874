"""Thin Celery tasks: take ids, call blog/, let the task decide retries."""

from datetime import UTC, datetime, timedelta

from celery import shared_task
from flask import current_app

from blog import jobs
from blog.extensions import db
from blog.mail.transport import SendError
from blog.newsletter.sending import RelayUnavailable, queue_digest, run_dispatch, send_next_batch
from blog.subscriptions.confirmation import send_confirmation as send_confirmation_now
from blog.subscriptions.confirmation import sweep_confirmations
from blog.subscriptions.lifecycle import erase_unconfirmed


@shared_task(name=jobs.SEND_CONFIRMATION, bind=True, max_retries=8)
def send_confirmation(self, subscriber_id: int) -> str | None:
    """Send one subscriber's confirmation email; retry with backoff when the SMTP failure is temporary."""
    countdown = min(30 * 2**self.request.retries, 1800)
    try:
        return send_confirmation_now(subscriber_id, retry_at=datetime.now(UTC) + timedelta(seconds=countdown))
    except SendError as error:
        if not error.temporary:
            raise
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(name=jobs.SWEEP_MAIL)
def sweep_mail() -> int:
    """The beat's sweep: hand the worker the mail the database says is due and no task carries."""
    return sweep_confirmations(datetime.now(UTC))


@shared_task(name=jobs.TIDY_SUBSCRIBERS)
def tidy_subscribers() -> int:
    """Hourly list hygiene: erase the addresses that never confirmed within PENDING_RETENTION_DAYS."""
    retention = timedelta(days=int(current_app.config["PENDING_RETENTION_DAYS"]))
    erased = erase_unconfirmed(db.session, datetime.now(UTC), retention)
    db.session.commit()
    return erased


@shared_task(name=jobs.DISPATCH_DIGESTS)
def dispatch_digests() -> list[int]:
    """The beat's tick: create due digests, and start batch tasks for those that need them."""
    digest_ids = run_dispatch()
    for digest_id in digest_ids:
        queue_digest(digest_id)
    return digest_ids


@shared_task(name=jobs.SEND_DIGEST, bind=True, max_retries=None)
def send_digest(self, digest_id: int) -> None:
    """Send one batch of a digest, then hand the rest to the next task in the chain."""
    try:
        due = send_next_batch(digest_id, attempt=self.request.retries)
    except RelayUnavailable as error:
        # The SMTP server could not be reached: each row of the batch says so and waits until
        # retry_at. A server that refused the session for good waits too, and the task fails.
        if not error.temporary:
            raise
        countdown = max(0.0, (error.retry_at - datetime.now(UTC)).total_seconds())
        raise self.retry(exc=error, countdown=countdown) from error
    if due is not None:
        countdown = max(0.0, (due - datetime.now(UTC)).total_seconds())
        send_digest.apply_async(args=[digest_id], countdown=countdown)
