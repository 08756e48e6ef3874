"""The preferences page: signed like the unsubscribe link, no cookie, GET changes nothing."""

import re
from datetime import UTC, datetime, timedelta

from helpers import add_subscribers
from sqlalchemy import select

from blog.extensions import db
from blog.models import PreferenceEvent, Subscriber, Tag
from blog.subscriptions.links import preferences_url, subscriber_token
from blog.subscriptions.tokens import Purpose


def setup_reader(app, topics=("Machine learning", "Python", "Travel")) -> tuple[str, dict[str, int]]:
    """An active reader and the author's topics (plus a tag that is not one); the page's path."""
    with app.app_context():
        [email] = add_subscribers(1)
        tags = [Tag(slug=name.lower().replace(" ", "-"), name=name, topic=True) for name in topics]
        db.session.add_all([*tags, Tag(slug="private", name="Private notes", topic=False)])
        db.session.commit()
        reader = db.session.scalar(select(Subscriber).where(Subscriber.email_key == email))
        path = preferences_url(reader).removeprefix(app.config["SITE_URL"])
        return path, {tag.name: tag.id for tag in tags}


def reader_row(app) -> Subscriber:
    with app.app_context():
        return db.session.scalar(select(Subscriber))


def form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html)[1]


def test_get_shows_the_choices_and_changes_nothing(app):
    path, topics = setup_reader(app)
    visitor = app.test_client()
    for _ in range(2):
        page = visitor.get(path)
        assert page.status_code == 200 and "Set-Cookie" not in page.headers
    html = page.text
    assert 'value="weekly" checked' in html  # the default
    assert "Machine learning" in html and "Private notes" not in html  # only the author's topics
    assert 'value="Asia/Tokyo"' in html and 'data-detect="yes"' in html  # the no-JS select, detected by JS
    row = reader_row(app)
    assert (row.frequency, row.topics, row.preferences_at, row.delivery_hour) == ("weekly", [], None, None)
    with app.app_context():
        assert db.session.scalar(select(PreferenceEvent)) is None


def test_a_post_with_only_the_forms_token_changes_them_and_keeps_the_history(app):
    path, topics = setup_reader(app)
    visitor = app.test_client()
    token = form_token(visitor.get(path).text)
    stranger = app.test_client()  # no cookie at all: the form's own token is enough
    fields = {
        "form_token": token,
        "frequency": "monthly",
        "topics": [str(topics["Python"]), str(topics["Machine learning"])],
        "when": "mine",
        "hour": "7",
        "timezone": "Asia/Tokyo",
    }
    answer = stranger.post(path, data=fields, headers={"Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 200 and "Saved." in answer.text
    assert "Set-Cookie" not in answer.headers
    row = reader_row(app)
    assert row.frequency == "monthly" and row.delivery_hour == 7 and row.timezone == "Asia/Tokyo"
    assert row.topics == sorted([topics["Python"], topics["Machine learning"]])
    assert row.preferences_at is not None and row.next_send_at is None  # placed by the dispatcher
    # Saving the same again is not a new event; a change is.
    assert "Nothing changed" in stranger.post(path, data=fields).text
    stranger.post(path, data={**fields, "frequency": "post", "topics": [], "when": "author"})
    with app.app_context():
        events = db.session.scalars(select(PreferenceEvent).order_by(PreferenceEvent.id)).all()
        assert [(event.frequency, event.topics, event.delivery_hour) for event in events] == [
            ("monthly", ["Machine learning", "Python"], 7),
            ("post", [], None),
        ]
        assert events[0].ip == "127.0.0.1"


def test_a_forged_old_or_cross_site_form_changes_nothing(app):
    path, _ = setup_reader(app)
    with app.app_context():
        reader = db.session.scalar(select(Subscriber))
        old = subscriber_token(reader, Purpose.PREFERENCES_FORM, now=datetime.now(UTC) - timedelta(days=2))
        unsubscribe_token = subscriber_token(reader, Purpose.UNSUBSCRIBE)
    fresh = form_token(app.test_client().get(path).text)
    fields = {"frequency": "monthly", "when": "author", "timezone": ""}
    for token, headers in (
        ("forged", {}),
        (old, {}),
        (unsubscribe_token, {}),  # another purpose's token is not this form's
        (fresh, {"Sec-Fetch-Site": "cross-site"}),  # another site's page posting for its visitor
    ):
        answer = app.test_client().post(path, data={**fields, "form_token": token}, headers=headers)
        assert answer.status_code == 400 and "too old to save" in answer.text
    assert reader_row(app).preferences_at is None


def test_bad_values_are_refused_with_the_reason(app):
    path, topics = setup_reader(app)
    client = app.test_client()
    token = form_token(client.get(path).text)
    base = {"form_token": token, "frequency": "weekly", "when": "author", "timezone": ""}
    cases = [
        ({"frequency": "daily"}, "every post, weekly or monthly"),
        ({"topics": ["999999"]}, "no longer offered"),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"when": "mine", "hour": "8"}, "Pick your time zone"),
        ({"when": "mine", "hour": "24", "timezone": "Europe/Berlin"}, "between 00:00 and 23:00"),
    ]
    for change, reason in cases:
        answer = client.post(path, data={**base, **change})
        assert answer.status_code == 400 and reason in answer.text, change
    assert reader_row(app).preferences_at is None


def test_a_bad_link_or_a_reader_who_left_gets_no_form(app):
    path, _ = setup_reader(app)
    assert app.test_client().get("/preferences/not-a-token").status_code == 400
    with app.app_context():
        db.session.scalar(select(Subscriber)).status = "unsubscribed"
        db.session.commit()
    page = app.test_client().get(path)
    assert page.status_code == 410 and "not subscribed" in page.text
    assert 'name="form_token"' not in page.text


def test_the_welcome_email_and_the_confirmed_page_link_to_the_preferences(app):
    from blog.subscriptions.welcome import build_welcome

    setup_reader(app)
    with app.app_context():
        reader = db.session.scalar(select(Subscriber))
        message = build_welcome(reader)
        token = subscriber_token(reader, Purpose.CONFIRM)
    site = re.escape(app.config["SITE_URL"])
    text_link = re.search(site + r"(/preferences/\S+)", message.get_body(("plain",)).get_content())[1]
    html_link = re.search(site + r'(/preferences/[^"]+)"', message.get_body(("html",)).get_content())[1]
    page = app.test_client().get(f"/subscribe/confirm/{token}").text  # active: the page after confirming
    page_link = re.search(r'href="[^"]*(/preferences/[^"]+)">Choose topics', page)[1]
    for link in (text_link, html_link, page_link):
        assert 'name="form_token"' in app.test_client().get(link).text


def test_the_author_chooses_the_topics_and_sees_each_change_on_the_subscriber_page(app, admin, client):
    from helpers import admin_post

    path, topics = setup_reader(app, topics=())
    with app.app_context():
        db.session.add_all([Tag(slug="python", name="Python"), Tag(slug="go", name="Go")])
        db.session.commit()
        tags = {tag.name: tag.id for tag in db.session.scalars(select(Tag))}
    assert "Topics subscribers can choose" in client.get("/admin/emails/").text
    answer = admin_post(
        client, "/admin/emails/topics", {"topics": [str(tags["Python"])]}, page="/admin/emails/"
    )
    assert answer.status_code == 302
    page = app.test_client().get(path).text
    assert "> Python</label>" in page and "> Go</label>" not in page and "Private notes" not in page
    visitor = app.test_client()
    token = form_token(visitor.get(path).text)
    visitor.post(
        path,
        data={"form_token": token, "frequency": "monthly", "topics": [str(tags["Python"])], "when": "mine",
              "hour": "9", "timezone": "America/New_York"},
        headers={"User-Agent": "Reader's browser"},
    )  # fmt: skip
    with app.app_context():
        reader_id = db.session.scalar(select(Subscriber.id))
    record = client.get(f"/admin/subscribers/{reader_id}/").text
    assert "Monthly · Python · 09:00 America/New_York" in record and "Reader&#39;s browser" in record
    emails = client.get("/admin/emails/").text
    assert re.search(r"Python</label> <span class=\"hint\">\(1 subscriber\)", emails)


def test_the_unsubscribe_page_offers_the_preferences_instead(app):
    setup_reader(app)
    with app.app_context():
        token = subscriber_token(db.session.scalar(select(Subscriber)), Purpose.UNSUBSCRIBE)
    page = app.test_client().get(f"/unsubscribe/{token}").text
    link = re.search(r'id="fewer-emails">[^<]*<a href="[^"]*(/preferences/[^"]+)"', page)[1]
    assert 'name="form_token"' in app.test_client().get(link).text
