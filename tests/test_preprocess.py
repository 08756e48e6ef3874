from blog.content.preprocess import preprocess_body


def test_liquid_highlight_becomes_a_fence():
    text = "Intro\n\n{% highlight ruby linenos %}\nputs {{ 'x' }}\n{% endhighlight %}\n\nAfter"
    assert preprocess_body(text).text == "Intro\n\n```ruby\nputs {{ 'x' }}\n```\n\nAfter"


def test_hugo_highlight_becomes_a_fence():
    text = '{{< highlight go "linenos=table" >}}\nfunc main() {}\n{{< / highlight >}}'
    assert preprocess_body(text).text == "```go\nfunc main() {}\n```"


def test_site_variables_and_url_filters():
    text = "![a]({{ site.baseurl }}/img/a.png) [b]({{ '/about/' | relative_url }})"
    assert preprocess_body(text).text == "![a](/img/a.png) [b](/about/)"


def test_post_url_and_link_point_at_weeknote_posts():
    text = "[x]({% post_url 2010-07-21-name-of-post %}) [y]({% link _posts/2016-07-26-other.md %})"
    assert preprocess_body(text).text == "[x](/posts/name-of-post/) [y](/posts/other/)"


def test_include_is_dropped_with_a_warning():
    result = preprocess_body("Before\n{% include newsletter.html %}\nAfter")
    assert result.text == "Before\n\nAfter"
    assert result.warnings == [
        "Liquid tag {% include newsletter.html %} has no Weeknote equivalent; left out of the page"
    ]


def test_raw_and_comment():
    text = "{% raw %}{{ keep }}{% endraw %} {% comment %}secret{% endcomment %}end"
    assert preprocess_body(text).text == "{{ keep }} end"


def test_code_is_never_rewritten():
    text = "Use `{% include x %}` or:\n\n```liquid\n{{ site.baseurl }}\n{% include a.html %}\n```"
    result = preprocess_body(text)
    assert result.text == text
    assert result.warnings == []


def test_hugo_figure_youtube_and_relref():
    text = (
        '{{< figure src="/img/desk.jpg" alt="My desk" caption="Where I write" >}}\n'
        "{{< youtube dQw4w9WgXcQ >}}\n"
        'See [the other post]({{< relref "posts/other-post.md#part-2" >}}).'
    )
    result = preprocess_body(text).text
    assert '<figure><img src="/img/desk.jpg" alt="My desk"><figcaption>Where I write</figcaption>' in result
    frame = '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ" title="Video on YouTube"'
    assert frame in result
    assert "[the other post](/posts/other-post/#part-2)" in result


def test_unknown_shortcode_keeps_its_content():
    result = preprocess_body("{{< notice warning >}}\nCareful!\n{{< /notice >}}")
    assert result.text.strip() == "Careful!"
    assert "Hugo shortcode 'notice'" in result.warnings[0]


def test_fence_info_with_highlighted_lines():
    text = '```js{2,4-5}\na\n```\n\n```python title="app.py"\nb\n```\n\n~~~jsx:title=App.jsx\nc\n~~~'
    lines = preprocess_body(text).text.split("\n")
    assert lines[0] == '```js hl_lines="2 4 5"'
    assert lines[4] == '```python title="app.py"'  # pymdownx.superfences shows the title
    assert lines[8] == '~~~jsx title="App.jsx"'  # Gatsby's form


def test_kramdown_toc_and_attribute_gap():
    text = '* TOC\n{:toc}\n\n[a] {:target="_blank"}'
    assert preprocess_body(text).text == '[TOC]\n\n[a]{:target="_blank"}'
