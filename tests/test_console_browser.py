"""The console's everyday work in Chromium: settings that show at once on the site, in the
digest preview and in the editor; an image pasted into the editor and published; the warning
before leaving unsaved text and the local draft offered back; a subscriber added by hand.
axe-core must find no serious or critical violation on each console page these touch."""

import base64
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import AUTHOR_PASSWORD, add_post, add_subscribers, png, serious_violations
from servers import LiveServer

from blog.extensions import db

JEKYLL = Path(__file__).parent / "content" / "sites" / "jekyll"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
# 20:00 UTC on 20 November is already 21 November in Auckland (UTC+13): the site's date moves.
EVENING = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
PASTE = """([data, name]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  const body = document.getElementById("body");
  body.focus();
  body.setSelectionRange(body.value.length, body.value.length);
  const paste = { clipboardData: transfer, bubbles: true, cancelable: true };
  body.dispatchEvent(new ClipboardEvent("paste", paste));
}"""


@pytest.fixture
def site(app_factory, author):
    """The web app on real HTTP (no Redis: mail goes to the development outbox in the request)."""
    web = app_factory(SITE_TITLE="Env Title", TIMEZONE="UTC")
    server = LiveServer(web)
    web.config["SITE_URL"] = server.url
    with web.app_context():
        add_post("Evening post", EVENING)
        add_post("This week", datetime.now(UTC))
        add_subscribers(2, prefix="someone.with.a.rather.long.address")
        add_subscribers(1, status="unsubscribed", prefix="gone")
        db.session.commit()
    yield server.url
    server.stop()


@pytest.fixture
def console(browser, site, author):
    """A signed-in tab on the console."""
    context = browser.new_context(base_url=site, viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    page.goto("/admin/")
    page.get_by_label("Email address").fill(author)
    page.get_by_label("Password").fill(AUTHOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard", exact=True).wait_for()
    yield page
    context.close()


def scan_everywhere(browser, page) -> None:
    """axe on the page's URL at phone and desktop widths, light and dark; no sideways scrolling."""
    state = page.context.storage_state()
    for device, viewport in VIEWPORTS.items():
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport=viewport, color_scheme=scheme, storage_state=state)
            tab = context.new_page()
            tab.goto(page.url)
            tab.wait_for_load_state("networkidle")
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{page.url} scrolls sideways on a {device}"
            assert serious_violations(tab) == [], (page.url, device, scheme)
            context.close()


def test_title_and_zone_from_settings_show_on_the_site_digest_and_editor(browser, console, site):
    reader = console.context.new_page()
    reader.goto("/posts/evening-post/")
    assert reader.title() == "Evening post · Env Title"
    assert reader.locator("article time").first.inner_text() == "20 November 2026"

    console.get_by_role("link", name="Settings", exact=True).click()
    console.get_by_label("Site title").fill("Garden Notes")
    console.get_by_role("combobox", name="Time zone").fill("Pacific/Auckland")
    console.get_by_role("button", name="Save settings").click()
    console.get_by_text("Saved.").wait_for()
    assert console.get_by_label("Site title").input_value() == "Garden Notes"
    scan_everywhere(browser, console)

    reader.reload()
    assert reader.title() == "Evening post · Garden Notes"
    assert reader.locator(".site-title").first.inner_text() == "Garden Notes"
    assert reader.locator("article time").first.inner_text() == "21 November 2026"

    console.goto("/admin/digest/preview")
    assert "NZDT" in console.locator(".digest-facts").inner_text()
    framed = console.frame_locator("iframe[title='HTML version']")
    framed.get_by_text("Garden Notes").first.wait_for()
    assert "Garden Notes" in console.locator(".digest-text").inner_text()

    console.goto("/admin/posts/new")
    assert console.locator("#publish_at-hint").inner_text().startswith("In your time zone, Pacific/Auckland.")
    assert console.title() == "New post · Garden Notes"


def test_an_image_pasted_into_the_editor_is_published_with_the_post(browser, console, site):
    console.goto("/admin/posts/new")
    console.get_by_label("Title").fill("Pictured")
    console.get_by_label("Text (Markdown)").fill("## Whiteboard\n\nWhat we drew.\n")
    console.evaluate(PASTE, [base64.b64encode(png(b"pasted")).decode(), "image.png"])
    console.get_by_text("Image added").wait_for()
    body = console.get_by_label("Text (Markdown)")
    # The description is selected: typing replaces it.
    console.keyboard.type("Boxes and arrows")
    assert "![Boxes and arrows](/media/" in body.input_value()
    preview = console.get_by_role("region", name="Preview")
    preview.get_by_role("img", name="Boxes and arrows").wait_for()
    # The preview's heading has the site's size, not the pane heading's 16 px.
    size = preview.get_by_role("heading", name="Whiteboard").evaluate("e => getComputedStyle(e).fontSize")
    assert float(size.removesuffix("px")) > 20
    scan_everywhere(browser, console)
    console.get_by_role("button", name="Publish").click()
    console.get_by_text("Published.").wait_for()
    assert not console.get_by_label("Schedule at").count()

    reader = console.context.new_page()
    reader.goto("/posts/pictured/")
    image = reader.get_by_role("img", name="Boxes and arrows")
    src = image.get_attribute("src")
    assert reader.request.get(src).status == 200
    assert image.evaluate("e => e.complete && e.naturalWidth") == 1


def test_leaving_unsaved_text_asks_first_and_the_draft_is_offered_back(browser, console, site):
    console.goto("/admin/posts/new")
    console.get_by_label("Title").click()
    console.keyboard.type("Half a thought")
    console.get_by_label("Text (Markdown)").click()
    console.keyboard.type("Typed but never saved.")
    dialogs = []
    console.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    console.wait_for_timeout(400)  # the local copy is written a moment after typing stops
    console.close(run_before_unload=True)
    console.wait_for_event("close")
    assert dialogs == ["beforeunload"]

    page = console.context.new_page()
    page.goto("/admin/posts/new")
    offer = page.locator("#draft-offer")
    offer.wait_for()
    assert "kept text you had not saved" in offer.inner_text()
    page.get_by_role("button", name="Restore unsaved text").click()
    assert page.get_by_label("Title").input_value() == "Half a thought"
    assert page.get_by_label("Text (Markdown)").input_value() == "Typed but never saved."
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft created.").wait_for()
    page.goto("/admin/posts/new")
    assert page.locator("#draft-offer").count() == 0  # saving forgot the local copy


def test_a_subscriber_added_by_hand_has_the_note_in_their_record(browser, console, site):
    console.get_by_role("link", name="Subscribers", exact=True).click()
    console.get_by_role("link", name="Add subscriber").click()
    scan_everywhere(browser, console)
    console.get_by_label("Email address").fill("friend@example.com")
    console.get_by_label("Consent note").fill("Asked me at the meetup, 3 December")
    assert console.get_by_label("Email them a link to confirm first (double opt-in)").is_checked()
    console.get_by_role("button", name="Add subscriber").click()
    console.get_by_text("Added friend@example.com as pending").wait_for()
    assert console.locator("#consent-note").inner_text() == "Asked me at the meetup, 3 December"
    assert "added by hand by the author" in console.locator("#consent-source").inner_text()
    scan_everywhere(browser, console)


@pytest.fixture
def process_env(process_env, tmp_path):
    """The worker sees the web app's media and upload folders, as a shared instance volume does."""
    instance = tmp_path / "instance"
    return process_env | {"MEDIA_FOLDER": str(instance / "media"), "IMPORT_FOLDER": str(instance / "imports")}


def test_a_zipped_site_is_imported_in_the_worker_with_its_images(
    browser, app_factory, redis_url, celery_worker, author, tmp_path
):  # noqa: E501
    web = app_factory(REDIS_URL=redis_url)
    server = LiveServer(web)
    web.config["SITE_URL"] = server.url
    archive = tmp_path / "garden-blog.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(JEKYLL.rglob("*")):
            if path.is_file():
                bundle.write(path, "garden-blog/" + path.relative_to(JEKYLL).as_posix())
    context = browser.new_context(base_url=server.url, viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    try:
        page.goto("/admin/")
        page.get_by_label("Email address").fill(author)
        page.get_by_label("Password").fill(AUTHOR_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Import", exact=True).click()
        scan_everywhere(browser, page)
        page.get_by_label("A .zip of your site").set_input_files(str(archive))
        page.get_by_role("button", name="Upload and try a dry run").click()
        page.get_by_text("Dry run finished: nothing was saved.").wait_for(timeout=60_000)
        assert page.locator("#count-imported").inner_text() == "2"
        assert "4 files copied, 0 missing" in page.locator("#import-totals").inner_text()
        page.get_by_role("button", name="Import 2 files").click()
        page.get_by_text("Imported.", exact=True).wait_for(timeout=60_000)
        scan_everywhere(browser, page)
        page.get_by_role("link", name="Winter seeds").click()
        images = page.locator("article img")
        assert images.count() >= 1
        for index in range(images.count()):
            source = images.nth(index).get_attribute("src")
            assert source.startswith("/media/")
            assert page.request.get(source).status == 200
    finally:
        context.close()
        server.stop()


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/posts/", "/admin/subscribers/", "/admin/digest/", "/admin/outbox/"]
)
def test_the_console_pages_with_stacked_tables_pass_axe_on_a_phone(browser, console, site, path):
    console.goto(path)
    scan_everywhere(browser, console)
