"""Whole sites imported from their root with no options: images load, old addresses answer one 301,
links between posts lead to the posts, and what is not a post stays out."""

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SITES = Path(__file__).parent / "content" / "sites"

# Each site's old default addresses (and aliases), written out by hand from each generator's rules.
OLD_ADDRESSES = {
    "jekyll": {
        "/2015/05/15/Tuning-The-Garden-Pump.html": "tuning-the-garden-pump",
        "/2016/02/03/winter-seeds.html": "winter-seeds",
        "/seeds/winter/": "winter-seeds",
        "/posts/winter-seeds.html": "winter-seeds",  # a route would first add a slash (308)
    },
    "hugo": {
        "/post/first-light/": "first-light",
        "/2021/first-light.html": "first-light",
        "/old/first-light/": "first-light",
        "/post/second-note/": "second-note",
        "/2021/05/moon-phases/": "moon-phases",  # the section's [permalinks] pattern
    },
    "zola": {
        "/2025/06/26/Building-A-Rain-Gauge/": "rain-gauge",
        "/blog/soil-probe/": "soil-probe",
    },
    "pelican": {
        "/blog/first-harvest.html": "first-harvest",
        "/blog/second-harvest.html": "second-harvest",
        "/blog/compost-notes.html": "compost-notes",  # reStructuredText
    },
    "docusaurus": {
        "/blog/2022/01/19/tabs-and-notes": "tabs-and-notes",
        "/blog/greetings": "greetings",
    },
    "hexo": {
        "/news/2015/03/05/pump-install/": "pump-install",
        "/news/2015/04/01/maintenance/": "maintenance",
    },
    "gatsby": {
        "/hello-world/": "hello-world",
        "/my-second-post/": "my-second-post",
    },
    "nextjs": {
        "/posts/dynamic-routing": "dynamic-routing",
        "/posts/hello-world": "hello-world",
    },
}
GENERATORS = {name: name for name in OLD_ADDRESSES}
# Links written between posts in the fixtures: (post, link text) -> the post it must lead to.
LINKS = {
    "jekyll": [
        ("tuning-the-garden-pump", "the same post by its address", "winter-seeds"),
        ("tuning-the-garden-pump", "its full address", "winter-seeds"),
        ("tuning-the-garden-pump", "the winter seeds", "winter-seeds"),
        ("winter-seeds", "the pump", "tuning-the-garden-pump"),
    ],
    "hugo": [
        ("first-light", "second note", "second-note"),
        ("second-note", "first light", "first-light"),
        ("second-note", "on the old site", "first-light"),
    ],
    "zola": [
        ("rain-gauge", "the soil probe", "soil-probe"),
        ("soil-probe", "the rain gauge", "rain-gauge"),
    ],
    "pelican": [
        ("first-harvest", "second harvest", "second-harvest"),
        ("compost-notes", "first harvest", "first-harvest"),
    ],
    "docusaurus": [
        ("tabs-and-notes", "the first post", "greetings"),
        ("tabs-and-notes", "its address", "greetings"),
    ],
    "hexo": [
        ("pump-install", "the maintenance notes", "maintenance"),
        ("maintenance", "installing", "pump-install"),
        ("maintenance", "the install notes", "pump-install"),  # {% post_link %}
    ],
    "gatsby": [
        ("hello-world", "the second post", "my-second-post"),
        ("my-second-post", "the first post", "hello-world"),
    ],
    "nextjs": [
        ("hello-world", "dynamic routing", "dynamic-routing"),
        ("dynamic-routing", "pre-rendering", "hello-world"),
    ],
}


class Page(HTMLParser):
    """The images (src and srcset) and links of a post's article."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: dict[str, str] = {}
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
            for entry in (attrs.get("srcset") or "").split(","):
                if entry.strip():
                    self.images.append(entry.split()[0])
        if tag == "a" and attrs.get("href"):
            self._href, self._text = attrs["href"], ""

    def handle_data(self, data):
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links[" ".join(self._text.split())] = self._href
            self._href = None


def parse_page(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


@pytest.fixture
def site_copy(tmp_path):
    def copy(name: str) -> Path:
        target = tmp_path / "sites" / name
        shutil.copytree(SITES / name, target)
        return target

    return copy


def status(client, url: str) -> int:
    response = client.get(url)
    response.close()  # a media file is streamed
    return response.status_code


def import_site(runner, root: Path) -> dict:
    result = runner.invoke(args=["import", "--json", str(root)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(OLD_ADDRESSES))
def test_a_site_imported_from_its_root_keeps_its_images_addresses_and_links(name, runner, client, site_copy):
    report = import_site(runner, site_copy(name))
    assert [site["generator"] for site in report["sites"]] == [GENERATORS[name]]
    slugs = {entry["slug"] for entry in report["posts"]}
    assert slugs == set(OLD_ADDRESSES[name].values())

    for slug in slugs:
        response = client.get(f"/posts/{slug}/")
        assert response.status_code == 200
        page = parse_page(response.text)
        for src in page.images:
            assert src.startswith("/media/"), (slug, src)
            assert status(client, src) == 200, (slug, src)

    for old, slug in OLD_ADDRESSES[name].items():
        response = client.get(old)
        # One permanent hop: 301, or the 308 that adds the slash when only the slash differs.
        one_hop = (301, 308) if old.rstrip("/") == f"/posts/{slug}" else (301,)
        assert response.status_code in one_hop, (old, response.status_code)
        target = urlsplit(response.headers["Location"]).path
        assert target == f"/posts/{slug}/", old
        assert client.get(target).status_code == 200

    for post, text, target in LINKS[name]:
        links = parse_page(client.get(f"/posts/{post}/").text).links
        assert links[text] == f"/posts/{target}/", (post, text, links)


def test_every_image_of_a_post_is_copied_and_the_source_points_at_it(app, runner, client, site_copy):
    root = site_copy("jekyll")
    post = root / "_posts" / "2016-02-03-winter-seeds.md"
    post.write_text(post.read_text() + "\nA lost photo: ![Gone](/assets/images/not-there.png)\n")
    report = import_site(runner, root)
    seeds = next(entry for entry in report["posts"] if entry["slug"] == "winter-seeds")
    assert set(seeds["files_copied"]) == {
        "../assets/images/seeds.jpg",
        "/assets/images/seeds.jpg",  # the same file, from the srcset
        "/assets/images/seeds-small.jpg",
        "/assets/files/plan.pdf",
    }
    copied = seeds["files_copied"]
    assert copied["../assets/images/seeds.jpg"] == copied["/assets/images/seeds.jpg"]  # stored once
    assert seeds["files_missing"] == ["/assets/images/not-there.png"]
    assert any("not-there.png" in warning for warning in seeds["warnings"])
    assert report["totals"]["files_missing"] == 1
    page = client.get("/posts/winter-seeds/").text
    assert re.search(
        r'srcset="/media/[0-9a-f]{16}-seeds-small\.jpg 1x, /media/[0-9a-f]{16}-seeds\.jpg 2x"', page
    )
    with client.get(seeds["files_copied"]["/assets/files/plan.pdf"]) as response:
        assert response.data.startswith(b"%PDF")
    with app.app_context():
        from blog.extensions import db
        from blog.models import Post

        body = db.session.query(Post.body).filter_by(slug="winter-seeds").scalar()
    assert "](/media/" in body and "../assets/images/seeds.jpg" not in body
    assert "/assets/images/not-there.png" in body  # what cannot be found stays as written


def test_a_root_relative_cover_is_found_where_the_site_serves_it(app, runner, client, site_copy):
    # Next.js's blog starter: coverImage "/assets/blog/hello-world/cover.png", served from public/.
    report = import_site(runner, site_copy("nextjs"))
    post = next(entry for entry in report["posts"] if entry["slug"] == "hello-world")
    assert not any("cover" in warning for warning in post["warnings"]), post["warnings"]
    with app.app_context():
        from blog.extensions import db
        from blog.models import Post

        cover, extra = db.session.query(Post.cover_image, Post.extra).filter_by(slug="hello-world").one()
    assert re.fullmatch(r"/media/[0-9a-f]{16}-cover\.png", cover) and "coverImage" not in extra
    assert status(client, cover) == 200


def test_a_cover_outside_the_site_is_never_copied(app, runner, client, site_copy, tmp_path):
    root = site_copy("gatsby")
    (tmp_path / "secret.png").write_bytes(b"not for readers")
    post = root / "content" / "blog" / "hello-world" / "index.md"
    post.write_text(
        post.read_text().replace('description: "Hello World"', "cover: ../../../../../secret.png")
    )
    report = import_site(runner, root)
    entry = next(entry for entry in report["posts"] if entry["slug"] == "hello-world")
    assert any("secret.png" in warning for warning in entry["warnings"])
    with app.app_context():
        from blog.extensions import db
        from blog.models import Post

        assert db.session.query(Post.cover_image).filter_by(slug="hello-world").scalar() is None
    stored = [path.read_bytes() for path in Path(app.config["MEDIA_FOLDER"]).rglob("*") if path.is_file()]
    assert stored and b"not for readers" not in stored


def test_section_pages_and_attachments_are_not_posts(runner, site_copy):
    report = import_site(runner, site_copy("zola"))
    reasons = {Path(entry["path"]).name: entry["reason"] for entry in report["not_posts"]}
    assert reasons == {
        "_index.md": "a section page (_index), not a post",
        "application.txt": "an attachment (.txt file), not a post",
    }
    assert report["counts"]["imported"] == 2


def test_posts_in_formats_weeknote_cannot_read_are_listed_not_skipped_silently(runner, site_copy):
    root = site_copy("pelican")
    content = root / "content"
    (content / "notes.org").write_text("#+TITLE: Notes\n\nSome *text*.\n")
    (content / "talk.adoc").write_text("= Talk\n\nWords.\n")
    (content / "old.html").write_text("<html><body><h1>Old</h1></body></html>\n")
    result = runner.invoke(args=["import", str(root)])
    assert result.exit_code == 0, result.output
    assert "notes.org: an Org post (.org), not imported" in result.output
    assert "pandoc" in result.output and "talk.adoc: an AsciiDoc post (.adoc)" in result.output
    assert "old.html: an HTML page (.html), not imported" in result.output
    named = runner.invoke(args=["import", str(content / "notes.org")])
    assert named.exit_code == 1 and "an Org post (.org), not imported" in named.output


def test_a_reimport_of_a_site_changes_nothing(runner, site_copy):
    root = site_copy("docusaurus")
    import_site(runner, root)
    report = import_site(runner, root)
    assert report["counts"] == {"imported": 0, "updated": 0, "unchanged": 2, "failed": 0}


def test_the_report_says_what_was_recognised(runner, site_copy):
    result = runner.invoke(args=["import", str(site_copy("hexo"))])
    assert result.exit_code == 0, result.output
    assert "Recognised Hexo at" in result.output
    assert "old addresses: /news/:year/:month/:day/:title/" in result.output
    assert "2 old addresses registered" in result.output


def test_old_url_and_assets_options_state_what_a_folder_cannot(runner, client, tmp_path):
    posts, files = tmp_path / "posts", tmp_path / "public"
    posts.mkdir()
    (files / "pics").mkdir(parents=True)
    shutil.copyfile(SITES / "hugo" / "static" / "img" / "chart.png", files / "pics" / "chart.png")
    (posts / "2019-08-07-Kettle-Notes.md").write_text(
        "---\ntitle: Kettle notes\n---\n\nBoiling, measured.\n\n![Chart](/pics/chart.png)\n"
    )
    result = runner.invoke(
        args=[
            "import",
            "--json",
            "--assets",
            str(files),
            "--old-url",
            "/:year/:month/:day/:title.html",
            str(posts),
        ]
    )
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["posts"][0]
    assert entry["old_addresses"] == ["/2019/08/07/Kettle-Notes.html"]
    assert client.get("/2019/08/07/Kettle-Notes.html").status_code == 301
    src = parse_page(client.get("/posts/kettle-notes/").text).images[0]
    assert status(client, src) == 200


def test_export_writes_the_images_beside_the_posts_and_a_reimport_gives_them_back(
    app, runner, site_copy, tmp_path
):
    from blog.extensions import db
    from blog.models import Post

    import_site(runner, site_copy("hugo"))
    with app.app_context():
        before = {post.slug: post.body for post in db.session.query(Post)}
    exported = tmp_path / "exported"
    assert runner.invoke(args=["export", str(exported)]).exit_code == 0
    text = (exported / "second-note.md").read_text()
    name = re.search(r"!\[Chart\]\(([0-9a-f]{16}-chart\.png)\)", text)[1]
    assert (exported / name).is_file()
    with app.app_context():
        db.session.query(Post).delete()
        db.session.commit()
    report = json.loads(runner.invoke(args=["import", "--json", str(exported)]).stdout)
    assert report["counts"]["imported"] == 3
    with app.app_context():
        after = {post.slug: post.body for post in db.session.query(Post)}
        shown = db.session.query(Post.html).filter_by(slug="second-note").scalar()
    assert after == before
    assert f'src="/media/{name}"' in shown


def outside_code(page: str) -> str:
    """The post's body without its code blocks and code spans."""
    body = page.split('<div class="post-body">', 1)[1].split("</article>", 1)[0]
    return re.sub(r"<pre\b.*?</pre>|<code\b.*?</code>", "", body, flags=re.DOTALL)


@pytest.mark.parametrize("name", sorted(OLD_ADDRESSES))
def test_no_template_syntax_is_left_in_a_page(name, runner, client, site_copy):
    report = import_site(runner, site_copy(name))
    for entry in report["posts"]:
        text = outside_code(client.get(f"/posts/{entry['slug']}/").text)
        for marker in ("{:", "{%", "{{", ":::", "{/*", "$$", "///"):
            assert marker not in text, (entry["slug"], marker)
        assert not re.search(r"^\s*import\s", text, re.MULTILINE), entry["slug"]
        assert not re.search(r"(?m)^<p>\s*\\?\$", text), entry["slug"]  # no TeX left as text


def test_code_in_lists_and_quotes_is_highlighted_and_math_is_mathml(runner, client, site_copy):
    import_site(runner, site_copy("jekyll"))
    page = client.get("/posts/tuning-the-garden-pump/").text
    body = page.split('<div class="post-body">', 1)[1]
    # The fence inside a numbered item: TOML with its comments as code, not <h1>s, and <PLACEHOLDER> kept.
    assert '<span class="c1"># pressure before the change</span>' in body
    assert "&lt;PLACEHOLDER&gt;" in body
    assert "<h1" not in body.split("</article>")[0]
    # The fence inside a block quote.
    assert re.search(r"<blockquote>.*?<div class=\"highlight\">.*?quiet.*?</blockquote>", body, re.DOTALL)
    # Math: inline and display, with no emphasis inserted inside.
    assert body.count('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">') == 3
    assert body.count('display="block"') == 1
    assert "<em>" not in body and "<msub><mi>𝔼</mi>" in body
    # A setext heading moved below the page's title; a wrapped #hashtag stays text; a table of contents.
    assert '<h2 id="results">Results</h2>' in body
    assert "#greenhouse on the forum" in body
    assert '<div class="toc">' in body and "<li>TOC</li>" not in body
    assert '<p class="center"' in body  # the kramdown attribute list after the image


def test_embeds_from_the_allowlist_are_sandboxed_iframes_and_others_become_links(runner, client, site_copy):
    report = import_site(runner, site_copy("jekyll"))
    seeds = next(entry for entry in report["posts"] if entry["slug"] == "winter-seeds")
    assert any("ads.example.com" in warning and "link" in warning for warning in seeds["warnings"])
    page = client.get("/posts/winter-seeds/")
    frames = re.findall(r"<iframe\b[^>]*>", page.text)
    assert len(frames) == 1
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in frames[0]
    assert 'title="Sowing seeds"' in frames[0] and 'loading="lazy"' in frames[0] and "sandbox=" in frames[0]
    assert '<a href="https://ads.example.com/widget"' in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "frame-src https://www.youtube-nocookie.com https://player.vimeo.com" in policy
    pump = client.get("/posts/tuning-the-garden-pump/").text
    assert '<iframe src="https://player.vimeo.com/video/76979871"' in pump
    hugo = import_site(runner, site_copy("hugo"))
    assert hugo["counts"]["failed"] == 0
    light = client.get("/posts/first-light/").text
    assert 'src="https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ" title="Collimating the mirror"' in light


def test_docusaurus_mdx_keeps_notes_tabs_titles_and_its_excerpt(runner, client, site_copy):
    report = import_site(runner, site_copy("docusaurus"))
    by_slug = {entry["slug"]: entry for entry in report["posts"]}
    assert by_slug["tabs-and-notes"]["inferred"]["excerpt"] == "<!--more-->"
    assert by_slug["greetings"]["inferred"]["excerpt"] == "<!--more-->"
    assert not any("Liquid" in warning for entry in report["posts"] for warning in entry["warnings"])
    body = client.get("/posts/tabs-and-notes/").text
    assert '<p class="admonition-title">Note</p>' in body
    assert '<p class="admonition-title">Keep flux handy</p>' in body
    assert "<summary>Debian</summary>" in body and "<summary>macOS</summary>" in body
    assert '<span class="filename">App.tsx</span>' in body
    assert 'width="280"' in body and "{280}" not in body
    assert '<span style="color:#e11d48">Red warning text.</span>' in body
    assert "<span class=\"s1\">'red'</span>" in body  # the JSX inside the code block is shown as written
    assert "editor&#39;s comment" not in body and "editor's comment" not in body
    greetings = client.get("/posts/greetings/").text
    assert '<p class="admonition-title">Mind the cables</p>' in greetings


def test_a_restructuredtext_post_reads_as_pelican_reads_it(runner, client, site_copy):
    report = import_site(runner, site_copy("pelican"))
    [entry] = [entry for entry in report["posts"] if entry["slug"] == "compost-notes"]
    assert entry["title"] == "Compost Notes" and entry["tags"] == ["compost", "soil"]
    assert entry["published_at"].startswith("2020-10-03T09:30") and not entry["warnings"]
    body = client.get("/posts/compost-notes/").text
    assert "<em>every two weeks</em>" in body and "<h2" in body and "Ratio</h2>" in body
    assert re.search(r'<img alt="The basket of browns" src="/media/[0-9a-f]{16}-basket\.png"', body)
    assert '<div class="highlight"><pre' in body and '<span class="k">def</span>' in body
    assert "<math" in body and ":date:" not in body and "{static}" not in body
    assert "Turning the heap, and what the thermometer said." in client.get("/").text


def test_hexo_tag_plugins_become_code_and_images(runner, client, site_copy):
    import_site(runner, site_copy("hexo"))
    body = client.get("/posts/pump-install/").text
    assert "--save" in body and "–save" not in body  # code, so no typographic dash
    assert re.search(r'<img alt="The wiring diagram" src="/media/[0-9a-f]{16}-wiring\.png">', body)
    assert "port: 4000" in body.split('<div class="highlight">', 2)[2]
    notes = client.get("/posts/maintenance/").text
    assert re.search(r"<blockquote>\s*<p>Never run the pump dry.</p>\s*<p>— Pump manual, page 12</p>", notes)


def test_pelican_category_shared_by_every_post_is_not_a_tag_and_a_bold_title_shows_once(
    runner, client, site_copy
):
    report = import_site(runner, site_copy("pelican"))
    by_slug = {entry["slug"]: entry for entry in report["posts"]}
    assert by_slug["first-harvest"]["tags"] == ["harvest", "tomatoes"]
    assert by_slug["second-harvest"]["tags"] == []
    assert by_slug["first-harvest"]["title"] == "First Harvest"
    page = client.get("/posts/first-harvest/").text
    assert page.count("First Harvest</h") == 1


def test_a_slug_two_posts_want_is_kept_by_the_older_and_the_report_says_so(runner, site_copy):
    root = site_copy("hexo")
    # A newer post with the same title, under a file name that sorts first.
    (root / "source" / "_posts" / "a-maintenance-again.md").write_text(
        "---\ntitle: Maintenance\nslug: maintenance\ndate: 2016-01-01 10:00:00\n---\n\nAgain.\n"
    )
    report = import_site(runner, root)
    by_path = {Path(entry["path"]).name: entry for entry in report["posts"]}
    assert by_path["maintenance.md"]["slug"] == "maintenance"
    assert by_path["a-maintenance-again.md"]["slug"] == "maintenance-2"
    warning = by_path["a-maintenance-again.md"]["warnings"][0]
    assert "maintenance.md, the older post (2015-04-01), which keeps the plain slug" in warning


def test_references_are_rewritten_only_where_markdown_and_html_name_them():
    from blog.publishing.files import references, rewrite_html, rewrite_source

    rendered = (
        '<p><img alt="a" src="/img/a.png"> <a href="/posts/x/">x</a> <a href="notes/b.pdf">b</a>'
        '<img srcset="img/a-2x.png 2x, /img/a.png 1x" src="img/a-2x.png"></p><p>src="/img/c.png"</p>'
    )
    assert references(rendered) == ["/img/a.png", "notes/b.pdf", "img/a-2x.png"]
    mapping = {"/img/a.png": "/media/1-a.png", "img/a-2x.png": "/media/2-a-2x.png"}
    assert rewrite_html(rendered, mapping) == (
        '<p><img alt="a" src="/media/1-a.png"> <a href="/posts/x/">x</a> <a href="notes/b.pdf">b</a>'
        '<img srcset="/media/2-a-2x.png 2x, /media/1-a.png 1x" src="/media/2-a-2x.png"></p>'
        '<p>src="/img/c.png"</p>'
    )
    source = (
        "/img/a.png starts a line\n![a](/img/a.png) and ![b](img/a-2x.png 'title')\n"
        '<img src="/img/a.png"> but /img/a.png.bak and x/img/a.png stay\n'
    )
    assert rewrite_source(source, mapping) == (
        "/img/a.png starts a line\n![a](/media/1-a.png) and ![b](/media/2-a-2x.png 'title')\n"
        '<img src="/media/1-a.png"> but /img/a.png.bak and x/img/a.png stay\n'
    )
