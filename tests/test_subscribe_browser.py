"""A person in Chromium subscribes from a post page and confirms with the page's button."""

import pytest
from helpers import confirm_link, outbox, subscriber
from servers import LiveServer


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    app.config["SITE_URL"] = server.url  # links in emails point at this server
    yield server
    server.stop()


def test_subscribe_from_a_post_and_confirm_in_the_browser(app, runner, shapes, browser, live_server):
    assert runner.invoke(args=["import", str(shapes)]).exit_code == 0
    page = browser.new_page()
    try:
        page.goto(f"{live_server.url}/posts/nextjs-raw-html/")
        page.get_by_label("Your email address").fill("reader@example.org")
        page.get_by_role("button", name="Subscribe").click()
        # The small form on every page opens the full form, filled in, with its consent text.
        page.wait_for_url(f"{live_server.url}/subscribe?email=reader%40example.org")
        assert page.get_by_label("Email address").input_value() == "reader@example.org"
        page.locator("main").get_by_role("button", name="Subscribe").click()
        page.wait_for_url(f"{live_server.url}/subscribe/thanks")
        assert page.get_by_role("heading", name="Check your inbox").is_visible()
        assert subscriber(app, "reader@example.org").status == "pending"

        [message] = outbox(app)
        page.goto(confirm_link(message))
        assert subscriber(app, "reader@example.org").status == "pending"  # opening the link is not enough
        page.get_by_role("button", name="Confirm my subscription").click()
        page.get_by_role("heading", name="You are subscribed").wait_for()
        row = subscriber(app, "reader@example.org")
        assert row.status == "active" and "Chrome" in row.consent_user_agent
    finally:
        page.close()
