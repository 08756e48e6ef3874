"""Thin Celery tasks: take ids, call blog/, let the task decide retries."""

from celery import shared_task

from blog import jobs
from blog.newsletter.confirmation import send_confirmation as send_confirmation_now
from blog.newsletter.transport import SendError


@shared_task(name=jobs.SEND_CONFIRMATION, bind=True, max_retries=8)
def send_confirmation(self, subscriber_id: int) -> str | None:
    """Send one subscriber's confirmation email; retry with backoff when the SMTP failure is temporary."""
    try:
        return send_confirmation_now(subscriber_id)
    except SendError as error:
        if not error.temporary:
            raise
        raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 1800)) from error
