"""End to end through a real Celery worker process, a private Redis and a real SMTP server."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from helpers import confirm_link, csrf_token, parts, subscribe, subscriber
from servers import wait_until

from blog.extensions import db
from blog.models import Subscriber


def test_subscribe_confirm_end_to_end(app_factory, redis_url, smtp_server, celery_worker):
    app = app_factory(REDIS_URL=redis_url)
    client = app.test_client()
    response = subscribe(client, "Reader@Example.org", headers={"User-Agent": "Mozilla/5.0 (E2E)"})
    assert (response.status_code, response.headers["Location"]) == (303, "/subscribe/thanks")

    [message] = smtp_server.wait_for(1, timeout=30)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@localhost>")
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert (
        len(message.get_all("From")) == 1 and message["From"].addresses[0].addr_spec == "weeknote@localhost"
    )
    assert message["To"] == "Reader@example.org"
    assert smtp_server.handler.envelopes == [("weeknote@localhost", ["Reader@example.org"])]
    text, html = parts(message)
    assert "Confirm my subscription" in html and "7 days" in text

    path = confirm_link(message).removeprefix(app.config["SITE_URL"])
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    assert subscriber(app, "reader@example.org").status == "pending"  # the GET changed nothing

    confirmed = client.post(path, data={"csrf_token": csrf_token(page.text)})
    assert confirmed.status_code == 200 and "You are subscribed" in confirmed.text
    row = subscriber(app, "reader@example.org")
    assert row.status == "active"
    consent = {
        "consent_at": row.consent_at,
        "consent_ip": row.consent_ip,
        "consent_user_agent": row.consent_user_agent,
        "consent_form_version": row.consent_form_version,
        "confirmed_at": row.confirmed_at,
        "confirmed_ip": row.confirmed_ip,
    }
    assert all(consent.values()), consent
    assert row.consent_user_agent == "Mozilla/5.0 (E2E)" and row.consent_ip == "127.0.0.1"
    assert row.consent_at <= row.confirmation_sent_at <= row.confirmed_at
    assert "weeknote.send_confirmation" in celery_worker.output()
    # The welcome email follows through the worker, with the one-click unsubscribe headers.
    confirmation, welcome = smtp_server.wait_for(2, timeout=30)
    assert welcome["To"] == "Reader@example.org" and welcome["Subject"] == "Welcome to Weeknote"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "weeknote.send_welcome" in celery_worker.output()
    client.post(path, data={"csrf_token": csrf_token(page.text)})  # confirming again sends nothing
    subscribe(client, "later@example.org")  # a later task: the worker handles them in order
    messages = smtp_server.wait_for(3, timeout=30)
    assert [m["To"] for m in messages] == ["Reader@example.org", "Reader@example.org", "later@example.org"]


def test_the_worker_sends_nothing_to_someone_who_confirmed_meanwhile(
    app_factory, redis_url, smtp_server, celery_worker
):
    app = app_factory(REDIS_URL=redis_url)
    client = app.test_client()
    subscribe(client, "a@example.org")
    [first] = smtp_server.wait_for(1)
    path = confirm_link(first).removeprefix(app.config["SITE_URL"])
    client.post(path, data={"csrf_token": csrf_token(client.get(path).text)})
    with app.app_context():
        app.extensions["celery"].send_task(
            "weeknote.send_confirmation", args=[subscriber(app, "a@example.org").id]
        )
    subscribe(client, "b@example.org")  # a later task, so the one above has surely run by then
    messages = smtp_server.wait_for(3)  # a@'s confirmation and welcome, b@'s confirmation
    confirmations = [m["To"] for m in messages if m["Subject"].startswith("Confirm")]
    assert confirmations == ["a@example.org", "b@example.org"]  # the late task sent a@ nothing
    assert [m["To"] for m in messages if m["Subject"].startswith("Welcome")] == ["a@example.org"]


def test_the_worker_erases_addresses_that_never_confirmed(app_factory, redis_url, celery_worker):
    site = app_factory(REDIS_URL=redis_url)
    asked = datetime.now(UTC) - timedelta(days=45)
    with site.app_context():
        db.session.add(Subscriber(email="gone@example.org", email_key="gone@example.org", created_at=asked,
                                  consent_at=asked))  # fmt: skip
        db.session.add(Subscriber(email="new@example.org", email_key="new@example.org"))
        db.session.commit()
        site.extensions["celery"].send_task("weeknote.tidy_subscribers")  # what the beat does hourly
    wait_until(lambda: subscriber(site, "gone@example.org") is None, 30, "the tidy-up task")
    assert subscriber(site, "new@example.org") is not None
