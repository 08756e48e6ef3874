"""Static assets: fingerprinted names cached for a year, Pygments styles for light and dark."""

import re


def stylesheet_urls(client) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)">', client.get("/").text)


def test_pages_link_fingerprinted_assets_cached_for_a_year(client):
    urls = stylesheet_urls(client)
    assert [re.sub(r"\.[0-9a-f]{12}\.", ".HASH.", url) for url in urls] == [
        "/static/css/site.HASH.css",
        "/static/css/pygments.HASH.css",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "text/css"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_stale_or_plain_names_must_revalidate(client):
    stale = client.get("/static/css/site.000000000000.css")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert client.get("/static/css/site.css").headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert client.get("/static/nothing.css").status_code == 404
    assert client.get("/static/../blog/config.py").status_code == 404


def test_fingerprint_follows_the_content(client):
    url = stylesheet_urls(client)[0]
    body = client.get(url).data
    import hashlib

    assert hashlib.sha256(body).hexdigest()[:12] in url


def test_code_is_coloured_in_light_and_dark(client):
    css = client.get(stylesheet_urls(client)[1]).text
    light, dark = css.split("@media (prefers-color-scheme: dark)")
    assert ".highlight .k" in light and ".highlight .k" in dark  # keywords styled in both
    site = client.get(stylesheet_urls(client)[0]).text
    assert "@media (prefers-color-scheme: dark)" in site and ":focus-visible" in site
