"""The console's Settings: stored in the database over the environment's defaults, and shown at
once on the site, in the feeds, in the digest's preview and emails, and in the editor."""

import io
import re

import feedparser
import pytest
from helpers import flashes, png, signed_in, submit
from sqlalchemy import select

from blog.extensions import db
from blog.models import Setting

CHANGED = {
    "title": "Field Notes",
    "description": "Things I found out this week.",
    "author": "Ada Author",
    "bio": "I write about compilers and gardens.",
    "timezone": "America/New_York",
    "postal_address": "PO Box 12, Springfield",
    "posts_per_page": "2",
    "feed_items": "3",
    "content": "excerpt",
    "welcome": "y",
}


@pytest.fixture
def mail_site_config() -> dict:
    return {"SITE_TITLE": "From The Environment", "TIMEZONE": "Europe/Berlin", "MAIL_POSTAL_ADDRESS": ""}


@pytest.fixture
def console(mail_site, author):
    return signed_in(mail_site)


def save_settings(client, **changes):
    return submit(client, "/admin/settings/", CHANGED | changes, content_type="multipart/form-data")


def stored(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(Setting.key, Setting.value)).all())


def test_the_form_opens_with_the_environments_values(console):
    page = console.get("/admin/settings/").text
    assert 'value="From The Environment"' in page
    assert 'value="Europe/Berlin"' in page
    # The zone list is searchable (a datalist) and starts with the site's zone.
    assert re.search(r'<datalist id="zone-list" data-likely>\s*<option value="Europe/Berlin">', page)


def test_a_change_shows_on_the_site_feeds_editor_and_digest_at_once(mail_site, console, week):
    reader = mail_site.test_client()
    assert "From The Environment" in reader.get("/").text  # cached now: the change must still show
    assert "From The Environment" in reader.get("/feed.xml").text
    assert "In your time zone, Europe/Berlin." in console.get("/admin/posts/new").text

    assert save_settings(console).status_code == 302
    notice = flashes(console.get("/admin/settings/").text, "success")
    assert notice == ["Saved. The site, its feeds and the next emails show these now."]

    home = reader.get("/").text
    assert "<title>Field Notes</title>" in home
    assert "Things I found out this week." in home and "I write about compilers and gardens." in home
    assert "Written by Ada Author." in home
    assert len(re.findall(r'<article class="post-summary', home)) == 2  # posts per page
    feed = feedparser.parse(reader.get("/feed.xml").data)
    assert feed.feed.title == "Field Notes" and len(feed.entries) == 3
    editor = console.get("/admin/posts/new").text
    assert "In your time zone, America/New_York." in editor
    assert "· Field Notes</title>" in editor
    preview = console.get("/admin/digest/preview.html").text
    assert "Field Notes" in preview and "From The Environment" not in preview
    assert "PO Box 12, Springfield" in preview
    assert "by Ada Author" in preview
    # A new schedule starts in the site's zone.
    assert re.search(r'id="timezone"[^>]*value="America/New_York"', console.get("/admin/digest/").text)


def test_stored_values_override_the_environment_and_survive_a_restart(app_factory, mail_site, console):
    assert save_settings(console, title="Mine").status_code == 302
    assert stored(mail_site)["site_title"] == "Mine"
    again = app_factory(SITE_TITLE="Another Environment Title")
    assert "<title>Mine</title>" in again.test_client().get("/").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "The unknown time zone &#39;Mars/Olympus&#39;: use an IANA name like"),
        ("title", "", "Give the site a title."),
        ("posts_per_page", "0", "Use a number from 1 to 100."),
        ("feed_items", "many", "Not a valid integer value."),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_saved(mail_site, console, field, value, message):
    answer = save_settings(console, **{field: value})
    assert answer.status_code == 400
    assert message in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert stored(mail_site) == {}


def test_the_settings_need_an_author(client):
    assert client.get("/admin/settings/").status_code == 302


def test_the_logo_is_uploaded_like_covers_and_the_digest_shows_it(mail_site, console):
    logo = (io.BytesIO(png()), "Logo.png", "image/png")
    assert save_settings(console, logo=logo).status_code == 302
    url = stored(mail_site)["site_logo"]
    assert re.fullmatch(r"/media/[0-9a-f]{16}-logo\.png", url)
    assert f'src="{url}"' in console.get("/admin/settings/").text
    refused = save_settings(console, logo=(io.BytesIO(b"text"), "fake.png", "image/png"))
    assert refused.status_code == 400 and "fake.png is not a PNG, JPEG, GIF or WebP image." in refused.text
    assert save_settings(console, remove_logo="y").status_code == 302
    assert stored(mail_site)["site_logo"] == ""


def test_the_doctor_reads_the_postal_address_from_settings(app_factory, mail_site, console, smtp_server):
    real_mail = app_factory(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, MAIL_POSTAL_ADDRESS="")
    assert "FIX   MAIL_POSTAL_ADDRESS" in real_mail.test_cli_runner().invoke(args=["doctor"]).output
    assert save_settings(console).status_code == 302
    assert "ok    MAIL_POSTAL_ADDRESS: set" in real_mail.test_cli_runner().invoke(args=["doctor"]).output
