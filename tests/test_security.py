"""Security headers and the Content-Security-Policy on every response."""

import base64
import hashlib

import pytest


@pytest.fixture
def coloured(write_post, import_posts):
    write_post(
        "2024-01-01-colour.md",
        '---\ntitle: Colour\n---\n\nA <span style="color:#e11d48;">red note</span> and '
        '<span style="background-color: yellow">a highlight</span>.',
    )
    import_posts()


def sha256(value: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(value.encode()).digest()).decode() + "'"


def test_pages_forbid_scripts_and_foreign_styles(client, coloured):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy  # so no script runs at all
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    assert "style-src-attr 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # SITE_URL is plain http here


def test_style_attributes_in_posts_are_allowed_by_their_hashes(client, coloured):
    page = client.get("/posts/colour/")
    assert 'style="color:#e11d48"' in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "style-src-attr 'unsafe-hashes' " in policy
    assert sha256("color:#e11d48") in policy and sha256("background-color:yellow") in policy
    cached = client.get("/posts/colour/")
    assert cached.headers["Content-Security-Policy"] == policy


def test_feeds_and_errors_get_headers_too(app, client, coloured):
    app.config["SITE_URL"] = "https://blog.example"
    for path in ["/feed.xml", "/nothing/", "/healthz", "/robots.txt"]:
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000"), path
    assert (
        client.get("/feed.xml").headers["Content-Security-Policy"]
        == "default-src 'none'; frame-ancestors 'none'"
    )
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"


def test_pages_carry_no_inline_scripts_or_styles(client, coloured):
    page = client.get("/posts/colour/").text
    assert "<style" not in page
    scripts = page.split("<script")[1:]
    assert all(script.startswith(' type="application/ld+json">') for script in scripts)  # data, never run
