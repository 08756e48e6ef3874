"""Hand work to the Celery worker by task name, or do it here when no Redis is configured.

Views and commands call these; they never import worker.tasks (the worker imports blog, not the
other way round). The task names are the contract between the two sides.
"""

import logging

from flask import current_app
from kombu.exceptions import OperationalError

from blog.newsletter.confirmation import send_confirmation
from blog.newsletter.transport import SendError

SEND_CONFIRMATION = "weeknote.send_confirmation"
SEND_DIGEST = "weeknote.send_digest"
DISPATCH_DIGESTS = "weeknote.dispatch_digests"

log = logging.getLogger(__name__)


def queue_confirmation(subscriber_id: int) -> None:
    """Send a confirmation email through the worker when REDIS_URL is set, else right now."""
    if current_app.config.get("REDIS_URL"):
        try:
            current_app.extensions["celery"].send_task(SEND_CONFIRMATION, args=[subscriber_id])
        except OperationalError:
            log.exception("could not queue the confirmation email for subscriber %s", subscriber_id)
        return
    try:
        send_confirmation(subscriber_id)
    except SendError:
        # Inline (development) sending must not turn a subscribe into an error page, or the answer
        # would differ between new and known addresses. The person can ask again in 10 minutes.
        log.exception("could not send the confirmation email to subscriber %s", subscriber_id)


def queue_digest(digest_id: int) -> bool:
    """Start DELIVERY_PARALLEL batch chains for a digest; False when there is no worker (no Redis)."""
    if not current_app.config.get("REDIS_URL"):
        return False
    celery = current_app.extensions["celery"]
    for _ in range(int(current_app.config["DELIVERY_PARALLEL"])):
        celery.send_task(SEND_DIGEST, args=[digest_id])
    return True
