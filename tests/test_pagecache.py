"""The rendered-page cache and HTTP validators: ETags, Last-Modified, 304s and invalidation."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from flask_migrate import upgrade
from helpers import make_app
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post

PAGES = ["/", "/posts/first/", "/tags/", "/tags/rust/", "/archive/", "/search?q=first", "/sitemap.xml"]


@pytest.fixture
def posts(write_post, import_posts):
    write_post("2024-01-01-first.md", "---\ntitle: First\ntags: [rust]\n---\n\nThe first post.")
    write_post("2024-01-02-second.md", "---\ntitle: Second\ntags: [rust]\n---\n\nThe second post.")
    import_posts()


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_304_to_their_etag_and_date(client, posts, path):
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


@pytest.mark.parametrize("path", [*PAGES, "/feed.xml"])
def test_a_cache_hit_answers_with_the_headers_of_the_miss(client, posts, path):
    """Hits are built from stored headers: the same set, each once, security headers included."""
    miss, hit = client.get(path), client.get(path)
    assert sorted(hit.headers.items()) == sorted(miss.headers.items())
    names = [name.lower() for name, _ in hit.headers.items()]
    assert len(names) == len(set(names))
    assert {"etag", "last-modified", "cache-control", "content-security-policy", "x-frame-options"} <= set(
        names
    )


def test_last_modified_is_the_latest_change(app, client, posts):
    with app.app_context():
        latest = max(post.modified_at for post in db.session.scalars(select(Post)))
    response = client.get("/")
    assert response.last_modified == latest.replace(microsecond=0)


def test_an_edit_changes_every_page_at_once(client, posts, write_post, import_posts):
    etags = {path: client.get(path).headers["ETag"] for path in PAGES}
    write_post("2024-01-01-first.md", "---\ntitle: First, Edited\ntags: [rust]\n---\n\nThe first post.")
    import_posts()
    for path in PAGES:
        response = client.get(path, headers={"If-None-Match": etags[path]})
        # /tags/ and the sitemap show no titles: their bytes, so their ETags, stay and 304 is right
        assert response.status_code == (304 if path in ("/tags/", "/sitemap.xml") else 200), path
    assert "First, Edited" in client.get("/").text
    assert "First, Edited" in client.get("/tags/rust/").text


def test_a_tag_change_alone_refreshes_pages(client, posts, write_post, import_posts):
    assert "/tags/python/" not in client.get("/").text
    write_post("2024-01-01-first.md", "---\ntitle: First\ntags: [rust, python]\n---\n\nThe first post.")
    import_posts()
    assert "/tags/python/" in client.get("/").text


def test_cached_pages_skip_the_database_but_for_one_query(client, posts, count_statements):
    client.get("/posts/first/")
    assert len(count_statements(lambda: client.get("/posts/first/"))) == 1  # the site state


def test_the_cache_can_be_turned_off(app, client, posts, count_statements):
    app.config["PAGE_CACHE"] = False
    client.get("/posts/first/")
    assert len(count_statements(lambda: client.get("/posts/first/"))) > 1


def test_pages_are_cached_in_redis_and_shared_between_processes(
    database_url, tmp_path, redis_url, write_post
):
    """Two app instances (two gunicorn workers, say) share pages through Redis; an import run by
    the command line elsewhere is seen by both at once."""
    url = redis_url.replace("/0", "/5")
    redis.Redis.from_url(url).flushdb()
    first = make_app(tmp_path / "one", database_url, REDIS_URL=url)
    second = make_app(tmp_path / "two", database_url, REDIS_URL=url)
    assert first.config["CACHE_TYPE"] == "RedisCache"
    with first.app_context():
        if db.engine.dialect.name == "sqlite":
            upgrade()
    write_post("2024-01-01-first.md", "---\ntitle: Shared Page\n---\n\nText.")
    assert first.test_cli_runner().invoke(args=["import", str(tmp_path / "posts")]).exit_code == 0

    assert "Shared Page" in first.test_client().get("/").text
    keys = redis.Redis.from_url(url).keys("weeknote:page:*")
    assert len(keys) == 1
    assert "Shared Page" in second.test_client().get("/").text
    assert redis.Redis.from_url(url).keys("weeknote:page:*") == keys  # served from Redis

    write_post("2024-01-01-first.md", "---\ntitle: Shared Page, Edited\n---\n\nText.")
    assert second.test_cli_runner().invoke(args=["import", str(tmp_path / "posts")]).exit_code == 0
    assert "Shared Page, Edited" in first.test_client().get("/").text
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def test_with_a_state_interval_cached_pages_need_no_query(app, client, posts, count_statements):
    app.config["SITE_STATE_SECONDS"] = 60
    client.get("/posts/first/")
    assert count_statements(lambda: client.get("/posts/first/")) == []


def test_a_scheduled_post_ends_the_state_interval_when_it_is_due(app, client, write_post, import_posts):
    app.config["SITE_STATE_SECONDS"] = 3600
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    write_post("soon.md", f"---\ntitle: Due Soon\ndate: {soon}\n---\n\nHello.")
    import_posts()
    assert "Due Soon" not in client.get("/").text
    time.sleep(1.6)
    assert "Due Soon" in client.get("/").text


def test_with_a_state_interval_edits_show_once_it_ends(app, client, posts, write_post, import_posts):
    app.config["SITE_STATE_SECONDS"] = 0.5
    assert "First, Edited" not in client.get("/").text
    write_post("2024-01-01-first.md", "---\ntitle: First, Edited\ntags: [rust]\n---\n\nThe first post.")
    import_posts()
    time.sleep(0.6)
    assert "First, Edited" in client.get("/").text


def test_pages_go_to_the_cache_redis_and_never_to_the_queue_redis(app_factory, redis_url, posts):
    queue_url, cache_url = redis_url.replace("/0", "/5"), redis_url.replace("/0", "/6")
    for url in (queue_url, cache_url):
        redis.Redis.from_url(url).flushdb()
    site = app_factory(REDIS_URL=queue_url, CACHE_REDIS_URL=cache_url)
    assert site.test_client().get("/posts/first/").status_code == 200
    assert redis.Redis.from_url(queue_url).keys("weeknote:page:*") == []
    assert len(redis.Redis.from_url(cache_url).keys("weeknote:page:*")) == 1
