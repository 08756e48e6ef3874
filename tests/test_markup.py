"""Markup real blogs use, rendered as their generators would, and kept safe."""

import re
from pathlib import Path
from zoneinfo import ZoneInfo

from blog.content import parse_text
from blog.content.summary import html_to_text

UTC_ZONE = ZoneInfo("UTC")


def render(text: str, name: str = "post.md", mdx: bool | None = None):
    return parse_text(f"---\ntitle: A post\ndate: 2024-01-02\n---\n\n{text}", Path(name), UTC_ZONE, mdx=mdx)


def test_a_setext_title_in_the_body_is_moved_below_the_page_title():
    post = render("Intro words.\n\nPart one\n========\n\nText.\n\nPart two\n--------\n\nMore.")
    assert '<h2 id="part-one">Part one</h2>' in post.html
    assert '<h3 id="part-two">Part two</h3>' in post.html
    assert "<h1" not in post.html


def test_a_hashtag_on_a_wrapped_line_is_text_not_a_heading():
    post = render("We met at the\n#python meetup last week.")
    assert "<h" not in post.html.replace("<hr", "")
    assert "#python meetup" in post.html


def test_a_bold_h1_title_is_the_title_and_shows_once():
    post = parse_text("# **Bold Title**\n\nThe body.", Path("2024-01-02-x.md"), UTC_ZONE)
    assert post.title == "Bold Title"
    assert "Bold Title" not in post.html


def test_lists_indented_as_commonmark_keep_their_nesting_and_their_code():
    # Two spaces under `- `, three under `1.`: how every CommonMark generator's authors indent.
    post = render(
        "- tools\n  - ruff\n  - pytest\n- habits\n\n"
        '1. Install:\n\n   ```toml\n   # not a heading\n   key = "<PLACEHOLDER>"\n   ```\n\n'
        "   Then run it.\n\n2. Check\n3. Ship\n"
    )
    html = post.html
    assert re.search(r"<li>tools<ul>\s*<li>ruff</li>\s*<li>pytest</li>\s*</ul>\s*</li>", html)
    assert html.count("<ol") == 1 and 'start="2"' not in html  # the fence did not split the list
    assert re.search(r"<li>\s*<p>Install:</p>\s*<div class=\"highlight\">", html)
    assert "<h1" not in html and "<h2" not in html and "PLACEHOLDER" in html
    assert re.search(r"<p>Then run it.</p>\s*</li>", html)


def test_lists_indented_four_spaces_and_code_outside_lists_are_unchanged():
    post = render("* one\n    * nested\n        * deeper\n* two\n\nText.\n\n    - code, not a list\n")
    assert re.search(r"<li>nested<ul>\s*<li>deeper</li>", post.html)
    assert "- code, not a list" in post.html and post.html.count("<ul>") == 3


def test_a_break_drawn_with_list_markers_is_a_break_not_a_list():
    # `* * *` is a thematic break in every reader; as a list item it would re-indent what follows.
    post = render("Before.\n\n* * *\n\n    code under the break\n\n- - -\n- item\n  - nested\n")
    assert post.html.count("<hr") == 2
    assert re.search(r"<pre[^>]*>(?:<span></span>)?<code>code under the break", post.html)
    assert re.search(r"<li>item<ul>\s*<li>nested</li>", post.html)


def test_kramdown_block_attributes_never_show_as_text():
    text = (
        '{: class="table-of-content"}\n* TOC\n{:toc}\n\n## One\n\nWords.\n{: .lead}\n\n'
        "| a |\n|---|\n| 1 |\n{: .table}\n"
    )
    post = render(text)
    assert "{:" not in post.html
    assert '<div class="toc">' in post.html and '<p class="lead">Words.</p>' in post.html


def test_inline_and_display_math_are_mathml_and_never_emphasised():
    post = render("Loss $\\mathbb{E}_{x \\sim p_r} + a_{i}$ and $$x_1$$ inline.\n\n$$\na_{b} * c_{d}\n$$\n")
    assert post.html.count("<math") == 3 and "<em>" not in post.html and "$" not in post.html
    assert "<script" not in post.html


def test_math_the_converter_cannot_read_stays_visible_as_code():
    post = render("$$\n\\begin{unknownenv} x\n$$\n")
    assert "unknownenv" in post.html


def test_mdx_imports_comments_and_jsx_attributes():
    text = (
        "import Tabs from '@theme/Tabs';\nexport const meta = 1;\n\nText {/* hidden */} shown.\n\n"
        '<img src="https://example.com/a.png" width={280} className="wide" onClick={() => go()} />\n'
    )
    post = render(text, "post.mdx")
    assert "import" not in post.html and "export" not in post.html and "hidden" not in post.html
    assert 'width="280"' in post.html and 'class="wide"' in post.html and "onclick" not in post.html.lower()
    assert not post.warnings
    assert "import Tabs" in render(text, "post.md").html  # Markdown files are not MDX


def test_jsx_style_is_kept_only_as_an_allowed_colour():
    post = render('<span style={{color: "red", position: "fixed"}}>Hi</span>', mdx=True)
    assert '<span style="color:red">Hi</span>' in post.html


def test_liquid_in_code_and_jsx_in_code_are_left_alone():
    post = render("```jsx\n<div style={{margin: 0}}>{% raw %}</div>\n```\n", mdx=True)
    assert "style={{margin: 0}}>{% raw %}" in html_to_text(post.html)
    assert not post.warnings


def test_hexo_codeblock_and_asset_tags():
    text = (
        "{% codeblock Setup lang:bash %}\nnpm install hexo --save\n{% endcodeblock %}\n\n"
        "{% asset_img a.png A map %}\n"
    )
    post = render(text)
    assert '<span class="filename">Setup</span>' in post.html and "--save" in post.html
    assert '<img alt="A map" src="a.png">' in post.html


def test_hexo_links_quotes_images_and_videos_keep_their_content():
    text = (
        "See {% post_link other-post %}, {% post_link other-post 'the other one' %}, "
        "{% post_path other-post %} and {% link Hexo docs https://hexo.io/docs/ %}.\n\n"
        "{% blockquote Ada Lovelace, Notes %}\nThe engine weaves.\n{% endblockquote %}\n\nBetween.\n\n"
        "{% pullquote %}\nSaid once.\n{% endpullquote %}\n\n"
        "{% img right /images/c.png 300 200 \"A title 'An alt'\" %}\n\n"
        "{% youtube dQw4w9WgXcQ %}\n\n{% vimeo 76979871 %}\n"
    )
    post = render(text)
    html = post.html
    assert re.search(r'<a href="/posts/other-post/"[^>]*>other post</a>', html)
    assert re.search(r'<a href="/posts/other-post/"[^>]*>the other one</a>', html)
    assert "/posts/other-post/ and" in html
    assert re.search(r'<a href="https://hexo.io/docs/"[^>]*>Hexo docs</a>', html)
    assert re.search(
        r"<blockquote>\s*<p>The engine weaves.</p>\s*<p>— Ada Lovelace, Notes</p>\s*</blockquote>", html
    )
    assert re.search(r"<blockquote>\s*<p>Said once.</p>\s*</blockquote>", html)
    sourced = render("{% blockquote Tim, Blog https://ex.org/post The post %}\nWords.\n{% endblockquote %}")
    assert re.search(r'<p>— Tim, Blog \(<a href="https://ex.org/post"[^>]*>The post</a>\)</p>', sourced.html)
    assert re.search(r'<img[^>]*src="/images/c.png"', html) and 'alt="An alt"' in html
    assert 'width="300"' in html and 'height="200"' in html and 'title="A title"' in html
    assert "youtube-nocookie.com/embed/dQw4w9WgXcQ" in html and "player.vimeo.com/video/76979871" in html
    assert "{%" not in html and not post.warnings


def test_an_unknown_iframe_becomes_a_link_with_a_warning():
    post = render('<figure><iframe src="https://maps.example.org/embed?q=1"></iframe></figure>')
    assert '<a href="https://maps.example.org/embed?q=1"' in post.html and "<iframe" not in post.html
    assert any("maps.example.org" in warning for warning in post.warnings)


def test_a_hostile_iframe_is_never_kept():
    for frame in (
        '<iframe src="javascript:alert(1)"></iframe>',
        '<iframe srcdoc="<script>alert(1)</script>" src="https://www.youtube.com/embed/abcdefgh"></iframe>',
        '<iframe/src="https://evil.example/">',
        '<IFRAME SRC="https://player.vimeo.com/video/1?x" onload="alert(1)"></IFRAME>',
    ):
        html = render("Text.\n\n" + frame).html
        assert (
            "javascript:" not in html and "srcdoc" not in html and "evil.example" not in html.split("href")[0]
        )
        assert "onload" not in html
        for src in re.findall(r'<iframe src="([^"]*)"', html):
            assert src.startswith(
                ("https://www.youtube-nocookie.com/embed/", "https://player.vimeo.com/video/")
            )


def test_mathml_cannot_smuggle_script():
    post = render('<math><mtext><script>alert(1)</script></mtext><maction actiontype="x">y</maction></math>')
    assert "<script" not in post.html and "maction" not in post.html


def test_front_matter_after_a_blank_line_is_read_with_a_warning():
    post = parse_text("\n---\ntitle: Late start\ndate: 2020-02-02\n---\n\nBody text.", Path("x.md"), UTC_ZONE)
    assert post.title == "Late start" and "title:" not in post.html
    assert any("blank lines" in warning for warning in post.warnings)


def test_front_matter_without_its_opening_line_is_read_with_a_warning():
    post = parse_text(
        "title: No opener\ndate: 2020-02-02\ntags: [a, b]\n---\n\nBody text.", Path("x.md"), UTC_ZONE
    )
    assert post.title == "No opener" and post.tags == ["a", "b"]
    assert "date:" not in post.html and post.html == "<p>Body text.</p>"
    assert any("no opening '---'" in warning for warning in post.warnings)


def test_a_pelican_header_is_still_a_pelican_header():
    post = parse_text("Title: Plain\nDate: 2020-02-02\n\nBody.\n\n---\n\nMore.", Path("x.md"), UTC_ZONE)
    assert post.title == "Plain" and "<hr>" in post.html and not post.warnings


def test_a_restructuredtext_post_cannot_run_script_or_read_files(tmp_path):
    from blog.content import parse_file

    secret = tmp_path / "secret.txt"
    secret.write_text("the password is hunter2")
    post = tmp_path / "hostile.rst"
    post.write_text(
        "Hostile\n#######\n\n:date: 2024-01-02\n\nA `link <javascript:alert(1)>`_.\n\n"
        ".. raw:: html\n\n   <script>alert(1)</script>\n\n"
        f".. include:: {secret}\n\n.. image:: x.png\n   :target: javascript:alert(2)\n"
    )
    parsed = parse_file(post, UTC_ZONE)
    assert parsed.title == "Hostile"
    assert "<script" not in parsed.html and "javascript:" not in parsed.html
    assert "hunter2" not in parsed.html
    assert any("raw" in warning for warning in parsed.warnings)
    assert any("include" in warning for warning in parsed.warnings)


def test_a_restructuredtext_subtitle_is_kept(tmp_path):
    from blog.content import parse_file

    post = tmp_path / "subtitled.rst"
    post.write_text("Main Title\n##########\n\nThe Subtitle\n============\n\n:date: 2024-01-02\n\nText.\n")
    parsed = parse_file(post, UTC_ZONE)
    assert parsed.title == "Main Title" and "The Subtitle" in parsed.html and "Text." in parsed.html
