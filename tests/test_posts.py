"""The first reader pages: the list, a post, drafts, redirects, health."""

import time
from datetime import UTC, datetime, timedelta

import pytest


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
    body = page[page.index("<body") :]
    assert body.count("A Year of Rust") == 1  # the <h1>, not repeated from the Markdown
    assert "<title>A Year of Rust · Weeknote</title>" in page
    assert page.count("<h1") == 1
    assert '<span style="color:#e11d48">red note</span>' in page
    assert "1 min read" in page
    assert (
        '<a class="tag" href="/tags/rust/">rust</a><a class="tag" href="/tags/systems/">systems</a>' in page
    )


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


def test_home_runs_a_fixed_number_of_queries(client, imported, count_statements):
    # site state, settings, count, posts, their tags; a cached second request needs the state only
    assert len(count_statements(lambda: client.get("/"))) <= 5
    assert len(count_statements(lambda: client.get("/"))) == 1


@pytest.fixture
def series(write_post, import_posts):
    """Five posts in order; tags chosen so relatedness is unambiguous."""
    posts = [
        ("2024-01-01-one.md", "One", "[rust, cli]"),
        ("2024-01-02-two.md", "Two", "[python]"),
        ("2024-01-03-three.md", "Three", "[rust, cli, tools]"),
        ("2024-01-04-four.md", "Four", "[rust]"),
        ("2024-01-05-five.md", "Five", "[]"),
    ]
    for name, title, tags in posts:
        write_post(name, f"---\ntitle: {title}\ntags: {tags}\n---\n\nPost {title}.")
    import_posts()


def nav(page: str) -> str:
    return page[
        page.index('<nav class="post-nav"') : page.index("</nav>", page.index('<nav class="post-nav"'))
    ]


def test_post_links_to_newer_and_older_posts(client, series):
    middle = nav(client.get("/posts/three/").text)
    assert 'href="/posts/four/"><span>Newer</span> Four' in middle
    assert 'href="/posts/two/"><span>Older</span> Two' in middle
    assert "Older" not in nav(client.get("/posts/one/").text)
    assert "Newer" not in nav(client.get("/posts/five/").text)


def test_related_posts_share_the_most_tags(client, series):
    page = client.get("/posts/one/").text
    related = page[page.index('id="related-heading"') :]
    assert related.index(">Three</a>") < related.index(">Four</a>")  # two shared tags before one
    assert ">Two</a>" not in related and ">Five</a>" not in related
    assert 'id="related-heading"' not in client.get("/posts/five/").text  # no tags, no section


def test_related_posts_leave_out_the_older_and_newer_links(client, series):
    page = client.get("/posts/three/").text  # Older: Two; Newer: Four, which shares "rust"
    related = page[page.index('id="related-heading"') :]
    assert ">One</a>" in related
    assert ">Four</a>" not in related and ">Two</a>" not in related


def test_post_page_runs_a_fixed_number_of_queries(client, series, count_statements):
    # site state, settings, post, its tags, older, newer, related
    assert len(count_statements(lambda: client.get("/posts/three/"))) <= 7


def test_a_scheduled_post_appears_when_its_time_comes(client, write_post, import_posts):
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    write_post("soon.md", f"---\ntitle: Right On Time\ndate: {soon}\n---\n\nHello.")
    write_post("2024-01-01-old.md", "---\ntitle: Old\n---\n\nOld.")
    import_posts()
    assert "Right On Time" not in client.get("/").text  # and the page is now cached
    assert client.get("/posts/soon/").status_code == 404
    time.sleep(1.6)
    assert "Right On Time" in client.get("/").text
    assert client.get("/posts/soon/").status_code == 200


def test_server_errors_show_a_friendly_page(app_factory):
    # Built by app_factory, which disposes of its engine: the error page reads the site's
    # settings, and an engine dropped with a connection open is a ResourceWarning later.
    broken = app_factory(PROPAGATE_EXCEPTIONS=False)
    broken.add_url_rule("/boom", "boom", lambda: 1 / 0)
    response = broken.test_client().get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert 'href="/subscribe"' in response.text


def test_every_page_invites_readers_to_subscribe(client, series):
    for path in ["/", "/posts/one/", "/tags/", "/tags/rust/", "/archive/", "/search?q=one", "/nothing/"]:
        assert 'href="/subscribe"' in client.get(path).text, path
