"""POST /webhooks/ses, /postmark, /mailgun, /sendgrid: the relays' bounces and complaints.

Each is off (404) until its setting is configured. A request that is not genuine gets 403 and
changes nothing; one that cannot be read gets 400. Each event counts once (actions.record), and
a Mailgun token is good for one request. CSRF does not apply (the provider signs instead); the
rate limit is per client address like the other public POSTs.
"""

import logging
import ssl
import urllib.request
from datetime import UTC, datetime

from flask import Blueprint, Flask, abort, current_app, jsonify, request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blog.bounces import providers
from blog.bounces.actions import Outcome, record
from blog.extensions import csrf, db
from blog.mail.verp import verp_from_config
from blog.models import WebhookNonce
from blog.platform import ratelimit

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)
SETTINGS = {
    "ses": "SES_TOPIC_ARN",
    "postmark": "POSTMARK_WEBHOOK_AUTH",
    "mailgun": "MAILGUN_WEBHOOK_SIGNING_KEY",
    "sendgrid": "SENDGRID_WEBHOOK_PUBLIC_KEY",
}
MAX_BODY = 1024 * 1024  # a provider's batch of events is far smaller


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
    ratelimit.limit_view(app, "webhooks.receive", "WEBHOOK_RATE_LIMIT", "webhooks", ["POST"])


@bp.post("/<provider>")
def receive(provider: str):
    """Check the request, then record each event it carries; answer with what they did."""
    if provider not in SETTINGS or not current_app.config.get(SETTINGS[provider]):
        abort(404)
    if (request.content_length or 0) > MAX_BODY:
        abort(413)
    body = request.get_data(cache=False)
    config, verp, now = current_app.config, verp_from_config(current_app.config), datetime.now(UTC)
    headers = request.headers
    try:
        if provider == "ses":
            incoming = providers.ses(body, config, verp)
        elif provider == "postmark":
            incoming = providers.postmark(body, headers.get("Authorization", ""), config, verp)
        elif provider == "mailgun":
            incoming = providers.mailgun(body, config, verp, now)
        else:
            signature = headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
            timestamp = headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
            incoming = providers.sendgrid(body, signature, timestamp, config, verp, now)
    except providers.Refused as error:
        log.warning("webhook %s refused: %s", provider, error)
        return jsonify(error=str(error)), 403
    except providers.Malformed as error:
        return jsonify(error=str(error)), 400
    if incoming.nonce is not None and not _first_use(provider, incoming.nonce, now):
        return jsonify(error="this request was received before (a replay)"), 403
    outcomes = [record(db.session, event, now) for event in incoming.events]
    db.session.commit()
    if incoming.confirm_url:
        _confirm_subscription(incoming.confirm_url)
    counted = sum(outcome != Outcome.DUPLICATE for outcome in outcomes)
    return jsonify(received=len(outcomes), counted=counted, duplicates=len(outcomes) - counted)


def forget_nonces(session: Session, now: datetime) -> int:
    """Drop the tokens too old to be accepted anyway (the hourly tidy-up); return how many."""
    old = delete(WebhookNonce).where(WebhookNonce.created_at < now - providers.FRESH * 2)
    return session.execute(old.execution_options(synchronize_session=False)).rowcount


def _first_use(provider: str, nonce: str, now: datetime) -> bool:
    """Remember a one-time token; False when it was used before."""
    try:
        with db.session.begin_nested():
            db.session.add(WebhookNonce(provider=provider, nonce=nonce[:200], created_at=now))
    except IntegrityError:
        return False
    return True


def _confirm_subscription(url: str) -> None:
    """Visit an SNS SubscribeURL (its host is allowlisted): SNS starts sending notifications."""
    context = ssl.create_default_context()
    with urllib.request.urlopen(
        url, timeout=5, context=context
    ) as response:  # an https URL on an allowlisted host
        response.read()
    log.info("confirmed the SNS subscription at %s", url.split("?")[0])
