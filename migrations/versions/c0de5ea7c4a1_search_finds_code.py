"""search finds words used only in code; snippets still quote prose

Revision ID: c0de5ea7c4a1
Revises: e7a9c1d3f5b8
Create Date: 2026-11-30 21:45:00.000000

post.code_text holds the text of a post's code blocks. The search index gains it as a fourth,
lightly weighted column (SQLite FTS5: recreated with its triggers, then refilled; PostgreSQL:
weight D of the document), while snippets keep quoting plain_text, the prose.
"""
import html
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0de5ea7c4a1'
down_revision = 'e7a9c1d3f5b8'
branch_labels = None
depends_on = None

# Frozen copies of blog/content/summary.py as of this revision.
TAG = re.compile(r"<[^>]+>")
BLOCK_TAG = re.compile(r"</?(?:p|br|li|h[1-6]|div|tr|td|th|blockquote|pre|ul|ol|dt|dd|figure)\b[^>]*>")
CODE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.DOTALL)


def code_text(rendered):
    code = " ".join(CODE_BLOCK.findall(rendered))
    return " ".join(html.unescape(TAG.sub("", BLOCK_TAG.sub(" ", code))).split())


TAGS_OF = """coalesce((SELECT group_concat(tag.name, ' ') FROM post_tag
    JOIN tag ON tag.id = post_tag.tag_id WHERE post_tag.post_id = {post}), '')"""
SQLITE_TRIGGERS = [
    "post_search_tag_renamed", "post_search_tag_removed", "post_search_tag_added",
    "post_search_post_delete", "post_search_post_update", "post_search_post_insert",
]


def sqlite_index(columns):
    """The FTS5 table with `columns`, its triggers, filled from the posts."""
    code = "code" in columns
    names = ", ".join(columns)
    new_values = "new.title, '', new.plain_text" + (", new.code_text" if code else "")
    update_set = "title = new.title, body = new.plain_text" + (", code = new.code_text" if code else "")
    update_of = "title, plain_text" + (", code_text" if code else "")
    return [
        f"""CREATE VIRTUAL TABLE post_search USING fts5(
            {names}, tokenize = 'porter unicode61 remove_diacritics 2')""",
        f"""CREATE TRIGGER post_search_post_insert AFTER INSERT ON post BEGIN
            INSERT INTO post_search (rowid, {names}) VALUES (new.id, {new_values});
        END""",
        f"""CREATE TRIGGER post_search_post_update AFTER UPDATE OF {update_of} ON post BEGIN
            UPDATE post_search SET {update_set} WHERE rowid = new.id;
        END""",
        """CREATE TRIGGER post_search_post_delete AFTER DELETE ON post BEGIN
            DELETE FROM post_search WHERE rowid = old.id;
        END""",
        f"""CREATE TRIGGER post_search_tag_added AFTER INSERT ON post_tag BEGIN
            UPDATE post_search SET tags = {TAGS_OF.format(post="new.post_id")} WHERE rowid = new.post_id;
        END""",
        f"""CREATE TRIGGER post_search_tag_removed AFTER DELETE ON post_tag BEGIN
            UPDATE post_search SET tags = {TAGS_OF.format(post="old.post_id")} WHERE rowid = old.post_id;
        END""",
        f"""CREATE TRIGGER post_search_tag_renamed AFTER UPDATE OF name ON tag BEGIN
            UPDATE post_search SET tags = {TAGS_OF.format(post="post_search.rowid")}
            WHERE rowid IN (SELECT post_id FROM post_tag WHERE tag_id = new.id);
        END""",
        f"""INSERT INTO post_search (rowid, {names})
            SELECT post.id, post.title, {TAGS_OF.format(post="post.id")}, post.plain_text
                   {", post.code_text" if code else ""} FROM post""",
    ]


def postgresql_refresh(code):
    return f"""CREATE OR REPLACE FUNCTION post_search_refresh(target integer) RETURNS void LANGUAGE sql AS $$
        INSERT INTO post_search (post_id, document)
        SELECT post.id,
               setweight(to_tsvector('english', post.title), 'A')
            || setweight(to_tsvector('english', coalesce((
                   SELECT string_agg(tag.name, ' ') FROM post_tag
                   JOIN tag ON tag.id = post_tag.tag_id WHERE post_tag.post_id = post.id
               ), '')), 'B')
            || setweight(to_tsvector('english', post.plain_text), 'C')
            {"|| setweight(to_tsvector('english', post.code_text), 'D')" if code else ""}
        FROM post WHERE post.id = target
        ON CONFLICT (post_id) DO UPDATE SET document = excluded.document
    $$"""


def postgresql_trigger(code):
    return [
        "DROP TRIGGER post_search_post ON post",
        f"""CREATE TRIGGER post_search_post AFTER INSERT OR UPDATE OF title, plain_text
            {", code_text" if code else ""} ON post
            FOR EACH ROW EXECUTE FUNCTION post_search_on_post()""",
    ]


def rebuild(code):
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        op.execute(postgresql_refresh(code))
        for statement in postgresql_trigger(code):
            op.execute(statement)
        op.execute("SELECT post_search_refresh(id) FROM post")
        return
    for trigger in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE post_search")
    for statement in sqlite_index(["title", "tags", "body", *(["code"] if code else [])]):
        op.execute(statement)


def upgrade():
    # A native ADD COLUMN on both: a batch rebuild on SQLite would drop `post` and cascade to its tags.
    op.add_column('post', sa.Column('code_text', sa.Text(), nullable=False, server_default=''))
    connection = op.get_bind()
    post = sa.table('post', sa.column('id', sa.Integer), sa.column('html', sa.Text),
                    sa.column('code_text', sa.Text))
    for post_id, rendered in connection.execute(sa.select(post.c.id, post.c.html)).all():
        if text := code_text(rendered or ""):
            connection.execute(post.update().where(post.c.id == post_id).values(code_text=text))
    if connection.dialect.name == 'postgresql':
        op.alter_column('post', 'code_text', server_default=None)
    rebuild(code=True)


def downgrade():
    rebuild(code=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_column('post', 'code_text')
    else:
        op.execute('ALTER TABLE post DROP COLUMN code_text')
