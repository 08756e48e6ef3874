"""A person in Chromium subscribes from a post page in one step, confirms with the page's button,
and gets the welcome email; the address never travels in a URL, so no access log line holds it."""

import logging
import re

import pytest
from helpers import confirm_link, outbox, serious_violations, subscriber
from servers import LiveServer

ADDRESS = "reader@example.org"


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    app.config["SITE_URL"] = server.url  # links in emails point at this server
    yield server
    server.stop()


def test_subscribe_from_a_post_in_one_step_and_confirm(app, runner, shapes, browser, live_server, caplog):
    assert runner.invoke(args=["import", str(shapes)]).exit_code == 0
    caplog.set_level(logging.INFO, logger="werkzeug")  # the live server's access log
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(f"{live_server.url}/posts/nextjs-raw-html/")
        assert context.cookies() == []  # the cached page sets none, yet its form works
        page.get_by_label("Your email address").fill(ADDRESS)
        page.get_by_role("button", name="Subscribe").click()
        page.wait_for_url(f"{live_server.url}/subscribe/thanks")  # one POST, straight to the answer
        assert page.get_by_role("heading", name="Check your inbox").is_visible()
        assert subscriber(app, ADDRESS).status == "pending"
        assert context.cookies() == []

        [message] = outbox(app)
        page.goto(confirm_link(message))
        assert subscriber(app, ADDRESS).status == "pending"  # opening the link is not enough
        page.get_by_role("button", name="Confirm my subscription").click()
        page.get_by_role("heading", name="You are subscribed").wait_for()
        row = subscriber(app, ADDRESS)
        assert row.status == "active" and "Chrome" in row.consent_user_agent
    finally:
        context.close()

    confirmation, welcome = outbox(app)
    assert welcome["To"] == ADDRESS and welcome["Subject"].startswith("Welcome to ")
    assert welcome["List-Unsubscribe"] and welcome["List-Unsubscribe-Post"]
    access_lines = [  # without the colours werkzeug gives them on a terminal
        re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage())
        for record in caplog.records
        if record.name == "werkzeug"
    ]
    assert any('"POST /subscribe HTTP/1.1" 303' in line for line in access_lines), access_lines
    for seen in requested + access_lines:
        assert "reader" not in seen and "example.org" not in seen, seen


def test_preferences_in_chromium_detect_the_zone_save_without_a_cookie_and_pass_axe(
    app, browser, live_server
):

    from blog.extensions import db
    from blog.models import Subscriber, Tag
    from blog.subscriptions.links import preferences_url

    with app.app_context():
        db.session.add_all(
            [Tag(slug="ml", name="Machine learning", topic=True), Tag(slug="go", name="Go", topic=True)]
        )
        db.session.add(Subscriber(email=ADDRESS, email_key=ADDRESS, status="active"))
        db.session.add(Subscriber(email="quiet@example.org", email_key="quiet@example.org", status="active"))
        db.session.commit()
        link, quiet_link = (
            preferences_url(db.session.scalar(db.select(Subscriber).where(Subscriber.email == email)))
            for email in (ADDRESS, "quiet@example.org")
        )
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.goto(link)
        assert page.locator("#timezone").input_value() == "Asia/Tokyo"  # detected by static/js/zone.js
        assert serious_violations(page) == []
        page.get_by_label("Monthly digest").check()
        page.get_by_label("Machine learning").check()
        page.get_by_label("In my own morning").check()
        page.get_by_label("Hour").select_option("7")
        page.get_by_role("button", name="Save my preferences").click()
        page.get_by_text("Saved.").wait_for()
        assert context.cookies() == []
    finally:
        context.close()
    row = subscriber(app, ADDRESS)
    assert (row.frequency, row.delivery_hour, row.timezone, len(row.topics)) == (
        "monthly",
        7,
        "Asia/Tokyo",
        1,
    )
    # Without JavaScript the select waits for the reader (nothing guessed), and the form still works.
    quiet = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    try:
        plain = quiet.new_page()
        plain.goto(quiet_link)
        assert plain.locator("#timezone").input_value() == ""
        plain.get_by_label("Your time zone").select_option("America/New_York")
        plain.get_by_label("In my own morning").check()
        plain.get_by_role("button", name="Save my preferences").click()
        plain.get_by_text("Saved.").wait_for()
    finally:
        quiet.close()
    assert subscriber(app, "quiet@example.org").timezone == "America/New_York"
