"""The digest in the console: schedule, preview, test message, send now, review, progress, retry."""

import re
from datetime import UTC, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

import pytest
from helpers import (
    AUTHOR_EMAIL,
    SITE,
    add_post,
    add_subscribers,
    admin_post,
    flashes,
    parts,
    preferences_link,
    send_now,
    signed_in,
    submit,
)
from servers import free_port, wait_until
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Delivery, Digest, Schedule
from blog.newsletter import delivery as deliveries
from blog.newsletter.compose import PREFERENCES_URL, UNSUBSCRIBE_URL
from blog.newsletter.digests import create_digest, save_schedule
from blog.newsletter.sending import composer_from_app

NOW = datetime.now(UTC)
ZONE = {"TIMEZONE": "Europe/Berlin"}  # the author's zone, the schedule form's default
FRAMED_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; frame-ancestors 'self'"
)
ACTIVE = ["reader0@example.com", "reader1@example.com", "reader2@example.com"]


@pytest.fixture
def mail_site_config() -> dict:
    return ZONE


@pytest.fixture
def console(mail_site, author):
    """The author signed in to mail_site, which has no REDIS_URL: sending happens in the request."""
    return signed_in(mail_site)


def schedule_form(**changes) -> dict:
    form = {"weekday": "0", "local_time": "08:00", "timezone": "America/New_York", "min_posts": "2"}
    return form | {"mode": "hold", "enabled": "y"} | changes


def saved_schedule(app) -> Schedule | None:
    with app.app_context():
        schedule = db.session.scalar(select(Schedule))
        if schedule is not None:
            db.session.expunge(schedule)
        return schedule


def state(client, digest_id: int) -> dict:
    response = client.get(f"/admin/digest/{digest_id}/progress.json")
    assert response.status_code == 200
    return response.get_json()


def delivery_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Delivery))


def html_part(message) -> str:
    """The HTML part as sent, with the line ends of the page (mail has CRLF and a final one)."""
    return parts(message)[1].replace("\r\n", "\n").removesuffix("\n")


def test_schedule_form_saves_and_shows_the_next_run_in_its_zone(mail_site, console):
    page = console.get("/admin/digest/")
    assert page.status_code == 200
    assert re.search(r'id="timezone"[^>]*value="Europe/Berlin"', page.text)  # the author's zone by default
    # The zones are a searchable list, the likely one first; its hint does not claim a clock format.
    assert re.search(r'<datalist id="zone-list" data-likely>\s*<option value="Europe/Berlin">', page.text)
    assert "24-hour" not in page.text
    response = submit(console, "/admin/digest/", schedule_form(), follow_redirects=True)
    assert response.status_code == 200
    schedule = saved_schedule(mail_site)
    assert (schedule.weekday, schedule.local_time, schedule.timezone) == (0, time(8), "America/New_York")
    assert schedule.min_posts == 2 and schedule.hold_for_review and schedule.enabled
    local = schedule.next_run_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.weekday(), local.hour, local.minute) == (0, 8, 0) and schedule.next_run_at > NOW
    shown = f"{local:%A} {local.day} {local:%B %Y}, 08:00 {local:%Z}"  # "Monday 7 December 2026, 08:00 EST"
    assert f"Next digest: {shown}." in flashes(response.text, "success")[0]
    assert f"<strong>{shown}</strong>" in response.text and "held for your review" in response.text
    assert re.search(r'id="timezone"[^>]*value="America/New_York"', response.text)
    assert 'value="hold" checked' in response.text or 'checked id="mode-1"' in response.text

    # Unticking "Send a weekly digest" stops the digest; the rest of the schedule is kept.
    form = schedule_form(mode="auto")
    del form["enabled"]
    response = submit(console, "/admin/digest/", form, follow_redirects=True)
    schedule = saved_schedule(mail_site)
    assert not schedule.enabled and schedule.next_run_at is None and not schedule.hold_for_review
    assert "Weekly digests are off" in response.text


@pytest.mark.parametrize(
    "change, message",
    [
        ({"timezone": "Mars/Olympus"}, "The unknown time zone &#39;Mars/Olympus&#39;: use an IANA name"),
        ({"local_time": "8 o'clock"}, "write it as HH:MM, for example 08:00"),
        ({"local_time": ""}, "Enter a time, for example 08:00."),
        ({"min_posts": "-1"}, "The minimum cannot be negative"),
    ],
)
def test_a_bad_zone_time_or_minimum_is_refused_with_a_message(mail_site, console, change, message):
    response = submit(console, "/admin/digest/", schedule_form(**change))
    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert saved_schedule(mail_site) is None


def test_preview_html_is_what_the_cli_prints_and_what_is_sent(mail_site, console, week, smtp_server):
    response = console.get("/admin/digest/preview.html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == FRAMED_POLICY
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = response.text
    assert "Newest" in html and "Middle" in html and "Oldest" in html
    printed = mail_site.test_cli_runner().invoke(args=["digest", "preview", "--html"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == html + "\n"

    # The test message carries exactly this HTML, with the site's home as its unsubscribe link.
    admin_post(console, "/admin/digest/test", page="/admin/digest/preview")
    [test] = smtp_server.messages
    assert html_part(test) == html.replace(UNSUBSCRIBE_URL, "https://blog.example.com/").replace(
        PREFERENCES_URL, "https://blog.example.com/"
    )

    # Send now's confirmation page frames the frozen draft; a subscriber's copy is exactly that,
    # with only their own unsubscribe link put in.
    page, sent = send_now(console)
    assert sent.status_code == 302 and sent.location == "/admin/digest/1/"
    frozen = console.get("/admin/digest/1/body.html").text
    copy = next(m for m in smtp_server.messages if str(m["To"]) == "reader0@example.com")
    unsubscribe = str(copy["List-Unsubscribe"]).strip("<>")
    assert html_part(copy) == frozen.replace(UNSUBSCRIBE_URL, unsubscribe).replace(
        PREFERENCES_URL, preferences_link(html_part(copy))
    )
    # The scheduled preview is the same week's digest: only its web-copy link differs.
    assert frozen == html.replace(
        'href="https://blog.example.com/digests/"', 'href="https://blog.example.com/digests/1/"'
    )


def test_preview_page_frames_the_html_and_shows_the_text_beside_it(mail_site, console, week):
    response = console.get("/admin/digest/preview")
    assert response.status_code == 200
    page = response.text
    assert '<iframe sandbox src="/admin/digest/preview.html" title="HTML version"' in page
    assert "frame-src 'self'" in response.headers["Content-Security-Policy"]
    text = mail_site.test_cli_runner().invoke(args=["digest", "preview", "--text"]).stdout
    assert f'aria-labelledby="text-heading">{escape(text.rstrip(chr(10)), quote=False)}' in page.replace(
        "&#39;", "'"
    ).replace("&#34;", '"')
    subject = re.search(r'id="preview-subject">([^<]+)<', page).group(1)
    assert subject.startswith("Weeknote — 3 new posts (")
    assert "Weeknote &lt;digest@blog.example.com&gt;" in page
    assert "(4 now)" in page and '<dd id="preview-posts">3</dd>' in page
    assert 'id="nothing-to-send"' not in page


def test_preview_says_plainly_when_there_is_nothing_to_send(mail_site, console):
    page = console.get("/admin/digest/preview").text
    assert "There are no published posts in this period" in page
    with mail_site.app_context():
        add_post("Lonely", NOW - timedelta(hours=2))
        # The next run within the hour, whatever the hour: the post is in its period (a run at a
        # fixed 08:00 had already taken it between 08:00 and 10:00 UTC).
        upcoming = NOW + timedelta(hours=1)
        save_schedule(db.session, weekday=upcoming.weekday(), local_time=time(upcoming.hour), timezone="UTC",
                      min_posts=2, hold_for_review=False, enabled=True, now=NOW)  # fmt: skip
        db.session.commit()
    page = console.get("/admin/digest/preview").text
    assert "Only 1 post in this period" in page and "fewer than 2 posts" in page


def test_send_a_test_to_me_reaches_only_the_author_and_records_nothing(mail_site, console, week, smtp_server):
    response = admin_post(console, "/admin/digest/test", page="/admin/digest/preview", follow_redirects=True)
    [message] = smtp_server.messages
    assert str(message["To"]) == AUTHOR_EMAIL
    assert message["Subject"].startswith("[Test] Weeknote — 3 new posts")
    assert "Newest" in parts(message)[0]
    assert f"to {AUTHOR_EMAIL}." in flashes(response.text, "success")[0]
    assert delivery_count(mail_site) == 0

    smtp_server.handler.reply = "554 5.7.1 Message refused"
    response = admin_post(console, "/admin/digest/test", page="/admin/digest/preview", follow_redirects=True)
    [error] = flashes(response.text, "error")
    assert "The test message was not sent: message refused: 5.7.1 Message refused (SMTP 554)" in error
    assert "The mail server refused it" in error


def test_send_a_test_says_when_the_mail_server_is_unreachable(app_factory, author, week):
    unreachable = app_factory(
        **SITE, **ZONE, SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_SECURITY="none"
    )
    console = signed_in(unreachable)
    response = admin_post(console, "/admin/digest/test", page="/admin/digest/preview", follow_redirects=True)
    [error] = flashes(response.text, "error")
    assert "The test message was not sent: cannot reach" in error and "Check SMTP_HOST, SMTP_PORT" in error


@pytest.fixture
def worker_site(app_factory, smtp_config, redis_url, author, celery_worker):
    """The console with REDIS_URL: digests go to the real Celery worker."""
    return app_factory(**SITE, **ZONE, **smtp_config, REDIS_URL=redis_url)


def wait_for_status(client, digest_id: int, status: str) -> dict:
    def reached():
        now = state(client, digest_id)
        return now if now["status"] == status else None

    return wait_until(reached, 60, f"digest {digest_id} to be {status}", interval=0.3)


def test_send_now_goes_through_the_worker_once_to_each_active_subscriber(worker_site, smtp_server):
    with worker_site.app_context():
        add_post("Alpha", NOW - timedelta(days=1))
        add_subscribers(3)
        add_subscribers(1, status="pending", prefix="pending")
        add_subscribers(1, status="unsubscribed", prefix="gone")
        db.session.commit()
    console = signed_in(worker_site)
    confirmation, response = send_now(console)
    assert "Send to 3 subscribers?" in confirmation.text
    assert response.status_code == 302 and response.location == "/admin/digest/1/"
    page = console.get("/admin/digest/1/").text
    assert "is going to 3 subscribers" in page
    assert 'id="digest-summary"' in page and 'id="count-sent"' in page and 'aria-live="polite"' in page
    assert "/static/js/progress." in page

    final = wait_for_status(console, 1, "sent")
    assert final["counts"] == {"pending": 0, "claimed": 0, "sent": 3, "failed": 0, "skipped": 0}
    assert (final["total"], final["done"], final["web_url"]) == (3, 3, "/digests/1/")
    smtp_server.wait_for(3)
    assert sorted(str(message["To"]) for message in smtp_server.messages) == ACTIVE
    page = console.get("/admin/digest/1/").text
    assert '<dd id="count-sent">3</dd>' in page
    assert re.search(r'<a href="/digests/1/" id="web-copy">', page)
    assert re.search(r'id="retry-form" hidden>', page)

    assert "Sent: 3 of 3 delivered" in page
    index = console.get("/admin/digest/").text
    assert "Nothing to send now: there are no new posts since the last digest" in index
    assert 'id="send-now"' not in index
    again = admin_post(console, "/admin/digest/send", page="/admin/digest/", follow_redirects=True)
    [error] = flashes(again.text, "error")
    assert error.startswith("Nothing was sent: there are no new posts since the last digest (")
    assert len(smtp_server.messages) == 3
    with worker_site.app_context():
        assert db.session.scalar(select(func.count()).select_from(Digest)) == 1  # no skipped row


def test_retry_failed_queues_the_failed_rows_again(worker_site, smtp_server):
    with worker_site.app_context():
        add_post("Alpha", NOW - timedelta(days=1))
        add_subscribers(3)
        db.session.commit()
    smtp_server.handler.rcpt_policy = lambda address: (
        "550 5.1.1 No such user" if address == "reader1@example.com" else None
    )
    console = signed_in(worker_site)
    send_now(console)
    first = wait_for_status(console, 1, "sent")
    assert (first["counts"]["sent"], first["counts"]["failed"]) == (2, 1)
    page = console.get("/admin/digest/1/").text
    assert '<dd id="count-failed">1</dd>' in page and re.search(r'id="retry-form">', page)
    # Who failed and why, in the server's words.
    assert "Sent: 2 of 3 delivered, 1 failed" in page
    assert "reader1@example.com: failed: recipient refused: 5.1.1 No such user (SMTP 550)" in page

    smtp_server.handler.rcpt_policy = None
    response = admin_post(console, "/admin/digest/1/retry", page="/admin/digest/1/", follow_redirects=True)
    assert "1 failed delivery queued again." in flashes(response.text, "success")
    wait_until(lambda: state(console, 1)["counts"]["sent"] == 3, 60, "the retried row to be sent")
    final = wait_for_status(console, 1, "sent")
    assert final["counts"]["failed"] == 0
    smtp_server.wait_for(3)
    assert sorted(str(message["To"]) for message in smtp_server.messages) == ACTIVE


def test_a_held_digest_is_approved_or_cancelled(mail_site, console, week, smtp_server):
    with mail_site.app_context():
        schedule = save_schedule(db.session, weekday=0, local_time=time(8), timezone="UTC", min_posts=1,
                                 hold_for_review=True, enabled=True, now=NOW)  # fmt: skip
        held = create_digest(db.session, composer_from_app(), NOW, schedule)
        # The next run carries only what came after the held one: a post reaches a reader once.
        add_post("Later", NOW + timedelta(milliseconds=500))
        other = create_digest(db.session, composer_from_app(), NOW + timedelta(seconds=1), schedule)
        db.session.commit()
        held_id, other_id = held.id, other.id
    index = console.get("/admin/digest/").text
    assert index.count(">Approve <span") == 2 and index.count(">Cancel <span") == 2
    review = console.get(f"/admin/digest/{held_id}/").text
    assert f'<iframe sandbox src="/admin/digest/{held_id}/body.html"' in review
    body = console.get(f"/admin/digest/{held_id}/body.html")
    assert body.headers["Content-Security-Policy"] == FRAMED_POLICY and "Newest" in body.text
    assert smtp_server.messages == []

    response = admin_post(console, f"/admin/digest/{held_id}/approve", page="/admin/digest/")
    assert response.location == f"/admin/digest/{held_id}/"
    assert state(console, held_id)["status"] == "sent"  # sent in the request: no worker configured
    assert sorted(str(message["To"]) for message in smtp_server.messages) == [
        f"reader{i}@example.com" for i in range(4)
    ]
    again = admin_post(console, f"/admin/digest/{held_id}/approve", follow_redirects=True)
    assert f"digest {held_id} is sent, not held for review" in flashes(again.text, "error")[0]

    response = admin_post(console, f"/admin/digest/{other_id}/cancel", follow_redirects=True)
    assert f"Digest {other_id} cancelled; nothing was sent." in flashes(response.text, "success")
    assert len(smtp_server.messages) == 4
    with mail_site.app_context():
        assert db.session.get(Digest, other_id).status == "cancelled"
        assert db.session.scalar(select(func.count()).where(Delivery.digest_id == other_id)) == 0
    assert console.get("/admin/digest/99/").status_code == 404


def test_a_sending_digest_shows_its_rate_and_expected_finish(mail_site, week, console):
    with mail_site.app_context():
        digest = create_digest(db.session, composer_from_app(), datetime.now(UTC))
        deliveries.fan_out(db.session, digest)
        # Two of the four went out in the last five seconds: 0.2 a second; two left, ten seconds.
        now = datetime.now(UTC)
        for row in db.session.scalars(select(Delivery).order_by(Delivery.id).limit(2)):
            row.status, row.sent_at = "sent", now - timedelta(seconds=5)
        db.session.commit()
        digest_id = db.session.scalar(select(Digest.id))
    answer = state(console, digest_id)
    assert answer["rate"] == 0.2 and answer["finish_at"]
    assert answer["pace"].startswith("0.2 messages a second; 2 to go, done in about 1 minute (")
    page = console.get(f"/admin/digest/{digest_id}/").text
    assert 'id="digest-pace"' in page and "0.2 messages a second" in page
    status = mail_site.test_cli_runner().invoke(args=["digest", "status", str(digest_id)])
    assert "0.2 messages a second; 2 to go" in status.output
