"""Envelope senders that name what bounced (VERP), the feedback headers, unique Message-IDs."""

import re
from datetime import UTC, datetime

import dkim
import pytest
from helpers import add_post, add_subscribers, rsa_key, send_digest_now, subscribe
from sqlalchemy import select

from blog.extensions import db
from blog.mail.verp import Sent, Target, Verp
from blog.models import Delivery, Digest, Subscriber

SECRET = "a-secret-key-long-enough-for-tests"
BOUNCES = {"BOUNCE_ADDRESS": "bounces@blog.example.com", "COMPLAINTS_ADDRESS": "abuse@blog.example.com"}


def test_a_token_names_its_target_and_survives_lower_casing():
    verp = Verp("bounces@Example.com", SECRET)
    sender = verp.sender(Sent.DELIVERY, 42)
    assert re.fullmatch(r"bounces\+d42\.[a-z2-7]{16}@example\.com", sender)
    assert len(sender.split("@")[0]) <= 64  # the longest local part SMTP allows
    token = sender.split("+")[1].split("@")[0]
    assert verp.read(token) == Target(Sent.DELIVERY, 42)
    assert verp.read(token.upper()) == Target(Sent.DELIVERY, 42)
    assert verp.targets_in(f"To: <{sender.upper()}>\nX-Original-To: {sender}") == [Target(Sent.DELIVERY, 42)]


def test_a_forged_or_foreign_token_names_nothing():
    ours, theirs = Verp("bounces@example.com", SECRET), Verp("bounces@example.com", "another-secret")
    token = theirs.token(Sent.SUBSCRIBER, 7)
    assert ours.read(token) is None
    assert ours.read(token.replace("s7.", "s8.")) is None
    assert ours.read(ours.token(Sent.SUBSCRIBER, 7).replace("s7.", "s8.")) is None
    assert ours.targets_in(f"bounces+{token}@example.com") == []


@pytest.mark.parametrize("value", ["bounces+x@example.com", "Bounces <b@example.com>", "not an address"])
def test_a_bounce_address_with_a_plus_or_a_name_is_refused(app_factory, value):
    with pytest.raises(ValueError, match="BOUNCE_ADDRESS"):
        app_factory(BOUNCE_ADDRESS=value)


@pytest.fixture
def mail_site_config() -> dict:
    private, public = rsa_key()
    return BOUNCES | {"DKIM_DOMAIN": "blog.example.com", "DKIM_SELECTOR": "wk1", "DKIM_PRIVATE_KEY": private,
                      "DKIM_PUBLIC": public}  # fmt: skip


def test_each_digest_copy_bounces_to_its_own_signed_address(mail_site, week, smtp_server):
    digest_id = send_digest_now(mail_site)
    smtp_server.wait_for(4)
    verp = Verp("bounces@blog.example.com", mail_site.config["SECRET_KEY"])
    with mail_site.app_context():
        rows = {
            row.id: (row.message_id, row.subscriber.email) for row in db.session.scalars(select(Delivery))
        }
        key = db.session.get(Digest, digest_id).message_key
    assert re.fullmatch(r"[0-9a-f]{12}", key)
    dns = {
        b"wk1._domainkey.blog.example.com.": b"v=DKIM1; k=rsa; p=" + mail_site.config["DKIM_PUBLIC"].encode()
    }
    for (envelope_sender, [recipient]), message, raw in zip(
        smtp_server.handler.envelopes, smtp_server.messages, smtp_server.handler.raw, strict=True
    ):
        [target] = verp.targets_in(envelope_sender)
        message_id, email = rows[target.id]
        assert (target.kind, email) == (Sent.DELIVERY, recipient)
        assert (
            message["Message-ID"] == message_id == f"<digest-{digest_id}.{target.id}.{key}@blog.example.com>"
        )
        assert message["Feedback-ID"] == f"digest-{digest_id}:weeknote:blog.example.com"
        assert message["CFBL-Address"] == "abuse@blog.example.com; report=arf"
        assert verp.read(message["CFBL-Feedback-ID"]) == target
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: dns.get(name))
        signed = re.search(rb"h=([^;]+)", raw.split(b"\r\n\r\n")[0].replace(b"\r\n", b"")).group(1)
        covered = set(signed.replace(b" ", b"").replace(b"\t", b"").lower().split(b":"))
        assert {b"feedback-id", b"cfbl-address", b"cfbl-feedback-id"} <= covered


def test_two_digests_never_share_a_message_id_key(mail_site, week, smtp_server):
    first = send_digest_now(mail_site)
    with mail_site.app_context():
        add_post("Another", datetime.now(UTC))
        add_subscribers(1, prefix="later")
        db.session.commit()
    second = send_digest_now(mail_site)
    with mail_site.app_context():
        keys = {db.session.get(Digest, digest_id).message_key for digest_id in (first, second)}
    assert len(keys) == 2


def test_without_a_bounce_address_the_envelope_sender_is_mail_from(
    app_factory, smtp_config, smtp_server, week
):
    # week's site has BOUNCE_ADDRESS; this one, on the same database, has none
    plain = app_factory(SITE_URL="https://blog.example.com", MAIL_FROM="Weeknote <digest@blog.example.com>",
                        MAIL_POSTAL_ADDRESS="1 Example Street", **smtp_config)  # fmt: skip
    send_digest_now(plain)
    assert {sender for sender, _ in smtp_server.handler.envelopes} == {"digest@blog.example.com"}
    assert all(m["CFBL-Address"] is None for m in smtp_server.messages)


def test_the_confirmation_bounces_to_the_subscriber_address(mail_site, smtp_server):
    subscribe(mail_site.test_client(), "new@example.org")
    smtp_server.wait_for(1)
    [(envelope_sender, _)] = smtp_server.handler.envelopes
    with mail_site.app_context():
        person = db.session.scalar(select(Subscriber).where(Subscriber.email == "new@example.org"))
    verp = Verp("bounces@blog.example.com", mail_site.config["SECRET_KEY"])
    assert verp.targets_in(envelope_sender) == [Target(Sent.SUBSCRIBER, person.id)]
