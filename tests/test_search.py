"""Full-text search: ranked and highlighted on SQLite FTS5 and PostgreSQL, safe with any query."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from blog.extensions import db
from blog.models import Post, Tag
from blog.site.fulltext import search_posts, search_terms


@pytest.fixture
def library(write_post, import_posts):
    write_post(
        "2024-01-01-borrow-checker.md",
        "---\ntitle: Taming the Borrow Checker\ntags: [rust]\n---\n\nLifetimes explained: a < b && c > d.",
    )
    write_post(
        "2024-01-02-gardening.md",
        "---\ntitle: Tomatoes on the Balcony\ntags: [garden]\n---\n\n"
        "Watering every morning. Later I mention the borrow checker once, in passing.",
    )
    write_post(
        "2024-01-03-kaggle.md",
        "---\ntitle: First Kaggle Notebook\ntags: [machine-learning, kaggle]\n---\n\n"
        "Gradient boosting on tabular data.",
    )
    write_post(
        "2024-01-04-secret.md", "---\ntitle: Borrow Checker Secrets\ndraft: true\n---\n\nBorrow checker."
    )
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    write_post("later.md", f"---\ntitle: Borrow Checker Tomorrow\ndate: {later}\n---\n\nBorrow checker.")
    import_posts()


def titles(app, query: str) -> list[str]:
    with app.app_context():
        return [hit.post.title for hit in search_posts(db.session, query).hits]


def test_title_matches_rank_above_passing_mentions(app, library):
    assert titles(app, "borrow checker") == ["Taming the Borrow Checker", "Tomatoes on the Balcony"]


def test_drafts_and_scheduled_posts_are_never_found(app, library):
    assert "Borrow Checker Secrets" not in titles(app, "secrets")
    assert titles(app, "tomorrow") == []


def test_tags_and_stemmed_words_match(app, library):
    assert titles(app, "kaggle") == ["First Kaggle Notebook"]
    assert titles(app, "garden") == ["Tomatoes on the Balcony"]  # the tag, not a word of the text
    assert titles(app, "watered") == ["Tomatoes on the Balcony"]  # stemming: watering ~ watered


def test_snippets_highlight_matches_and_escape_the_text(app, client, library):
    page = client.get("/search?q=lifetimes").text
    assert "<mark>Lifetimes</mark> explained: a &lt; b &amp;&amp; c &gt; d." in page
    assert "1 post matches “lifetimes”." in page


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "borrow AND OR NOT",
        "title:borrow",
        "NEAR(borrow checker)",
        "borrow*",
        "' OR 1=1 --",
        "(((",
        "\x00borrow",
        "🦀" * 300,
        "a" * 5000,
        "<script>alert(1)</script>",
        "!!! ??? ...",
    ],
)
def test_hostile_queries_answer_200(client, library, query):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text


def test_operators_are_plain_words(app, library):
    assert titles(app, "borrow OR zebra") == []  # every word must match; OR is no operator
    assert titles(app, "title:borrow") == titles(app, "title borrow")


def test_queries_without_words_explain_themselves(client, library):
    assert "Type a few words" in client.get("/search").text
    assert "There are no words to search for" in client.get("/search?q=%22%2A(").text
    assert "No posts match “zebra”" in client.get("/search?q=zebra").text


def test_search_terms_are_capped():
    assert search_terms("one two three four five six seven eight nine ten") == [
        "one", "two", "three", "four", "five", "six", "seven", "eight",
    ]  # fmt: skip
    assert search_terms('"borrow" -checker OR x*') == ["borrow", "checker", "OR", "x"]


def test_index_follows_edits_tags_and_deletions(app, library):
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.title == "First Kaggle Notebook"))
        post.title = "First Notebook"
        post.plain_text = "Random forests instead."
        db.session.commit()
        assert [h.post.title for h in search_posts(db.session, "forests").hits] == ["First Notebook"]
        assert search_posts(db.session, "gradient").hits == []
        assert [h.post.title for h in search_posts(db.session, "kaggle").hits] == ["First Notebook"]  # tag

        db.session.execute(update(Tag).where(Tag.slug == "kaggle").values(name="competitions"))
        db.session.commit()
        assert search_posts(db.session, "kaggle").hits == []
        assert [h.post.title for h in search_posts(db.session, "competitions").hits] == ["First Notebook"]

        post.post_tags = []
        db.session.commit()
        assert search_posts(db.session, "competitions").hits == []

        db.session.execute(delete(Post).where(Post.id == post.id))
        db.session.commit()
        assert search_posts(db.session, "forests").hits == []


def test_reimported_edit_is_searchable(app, library, write_post, import_posts):
    write_post(
        "2024-01-02-gardening.md",
        "---\ntitle: Tomatoes on the Balcony\ntags: [garden]\n---\n\nNow with basil and mint.",
    )
    import_posts()
    assert titles(app, "basil") == ["Tomatoes on the Balcony"]
    assert titles(app, "borrow checker") == ["Taming the Borrow Checker"]


def test_results_are_paged(app, client, write_post, import_posts):
    for day in range(1, 13):
        write_post(f"2024-02-{day:02d}-note.md", f"---\ntitle: Note {day}\n---\n\nA weekly note.")
    import_posts()
    app.config["POSTS_PER_PAGE"] = 5
    first = client.get("/search?q=weekly").text
    assert "12 posts match" in first and "Page 1 of 3" in first
    assert 'href="/search?q=weekly&amp;page=2"' in first
    third = client.get("/search?q=weekly&page=3").text
    assert third.count('class="post-summary"') == 2
    assert client.get("/search?q=weekly&page=abc").status_code == 200


def test_search_page_runs_a_fixed_number_of_queries(client, library, count_statements):
    # site state, settings, count, matches, their tags
    assert len(count_statements(lambda: client.get("/search?q=borrow"))) <= 5


def test_snippets_quote_prose_not_code_or_footnote_numbers(app, client, write_post, import_posts):
    write_post(
        "2024-02-01-notes.md",
        "---\ntitle: Notes on Parsers\n---\n\nParsers read tokens[^1] one at a time.\n\n"
        "```python\ndef parse(tokens):\n    return tokens.pop()\n```\n\n"
        "More about parsers later.\n\n[^1]: Tokens come from the lexer.\n",
    )
    import_posts()
    [hit] = client.get("/search?q=parsers").text.split('class="snippet"')[1:2]
    snippet = hit[: hit.index("</p>")]
    assert "<mark>Parsers</mark> read tokens one at a time" in snippet
    assert "def parse" not in snippet and "tokens.pop" not in snippet
    assert "tokens1" not in snippet and "↩" not in snippet
    assert "Tokens come from the lexer" in snippet  # the footnote's words are still prose


def test_a_word_used_only_in_code_finds_the_post_and_the_snippet_stays_prose(
    client, write_post, import_posts
):
    write_post(
        "2024-02-02-hooks.md",
        "---\ntitle: Hooks I use\n---\n\nA small helper for state.\n\n"
        "```js\nconst [count, setCount] = useReducer(reducer, 0);\n```\n",
    )
    import_posts()
    page = client.get("/search?q=useReducer").text
    [hit] = page.split('class="snippet"')[1:2]
    assert "Hooks I use" in page
    assert "A small helper for state." in hit[: hit.index("</p>")]
    assert "setCount" not in hit[: hit.index("</p>")]
