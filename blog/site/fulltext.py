"""Full-text search over titles, tags and text: SQLite FTS5 or PostgreSQL, ranked, highlighted.

The index is the table `post_search`, kept current by database triggers (see the
revision that creates it), so every writer (the importer, an editor, raw SQL) keeps it
right. It lives outside the models on purpose: its shape differs per database.
"""

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape
from sqlalchemy import Column, Float, Integer, MetaData, Table, Text, func, literal_column, select, text
from sqlalchemy.orm import Session, selectinload

from blog.models import Post, PostTag

SEARCH_TABLE = "post_search"
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
WORD = re.compile(r"\w+")
START, STOP = "\x02", "\x03"  # highlight markers no post text contains, escaped to <mark> later
HEADLINE = f'StartSel="{START}", StopSel="{STOP}", MaxWords=35, MinWords=15'

# The index has one shape per database, so each gets its own description, outside the models.
fts = Table(SEARCH_TABLE, MetaData(), Column("rowid", Integer), Column("title", Text), Column("body", Text))
pg_search = Table(SEARCH_TABLE, MetaData(), Column("post_id", Integer), Column("document", Text))


@dataclass
class SearchHit:
    post: Post
    title: Markup
    snippet: Markup


@dataclass
class SearchResults:
    terms: list[str]
    hits: list[SearchHit]
    total: int


def search_terms(query: str) -> list[str]:
    """The words of a reader's query; operators, quotes and punctuation are never passed on."""
    return WORD.findall(query[:MAX_QUERY_CHARS])[:MAX_TERMS]


def is_search_table(name: str | None) -> bool:
    """Whether a table belongs to the search index (FTS5 adds shadow tables beside it)."""
    return bool(name) and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))


def search_posts(session: Session, query: str, limit: int = 20, offset: int = 0) -> SearchResults:
    """Published posts matching every word of query, best match first."""
    terms = search_terms(query)
    if not terms:
        return SearchResults([], [], 0)
    if session.get_bind().dialect.name == "postgresql":
        statement, count = _postgresql(terms)
    else:
        statement, count = _sqlite(terms)
    now = datetime.now(UTC)
    published = (Post.draft.is_(False), Post.published_at <= now)
    total = session.scalar(count.where(*published)) or 0
    rows = session.execute(
        statement.where(*published)
        .options(selectinload(Post.post_tags).joinedload(PostTag.tag))
        .limit(limit)
        .offset(offset)
    ).all()
    if session.get_bind().dialect.name == "postgresql":
        rows = [(post, html.unescape(title), html.unescape(snippet)) for post, title, snippet in rows]
    hits = [SearchHit(post, highlighted(title), highlighted(snippet)) for post, title, snippet in rows]
    return SearchResults(terms, hits, total)


def _sqlite(terms: list[str]):
    """FTS5: every term quoted (so nothing is an operator), ranked by bm25 with title first."""
    match = text("post_search MATCH :match").bindparams(match=" ".join(f'"{term}"' for term in terms))
    rank = literal_column("bm25(post_search, 10.0, 5.0, 1.0, 0.5)", Float)
    title = func.highlight(literal_column(SEARCH_TABLE), 0, START, STOP)
    snippet = func.snippet(literal_column(SEARCH_TABLE), 2, START, STOP, "…", 30)
    statement = (
        select(Post, title, snippet)
        .join(fts, fts.c.rowid == Post.id)
        .where(match)
        .order_by(rank, Post.published_at.desc())
    )
    count = select(func.count()).select_from(fts).join(Post, fts.c.rowid == Post.id).where(match)
    return statement, count


def _postgresql(terms: list[str]):
    """PostgreSQL: plainto_tsquery (never a syntax error), ranked by ts_rank_cd on weighted vectors."""
    query = func.plainto_tsquery(literal_column("'english'"), " ".join(terms))
    document = literal_column("post_search.document")
    matches = document.op("@@")(query)
    # ts_headline drops anything that looks like an HTML tag ("a < b > c"), so it is given
    # escaped text, and unescaped again before our own escaping.
    title = func.ts_headline(
        literal_column("'english'"), escaped(Post.title), query, f"HighlightAll=true, {HEADLINE}"
    )
    snippet = func.ts_headline(literal_column("'english'"), escaped(Post.plain_text), query, HEADLINE)
    statement = (
        select(Post, title, snippet)
        .join(pg_search, pg_search.c.post_id == Post.id)
        .where(matches)
        .order_by(func.ts_rank_cd(document, query).desc(), Post.published_at.desc())
    )
    count = (
        select(func.count()).select_from(pg_search).join(Post, pg_search.c.post_id == Post.id).where(matches)
    )
    return statement, count


def escaped(column):
    """HTML-escape a text column in SQL (&, < and >)."""
    return func.replace(func.replace(func.replace(column, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")


def highlighted(fragment: str | None) -> Markup:
    """Escape a fragment of post text, then turn the highlight markers into <mark> elements."""
    escaped = str(escape(fragment or ""))
    return Markup(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))
