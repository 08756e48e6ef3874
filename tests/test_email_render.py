"""The digest email as mail clients show it, rendered in Chromium: at 320 and 600 px, light and
dark, with images blocked (as many clients start), nothing overflows sideways, every image has
alt text and a width, and the web copy passes axe. Screenshots go to test-artifacts/."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import add_post, send_now, serious_violations, signed_in
from servers import LiveServer

from blog.extensions import db
from blog.models import Post
from blog.newsletter import preview
from blog.platform import site_settings

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung" * 2
WIDE_CODE = "let total = " + " + ".join(f"values[{i}]" for i in range(40)) + ";"
LONG_URL = "https://example.com/" + "a" * 120
FULL_TEXT = f"""<p>A long link: <a href="{LONG_URL}">{LONG_URL}</a></p>
<p>{LONG_WORD}</p>
<pre><code>{WIDE_CODE}</code></pre>
<p><img src="/media/wide.png" width="1600" height="400" alt="A wide diagram"></p>
<table><tr>{"".join(f"<td>cell {i}</td>" for i in range(12))}</tr></table>"""
# Everything on the page must fit, but for the preheader, which is hidden on purpose.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.body.querySelectorAll('*')]
    .filter((element) => !element.closest('.preheader'))
    .filter((element) => element.getBoundingClientRect().right > width + 1)
    .map((element) => `${element.tagName}.${element.className} ${element.getBoundingClientRect().right}`);
}"""


@pytest.fixture
def mail_site_config() -> dict:
    return {"AUTHOR_NAME": "Ada Example", "SITE_LOGO": "/static/favicon.svg"}


@pytest.fixture
def digest_html(mail_site, week) -> str:
    """This week's digest in full-text mode, with a note and a cover, as it would be sent."""
    with mail_site.app_context():
        post = db.session.get(Post, 1)
        post.html, post.plain_text, post.cover_image = FULL_TEXT, "Full text.", "/media/cover.png"
        add_post("A title long enough to wrap at three hundred and twenty pixels wide", datetime.now(UTC)
                 - timedelta(hours=1))  # fmt: skip
        site_settings.put(db.session, site_settings.DIGEST_CONTENT, "full")
        site_settings.put(db.session, site_settings.DIGEST_NOTE, f"Hello **readers**. {LONG_WORD}")
        db.session.commit()
        return preview.build_preview(db.session, datetime.now(UTC)).composed.html


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [320, 600])
def test_the_email_fits_narrow_and_wide_screens_with_images_blocked(browser, digest_html, width, scheme):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    blocked: list[str] = []

    def block(route):
        if route.request.resource_type == "image":
            blocked.append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/*", block)
    try:
        page.set_content(digest_html, wait_until="load")
        assert page.evaluate(OVERFLOWING) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        images = page.locator("img")
        assert images.count() >= 3  # the logo, the cover and the diagram
        for index in range(images.count()):
            image = images.nth(index)
            assert image.get_attribute("alt"), image.evaluate("node => node.outerHTML")
            assert image.get_attribute("width"), image.evaluate("node => node.outerHTML")
        assert blocked  # the images were asked for, and refused
        assert page.locator(".note").get_by_text("Hello readers.", exact=False).is_visible()
        assert not page.locator(".preheader").is_visible()  # in the inbox list, not in the message
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / f"email-digest-{width}-{scheme}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 5_000
    finally:
        context.close()


def test_the_html_uses_no_layout_outlook_cannot_draw(digest_html):
    styles = " ".join(re.findall(r'style="([^"]*)"', digest_html))
    for property_ in ("display: flex", "display: grid", "position: absolute", "float:"):
        assert property_ not in styles
    assert '<table role="presentation"' in digest_html and "<!--[if mso]>" in digest_html
    assert re.search(r'class="preheader"[^>]*>Hello readers\. Donau', digest_html)  # words, no Markdown


def test_the_web_copy_has_no_serious_accessibility_issue(mail_site, author, digest_html, browser):
    send_now(signed_in(mail_site))
    server = LiveServer(mail_site)
    try:
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
            page = context.new_page()
            page.goto(f"{server.url}/digests/1/")
            assert page.get_by_text("Hello readers.", exact=False).is_visible()
            assert serious_violations(page) == [], scheme
            context.close()
    finally:
        server.stop()
