"""The whole pipeline on real files shaped like the posts authors bring."""

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from blog.content import ContentError, parse_file, parse_text

SHAPES = Path(__file__).parent / "content" / "shapes"
UTC_ZONE = ZoneInfo("UTC")


def parse(name: str):
    return parse_file(SHAPES / name, UTC_ZONE)


def test_gatsby_shape():
    post = parse("gatsby-reference-links.md")
    assert post.title == "Learning Rust in Public"
    assert post.slug == "learning-rust-in-public" and post.slug_explicit
    assert post.published_at == datetime(2023, 3, 4, tzinfo=UTC)
    assert post.tags == ["@journal", "rust"]
    assert post.excerpt == "Why I’m writing down every compiler error I meet this year."
    assert '<a href="https://example.com/@rust"' in post.html
    assert '<a href="https://www.python.org"' in post.html
    assert post.cover_image is None
    assert post.extra == {
        "journal_name": "@journal",
        "featuredImage": "../images/rusty-desk.jpeg",
        "featuredImagePath": "/rusty-desk.jpeg",
    }
    assert "cover image not kept" in post.warnings[0]


def test_jekyll_kramdown_shape():
    post = parse("jekyll-kramdown.md")
    assert post.title == "My Week in Rust, 3/14/2023"
    assert post.published_at == datetime(2023, 3, 14, tzinfo=UTC)
    assert post.inferred["published_at"] == "title"
    links = re.findall(r"<a [^>]*>", post.html)
    assert len(links) == 5
    assert all('target="_blank"' in link and 'rel="noopener noreferrer"' in link for link in links)
    assert "{:" not in post.html
    assert "<li><strong>Ownership</strong>" in post.html  # the list after raw <h3> still renders
    assert post.extra == {"layout": "post", "tweetText": "My Week in Rust, 3/14/2023 - ownership again."}


def test_nextjs_raw_html_shape():
    post = parse("nextjs-raw-html.md")
    assert post.tags == ["rust", "systems", "learning"]
    assert post.draft is False
    assert '<span style="color:#e11d48">red note</span>' in post.html
    assert (
        '<div class="highlight"><pre tabindex="0">' in post.html and '<span class="k">def</span>' in post.html
    )
    assert '<img alt="A crab on a beach" src="https://images.example.com/crab.jpg">' in post.html
    assert post.html.count("A Year of Rust") == 0  # the H1 repeating the title is not shown twice
    assert post.extra == {"relatedBooks": ["the-rust-book", "rust-for-rustaceans"]}


def test_plain_file_with_h1_title():
    post = parse("plain-h1.txt")
    assert post.title == "Rust Self Teaching Plan"
    assert post.inferred["title"] == "first H1"
    assert post.inferred["published_at"] == "file modified time"
    assert "<h1" not in post.html and "Rust Self Teaching Plan" not in post.html
    assert '<h2 id="goal">Goal</h2>' in post.html
    assert post.excerpt == "Write a small command-line tool in Rust that I would use every day."
    assert post.body.startswith("# Rust Self Teaching Plan")  # the source is kept as written


def test_description_shape():
    post = parse("description-only.md")
    assert post.excerpt == "The reasons behind a new language at thirty-five"
    assert post.inferred["excerpt"] == "description"
    assert "<h1" not in post.html
    assert '<span class="n">println!</span>' in post.html or "println" in post.html
    assert post.reading_minutes == 1


def text(body: str, name: str = "post.md"):
    return parse_text(body, Path(name), UTC_ZONE, mtime=datetime(2024, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src="x.png" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
        '<iframe src="https://evil.example/"></iframe>',
        '<p onclick="alert(1)" style="position:fixed;color:red">x</p>',
        '<svg onload="alert(1)"></svg>',
        '<object data="evil.swf"></object>',
    ],
)
def test_hostile_markup_never_survives(hostile):
    html = text(f"---\ntitle: T\ndate: 2024-01-01\n---\n\nSafe text.\n\n{hostile}\n").html
    lowered = html.lower()
    forbidden = ("<script", "onerror", "onclick", "onload", "javascript:", "<iframe", "<object", "position")
    assert [needle for needle in forbidden if needle in lowered] == []
    assert "Safe text." in html


def test_markdown_extensions():
    body = (
        "Title: T\nDate: 2024-01-01\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "Note[^1].\n\n[^1]: A footnote.\n\n"
        "Term\n: Definition\n\n"
        '*[HTML]: Hyper Text\n\nHTML is "quoted".\n\n'
        "## Heading {: #custom }\n"
    )
    html = text(body).html
    assert "<table>" in html and "<td>1</td>" in html
    assert 'class="footnote-ref"' in html and 'id="fn:1"' in html
    assert "<dt>Term</dt>" in html
    assert '<abbr title="Hyper Text">HTML</abbr>' in html
    assert "“quoted”" in html
    assert '<h2 id="custom">Heading</h2>' in html


def test_more_marker_gives_the_excerpt():
    post = text("---\ntitle: T\ndate: 2024-01-01\n---\n\nFirst *part*.\n\nSecond.\n\n<!--more-->\n\nRest.")
    assert post.excerpt == "First part. Second."
    assert post.inferred["excerpt"] == "<!--more-->"
    assert "more" not in post.html


def test_first_paragraph_skips_images_and_is_shortened():
    long = " ".join(["word"] * 200)
    post = text(f"---\ntitle: T\ndate: 2024-01-01\n---\n\n![only an image](/a.png)\n\n{long}")
    assert post.excerpt.startswith("word word") and post.excerpt.endswith("…")
    assert len(post.excerpt) <= 300


def test_front_matter_only_is_an_error():
    with pytest.raises(ContentError, match="no text"):
        text("---\ntitle: T\ndate: 2024-01-01\n---\n")


def test_remaining_h1s_are_shifted_under_the_page_title():
    html = text("---\ntitle: T\n---\n\n# Part one\n\n## Detail\n").html
    assert '<h2 id="part-one">Part one</h2>' in html and "<h3" in html


def test_reading_time():
    post = text("---\ntitle: T\ndate: 2024-01-01\n---\n\n" + "word " * 1000)
    assert post.reading_minutes == 5
