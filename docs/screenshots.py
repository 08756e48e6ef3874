"""Take the README's tour in screenshots, with the sample posts: the home page, a post, the
console's dashboard and editor, and a digest email.

Run `make screenshots` (needs Chromium at /usr/bin/chromium, or CHROMIUM=...).
"""

import os
import tempfile
import threading
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from blog import PROJECT_ROOT, create_app
from blog.admin import authors
from blog.extensions import db

OUTPUT = PROJECT_ROOT / "docs" / "images"
WHEN = "2026-11-16 08:00"  # a week that holds two of the sample posts
EMAIL, PASSWORD = "author@example.com", "screenshots only"


def build_site(folder: Path):
    """An app on a new SQLite file with the sample posts imported."""
    app = create_app(
        {
            "INSTANCE_PATH": str(folder),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'weeknote.db'}",
            "SECRET_KEY": "screenshots",
            "SITE_URL": "http://127.0.0.1:5000",
            "MAIL_POSTAL_ADDRESS": "1 Example Street, Berlin",
        }
    )
    with app.app_context():
        upgrade()
        authors.create_author(db.session, EMAIL, PASSWORD)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["import", str(PROJECT_ROOT / "blog" / "sample_posts")])
    if result.exit_code:
        raise SystemExit(f"importing the sample posts failed:\n{result.output}")
    return app


def digest_html(app) -> str:
    """The HTML part of the digest for WHEN, exactly as `weeknote digest preview --html` prints it."""
    result = app.test_cli_runner().invoke(args=["digest", "preview", "--html", "--at", WHEN])
    if result.exit_code:
        raise SystemExit(f"the digest preview failed:\n{result.output}")
    return result.stdout


def main() -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = build_site(folder)
        (folder / "digest.html").write_text(digest_html(app), encoding="utf-8")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                base = f"http://127.0.0.1:{server.server_port}"
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(f"{base}/")
                page.screenshot(path=str(OUTPUT / "home.png"))
                page.goto(f"{base}/posts/writing-with-code/")
                page.screenshot(path=str(OUTPUT / "post.png"))
                page.goto(f"{base}/admin/sign-in")
                page.get_by_label("Email address").fill(EMAIL)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Dashboard", exact=True).wait_for()
                page.screenshot(path=str(OUTPUT / "console.png"))
                page.goto(f"{base}/admin/posts/new")
                page.get_by_label("Title").fill("What I learned this week")
                page.get_by_label("Text (Markdown)").fill(
                    "Three things stood out.\n\n## Borrowing\n\nA reference *lends* a value.\n"
                )
                page.get_by_role("region", name="Preview").get_by_role("heading", name="Borrowing").wait_for()
                page.screenshot(path=str(OUTPUT / "editor.png"))
                page = browser.new_page(viewport={"width": 720, "height": 760})
                page.goto((folder / "digest.html").as_uri())
                page.screenshot(path=str(OUTPUT / "digest-email.png"))
                browser.close()
        finally:
            server.shutdown()
    print(f"Wrote home.png, post.png, console.png, editor.png and digest-email.png in {OUTPUT}")


if __name__ == "__main__":
    main()
