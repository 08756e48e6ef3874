"""The web copies of sent digests, and their feed."""

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from helpers import add_post

from blog.extensions import db
from blog.models import Digest, Post

NOW = datetime.now(UTC)


@pytest.fixture
def digests(app):
    with app.app_context():
        add_post("First Week Post", NOW - timedelta(days=9))
        add_post("Second Week Post", NOW - timedelta(days=2))
        add_post("Later Hidden", NOW - timedelta(days=1))
        ids = {post.title: post.id for post in db.session.query(Post)}
        common = {"period_start": NOW - timedelta(days=14), "html": "<p>x</p>", "text": "x"}
        week_ago = NOW - timedelta(days=7)
        db.session.add_all(
            [
                Digest(id=1, status="sent", subject="Weeknote — 1 new post (Week one)", sent_at=week_ago,
                       period_end=week_ago, scheduled_for=week_ago, post_ids=[ids["First Week Post"]],
                       **common),
                Digest(id=2, status="sent", subject="Weeknote — 2 new posts (Week two)", scheduled_for=NOW,
                       period_end=NOW, sent_at=NOW, post_ids=[ids["Second Week Post"], ids["Later Hidden"]],
                       **common),
                Digest(id=3, status="held", subject="Not sent yet", scheduled_for=NOW + timedelta(seconds=1),
                       period_end=NOW, post_ids=[], **common),
            ]
        )  # fmt: skip
        db.session.get(Post, ids["Later Hidden"]).draft = True  # unpublished after it went out
        db.session.commit()


def test_list_shows_sent_digests_newest_first(client, digests):
    page = client.get("/digests/").text
    assert page.index("Week two") < page.index("Week one")
    assert "Not sent yet" not in page
    assert 'href="http://127.0.0.1:5000/digests/feed.xml"' in page


def test_web_copy_lists_its_posts(client, digests):
    page = client.get("/digests/2/").text
    assert "Second Week Post" in page and 'href="/posts/second-week-post/"' in page
    assert "Later Hidden" not in page
    assert client.get("/digests/3/").status_code == 404
    assert client.get("/digests/99/").status_code == 404


def test_feed_parses_with_stable_guids(client, digests):
    response = client.get("/digests/feed.xml")
    assert response.content_type == "application/rss+xml; charset=utf-8"
    feed = feedparser.parse(response.data)
    assert not feed.bozo
    assert [entry.title for entry in feed.entries] == [
        "Weeknote — 2 new posts (Week two)",
        "Weeknote — 1 new post (Week one)",
    ]
    assert feed.entries[0].id == "http://127.0.0.1:5000/digests/2/"
    assert feed.entries[0].link == "http://127.0.0.1:5000/digests/2/"
    assert 'href="http://127.0.0.1:5000/posts/second-week-post/"' in feed.entries[0].content[0].value
