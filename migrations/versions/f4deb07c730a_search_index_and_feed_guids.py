"""search index and feed guids

Adds post.guid (a feed id stored once, never derived from the slug or the content) and
post.plain_text (the text search indexes and quotes), then the full-text index
`post_search` with the triggers that keep it current: an FTS5 table on SQLite, a
weighted tsvector table with a GIN index on PostgreSQL. The index is not in the models
(its shape differs per database); the "migrations match models" test skips it on purpose.

Revision ID: f4deb07c730a
Revises: 08c68ed905ec
Create Date: 2026-11-21 08:30:00.000000

"""
import html
import re
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f4deb07c730a'
down_revision = "08c68ed905ec"
branch_labels = None
depends_on = None

# A frozen copy of blog.content.summary.html_to_text as it was when this revision was written.
TAG = re.compile(r"<[^>]+>")
BLOCK_TAG = re.compile(r"</?(?:p|br|li|h[1-6]|div|tr|td|th|blockquote|pre|ul|ol|dt|dd|figure)\b[^>]*>")

SQLITE_UP = [
    """CREATE VIRTUAL TABLE post_search USING fts5(
        title, tags, body, tokenize = 'porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER post_search_post_insert AFTER INSERT ON post BEGIN
        INSERT INTO post_search (rowid, title, tags, body) VALUES (new.id, new.title, '', new.plain_text);
    END""",
    """CREATE TRIGGER post_search_post_update AFTER UPDATE OF title, plain_text ON post BEGIN
        UPDATE post_search SET title = new.title, body = new.plain_text WHERE rowid = new.id;
    END""",
    """CREATE TRIGGER post_search_post_delete AFTER DELETE ON post BEGIN
        DELETE FROM post_search WHERE rowid = old.id;
    END""",
    """CREATE TRIGGER post_search_tag_added AFTER INSERT ON post_tag BEGIN
        UPDATE post_search SET tags = (
            SELECT coalesce(group_concat(tag.name, ' '), '') FROM post_tag
            JOIN tag ON tag.id = post_tag.tag_id WHERE post_tag.post_id = new.post_id
        ) WHERE rowid = new.post_id;
    END""",
    """CREATE TRIGGER post_search_tag_removed AFTER DELETE ON post_tag BEGIN
        UPDATE post_search SET tags = (
            SELECT coalesce(group_concat(tag.name, ' '), '') FROM post_tag
            JOIN tag ON tag.id = post_tag.tag_id WHERE post_tag.post_id = old.post_id
        ) WHERE rowid = old.post_id;
    END""",
    """CREATE TRIGGER post_search_tag_renamed AFTER UPDATE OF name ON tag BEGIN
        UPDATE post_search SET tags = (
            SELECT coalesce(group_concat(tag.name, ' '), '') FROM post_tag
            JOIN tag ON tag.id = post_tag.tag_id WHERE post_tag.post_id = post_search.rowid
        ) WHERE rowid IN (SELECT post_id FROM post_tag WHERE tag_id = new.id);
    END""",
    """INSERT INTO post_search (rowid, title, tags, body)
        SELECT post.id, post.title, coalesce((
            SELECT group_concat(tag.name, ' ') FROM post_tag
            JOIN tag ON tag.id = post_tag.tag_id WHERE post_tag.post_id = post.id
        ), ''), post.plain_text FROM post""",
]
SQLITE_DOWN = [
    "DROP TRIGGER post_search_tag_renamed",
    "DROP TRIGGER post_search_tag_removed",
    "DROP TRIGGER post_search_tag_added",
    "DROP TRIGGER post_search_post_delete",
    "DROP TRIGGER post_search_post_update",
    "DROP TRIGGER post_search_post_insert",
    "DROP TABLE post_search",
]

POSTGRESQL_UP = [
    """CREATE TABLE post_search (
        post_id integer PRIMARY KEY REFERENCES post (id) ON DELETE CASCADE,
        document tsvector NOT NULL
    )""",
    "CREATE INDEX ix_post_search_document ON post_search USING gin (document)",
    """CREATE FUNCTION post_search_refresh(target integer) RETURNS void LANGUAGE sql AS $$
        INSERT INTO post_search (post_id, document)
        SELECT post.id,
               setweight(to_tsvector('english', post.title), 'A')
            || setweight(to_tsvector('english', coalesce((
                   SELECT string_agg(tag.name, ' ') FROM post_tag
                   JOIN tag ON tag.id = post_tag.tag_id WHERE post_tag.post_id = post.id
               ), '')), 'B')
            || setweight(to_tsvector('english', post.plain_text), 'C')
        FROM post WHERE post.id = target
        ON CONFLICT (post_id) DO UPDATE SET document = excluded.document
    $$""",
    """CREATE FUNCTION post_search_on_post() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM post_search_refresh(NEW.id);
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION post_search_on_post_tag() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM post_search_refresh(OLD.post_id);
        ELSE
            PERFORM post_search_refresh(NEW.post_id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION post_search_on_tag() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM post_search_refresh(post_tag.post_id) FROM post_tag WHERE post_tag.tag_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER post_search_post AFTER INSERT OR UPDATE OF title, plain_text ON post
        FOR EACH ROW EXECUTE FUNCTION post_search_on_post()""",
    """CREATE TRIGGER post_search_post_tag AFTER INSERT OR DELETE ON post_tag
        FOR EACH ROW EXECUTE FUNCTION post_search_on_post_tag()""",
    """CREATE TRIGGER post_search_tag AFTER UPDATE OF name ON tag
        FOR EACH ROW EXECUTE FUNCTION post_search_on_tag()""",
    "SELECT post_search_refresh(id) FROM post",
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER post_search_tag ON tag",
    "DROP TRIGGER post_search_post_tag ON post_tag",
    "DROP TRIGGER post_search_post ON post",
    "DROP FUNCTION post_search_on_tag()",
    "DROP FUNCTION post_search_on_post_tag()",
    "DROP FUNCTION post_search_on_post()",
    "DROP FUNCTION post_search_refresh(integer)",
    "DROP TABLE post_search",
]


def upgrade():
    # Added with a server default so existing rows are valid; filled in just below.
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guid', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('plain_text', sa.Text(), nullable=False, server_default=''))
    connection = op.get_bind()
    post = sa.table('post', sa.column('id', sa.Integer), sa.column('html', sa.Text),
                    sa.column('guid', sa.String), sa.column('plain_text', sa.Text))
    for post_id, rendered in connection.execute(sa.select(post.c.id, post.c.html)).all():
        text = " ".join(html.unescape(TAG.sub("", BLOCK_TAG.sub(" ", rendered))).split())
        connection.execute(post.update().where(post.c.id == post_id)
                           .values(guid=f"urn:uuid:{uuid.uuid4()}", plain_text=text))
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_guid'), ['guid'], unique=True)
    if connection.dialect.name == 'postgresql':
        # SQLite keeps the harmless '' default: dropping it would rebuild the table.
        op.alter_column('post', 'guid', server_default=None)
        op.alter_column('post', 'plain_text', server_default=None)
    for statement in (POSTGRESQL_UP if connection.dialect.name == 'postgresql' else SQLITE_UP):
        op.execute(statement)


def downgrade():
    connection = op.get_bind()
    postgresql = connection.dialect.name == 'postgresql'
    for statement in (POSTGRESQL_DOWN if postgresql else SQLITE_DOWN):
        op.execute(statement)
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_guid'))
    if postgresql:
        op.drop_column('post', 'plain_text')
        op.drop_column('post', 'guid')
    else:
        # A native DROP COLUMN: a batch rebuild would drop `post` and cascade to its tags.
        op.execute('ALTER TABLE post DROP COLUMN plain_text')
        op.execute('ALTER TABLE post DROP COLUMN guid')
