"""The author's whole journey in Chromium, against a real Redis, Celery worker and SMTP server:
sign in, write a note for the digest, write two posts with a live preview (one with a cover) and
publish them, schedule and preview the digest, send a test, open Send now's confirmation, read
its recipient count, send, watch the progress page reach "sent"; every active subscriber then
has exactly the message the confirmation page showed, with only their own unsubscribe link in it.

The dashboard, editor, digest preview and progress pages are saved as screenshots in
test-artifacts/ at phone and desktop widths, light and dark, and axe-core must find no serious or
critical violations on any of them.
"""

import re
from pathlib import Path

import pytest
from helpers import AUTHOR_PASSWORD, add_subscribers, png, preferences_link, serious_violations
from servers import LiveServer

from blog.extensions import db
from blog.newsletter.compose import PREFERENCES_URL, UNSUBSCRIBE_URL

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
SCRIPT_BODY = (
    "## What I learned\n\nBorrowing is *fun*.\n\n"
    "<script>document.title = 'owned'</script>\n\n"
    '<img src="/static/favicon.svg" alt="An icon" onerror="document.title=\'owned\'">\n'
)


@pytest.fixture
def stack(app_factory, redis_url, smtp_config, celery_worker, author):
    """The web app on real HTTP with Redis and SMTP, beside the real Celery worker."""
    web = app_factory(REDIS_URL=redis_url, **smtp_config)
    server = LiveServer(web)
    web.config["SITE_URL"] = server.url
    with web.app_context():
        add_subscribers(3, status="active")
        add_subscribers(1, status="pending", prefix="waiting")
        add_subscribers(1, status="unsubscribed", prefix="gone")
        db.session.commit()
    yield server.url
    server.stop()


def scan(context, url: str) -> list:
    """axe-core's serious and critical violations on url, in a tab of context."""
    tab = context.new_page()
    tab.goto(url)
    tab.wait_for_load_state("networkidle")
    found = serious_violations(tab)
    tab.close()
    return found


def capture(browser, page, name: str) -> None:
    """Screenshot the page's URL at each width and scheme, signed in as the page is; scan with axe."""
    ARTIFACTS.mkdir(exist_ok=True)
    state = page.context.storage_state()
    for device, viewport in VIEWPORTS.items():
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport=viewport, color_scheme=scheme, storage_state=state)
            tab = context.new_page()
            tab.goto(page.url)
            tab.wait_for_load_state("networkidle")
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} scrolls sideways on a {device}"
            target = ARTIFACTS / f"admin-{name}-{device}-{scheme}.png"
            tab.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 10_000
            assert scan(context, page.url) == [], (name, device, scheme)
            context.close()


def test_the_author_writes_publishes_and_sends_the_digest(browser, stack, smtp_server, author):
    context = browser.new_context(base_url=stack, viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        # Sign in: the console sends a visitor to the sign-in form first.
        page.goto("/admin/")
        page.get_by_label("Email address").fill(author)
        page.get_by_label("Password").fill(AUTHOR_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Dashboard", exact=True).wait_for()
        capture(browser, page, "dashboard")

        # A note for the next digest, in Markdown with the editor's live preview.
        page.get_by_role("link", name="Emails", exact=True).click()
        page.get_by_label("Note", exact=True).fill("Hello from **the console**.")
        page.get_by_role("region", name="Preview").locator("strong").get_by_text("the console").wait_for()
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Saved.").wait_for()
        capture(browser, page, "emails")

        # Write a post; the preview follows the typing, rendered and sanitised by the server.
        page.get_by_role("link", name="Posts", exact=True).click()
        page.get_by_role("link", name="New post").click()
        page.get_by_label("Title").fill("Twelve weeks of Rust")
        page.get_by_label("Tags").fill("rust, learning")
        page.get_by_label("Text (Markdown)").fill(SCRIPT_BODY)
        preview = page.get_by_role("region", name="Preview")
        preview.get_by_role("heading", name="What I learned").wait_for()
        assert preview.locator("em").inner_text() == "fun"
        assert preview.locator("script").count() == 0
        assert "onerror" not in preview.inner_html()
        page.get_by_label("Cover image").set_input_files(
            files=[{"name": "cover.png", "mimeType": "image/png", "buffer": png()}]
        )
        page.get_by_role("button", name="Publish").click()
        page.get_by_text("published", exact=False).first.wait_for()
        capture(browser, page, "editor")
        page.get_by_role("link", name="Posts", exact=True).click()
        page.get_by_role("link", name="New post").click()
        page.get_by_label("Title").fill("Notes on ownership")
        page.get_by_label("Text (Markdown)").fill("Moves and borrows.")
        page.get_by_role("button", name="Publish").click()
        page.get_by_text("published", exact=False).first.wait_for()

        # Readers see it on the home page, without the script.
        reader = context.new_page()
        reader.goto("/")
        reader.get_by_role("link", name="Twelve weeks of Rust").click()
        assert reader.get_by_role("heading", name="What I learned").is_visible()
        assert reader.title() != "owned"
        reader.close()

        # Set the schedule.
        page.get_by_role("link", name="Digest", exact=True).click()
        page.get_by_label("Day", exact=True).select_option(label="Monday")
        page.get_by_label("Time", exact=True).fill("08:00")
        page.get_by_label("Time zone").fill("Europe/Berlin")
        page.get_by_role("button", name="Save schedule").click()
        page.get_by_text(re.compile(r"Monday \d+ \w+ \d{4}, 08:00 CE")).first.wait_for()

        # The preview shows the message as it will be sent: HTML framed, text beside it.
        page.get_by_role("link", name=re.compile("Preview")).click()
        frame = page.frame_locator("iframe[title='HTML version']")
        frame.get_by_text("Twelve weeks of Rust").first.wait_for()
        assert "Twelve weeks of Rust" in page.locator("pre").inner_text()
        capture(browser, page, "digest-preview")

        # A test to the author of the scheduled preview.
        page.get_by_role("button", name="Send a test to me").click()
        page.get_by_text(re.compile("Sent a test", re.I)).first.wait_for()
        assert [message["To"] for message in smtp_server.messages] == [author]

        # Send now: a confirmation page with the exact message and its recipients, then Send.
        page.get_by_role("link", name="Digest", exact=True).click()
        page.get_by_role("button", name="Review and send now…").click()
        page.get_by_role("heading", name="Send to 3 subscribers?").wait_for()
        frame = page.frame_locator("iframe[title='HTML version of the digest']")
        frame.get_by_text("Notes on ownership").first.wait_for()
        capture(browser, page, "confirm")
        shown = page.request.get(page.locator("#confirm-frame").get_attribute("src")).text()
        page.get_by_role("button", name="Send to 3 subscribers").click()
        page.wait_for_url(re.compile(r"/admin/digest/\d+/$"))
        page.locator("#digest-summary").get_by_text("Sent: 3 of 3 delivered").wait_for(timeout=60_000)
        assert page.locator("#count-sent").inner_text().strip() == "3"
        capture(browser, page, "progress")
    finally:
        context.close()

    digests = [message for message in smtp_server.messages if message["To"] != author]
    recipients = sorted(message["To"] for message in digests)
    assert recipients == [f"reader{i}@example.com" for i in range(3)]  # each exactly once
    for message in digests:
        html = message.get_body(("html",)).get_content().replace("\r\n", "\n").removesuffix("\n")
        unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
        assert html == shown.replace(UNSUBSCRIBE_URL, unsubscribe).replace(
            PREFERENCES_URL, preferences_link(html)
        )
    assert "Hello from <strong>the console</strong>." in shown
    assert "Twelve weeks of Rust" in shown and "Notes on ownership" in shown
    assert re.search(r'<img [^>]*src="http://127.0.0.1:\d+/media/[0-9a-f]{16}-cover\.png"', shown)
    assert errors == []
