"""The relays' webhooks: a genuine event acts; a bad signature, a replay, a malformed body do not.

SES's SNS messages are signed here with a key and certificate made for the test, served over
HTTPS by a local server whose certificate comes from a test CA (trustme); SES_CERT_HOSTS is set
to that server, so nothing reaches the internet. Mailgun's HMAC and SendGrid's ECDSA keys are
made here too.
"""

import base64
import hashlib
import hmac
import json
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from helpers import add_subscribers, subscriber
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import MailEvent

TOPIC = "arn:aws:sns:eu-west-1:123456789012:weeknote-bounces"
POSTMARK_AUTH = "postmark:webhook-password"
MAILGUN_KEY = "key-mailgun-signing-0123456789abcdef"


class CertificateServer:
    """An HTTPS server on localhost: the SNS signing certificate, and the SubscribeURL's visits."""

    def __init__(self, ca: trustme.CA, pem: bytes) -> None:
        self.visits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                owner.visits.append(self.path)
                body = pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost").configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://localhost:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sns(tmp_path, monkeypatch):
    """A signing key and certificate, served over HTTPS by a server the process trusts."""
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # the default context trusts the test CA
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    server = CertificateServer(ca, certificate.public_bytes(serialization.Encoding.PEM))
    server.key = key
    yield server
    server.stop()


@pytest.fixture
def sendgrid_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def site(app_factory, sns, sendgrid_key):
    public = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app = app_factory(
        SES_TOPIC_ARN=TOPIC,
        SES_CERT_HOSTS="localhost",
        POSTMARK_WEBHOOK_AUTH=POSTMARK_AUTH,
        MAILGUN_WEBHOOK_SIGNING_KEY=MAILGUN_KEY,
        SENDGRID_WEBHOOK_PUBLIC_KEY=base64.b64encode(public).decode(),
    )
    with app.app_context():
        add_subscribers(4)
        db.session.commit()
    return app


def sns_message(sns, kind: str, **fields) -> dict:
    """An SNS message of this type, signed (SignatureVersion 2) with the test's key."""
    message = {
        "Type": kind,
        "MessageId": fields.pop("MessageId", f"sns-{time.monotonic_ns()}"),
        "TopicArn": TOPIC,
        "Timestamp": "2026-11-30T08:00:00.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": f"{sns.base}/SimpleNotificationService-test.pem",
    } | fields
    order = {
        "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
        "SubscriptionConfirmation": (
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ),
    }[kind]
    text = "".join(f"{name}\n{message[name]}\n" for name in order if name in message)
    signature = sns.key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return message | {"Signature": base64.b64encode(signature).decode()}


def ses_event(sns, kind: str, email: str, **fields) -> bytes:
    if kind == "complaint":
        notification = {
            "notificationType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": email}],
                "complaintFeedbackType": "abuse",
            },
            "mail": {"source": "digest@blog.example.com"},
        }
    else:
        notification = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent" if kind == "hard" else "Transient",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": email,
                        "status": "5.1.1" if kind == "hard" else "4.2.2",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
            },
            "mail": {
                "source": "digest@blog.example.com",
                "commonHeaders": {"messageId": "<not-ours@example>"},
            },
        }
    return json.dumps(sns_message(sns, "Notification", Message=json.dumps(notification), **fields)).encode()


def postmark_event(kind: str, email: str, ident: int = 42) -> bytes:
    if kind == "complaint":
        record = {"RecordType": "SpamComplaint", "ID": ident, "Type": "SpamComplaint", "Email": email}
    else:
        record = {
            "RecordType": "Bounce",
            "ID": ident,
            "Type": "HardBounce" if kind == "hard" else "SoftBounce",
            "Email": email,
            "Description": "The server was unable to deliver",
            "Details": "550 5.1.1",
        }
    return json.dumps(record).encode()


def mailgun_event(kind: str, email: str, token: str = "", age: float = 0) -> bytes:
    token = token or f"token-{time.monotonic_ns()}"
    timestamp = str(int(time.time() - age))
    signature = hmac.new(MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    data = {
        "event": "complained" if kind == "complaint" else "failed",
        "id": f"mg-{token}",
        "recipient": email,
        "severity": "permanent" if kind == "hard" else "temporary",
        "delivery-status": {"code": 550, "message": "5.1.1 user unknown"},
    }
    return json.dumps(
        {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": data}
    ).encode()


def sendgrid_request(key, events: list[dict], age: float = 0) -> tuple[bytes, dict]:
    body = json.dumps(events).encode()
    timestamp = str(int(time.time() - age))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }
    return body, headers


def sendgrid_event(kind: str, email: str, ident: str = "sg-1") -> dict:
    name = {"hard": "bounce", "soft": "deferred", "complaint": "spamreport"}[kind]
    return {
        "event": name,
        "email": email,
        "sg_event_id": ident,
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 user unknown",
        "smtp-id": "<not-ours@example>",
    }


def post(site, provider: str, body: bytes, headers: dict | None = None):
    headers = dict(headers or {})
    if provider == "postmark" and "Authorization" not in headers:
        headers["Authorization"] = "Basic " + base64.b64encode(POSTMARK_AUTH.encode()).decode()
    return site.test_client().post(
        f"/webhooks/{provider}", data=body, headers=headers, content_type="application/json"
    )


def events(site) -> int:
    with site.app_context():
        return db.session.scalar(select(func.count()).select_from(MailEvent))


def statuses(site) -> list[str]:
    return [subscriber(site, f"reader{i}@example.com").status for i in range(4)]


@pytest.fixture
def send(site, sns, sendgrid_key):
    """send(provider, kind, email): a genuine, signed event of that kind to that provider."""

    def send_event(provider: str, kind: str, email: str):
        if provider == "ses":
            return post(site, "ses", ses_event(sns, kind, email))
        if provider == "postmark":
            return post(site, "postmark", postmark_event(kind, email, ident=hash(email) % 10**6))
        if provider == "mailgun":
            return post(site, "mailgun", mailgun_event(kind, email))
        body, headers = sendgrid_request(sendgrid_key, [sendgrid_event(kind, email, f"sg-{email}")])
        return post(site, "sendgrid", body, headers)

    return send_event


@pytest.mark.parametrize("provider", ["ses", "postmark", "mailgun", "sendgrid"])
def test_a_genuine_event_bounces_counts_or_unsubscribes(site, send, provider):
    for kind, email in (
        ("hard", "reader1@example.com"),
        ("soft", "reader2@example.com"),
        ("complaint", "reader3@example.com"),
    ):
        response = send(provider, kind, email)
        assert response.status_code == 200 and response.json["counted"] == 1, response.text
    assert statuses(site) == ["active", "bounced", "active", "complained"]
    assert subscriber(site, "reader3@example.com").unsubscribed_at is not None
    with site.app_context():
        assert set(db.session.scalars(select(MailEvent.source))) == {provider}


def test_ses_refuses_a_bad_signature_a_foreign_certificate_and_another_topic(site, sns):
    body = json.loads(ses_event(sns, "hard", "reader1@example.com"))
    tampered = body | {"Message": body["Message"].replace("reader1", "reader2")}
    foreign = body | {"SigningCertURL": "https://sns.example.net/cert.pem"}
    plain_http = body | {"SigningCertURL": sns.base.replace("https", "http") + "/cert.pem"}
    other_topic = sns_message(sns, "Notification", Message=body["Message"], TopicArn=TOPIC + "-other")
    for message in (tampered, foreign, plain_http, other_topic):
        assert post(site, "ses", json.dumps(message).encode()).status_code == 403
    assert statuses(site) == ["active"] * 4 and events(site) == 0


def test_ses_confirms_its_subscription_and_a_replay_counts_once(site, sns):
    confirm = sns_message(
        sns,
        "SubscriptionConfirmation",
        Message="You have chosen to subscribe",
        Token="abc",
        SubscribeURL=f"{sns.base}/?Action=ConfirmSubscription&Token=abc",
    )
    assert post(site, "ses", json.dumps(confirm).encode()).status_code == 200
    assert "/?Action=ConfirmSubscription&Token=abc" in sns.visits
    body = ses_event(sns, "soft", "reader2@example.com")
    assert post(site, "ses", body).json == {"received": 1, "counted": 1, "duplicates": 0}
    assert post(site, "ses", body).json == {"received": 1, "counted": 0, "duplicates": 1}  # SNS retries
    assert events(site) == 1


def test_postmark_refuses_a_wrong_password_and_counts_a_replay_once(site):
    body = postmark_event("hard", "reader1@example.com")
    wrong = {"Authorization": "Basic " + base64.b64encode(b"postmark:guess").decode()}
    assert post(site, "postmark", body, wrong).status_code == 403
    assert post(site, "postmark", body, {"Authorization": ""}).status_code == 403
    assert statuses(site) == ["active"] * 4
    assert post(site, "postmark", body).json["counted"] == 1
    assert post(site, "postmark", body).json["duplicates"] == 1
    assert events(site) == 1


def test_mailgun_refuses_a_bad_signature_a_replay_and_a_stale_request(site):
    body = mailgun_event("hard", "reader1@example.com", token="t-1")
    forged = body.replace(b"reader1", b"reader2")  # the signature covers timestamp and token only
    assert (
        post(
            site,
            "mailgun",
            mailgun_event("hard", "reader1@example.com").replace(b'"signature": "', b'"signature": "0'),
        ).status_code
        == 403
    )
    assert post(site, "mailgun", mailgun_event("hard", "reader1@example.com", age=600)).status_code == 403
    assert post(site, "mailgun", body).status_code == 200
    assert post(site, "mailgun", body).status_code == 403  # the same token again
    assert post(site, "mailgun", forged).status_code == 403  # a captured token on another event
    assert statuses(site) == ["active", "bounced", "active", "active"] and events(site) == 1


def test_sendgrid_refuses_a_bad_signature_and_a_stale_request(site, sendgrid_key):
    event = sendgrid_event("hard", "reader1@example.com")
    body, headers = sendgrid_request(sendgrid_key, [event])
    assert post(site, "sendgrid", body.replace(b"reader1", b"reader2"), headers).status_code == 403
    other = ec.generate_private_key(ec.SECP256R1())
    assert post(site, "sendgrid", *sendgrid_request(other, [event])).status_code == 403
    assert post(site, "sendgrid", *sendgrid_request(sendgrid_key, [event], age=600)).status_code == 403
    assert statuses(site) == ["active"] * 4
    assert post(site, "sendgrid", body, headers).json["counted"] == 1
    assert post(site, "sendgrid", body, headers).json["duplicates"] == 1
    assert events(site) == 1


def test_a_malformed_body_is_400_and_changes_nothing(site, sns, sendgrid_key):
    assert post(site, "ses", b"{not json").status_code == 400
    bad = sns_message(sns, "Notification", Message="not json either")
    assert post(site, "ses", json.dumps(bad).encode()).status_code == 400
    assert post(site, "postmark", b'{"RecordType": "Bounce"}').status_code == 400
    assert post(site, "mailgun", b"[]").status_code == 400
    signed = json.loads(mailgun_event("hard", "reader1@example.com"))
    del signed["event-data"]["recipient"]
    assert post(site, "mailgun", json.dumps(signed).encode()).status_code == 400
    assert post(site, "sendgrid", *sendgrid_request(sendgrid_key, [{"event": "bounce"}])).status_code == 400
    assert statuses(site) == ["active"] * 4 and events(site) == 0


@pytest.mark.parametrize("provider", ["ses", "postmark", "mailgun", "sendgrid"])
def test_each_webhook_is_off_until_configured(app, provider):
    assert app.test_client().post(f"/webhooks/{provider}", data=b"{}").status_code == 404


def test_an_unknown_provider_is_404(site):
    assert site.test_client().post("/webhooks/sparkpost", data=b"{}").status_code == 404


def test_webhooks_are_rate_limited_per_client(app_factory):
    site = app_factory(POSTMARK_WEBHOOK_AUTH=POSTMARK_AUTH, WEBHOOK_RATE_LIMIT="2 per minute")
    answers = [
        post(site, "postmark", postmark_event("hard", "nobody@example.com", n)).status_code for n in range(3)
    ]
    assert answers == [200, 200, 429]


def test_old_mailgun_tokens_are_forgotten_by_the_hourly_tidy_up(site):
    from blog.bounces.webhooks import forget_nonces

    assert post(site, "mailgun", mailgun_event("soft", "reader2@example.com")).status_code == 200
    with site.app_context():
        assert forget_nonces(db.session, datetime.now(UTC)) == 0  # still within its window
        assert forget_nonces(db.session, datetime.now(UTC) + timedelta(hours=1)) == 1
