"""search text without code and footnote marks; code blocks reachable by keyboard

Revision ID: e7a9c1d3f5b8
Revises: d5e7f9a1b3c6
Create Date: 2026-12-03 09:00:00.000000

post.plain_text (what search indexes and quotes) leaves out code blocks and footnote numbers
from now on; the posts already stored get the same text again, and the search index follows
through its triggers. Code blocks get tabindex="0" (a keyboard can scroll a wide one), as the
sanitiser now gives new posts. No schema change.
"""
import html
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a9c1d3f5b8'
down_revision = 'd5e7f9a1b3c6'
branch_labels = None
depends_on = None

# Frozen copies of blog/content/summary.py as of this revision.
TAG = re.compile(r"<[^>]+>")
BLOCK_TAG = re.compile(r"</?(?:p|br|li|h[1-6]|div|tr|td|th|blockquote|pre|ul|ol|dt|dd|figure)\b[^>]*>")
CODE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.DOTALL)
PRE_WITHOUT_TABINDEX = re.compile(r"<pre\b(?![^>]*\btabindex=)")
FOOTNOTE_MARKS = re.compile(r'<sup id="fnref[^"]*">.*?</sup>|<a class="footnote-backref"[^>]*>.*?</a>', re.DOTALL)


def text_of(rendered, prose):
    if prose:
        rendered = FOOTNOTE_MARKS.sub("", CODE_BLOCK.sub(" ", rendered))
    return " ".join(html.unescape(TAG.sub("", BLOCK_TAG.sub(" ", rendered))).split())


def with_tabindex(rendered, on):
    if on:
        return PRE_WITHOUT_TABINDEX.sub('<pre tabindex="0"', rendered)
    return rendered.replace('<pre tabindex="0"', "<pre")


def refill(prose):
    connection = op.get_bind()
    post = sa.table('post', sa.column('id', sa.Integer), sa.column('html', sa.Text),
                    sa.column('plain_text', sa.Text))
    for post_id, rendered in connection.execute(sa.select(post.c.id, post.c.html)).all():
        connection.execute(post.update().where(post.c.id == post_id)
                           .values(plain_text=text_of(rendered or "", prose),
                                   html=with_tabindex(rendered or "", prose)))


def upgrade():
    refill(prose=True)


def downgrade():
    refill(prose=False)
