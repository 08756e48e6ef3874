"""Composition is pure: the same posts and period always give the same subject and bodies."""

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

from blog.newsletter.compose import (
    UNSUBSCRIBE_URL,
    DigestPost,
    Note,
    SiteInfo,
    compose_digest,
    digest_period,
    format_period,
    personalise,
)

BERLIN = ZoneInfo("Europe/Berlin")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SITE = SiteInfo(
    title="Weeknote",
    url="https://blog.example.com",
    description="Notes",
    postal_address="1 Example Street, 10115 Berlin",
    zone=BERLIN,
)


@pytest.fixture
def env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def post(title: str, day: int, tags=("rust",)) -> DigestPost:
    return DigestPost(
        title=title,
        url=f"https://blog.example.com/posts/{title.lower().replace(' ', '-')}/",
        published_at=datetime(2024, 1, day, 9, tzinfo=UTC),
        tags=tuple(tags),
        excerpt=f"About {title} & more <b>bold</b>.",
        date=f"{day} January 2024",
    )


def test_period_is_seven_local_days_even_across_dst():
    scheduled = datetime(2026, 3, 30, 6, tzinfo=UTC)  # Monday 08:00 CEST, after the change
    start, end = digest_period(scheduled, BERLIN)
    assert end == scheduled
    assert start == datetime(2026, 3, 23, 7, tzinfo=UTC)  # Monday 08:00 CET, before it


def test_period_starts_at_a_later_previous_digest():
    scheduled = datetime(2024, 1, 22, 7, tzinfo=UTC)
    previous = datetime(2024, 1, 19, 12, tzinfo=UTC)
    assert digest_period(scheduled, BERLIN, previous) == (previous, scheduled)
    assert digest_period(scheduled, BERLIN, datetime(2024, 1, 1, tzinfo=UTC))[0] == datetime(
        2024, 1, 15, 7, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (datetime(2024, 1, 15, 7, tzinfo=UTC), datetime(2024, 1, 21, 7, tzinfo=UTC), "Jan 15–21"),
        (datetime(2024, 1, 29, 7, tzinfo=UTC), datetime(2024, 2, 4, 7, tzinfo=UTC), "Jan 29 – Feb 4"),
        (datetime(2025, 12, 28, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC), "Dec 28, 2025 – Jan 3, 2026"),
    ],
)
def test_format_period(start, end, label):
    assert format_period(start, end, BERLIN) == label


def test_compose_digest(env):
    posts = [post("Third", 20), post("Second", 18, tags=()), post("First", 16)]
    start, end = datetime(2024, 1, 15, 7, tzinfo=UTC), datetime(2024, 1, 21, 7, tzinfo=UTC)
    digest = compose_digest(env, SITE, posts, start, end, "https://blog.example.com/digests/7/")
    assert digest.subject == "Weeknote — 3 new posts (Jan 15–21)"
    html, text = digest.html, digest.text
    assert html.index("Third") < html.index("Second") < html.index("First")
    assert 'href="https://blog.example.com/posts/third/"' in html
    assert "About Third &amp; more &lt;b&gt;bold&lt;/b&gt;." in html  # excerpts are text, escaped
    assert 'style="' in html  # CSS inlined for mail clients; only the media queries stay in <style>
    assert re.findall(r"<style>(.*?)</style>", html, re.S) and all(
        block.strip().startswith("@media") for block in re.findall(r"<style>(.*?)</style>", html, re.S)
    )
    assert "https://blog.example.com/digests/7/" in html and "https://blog.example.com/digests/7/" in text
    assert "1 Example Street, 10115 Berlin" in html and "1 Example Street, 10115 Berlin" in text
    assert html.count(UNSUBSCRIBE_URL) == 1 and text.count(UNSUBSCRIBE_URL) == 1
    assert "20 January 2024 · rust" in text and "20 January 2024 · rust" in html  # as the site writes dates
    assert "\nhttps://blog.example.com/posts/first/\n" in text
    # One linked title per post: no second "Read …" link repeating it.
    assert html.count('href="https://blog.example.com/posts/first/"') == 1
    assert "Read “" not in html and "Read it" not in text
    assert compose_digest(env, SITE, posts, start, end, "https://blog.example.com/digests/7/") == digest


def test_one_post_subject_is_singular(env):
    start, end = datetime(2024, 1, 15, 7, tzinfo=UTC), datetime(2024, 1, 21, 7, tzinfo=UTC)
    digest = compose_digest(env, SITE, [post("Only", 16)], start, end, "https://x/digests/1/")
    assert digest.subject == "Weeknote — 1 new post (Jan 15–21)"


def test_personalise_replaces_only_the_link():
    body = f"Hi <a href='{UNSUBSCRIBE_URL}'>Unsubscribe</a>"
    assert (
        personalise(body, "https://b/unsubscribe/tok/")
        == "Hi <a href='https://b/unsubscribe/tok/'>Unsubscribe</a>"
    )


def test_the_authors_voice_covers_and_a_preheader(env):
    """The note sits above the posts, the header names the site and its author, covers have a
    width and alt text, and the preheader is the note's start."""
    site = SiteInfo(
        **{**SITE.__dict__, "author": "Ada Example", "logo_url": "https://blog.example.com/logo.png"}
    )
    covered = DigestPost(
        **{**post("Covered", 18).__dict__, "cover_url": "https://blog.example.com/media/c.png"}
    )
    note = Note(html="<p>Hello from <em>Berlin</em>.</p>", text="Hello from *Berlin*.")
    start, end = datetime(2024, 1, 15, 7, tzinfo=UTC), datetime(2024, 1, 21, 7, tzinfo=UTC)
    digest = compose_digest(env, site, [covered, post("Plain", 16)], start, end, "https://x/d/1/", note)
    html, text = digest.html, digest.text
    assert html.index("Hello from <em>Berlin</em>") < html.index("Covered") < html.index("Plain")
    assert "by Ada Example" in html and "Ada Example" in text and "Hello from *Berlin*." in text
    images = {re.search(r'src="([^"]*)"', tag)[1]: tag for tag in re.findall(r"<img [^>]*>", html)}
    assert 'width="552"' in images["https://blog.example.com/media/c.png"]
    assert 'alt="Covered"' in images["https://blog.example.com/media/c.png"]
    assert 'alt="Weeknote"' in images["https://blog.example.com/logo.png"]
    assert all("alt=" in tag and "width=" in tag for tag in re.findall(r"<img [^>]*>", html))
    assert re.search(r'class="preheader"[^>]*>Hello from \*Berlin\*\.', html)
    assert "<table" in html and "display: flex" not in html and "grid" not in html


def test_full_text_carries_the_post_and_its_text(env):
    full = DigestPost(**{**post("Whole", 18).__dict__, "html": "<p>Every word.</p>", "text": "Every word."})
    start, end = datetime(2024, 1, 15, 7, tzinfo=UTC), datetime(2024, 1, 21, 7, tzinfo=UTC)
    digest = compose_digest(env, SITE, [full], start, end, "https://x/d/1/")
    assert "Every word." in digest.html and "About Whole" not in digest.html
    assert "Every word." in digest.text
