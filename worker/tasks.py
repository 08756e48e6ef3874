"""Thin Celery tasks: take ids, call blog/, let the task decide retries."""

from datetime import UTC, datetime, timedelta

from celery import shared_task
from flask import current_app

from blog import jobs
from blog.bounces import mailbox
from blog.bounces.webhooks import forget_nonces
from blog.extensions import db
from blog.mail.transport import SendError
from blog.newsletter.sending import RelayUnavailable, queue_digest, run_dispatch, send_next_batch
from blog.publishing.runs import run_upload, upload_importer
from blog.subscriptions import letters
from blog.subscriptions.confirmation import CONFIRMATION
from blog.subscriptions.lifecycle import erase_unconfirmed
from blog.subscriptions.welcome import WELCOME


def send_letter(task, letter: letters.Letter, subscriber_id: int) -> str | None:
    """Send one subscriber's letter; retry with backoff when the SMTP failure is temporary."""
    countdown = min(30 * 2**task.request.retries, 1800)
    try:
        return letters.send(letter, subscriber_id, retry_at=datetime.now(UTC) + timedelta(seconds=countdown))
    except SendError as error:
        if not error.temporary:
            raise
        raise task.retry(exc=error, countdown=countdown) from error


@shared_task(name=jobs.SEND_CONFIRMATION, bind=True, max_retries=8)
def send_confirmation(self, subscriber_id: int) -> str | None:
    """Send one subscriber's confirmation email."""
    return send_letter(self, CONFIRMATION, subscriber_id)


@shared_task(name=jobs.SEND_WELCOME, bind=True, max_retries=8)
def send_welcome(self, subscriber_id: int) -> str | None:
    """Send the welcome email to someone who has just confirmed."""
    return send_letter(self, WELCOME, subscriber_id)


@shared_task(name=jobs.SWEEP_MAIL)
def sweep_mail() -> int:
    """The beat's sweep: hand the worker the mail the database says is due and no task carries."""
    return letters.sweep([CONFIRMATION, WELCOME], datetime.now(UTC))


@shared_task(name=jobs.TIDY_SUBSCRIBERS)
def tidy_subscribers() -> int:
    """Hourly list hygiene: erase the addresses that never confirmed within PENDING_RETENTION_DAYS."""
    retention = timedelta(days=int(current_app.config["PENDING_RETENTION_DAYS"]))
    erased = erase_unconfirmed(db.session, datetime.now(UTC), retention)
    forget_nonces(db.session, datetime.now(UTC))  # webhook tokens too old to be accepted anyway
    db.session.commit()
    return erased


@shared_task(name=jobs.POLL_BOUNCES)
def poll_bounces() -> int:
    """The beat's poll of BOUNCE_MAILBOX: act on each bounce and complaint, file it in Processed."""
    if not current_app.config.get("BOUNCE_MAILBOX"):
        return 0
    return mailbox.poll(db.session, current_app.config).counted


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


@shared_task(name=jobs.IMPORT_UPLOAD, acks_late=False)
def import_upload(run_id: int) -> str | None:
    """Import a site uploaded in the console (a dry run, or for real), recording its progress."""
    run = run_upload(db.session, run_id, upload_importer)
    return run.status if run else None
