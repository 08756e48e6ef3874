"""For search engines and link previews: sitemap, robots.txt, canonical links, meta tags, JSON-LD."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

SITE = "https://blog.example"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def site(app, write_post, import_posts):
    app.config.update(SITE_URL=SITE, AUTHOR_NAME="Ada Lovelace")
    write_post(
        "2024-01-01-hello.md",
        "---\ntitle: Hello World\ntags: [intro]\nimage: https://images.example/cover.jpg\n"
        "excerpt: A first post.\nupdated: 2024-02-01\n---\n\nHello.",
    )
    write_post("2024-01-02-draft.md", "---\ntitle: Draft\ndraft: true\n---\n\nNo.")
    import_posts()


def test_sitemap_lists_public_pages_with_dates(client, site):
    response = client.get("/sitemap.xml")
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    locations = [url.findtext(f"{SITEMAP}loc") for url in root]
    assert locations == [
        f"{SITE}/",
        f"{SITE}/archive/",
        f"{SITE}/tags/",
        f"{SITE}/tags/intro/",
        f"{SITE}/posts/hello/",
    ]
    post = root[-1]
    assert post.findtext(f"{SITEMAP}lastmod") == "2024-02-01T00:00:00+00:00"


def test_robots_points_at_the_sitemap(client, site):
    text = client.get("/robots.txt").text
    assert "User-agent: *" in text and f"Sitemap: {SITE}/sitemap.xml" in text
    assert "Disallow: /search" in text


def test_post_pages_describe_themselves(client, site):
    page = client.get("/posts/hello/").text
    assert f'<link rel="canonical" href="{SITE}/posts/hello/">' in page
    assert '<meta name="description" content="A first post.">' in page
    assert '<meta property="og:type" content="article">' in page
    assert '<meta property="og:image" content="https://images.example/cover.jpg">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page).group(1))
    assert data["@type"] == "BlogPosting" and data["headline"] == "Hello World"
    assert data["datePublished"] == "2024-01-01T00:00:00+00:00"
    assert data["dateModified"] == "2024-02-01T00:00:00+00:00"
    assert data["author"] == {"@type": "Person", "name": "Ada Lovelace"}
    assert data["image"] == "https://images.example/cover.jpg" and data["url"] == f"{SITE}/posts/hello/"


@pytest.mark.parametrize("path", ["/", "/posts/hello/", "/tags/", "/tags/intro/", "/archive/", "/search?q=x"])
def test_every_page_has_title_description_canonical_and_feeds(client, site, path):
    page = client.get(path).text
    assert re.search(r"<title>[^<]+</title>", page)
    assert re.search(r'<meta name="description" content="[^"]+">', page)
    assert f'<link rel="canonical" href="{SITE}{path.split("?")[0]}">' in page
    assert f'type="application/rss+xml" title="Weeknote (RSS)" href="{SITE}/feed.xml"' in page
    assert f'type="application/atom+xml" title="Weeknote (Atom)" href="{SITE}/atom.xml"' in page
    assert f'type="application/feed+json" title="Weeknote (JSON Feed)" href="{SITE}/feed.json"' in page
    assert '<meta property="og:title"' in page and '<meta name="twitter:card"' in page


def test_search_pages_are_not_indexed(client, site):
    assert '<meta name="robots" content="noindex">' in client.get("/search?q=hello").text
    assert '<meta name="robots" content="noindex">' not in client.get("/").text
