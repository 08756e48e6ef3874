"""The subscribe, confirm and unsubscribe pages, with inline (development) mail to the outbox."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers import add_subscribers, confirm_link, csrf_token, outbox, parts, submit, subscribe, subscriber
from sqlalchemy import func, select, update

from blog.extensions import db
from blog.models import Subscriber
from blog.subscriptions.links import subscriber_token, unsubscribe_url, unsubscribe_urls
from blog.subscriptions.tokens import Purpose


def count_subscribers(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Subscriber.id)))


def token_for(app, email: str, purpose: Purpose, age: timedelta = timedelta(0)) -> str:
    """A genuine token for the subscriber, signed `age` ago."""
    with app.app_context():
        row = db.session.scalar(select(Subscriber).where(Subscriber.email_key == email))
        return subscriber_token(row, purpose, now=datetime.now(UTC) - age)


def test_every_page_has_the_small_form_and_stays_cookie_free(client):
    response = client.get("/")
    home = response.text
    assert '<form class="subscribe-start" method="post" action="/subscribe">' in home
    assert 'name="email"' in home and 'name="form_token"' in home
    # No CSRF token and no session on reader pages: they are cached and shared between readers.
    assert 'name="csrf_token"' not in home and "Set-Cookie" not in response.headers
    page = client.get("/subscribe").text
    assert page.count('action="/subscribe"') == 1  # the page's own form, not the small one too
    assert 'name="csrf_token"' in page and "record of your consent" in page


def small_form(home: str, email: str) -> dict:
    """The fields the small form on a page posts, as a browser fills them in."""
    token = re.search(r'name="form_token" value="([^"]+)"', home)[1]
    return {"form_token": token, "email": email, "website": ""}


def test_the_small_form_subscribes_in_one_post_without_a_cookie(app):
    home = app.test_client().get("/").text
    visitor = app.test_client()  # a new visitor: no cookie at all, only the cached page's form
    response = visitor.post("/subscribe", data=small_form(home, "Zoe@example.com"))
    assert response.status_code == 303 and response.headers["Location"] == "/subscribe/thanks"
    assert "Set-Cookie" not in response.headers and "zoe" not in response.headers["Location"].lower()
    [message] = outbox(app)
    assert message["To"] == "Zoe@example.com"
    row = subscriber(app, "zoe@example.com")
    assert (row.status, row.consent_source) == ("pending", "form")


def test_a_week_old_or_forged_small_form_asks_once_more_keeping_the_address(app):
    from blog.subscriptions.tokens import make_form_token

    with app.app_context():
        old = make_form_token(app.config["SECRET_KEY"], now=datetime.now(UTC) - timedelta(days=8))
    for token in (old, "form.forged.token"):
        answer = app.test_client().post(
            "/subscribe", data={"form_token": token, "email": "zoe@example.com", "website": ""}
        )
        assert answer.status_code == 400
        assert "press Subscribe once more" in answer.text
        assert 'value="zoe@example.com"' in answer.text and 'name="csrf_token"' in answer.text
    assert outbox(app) == [] and count_subscribers(app) == 0
    # A bad address from the small form gets the full form, with the reason and its own token.
    home = app.test_client().get("/").text
    answer = app.test_client().post("/subscribe", data=small_form(home, "not-an-address"))
    assert answer.status_code == 400 and "We cannot send to that address" in answer.text
    assert 'name="csrf_token"' in answer.text


def test_another_sites_page_cannot_post_the_small_form_for_its_visitors(app):
    """The form token is in every cached page, so anyone can copy it; the browser's
    Sec-Fetch-Site or Origin says where the POST comes from."""
    home = app.test_client().get("/").text
    for header in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = app.test_client().post(
            "/subscribe", data=small_form(home, "victim@example.com"), headers=header
        )
        assert answer.status_code == 400 and "press Subscribe once more" in answer.text
    assert outbox(app) == [] and count_subscribers(app) == 0
    same = {"Origin": "http://127.0.0.1:5000", "Sec-Fetch-Site": "same-origin"}
    assert (
        app.test_client()
        .post("/subscribe", data=small_form(home, "me@example.com"), headers=same)
        .status_code
        == 303
    )
    assert count_subscribers(app) == 1


def test_subscribe_sends_a_confirmation_and_records_consent(app, client):
    response = subscribe(client, " Zoe@Example.COM ", headers={"User-Agent": "Firefox/140"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/subscribe/thanks"
    assert "Check your inbox" in client.get("/subscribe/thanks").text
    row = subscriber(app, "zoe@example.com")
    assert (row.email, row.status) == ("Zoe@example.com", "pending")
    assert (row.consent_ip, row.consent_user_agent, row.consent_source) == (
        "127.0.0.1",
        "Firefox/140",
        "form",
    )
    assert row.consent_form_version.startswith("sha256:") and row.consent_at is not None
    [message] = outbox(app)
    assert message["To"] == "Zoe@example.com"
    assert message.get_content_type() == "multipart/alternative"
    assert confirm_link(message).startswith("http://127.0.0.1:5000/subscribe/confirm/")


def test_the_answer_is_identical_for_new_pending_and_active_addresses(app, client):
    def answer(email):
        response = subscribe(client, email)
        return response.status_code, sorted(response.headers.items()), response.data

    new = answer("new@example.com")
    pending = answer("new@example.com")
    with app.app_context():
        db.session.execute(update(Subscriber).values(status="active"))
        db.session.commit()
    active = answer("new@example.com")
    other_new = answer("other@example.com")
    assert new == pending == active == other_new
    assert len(outbox(app)) == 2  # new@ once (pending and active got nothing), other@ once


def test_a_pending_address_gets_the_email_again_after_ten_minutes(app, client):
    subscribe(client, "a@example.com")
    subscribe(client, "a@example.com")
    assert len(outbox(app)) == 1
    with app.app_context():  # the first email went out eleven minutes ago
        sent = datetime.now(UTC) - timedelta(minutes=11)
        db.session.execute(update(Subscriber).values(confirmation_sent_at=sent))
        db.session.commit()
    subscribe(client, "a@example.com")
    assert len(outbox(app)) == 2


def test_an_invalid_address_says_what_is_wrong(app, client):
    response = subscribe(client, "zoe.example.com")
    assert response.status_code == 400
    assert "We cannot send to that address: An email address must have an @-sign." in response.text
    assert 'aria-invalid="true"' in response.text
    assert count_subscribers(app) == 0


def test_the_honeypot_looks_like_success_and_does_nothing(app, client):
    response = submit(client, "/subscribe", {"email": "bot@example.com", "website": "http://spam.example"})
    assert (response.status_code, response.headers["Location"]) == (303, "/subscribe/thanks")
    assert count_subscribers(app) == 0 and outbox(app) == []


def test_subscribe_without_the_csrf_token_is_refused(app, client):
    response = client.post("/subscribe", data={"email": "a@example.com", "website": ""})
    assert response.status_code == 400
    assert "Please send the form again" in response.text
    assert count_subscribers(app) == 0


def test_get_on_the_confirm_link_changes_nothing_and_post_confirms(app, client):
    subscribe(client, "a@example.com")
    path = confirm_link(outbox(app)[0]).removeprefix("http://127.0.0.1:5000")
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    client.get(path)
    assert subscriber(app, "a@example.com").status == "pending"
    response = client.post(path, data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 200 and "You are subscribed" in response.text
    row = subscriber(app, "a@example.com")
    assert row.status == "active" and row.confirmed_at is not None and row.confirmed_ip == "127.0.0.1"
    assert "You are subscribed" in client.get(path).text  # the link still opens a sensible page


def test_confirm_without_the_csrf_token_changes_nothing(app, client):
    subscribe(client, "a@example.com")
    path = confirm_link(outbox(app)[0]).removeprefix("http://127.0.0.1:5000")
    assert client.post(path).status_code == 400
    assert subscriber(app, "a@example.com").status == "pending"


def test_expired_forged_and_wrong_purpose_confirm_links(app, client):
    subscribe(client, "a@example.com")
    expired = token_for(app, "a@example.com", Purpose.CONFIRM, age=timedelta(days=7, minutes=1))
    response = client.get(f"/subscribe/confirm/{expired}")
    assert response.status_code == 410
    assert "This confirmation link has expired" in response.text
    assert 'action="/subscribe"' in response.text  # with a form to ask again
    fresh = token_for(app, "a@example.com", Purpose.CONFIRM)
    for bad in (
        fresh[:-3] + ("xyz" if not fresh.endswith("xyz") else "abc"),
        token_for(app, "a@example.com", Purpose.UNSUBSCRIBE),
        "MQ.forged.token",
    ):
        page = client.get(f"/subscribe/confirm/{bad}")
        assert page.status_code == 400 and "This confirmation link is not valid" in page.text
        token = csrf_token(page.text)
        assert client.post(f"/subscribe/confirm/{bad}", data={"csrf_token": token}).status_code == 400
    assert subscriber(app, "a@example.com").status == "pending"


def test_a_confirm_link_after_unsubscribing_does_not_reactivate(app, client):
    subscribe(client, "a@example.com")
    confirm_path = f"/subscribe/confirm/{token_for(app, 'a@example.com', Purpose.CONFIRM)}"
    unsubscribe_path = f"/unsubscribe/{token_for(app, 'a@example.com', Purpose.UNSUBSCRIBE)}"
    client.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})
    response = submit(client, confirm_path, {})
    assert response.status_code == 410 and "no longer valid" in response.text
    assert subscriber(app, "a@example.com").status == "unsubscribed"


@pytest.fixture
def active(app, client):
    """An active subscriber, a@example.com, and the path of their unsubscribe link."""
    subscribe(client, "a@example.com")
    path = confirm_link(outbox(app)[0]).removeprefix("http://127.0.0.1:5000")
    submit(client, path, {})
    assert subscriber(app, "a@example.com").status == "active"
    return f"/unsubscribe/{token_for(app, 'a@example.com', Purpose.UNSUBSCRIBE)}"


def test_one_click_unsubscribe_as_rfc_8058_describes(app, active):
    mailbox_provider = app.test_client(use_cookies=False)  # no cookie, no session, no CSRF token
    response = mailbox_provider.post(
        active,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "Location" not in response.headers and "Set-Cookie" not in response.headers
    row = subscriber(app, "a@example.com")
    assert row.status == "unsubscribed" and row.unsubscribed_at is not None
    again = mailbox_provider.post(active, data={"List-Unsubscribe": "One-Click"})  # multipart works too
    assert again.status_code == 200
    assert subscriber(app, "a@example.com").unsubscribed_at == row.unsubscribed_at


def test_unsubscribe_links_work_for_more_than_thirty_days(app, active):
    month_old = token_for(app, "a@example.com", Purpose.UNSUBSCRIBE, age=timedelta(days=31))
    response = app.test_client(use_cookies=False).post(
        f"/unsubscribe/{month_old}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert subscriber(app, "a@example.com").status == "unsubscribed"


def test_a_digests_unsubscribe_links_are_each_subscribers_own(app, app_factory, active):
    """The links a digest is sent with (the URL around the token is built once for all) are the
    same as one built alone, under a site that lives in a folder too, and they work."""
    moment = datetime(2026, 11, 2, 8, tzinfo=UTC)
    for site in ("https://blog.example.com", "https://example.com/blog/"):
        with app_factory(SITE_URL=site).app_context():
            people = db.session.scalars(select(Subscriber)).all()
            links = unsubscribe_urls(now=moment)
            assert [links(person) for person in people] == [
                unsubscribe_url(person, moment) for person in people
            ]
            assert links(people[0]).startswith(f"{site.rstrip('/')}/unsubscribe/")
    path = links(people[0]).removeprefix("https://example.com/blog")
    response = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert subscriber(app, "a@example.com").status == "unsubscribed"


def test_get_on_the_unsubscribe_link_changes_nothing(app, client, active):
    for _ in range(3):
        page = client.get(active)
        assert page.status_code == 200 and ">Unsubscribe</button>" in page.text
    assert subscriber(app, "a@example.com").status == "active"


def test_a_post_without_one_click_body_needs_the_csrf_token(app, active):
    stranger = app.test_client(use_cookies=False)
    assert stranger.post(active, data={"action": "unsubscribe"}).status_code == 400
    assert stranger.post(active, data={"List-Unsubscribe": "yes"}).status_code == 400
    assert subscriber(app, "a@example.com").status == "active"


def test_unsubscribe_page_then_resubscribe_needs_confirming(app, client, active):
    response = submit(client, active, {"action": "unsubscribe"})
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert subscriber(app, "a@example.com").status == "unsubscribed"
    assert submit(client, active, {"action": "unsubscribe"}).status_code == 200  # idempotent
    response = submit(client, active, {"action": "resubscribe"})
    assert (response.status_code, response.headers["Location"]) == (303, "/subscribe/thanks")
    row = subscriber(app, "a@example.com")
    assert (row.status, row.consent_source) == ("pending", "resubscribe")
    assert len(outbox(app)) == 3  # the first confirmation, the welcome, and this confirmation


@pytest.mark.parametrize("kind", ["forged", "confirm-token", "revoked"])
def test_bad_unsubscribe_links_are_refused(app, active, kind):
    if kind == "forged":
        path = active[:-4] + ("AAAA" if not active.endswith("AAAA") else "BBBB")
    elif kind == "confirm-token":
        path = f"/unsubscribe/{token_for(app, 'a@example.com', Purpose.CONFIRM)}"
    else:
        path = active
        with app.app_context():
            db.session.execute(update(Subscriber).values(token_secret="rotated"))
            db.session.commit()
    client = app.test_client(use_cookies=False)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 400
    page = client.get(path)
    assert page.status_code == 400 and "This unsubscribe link is not valid" in page.text
    assert subscriber(app, "a@example.com").status == "active"


def test_the_limit_per_ip_answers_429(app_factory):
    app = app_factory(SUBSCRIBE_RATE_LIMIT="3 per hour")
    client = app.test_client()
    statuses = [subscribe(client, f"p{i}@example.com").status_code for i in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert "Too many subscribe requests" in subscribe(client, "p9@example.com").text
    other_ip = subscribe(client, "q@example.com", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other_ip.status_code == 303
    assert client.get("/subscribe").status_code == 200  # only POSTs count


def test_the_limit_is_shared_by_apps_on_the_same_redis(app_factory, redis_url):
    first = app_factory(SUBSCRIBE_RATE_LIMIT="3 per hour", REDIS_URL=redis_url).test_client()
    second = app_factory(SUBSCRIBE_RATE_LIMIT="3 per hour", REDIS_URL=redis_url).test_client()
    assert [subscribe(first, f"p{i}@example.com").status_code for i in range(2)] == [303, 303]
    assert subscribe(second, "p2@example.com").status_code == 303
    assert subscribe(second, "p3@example.com").status_code == 429
    assert subscribe(first, "p4@example.com").status_code == 429


def test_memory_limits_are_not_shared_between_apps(app_factory):
    first = app_factory(SUBSCRIBE_RATE_LIMIT="1 per hour").test_client()
    second = app_factory(SUBSCRIBE_RATE_LIMIT="1 per hour").test_client()
    assert subscribe(first, "a@example.com").status_code == 303
    assert subscribe(second, "b@example.com").status_code == 303  # a separate process, in effect
    assert subscribe(first, "c@example.com").status_code == 429


def test_with_redis_the_email_is_queued_for_the_worker(app_factory, redis_url, redis_server):
    app = app_factory(REDIS_URL=redis_url)
    assert subscribe(app.test_client(), "a@example.com").status_code == 303
    assert outbox(app) == []  # not sent inline
    assert redis_server.client.llen("celery") == 1
    assert b"weeknote.send_confirmation" in redis_server.client.lindex("celery", 0)


def test_every_subscribe_takes_the_same_time_whatever_the_address_is(app_factory):
    """A new address costs an insert and a hand-off that a known one does not: the answer waits
    for a fixed time, so its timing tells nothing either."""
    site = app_factory(SUBSCRIBE_ANSWER_SECONDS=0.3, SUBSCRIBE_RATE_LIMIT="100 per hour")
    client = site.test_client()
    with site.app_context():
        [active] = add_subscribers(1, status="active", prefix="active")
        db.session.commit()
    subscribe(client, "pending@example.com")
    for address in ("new@example.com", "pending@example.com", active):
        started = time.monotonic()
        assert subscribe(client, address).status_code == 303
        assert time.monotonic() - started >= 0.3, address


def test_confirming_says_when_the_first_digest_comes_and_sends_a_welcome(app, client):
    from blog.newsletter.digests import save_schedule

    with app.app_context():  # Mondays at 08:00 in Berlin; 30 Nov 2026 is a Monday
        save_schedule(db.session, weekday=0, local_time=datetime.min.time().replace(hour=8),
                      timezone="Europe/Berlin", min_posts=1, hold_for_review=False, enabled=True,
                      now=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
        db.session.commit()
    subscribe(client, "wren@example.com")
    path = confirm_link(outbox(app)[0]).removeprefix("http://127.0.0.1:5000")
    opened = client.get(path).text
    assert "Your first digest" not in opened  # GET confirms nothing
    page = client.post(path, data={"csrf_token": csrf_token(opened)}).text
    assert "You are subscribed" in page
    assert "Your first digest arrives Monday 7 December at 08:00 CET." in page
    confirmation, welcome = outbox(app)
    assert welcome["To"] == "wren@example.com" and welcome["Subject"] == "Welcome to Weeknote"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    leave = str(welcome["List-Unsubscribe"]).strip().strip("<>")
    text, html = parts(welcome)
    assert "Thank you for subscribing." in text and "Monday 7 December at 08:00 CET" in text
    assert leave in text and f'href="{leave}"' in html
    # Confirming twice sends no second welcome.
    assert "You are subscribed" in client.post(path, data={"csrf_token": csrf_token(opened)}).text
    assert len(outbox(app)) == 2
    # The welcome's one-click link works like a digest's.
    answer = app.test_client(use_cookies=False).post(
        leave.removeprefix("http://127.0.0.1:5000"), data={"List-Unsubscribe": "One-Click"}
    )
    assert answer.status_code == 200 and subscriber(app, "wren@example.com").status == "unsubscribed"


def test_the_welcome_email_is_off_with_the_setting(app_factory):
    app = app_factory(WELCOME_EMAIL="off")
    client = app.test_client()
    subscribe(client, "quiet@example.com")
    path = confirm_link(outbox(app)[0]).removeprefix("http://127.0.0.1:5000")
    submit(client, path, {})
    assert subscriber(app, "quiet@example.com").status == "active"
    assert len(outbox(app)) == 1  # the confirmation only


def test_a_welcome_still_due_is_dropped_once_the_author_turns_welcomes_off(app, client):
    from blog.platform import site_settings
    from blog.subscriptions import letters
    from blog.subscriptions.welcome import WELCOME

    subscribe(client, "late@example.com")
    path = confirm_link(outbox(app)[0]).removeprefix("http://127.0.0.1:5000")
    with app.app_context():  # the welcome is due but not sent yet (Redis was down, say)
        row = db.session.scalar(select(Subscriber).where(Subscriber.email_key == "late@example.com"))
        row_id = row.id
    client.post(path, data={"csrf_token": csrf_token(client.get(path).text)})
    with app.app_context():
        db.session.execute(
            update(Subscriber).where(Subscriber.id == row_id).values(welcome_due_at=datetime.now(UTC))
        )
        site_settings.put(db.session, site_settings.WELCOME_EMAIL, "off")
        db.session.commit()
        before = len(outbox(app))
        assert letters.send(WELCOME, row_id) is None
        assert len(outbox(app)) == before
        assert db.session.get(Subscriber, row_id).welcome_due_at is None  # claimed, and dropped
