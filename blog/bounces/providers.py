"""The relays' webhooks: check each request is genuine, and read its bounces and complaints.

Amazon SES (through SNS: signed with a certificate fetched from an allowlisted host), Postmark
(basic auth), Mailgun (HMAC of timestamp and token with the signing key; a token is good once,
for five minutes) and SendGrid (ECDSA over timestamp and body). A request that is not genuine
raises Refused (403); one that is genuine but cannot be read raises Malformed (400). No Flask:
the view passes the body, the headers it needs and the settings.
"""

import base64
import fnmatch
import hashlib
import hmac
import json
import ssl
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from blog.bounces.actions import Event
from blog.mail.verp import Sent, Verp
from blog.models import MailEventKind as Kind

FRESH = timedelta(minutes=5)  # how old a Mailgun or SendGrid signature may be


class Refused(Exception):
    """Not from the provider: a bad signature or password, a stale or reused token (403)."""


class Malformed(Exception):
    """From the provider, perhaps, but not something we can read (400)."""


@dataclass
class Incoming:
    """What a genuine request carries: events to record, perhaps an SNS subscription to confirm,
    perhaps a one-time token to remember (Mailgun)."""

    events: list[Event] = field(default_factory=list)
    confirm_url: str | None = None
    nonce: str | None = None


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError as error:
        raise Malformed(f"the body is not JSON: {error}") from None


def _named(verp: Verp | None, envelope: str | None) -> dict:
    """The copy or subscriber an envelope sender of ours names (VERP), if it does."""
    targets = verp.targets_in(envelope or "") if verp is not None else []
    if not targets:
        return {}
    return {"delivery_id" if targets[0].kind == Sent.DELIVERY else "subscriber_id": targets[0].id}


def _angle(message_id: str | None) -> str | None:
    if not message_id:
        return None
    return message_id if message_id.startswith("<") else f"<{message_id}>"


# --- Amazon SES, through SNS ---------------------------------------------------------------

SUBSCRIPTION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": SUBSCRIPTION_FIELDS,
    "UnsubscribeConfirmation": SUBSCRIPTION_FIELDS,
}


def allowed_host(url: str, patterns: str) -> bool:
    """An https URL whose host matches one of the comma-separated patterns (sns.*.amazonaws.com)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and any(
        fnmatch.fnmatchcase(host, pattern.strip().lower())
        for pattern in patterns.split(",")
        if pattern.strip()
    )


@lru_cache(maxsize=16)
def signing_certificate(url: str) -> x509.Certificate:
    """The certificate at an allowlisted https URL (checked by the caller), fetched once."""
    context = ssl.create_default_context()
    with urllib.request.urlopen(
        url, timeout=5, context=context
    ) as response:  # an https URL on an allowlisted host
        return x509.load_pem_x509_certificate(response.read(64 * 1024))


def ses(
    body: bytes, config: Mapping, verp: Verp | None, certificate: Callable = signing_certificate
) -> Incoming:
    message = _json(body)
    if not isinstance(message, dict) or message.get("Type") not in SIGNED_FIELDS:
        raise Malformed("not an SNS message")
    if message.get("TopicArn") not in [arn.strip() for arn in config["SES_TOPIC_ARN"].split(",")]:
        raise Refused(f"topic {message.get('TopicArn')!r} is not SES_TOPIC_ARN")
    url = str(message.get("SigningCertURL", ""))
    if not allowed_host(url, config["SES_CERT_HOSTS"]) or not url.endswith(".pem"):
        raise Refused(f"signing certificate {url!r} is not on an SES_CERT_HOSTS host")
    text = "".join(
        f"{name}\n{message[name]}\n"
        for name in SIGNED_FIELDS[message["Type"]]
        if message.get(name) is not None
    )
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise Refused("unknown SignatureVersion")
    try:
        key = certificate(url).public_key()
        key.verify(
            base64.b64decode(message.get("Signature", "")), text.encode(), padding.PKCS1v15(), algorithm
        )
    except (InvalidSignature, ValueError, TypeError) as error:
        raise Refused("the SNS signature does not verify") from error
    except OSError as error:
        raise Refused(f"the signing certificate could not be fetched: {error}") from error
    if message["Type"] == "SubscriptionConfirmation":
        if not allowed_host(str(message.get("SubscribeURL", "")), config["SES_CERT_HOSTS"]):
            raise Refused("SubscribeURL is not on an SES_CERT_HOSTS host")
        return Incoming(confirm_url=message["SubscribeURL"])
    if message["Type"] != "Notification":
        return Incoming()
    try:
        return Incoming(events=_ses_events(json.loads(message["Message"]), message["MessageId"], verp))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise Malformed(f"not an SES notification: {error}") from None


def _ses_events(notification: dict, sns_id: str, verp: Verp | None) -> list[Event]:
    kind = notification.get("notificationType") or notification.get("eventType")
    mail = notification.get("mail", {})
    common = {"source": "ses", "message_id": _angle(mail.get("commonHeaders", {}).get("messageId"))}
    common |= _named(verp, mail.get("source"))
    if kind == "Bounce":
        bounce = notification["bounce"]
        hard = bounce.get("bounceType") == "Permanent"
        return [
            Event(
                kind=Kind.HARD_BOUNCE if hard else Kind.SOFT_BOUNCE,
                event_id=f"{sns_id} {recipient['emailAddress']}",
                status=str(recipient.get("status", "")),
                diagnostic=str(recipient.get("diagnosticCode") or bounce.get("bounceSubType", "")),
                email=recipient["emailAddress"],
                **common,
            )
            for recipient in bounce["bouncedRecipients"]
        ]
    if kind == "Complaint":
        complaint = notification["complaint"]
        return [
            Event(
                kind=Kind.COMPLAINT,
                event_id=f"{sns_id} {recipient['emailAddress']}",
                diagnostic=f"complaint ({complaint.get('complaintFeedbackType', 'abuse')})",
                email=recipient["emailAddress"],
                **common,
            )
            for recipient in complaint["complainedRecipients"]
        ]
    return []  # Delivery, Send, Open...: nothing to act on


# --- Postmark --------------------------------------------------------------------------------

POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "AddressChange"}
POSTMARK_SOFT = {"SoftBounce", "Transient", "DnsError", "Blocked", "SMTPApiError", "Undeliverable"}


def postmark(body: bytes, authorization: str, config: Mapping, verp: Verp | None) -> Incoming:
    expected = "Basic " + base64.b64encode(config["POSTMARK_WEBHOOK_AUTH"].encode()).decode()
    if not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise Refused("wrong user name or password")
    record = _json(body)
    try:
        email, record_type, bounce_type = record["Email"], record["RecordType"], record.get("Type", "")
        event_id = f"{record_type}:{record['ID']}"
    except (KeyError, TypeError) as error:
        raise Malformed(f"not a Postmark webhook: {error}") from None
    if record_type == "SpamComplaint":
        kind = Kind.COMPLAINT
    elif record_type == "Bounce" and bounce_type in POSTMARK_HARD:
        kind = Kind.HARD_BOUNCE
    elif record_type == "Bounce" and bounce_type in POSTMARK_SOFT:
        kind = Kind.SOFT_BOUNCE
    else:
        return Incoming()  # deliveries, opens, auto-responders: nothing to act on
    words = " ".join(str(record.get(key) or "") for key in ("Type", "Description", "Details")).strip()
    return Incoming(
        events=[Event(kind=kind, source="postmark", event_id=event_id, diagnostic=words, email=email)]
    )


# --- Mailgun ---------------------------------------------------------------------------------


def mailgun(body: bytes, config: Mapping, verp: Verp | None, now: datetime) -> Incoming:
    payload = _json(body)
    try:
        signature = payload["signature"]
        timestamp, token, signed = (
            str(signature["timestamp"]),
            str(signature["token"]),
            str(signature["signature"]),
        )
    except (KeyError, TypeError) as error:
        raise Malformed(f"no Mailgun signature: {error}") from None
    key = config["MAILGUN_WEBHOOK_SIGNING_KEY"].encode()
    expected = hmac.new(key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signed):
        raise Refused("the Mailgun signature does not verify")
    if not timestamp.isdigit() or abs(now - datetime.fromtimestamp(int(timestamp), UTC)) > FRESH:
        raise Refused("the Mailgun signature is older than five minutes")
    try:
        data = payload["event-data"]
        event, email, event_id = data["event"], data["recipient"], data["id"]
    except (KeyError, TypeError) as error:
        raise Malformed(f"not a Mailgun event: {error}") from None
    common = {"source": "mailgun", "event_id": str(event_id), "email": email}
    common |= {"message_id": _angle(data.get("message", {}).get("headers", {}).get("message-id"))}
    common |= _named(verp, data.get("envelope", {}).get("sender"))
    if event == "complained":
        return Incoming([Event(kind=Kind.COMPLAINT, diagnostic="complaint", **common)], nonce=token)
    if event != "failed":
        return Incoming(nonce=token)
    status = data.get("delivery-status", {})
    kind = Kind.HARD_BOUNCE if data.get("severity") == "permanent" else Kind.SOFT_BOUNCE
    words = " ".join(str(status.get(key) or "") for key in ("code", "message", "description")).strip()
    return Incoming([Event(kind=kind, diagnostic=words, **common)], nonce=token)


# --- SendGrid --------------------------------------------------------------------------------


def sendgrid_key(value: str):
    """SendGrid's verification key: base64 of the DER public key, or PEM."""
    value = value.strip()
    if value.startswith("-----BEGIN"):
        return load_pem_public_key(value.encode())
    return load_der_public_key(base64.b64decode(value))


def sendgrid(
    body: bytes, signature: str, timestamp: str, config: Mapping, verp: Verp | None, now: datetime
) -> Incoming:
    try:
        key = sendgrid_key(config["SENDGRID_WEBHOOK_PUBLIC_KEY"])
        key.verify(base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError) as error:
        raise Refused("the SendGrid signature does not verify") from error
    if not timestamp.isdigit() or abs(now - datetime.fromtimestamp(int(timestamp), UTC)) > FRESH:
        raise Refused("the SendGrid signature is older than five minutes")
    events = _json(body)
    if not isinstance(events, list):
        raise Malformed("not a list of SendGrid events")
    found = []
    for item in events:
        try:
            event, email, event_id = item["event"], item["email"], item["sg_event_id"]
        except (KeyError, TypeError) as error:
            raise Malformed(f"not a SendGrid event: {error}") from None
        common = {"source": "sendgrid", "event_id": str(event_id), "email": email,
                  "message_id": _angle(item.get("smtp-id"))}  # fmt: skip
        words = " ".join(str(item.get(key) or "") for key in ("status", "reason", "response")).strip()
        if event == "spamreport":
            found.append(Event(kind=Kind.COMPLAINT, diagnostic="complaint", **common))
        elif event == "bounce":
            hard = item.get("type", "bounce") == "bounce"  # "blocked" is a refusal of this message
            kind = Kind.HARD_BOUNCE if hard else Kind.SOFT_BOUNCE
            found.append(Event(kind=kind, status=str(item.get("status", "")), diagnostic=words, **common))
        elif event == "deferred":
            found.append(Event(kind=Kind.SOFT_BOUNCE, diagnostic=words, **common))
    return Incoming(found)
