"""A reader's visit in Debian's Chromium (Playwright) against the app on a real WSGI server.

Screenshots at phone and desktop widths go to test-artifacts/; axe-core (the npm package,
installed into tests/js by `make test`) is injected into each page and must find no
serious or critical violations, in light and dark colour schemes.
"""

import shutil
import threading
from pathlib import Path

import feedparser
import pytest
from flask_migrate import upgrade
from helpers import CONTENT, make_app, serious_violations
from werkzeug.serving import make_server

from blog.extensions import db

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PAGES = {
    "home": "/",
    "post": "/posts/twelve-months/",
    "tag": "/tags/rust/",
    "tags": "/tags/",
    "archive": "/archive/",
    "search": "/search?q=rust",
}


def write_extra_posts(folder: Path) -> None:
    """Enough posts to paginate, with code, a table, an image with alt text and footnotes."""
    folder.mkdir()
    (folder / "2024-02-11-twelve-months.md").write_text(
        "---\ntitle: Twelve Months of Rust\ntags: [rust, retrospective]\n"
        "excerpt: Looking back on twelve months of borrow checker fights.\n---\n\n"
        'Here is a <span style="color:#b91c1c;">red note</span> and [Rust](https://www.rust-lang.org).[^1]\n\n'
        "![A crab on a beach](/static/favicon.svg)\n\n"
        '## What I learned\n\n```rust\nfn main() {\n    let name = "world";\n'
        '    println!("Hello, {name}!"); // a comment\n}\n```\n\n'
        "| month | chapters |\n|---|---|\n| January | 1-4 |\n| February | 5-8 |\n\n"
        "> Ownership is a set of rules that govern memory.\n\n[^1]: The language's site.\n",
        encoding="utf-8",
    )
    for day in range(1, 9):
        (folder / f"2023-06-{day:02d}-week-{day}.md").write_text(
            f"---\ntitle: Rust Week {day}\ntags: [rust]\n---\n\nWeek {day} of lifetimes and traits.\n",
            encoding="utf-8",
        )


@pytest.fixture(scope="session")
def server(sqlite_template, tmp_path_factory):
    """The app on werkzeug's threaded WSGI server, with the fixture posts imported."""
    folder = tmp_path_factory.mktemp("browser")
    database = folder / "browser.db"
    shutil.copyfile(sqlite_template, database)
    posts = folder / "posts"
    shutil.copytree(CONTENT / "shapes", posts)
    write_extra_posts(posts / "extra")
    app = make_app(folder / "instance", f"sqlite:///{database}", POSTS_PER_PAGE=5)
    with app.app_context():
        upgrade()
    result = app.test_cli_runner().invoke(args=["import", str(posts)])
    assert result.exit_code == 0, result.output
    http = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["SITE_URL"] = f"http://127.0.0.1:{http.server_port}"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield app.config["SITE_URL"]
    http.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, viewport=DESKTOP)
    tab = context.new_page()
    tab.violations = []  # CSP violations the page reports
    tab.on("console", lambda message: message.type == "error" and tab.violations.append(message.text))
    yield tab
    context.close()


def test_a_reader_goes_from_home_to_a_post_to_a_tag_to_its_feed(page, server):
    page.goto("/")
    page.get_by_role("link", name="Twelve Months of Rust").click()
    page.wait_for_url("**/posts/twelve-months/")
    assert page.get_by_role("heading", level=1).inner_text() == "Twelve Months of Rust"
    page.locator(".post-header").get_by_role("link", name="retrospective").click()
    page.wait_for_url("**/tags/retrospective/")
    assert "Posts tagged retrospective" in page.get_by_role("heading", level=1).inner_text()
    feed_link = page.get_by_role("link", name="RSS feed for retrospective")
    href = feed_link.get_attribute("href")
    discovered = page.locator('link[rel="alternate"][title$="retrospective (RSS)"]').get_attribute("href")
    assert discovered == f"{server}{href}"
    response = page.request.get(discovered)
    feed = feedparser.parse(response.body())
    assert not feed.bozo and [entry.title for entry in feed.entries] == ["Twelve Months of Rust"]
    assert feed.entries[0].link == f"{server}/posts/twelve-months/"
    assert page.violations == []


def test_a_reader_pages_through_older_posts(page):
    page.goto("/")
    first = page.locator(".post-summary h2").all_inner_texts()
    assert len(first) == 5
    page.get_by_role("link", name="Older posts").click()
    page.wait_for_url("**/page/2/")
    second = page.locator(".post-summary h2").all_inner_texts()
    assert second and not set(first) & set(second)
    assert "Page 2 of 3" in page.locator("nav.pager").inner_text()
    page.get_by_role("link", name="Newer posts").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    assert page.locator(".post-summary h2").all_inner_texts() == first


def test_a_reader_searches_from_any_page(page):
    page.goto("/archive/")
    page.get_by_role("searchbox", name="Search posts").fill("ownership rules")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=ownership+rules")
    results = page.locator(".search-results h2").all_inner_texts()
    assert results == ["Twelve Months of Rust"]
    marks = page.locator(".snippet mark").all_inner_texts()
    assert {mark.lower() for mark in marks} >= {"ownership", "rules"}


def test_the_skip_link_is_first_visible_on_focus_and_moves_to_the_content(page):
    page.goto("/posts/twelve-months/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    box = page.locator(".skip-link").bounding_box()
    assert box["y"] >= 0  # moved into view when focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#content"


def test_pages_read_without_javascript(browser, server):
    context = browser.new_context(base_url=server, java_script_enabled=False, viewport=PHONE)
    tab = context.new_page()
    tab.goto("/posts/twelve-months/")
    assert tab.get_by_role("heading", level=1).inner_text() == "Twelve Months of Rust"
    assert tab.locator(".highlight").count() == 1
    tab.goto("/search?q=lifetimes")
    assert tab.locator(".search-results li").count() >= 1
    context.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_no_csp_violations_and_styles_load(page, name):
    page.goto(PAGES[name])
    color = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert color == "rgb(253, 252, 250)"  # the theme's stylesheet applied
    if name == "post":
        red = page.evaluate("getComputedStyle(document.querySelector('.post-body span')).color")
        assert red == "rgb(185, 28, 28)"  # the hashed style attribute was allowed
    assert page.violations == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["home", "post", "tag", "archive", "search"])
def test_axe_finds_no_serious_violations(browser, server, name, scheme):
    context = browser.new_context(base_url=server, viewport=DESKTOP, color_scheme=scheme)
    tab = context.new_page()
    tab.goto(PAGES[name])
    serious = serious_violations(tab)
    context.close()
    assert serious == []


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_screenshots(browser, server, device):
    ARTIFACTS.mkdir(exist_ok=True)
    viewport = PHONE if device == "phone" else DESKTOP
    for scheme in ("light", "dark"):
        context = browser.new_context(base_url=server, viewport=viewport, color_scheme=scheme)
        tab = context.new_page()
        for name, path in PAGES.items():
            tab.goto(path)
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} scrolls sideways on a {device}"
            target = ARTIFACTS / f"{name}-{device}-{scheme}.png"
            tab.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 10_000
        context.close()
