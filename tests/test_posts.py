"""The first reader pages: the list, a post, drafts, redirects, health."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from blog.extensions import db


@pytest.fixture
def imported(runner, shapes, write_post):
    write_post("draft.md", "---\ntitle: Secret Draft\ndate: 2024-03-01\ndraft: true\n---\n\nHidden.")
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    write_post("future.md", f"---\ntitle: Future Post\ndate: {later}\n---\n\nLater.")
    write_post(
        "moved.md",
        "---\ntitle: Moved\ndate: 2020-01-01\naliases: [/2020/01/old-moved/]\n"
        "redirect_from: /blog/moved.html\npermalink: /legacy/moved-post/\n---\n\nMoved.",
    )
    result = runner.invoke(args=["import", str(shapes), str(shapes.parent / "posts")])
    assert result.exit_code == 0, result.output


def test_home_lists_published_posts_newest_first(client, imported):
    page = client.get("/").text
    titles = ["A Year of Rust", "Why I Started Learning Rust", "My Week in Rust, 3/14/2023"]
    positions = [page.index(title) for title in titles]
    assert positions == sorted(positions)
    assert "Secret Draft" not in page and "Future Post" not in page
    assert "Looking back on twelve months of borrow checker fights." in page
    assert '<time datetime="2024-02-10T00:00:00+00:00">10 February 2024</time>' in page
    assert "@journal" in page


def test_post_page_shows_the_title_once(client, imported):
    page = client.get("/posts/nextjs-raw-html/").text
    assert page.count("A Year of Rust") == 2  # <title> and the <h1>
    assert page.count("<h1") == 1
    assert '<span style="color:#e11d48">red note</span>' in page
    assert "1 min read" in page
    assert 'rust</span>, <span class="tag">systems' in page


def test_drafts_and_scheduled_posts_are_not_found(client, imported):
    assert client.get("/posts/draft/").status_code == 404
    assert client.get("/posts/future/").status_code == 404
    assert client.get("/posts/nothing-here/").status_code == 404
    assert "Page not found" in client.get("/posts/nothing-here/").text


@pytest.mark.parametrize(
    "old", ["/2020/01/old-moved/", "/2020/01/old-moved", "/blog/moved.html", "/legacy/moved-post/"]
)
def test_old_paths_answer_301(client, imported, old):
    response = client.get(old)
    assert response.status_code == 301
    assert response.headers["Location"] == "/posts/moved-post/"  # permalink names the slug


def test_home_pages_through_posts(app, client, imported):
    app.config["POSTS_PER_PAGE"] = 2
    assert 'href="/page/2/"' in client.get("/").text
    assert "Older posts" in client.get("/page/2/").text
    assert client.get("/page/99/").status_code == 404


def test_home_runs_a_fixed_number_of_queries(app, client, imported):
    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) <= 4, statements


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}
