"""Tag pages: the list of tags with counts, and each tag's posts, paginated."""

import pytest


@pytest.fixture
def tagged(write_post, import_posts):
    for day in range(1, 8):
        tags = "['@journal', rust]" if day % 2 else "[rust]"
        write_post(f"2024-01-{day:02d}-day.md", f"---\ntitle: Day {day}\ntags: {tags}\n---\n\nDay {day}.")
    write_post("2024-02-01-draft.md", "---\ntitle: Draft\ntags: [secret]\ndraft: true\n---\n\nHidden.")
    import_posts()


def test_tags_page_lists_every_visible_tag_with_its_count(client, tagged):
    page = client.get("/tags/").text
    assert '<a href="/tags/journal/">@journal</a> <span class="count">4 posts</span>' in page
    assert '<a href="/tags/rust/">rust</a> <span class="count">7 posts</span>' in page
    assert "secret" not in page  # only on a draft


def test_tag_page_lists_its_posts_newest_first(client, tagged):
    page = client.get("/tags/journal/").text
    assert '<h1>Posts tagged <span class="tag-name">@journal</span></h1>' in page
    titles = [f"Day {day}" for day in (7, 5, 3, 1)]
    assert [page.index(t) for t in titles] == sorted(page.index(t) for t in titles)
    assert "Day 2" not in page
    assert 'type="application/rss+xml" title="Weeknote: @journal (RSS)"' in page


def test_tag_pages_paginate(app, client, tagged):
    app.config["POSTS_PER_PAGE"] = 3
    first = client.get("/tags/rust/").text
    assert "Page 1 of 3" in first and 'href="/tags/rust/page/2/"' in first
    last = client.get("/tags/rust/page/3/").text
    assert "Day 1" in last and "Day 2" not in last
    assert client.get("/tags/rust/page/4/").status_code == 404


def test_unknown_tags_are_not_found_and_names_redirect_to_slugs(client, tagged):
    assert client.get("/tags/nothing/").status_code == 404
    assert client.get("/tags/secret/").status_code == 404  # only drafts carry it
    response = client.get("/tags/@journal/")
    assert response.status_code == 301 and response.headers["Location"] == "/tags/journal/"


def test_tag_pages_run_a_fixed_number_of_queries(client, tagged, count_statements):
    # site state, settings, tag, count, posts, their tags
    assert len(count_statements(lambda: client.get("/tags/rust/"))) <= 6
    assert len(count_statements(lambda: client.get("/tags/"))) <= 3
