"""RSS, Atom, JSON Feed and per-tag feeds: valid, complete, absolute, with GUIDs that never change."""

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from sqlalchemy import select

from blog.content.sanitize import absolutize_urls
from blog.extensions import db
from blog.models import Post

SITE = "https://blog.example"


@pytest.fixture
def site(app, write_post, import_posts):
    app.config.update(SITE_URL=SITE, SITE_TITLE="Ada's Notes", AUTHOR_NAME="Ada Lovelace")
    write_post("cover.png", b"\x89PNG\r\n\x1a\nimage")
    write_post(
        "2024-03-01-links.md",
        "---\ntitle: Links & Images\ntags: ['@journal', rust]\nimage: cover.png\n"
        "excerpt: Relative links made absolute.\n---\n\n"
        "See [the archive](/archive/), [a sibling](../other/), [a note](#note) and "
        "[Rust](https://www.rust-lang.org).\n\n![A rusty crab](/media/crab.png)\n\n<p id=note>Note.</p>",
    )
    write_post("2024-02-01-second.md", "---\ntitle: Second\ntags: [rust]\n---\n\nAbout ownership.")
    write_post("2024-01-01-first.md", "---\ntitle: First\n---\n\nHello.")
    write_post("2024-01-02-draft.md", "---\ntitle: Hidden Draft\ndraft: true\n---\n\nNo.")
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    write_post("later.md", f"---\ntitle: Not Yet\ndate: {later}\n---\n\nSoon.")
    import_posts()


def guids(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(Post.title, Post.guid)).all())


@pytest.mark.parametrize("path", ["/feed.xml", "/atom.xml"])
def test_feeds_parse_cleanly_with_every_item(app, client, site, path):
    response = client.get(path)
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert [entry.title for entry in feed.entries] == ["Links & Images", "Second", "First"]
    assert feed.feed.title == "Ada's Notes"
    assert feed.feed.link == f"{SITE}/"
    assert any(link.rel == "self" and link.href == f"{SITE}{path}" for link in feed.feed.links)
    first = feed.entries[0]
    assert first.id == guids(app)["Links & Images"]
    assert first.id.startswith("urn:uuid:")
    assert first.link == f"{SITE}/posts/links/"
    # RSS categories carry the display name; Atom the slug as term, the name as label
    assert [tag.term for tag in first.tags] == (
        ["@journal", "rust"] if path == "/feed.xml" else ["journal", "rust"]
    )
    assert (
        first.summary == "Relative links made absolute." or "Relative links made absolute." in first.summary
    )
    assert first.author == "Ada Lovelace"
    content = first.content[0].value
    assert f'href="{SITE}/archive/"' in content
    assert f'href="{SITE}/posts/other/"' in content
    assert f'href="{SITE}/posts/links/#note"' in content
    assert 'href="https://www.rust-lang.org"' in content
    assert f'src="{SITE}/media/crab.png"' in content and 'alt="A rusty crab"' in content
    assert first.published_parsed[:3] == (2024, 3, 1)


def test_rss_guids_are_not_permalinks(client, site):
    assert b'<guid isPermaLink="false">urn:uuid:' in client.get("/feed.xml").data


def test_tag_feed_has_only_that_tag(client, site):
    feed = feedparser.parse(client.get("/tags/rust/feed.xml").data)
    assert not feed.bozo
    assert [entry.title for entry in feed.entries] == ["Links & Images", "Second"]
    assert feed.feed.link == f"{SITE}/tags/rust/"
    assert client.get("/tags/nothing/feed.xml").status_code == 404


def test_json_feed_has_the_required_fields(app, client, site):
    response = client.get("/feed.json")
    assert response.mimetype == "application/feed+json"
    feed = response.json
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"] == "Ada's Notes"
    assert feed["home_page_url"] == f"{SITE}/" and feed["feed_url"] == f"{SITE}/feed.json"
    assert feed["authors"] == [{"name": "Ada Lovelace"}]
    assert [item["title"] for item in feed["items"]] == ["Links & Images", "Second", "First"]
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert "content_html" in item or "content_text" in item
        assert item["url"].startswith(f"{SITE}/posts/")
        datetime.fromisoformat(item["date_published"])  # RFC 3339
    first = feed["items"][0]
    assert first["id"] == guids(app)["Links & Images"]
    assert first["tags"] == ["@journal", "rust"]
    assert first["image"].startswith(f"{SITE}/media/") and first["image"].endswith("-cover.png")
    assert f'href="{SITE}/archive/"' in first["content_html"]


def test_guids_survive_edits_and_slug_changes(app, client, site, write_post, import_posts):
    before = guids(app)
    write_post(
        "2024-02-01-second.md",
        "---\ntitle: Second, Revised\nslug: second-revised\ntags: [rust]\n---\n\nAbout borrowing.",
    )
    import_posts()
    after = guids(app)
    assert after["Second, Revised"] == before["Second"]
    entry = feedparser.parse(client.get("/feed.xml").data).entries[1]
    assert (entry.title, entry.id, entry.link) == (
        "Second, Revised",
        before["Second"],
        f"{SITE}/posts/second-revised/",
    )


def test_feed_items_are_capped(app, client, site):
    app.config["FEED_ITEMS"] = 2
    assert len(feedparser.parse(client.get("/atom.xml").data).entries) == 2
    assert len(client.get("/feed.json").json["items"]) == 2


@pytest.mark.parametrize("path", ["/feed.xml", "/atom.xml", "/feed.json", "/tags/rust/feed.xml"])
def test_a_second_request_with_the_etag_gets_304(client, site, path):
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=1800"
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    since = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304


def test_feeds_change_when_a_post_changes(client, site, write_post, import_posts):
    etag = client.get("/feed.xml").headers["ETag"]
    write_post("2024-01-01-first.md", "---\ntitle: First, Edited\n---\n\nHello again.")
    import_posts()
    response = client.get("/feed.xml", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert b"First, Edited" in response.data


def test_feeds_run_a_fixed_number_of_queries(client, site, write_post, import_posts, count_statements):
    few = len(count_statements(lambda: client.get("/feed.json")))
    for day in range(1, 16):
        write_post(
            f"2023-05-{day:02d}-more.md", f"---\ntitle: More {day}\ntags: [t{day}, rust]\n---\n\nText."
        )
    import_posts()
    many = len(count_statements(lambda: client.get("/feed.json")))
    assert few == many <= 4  # site state, the settings, posts, their tags


def test_absolutize_urls_resolves_against_the_post():
    html = '<a href="img/a.png">a</a><img src="b.png" alt="B"><a href="mailto:x@example.com">m</a>'
    out = absolutize_urls(html, "https://ex.com/posts/p/")
    assert 'href="https://ex.com/posts/p/img/a.png"' in out
    assert 'src="https://ex.com/posts/p/b.png" alt="B"' in out
    assert 'href="mailto:x@example.com"' in out
    assert "onerror" not in absolutize_urls('<img src="x" onerror="alert(1)">', "https://ex.com/")


def test_absolutize_urls_resolves_every_srcset_entry():
    # Feed readers and mail clients resolve no relative address; an imported image keeps its srcset.
    html = '<img src="/media/a-small.png" srcset="/media/a-small.png 1x, /media/a.png 2x" alt="A">'
    out = absolutize_urls(html, "https://ex.com/posts/p/")
    assert 'srcset="https://ex.com/media/a-small.png 1x, https://ex.com/media/a.png 2x"' in out
    wide = absolutize_urls(
        '<img src="x.png" srcset="x.png 480w,y.png 960w" alt="">', "https://ex.com/posts/p/"
    )
    assert 'srcset="https://ex.com/posts/p/x.png 480w, https://ex.com/posts/p/y.png 960w"' in wide
