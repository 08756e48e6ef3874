"""Normalisation follows docs/architecture.md's table: each field's sources in order, the rest in extra."""

import os
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from blog.content import ContentError
from blog.content.metadata import normalise_metadata, parse_tags

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
MTIME = datetime(2020, 5, 17, 12, 0, tzinfo=UTC)


def meta(front=None, body="Text.", path="posts/post.md", zone=UTC_ZONE, mtime=MTIME):
    return normalise_metadata(front or {}, body, Path(path), zone, mtime)


# title


def test_title_from_front_matter():
    result = meta({"title": "Hello"}, body="# Other")
    assert result.title == "Hello" and "title" not in result.inferred


def test_title_from_first_h1_outside_code():
    body = "```\n# not a heading\n```\n\n## Sub\n\n# The Real Title #\n\nText"
    result = meta({}, body=body)
    assert result.title == "The Real Title"
    assert result.inferred["title"] == "first H1"


def test_title_from_file_name_without_date():
    result = meta({}, body="Just text.", path="2021-03-04-my-first-post.md")
    assert result.title == "My first post"
    assert result.inferred["title"] == "file name"


# published_at


def d(*args, zone=UTC):
    return datetime(*args, tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("front", "expected", "source"),
    [
        ({"date": "2023-07-29"}, d(2023, 7, 29), None),
        ({"date": date(2023, 7, 29)}, d(2023, 7, 29), None),
        ({"date": "2015-11-17 16:16:01 -0600"}, d(2015, 11, 17, 22, 16, 1), None),
        ({"date": "2022/03/08"}, d(2022, 3, 8), None),
        ({"date": datetime(2024, 1, 15, 8, 30, tzinfo=UTC)}, d(2024, 1, 15, 8, 30), None),
        ({"publishDate": "2021-02-03"}, d(2021, 2, 3), "publishDate"),
        ({"pubdate": "2021-02-04"}, d(2021, 2, 4), "pubdate"),
        ({"published": "2021-02-05"}, d(2021, 2, 5), "published"),
    ],
)
def test_date_from_front_matter(front, expected, source):
    result = meta(front)
    assert result.published_at == expected
    assert result.inferred.get("published_at") == source


def test_pelican_date_key_is_lowercased_by_the_splitter():
    assert meta({"date": "2010-12-03 10:20"}).published_at == d(2010, 12, 3, 10, 20)


def test_naive_times_are_in_the_site_time_zone():
    result = meta({"date": "2024-07-01 09:00"}, zone=BERLIN)
    assert result.published_at == datetime(2024, 7, 1, 7, 0, tzinfo=UTC)


def test_published_boolean_is_not_a_date():
    result = meta({"published": True}, path="2019-04-05-x.md")
    assert result.published_at == d(2019, 4, 5)
    assert result.draft is False


@pytest.mark.parametrize(
    ("path", "front", "body_title", "expected", "source"),
    [
        ("2022-01-22-my-week.md", {}, None, d(2022, 1, 22), "file name"),
        ("220122-my-week.md", {}, None, d(2022, 1, 22), "file name"),
        ("blog/2021/06/07/my-week.md", {}, None, d(2021, 6, 7), "folder"),
        ("blog/2021-06-08-my-week/index.md", {}, None, d(2021, 6, 8), "folder"),
        ("blog/my-week.md", {"path": "/2020/09/10/my-week/"}, None, d(2020, 9, 10), "path"),
        ("my-week.md", {"title": "My Week in ML, 1/22/2022"}, None, d(2022, 1, 22), "title"),
        ("my-week.md", {"title": "Notes 22/1/2022"}, None, d(2022, 1, 22), "title"),
        ("my-week.md", {}, "# Review of 2022-01-23", d(2022, 1, 23), "title"),
        ("my-week.md", {}, None, MTIME, "file modified time"),
    ],
)
def test_date_fallbacks(path, front, body_title, expected, source):
    result = meta(front, body=body_title or "Text.", path=path)
    assert result.published_at == expected
    assert result.inferred["published_at"] == source


def test_an_unreadable_date_is_an_error_naming_the_field():
    with pytest.raises(ContentError, match="date: 'next tuesday-ish' is not a date"):
        meta({"date": "next tuesday-ish"})


@pytest.mark.parametrize("key", ["lastmod", "modified", "last_modified_at", "updated"])
def test_updated_at(key):
    result = meta({"date": "2020-01-01", key: "2020-02-02"})
    assert result.updated_at == d(2020, 2, 2)
    assert key not in result.extra


# tags


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["@journal", "machine-learning"], ["@journal", "machine-learning"]),
        ("python, flask;  web", ["python", "flask", "web"]),
        ("python flask web", ["python", "flask", "web"]),
        (["Rust", "rust", ""], ["Rust"]),
        ([2023], ["2023"]),
    ],
)
def test_parse_tags(value, expected):
    assert parse_tags(value) == expected


@pytest.mark.parametrize("key", ["keywords", "categories", "category"])
def test_tags_from_other_keys(key):
    result = meta({key: "a, b"})
    assert result.tags == ["a", "b"]
    assert result.inferred["tags"] == key


def test_tags_win_over_categories_which_stay_in_extra():
    result = meta({"tags": ["a"], "categories": ["blog"]})
    assert result.tags == ["a"]
    assert result.extra == {"categories": ["blog"]}


# excerpt and draft


@pytest.mark.parametrize("key", ["excerpt", "description", "summary", "meta"])
def test_excerpt_keys(key):
    result = meta({key: " Short. "})
    assert result.excerpt == "Short."


@pytest.mark.parametrize(
    ("front", "draft"),
    [
        ({"draft": True}, True),
        ({"draft": "false"}, False),
        ({"published": False}, True),
        ({"status": "draft"}, True),
        ({"status": "hidden"}, True),
        ({"status": "published"}, False),
        ({}, False),
    ],
)
def test_draft(front, draft):
    assert meta(front).draft is draft


# slug and redirects


@pytest.mark.parametrize(
    ("front", "path", "slug", "source"),
    [
        ({"slug": "/study-ml-with-me/"}, "x.md", "study-ml-with-me", None),
        ({"permalink": "/2019/01/old-name.html"}, "x.md", "old-name", "permalink"),
        ({"url": "/blog/from-url/"}, "x.md", "from-url", "url"),
        ({}, "2022-01-22-from-file.md", "from-file", "file name"),
        ({}, "posts/2021-06-08-bundle/index.md", "bundle", "folder"),
        ({"title": "Only The Title"}, "___.md", "only-the-title", "title"),
    ],
)
def test_slug(front, path, slug, source):
    result = meta(front, path=path)
    assert result.slug == slug
    assert result.inferred.get("slug") == source


def test_jekyll_permalink_pattern_is_not_a_slug_or_redirect():
    result = meta({"permalink": "/:year/:title/"}, path="nice-name.md")
    assert result.slug == "nice-name"
    assert result.redirects == []
    assert result.extra == {"permalink": "/:year/:title/"}


def test_redirects_from_aliases_redirect_from_and_permalink():
    result = meta(
        {
            "aliases": ["/old/one/", "https://old.example.com/old/two"],
            "redirect_from": "/old/three",
            "permalink": "/2019/01/name/",
        }
    )
    assert sorted(result.redirects) == ["/2019/01/name/", "/old/one/", "/old/three", "/old/two"]


# cover image


def test_cover_absolute_url():
    result = meta({"coverImage": "https://img.example.com/a.png"})
    assert result.cover_image == "https://img.example.com/a.png"
    assert result.inferred["cover_image"] == "coverImage"
    assert "coverImage" not in result.extra


def test_cover_file_beside_the_post(tmp_path):
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8fake")
    result = meta({"header": {"image": "cover.jpg", "overlay": True}}, path=str(tmp_path / "p.md"))
    assert result.cover_file == tmp_path / "cover.jpg"
    assert result.extra == {"header": {"image": "cover.jpg", "overlay": True}}


def test_cover_images_list():
    result = meta({"images": ["https://x.example/1.png", "https://x.example/2.png"]})
    assert result.cover_image == "https://x.example/1.png"


def test_missing_cover_file_stays_in_extra_with_a_warning(tmp_path):
    result = meta({"featuredImage": "../img/gone.jpg"}, path=str(tmp_path / "p.md"))
    assert result.cover_image is None
    assert result.extra == {"featuredImage": "../img/gone.jpg"}
    assert "featuredImage: ../img/gone.jpg" in result.warnings[0]


def test_everything_else_is_kept_in_extra():
    front = {"title": "T", "journal_name": "@journal", "when": date(2020, 1, 2), "n": {"a": [1]}}
    assert meta(front).extra == {"journal_name": "@journal", "when": "2020-01-02", "n": {"a": [1]}}


def test_mtime_is_used_only_when_nothing_else_dates_the_post(tmp_path):
    path = tmp_path / "undated.md"
    path.write_text("Text")
    os.utime(path, (1_600_000_000, 1_600_000_000))
    result = meta({}, path=str(path), mtime=datetime.fromtimestamp(path.stat().st_mtime, UTC))
    assert result.published_at == datetime.fromtimestamp(1_600_000_000, UTC)
