"""The Alembic revisions build exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from blog.extensions import db
from blog.fulltext import is_search_table


def outside_search_index(object, name, type_, reflected, compare_to) -> bool:
    """The full-text index (FTS5 or tsvector table) is built by its revision, not by the models."""
    return not (type_ == "table" and is_search_table(name))


def schema_differences() -> list:
    with db.engine.connect() as connection:
        opts = {"compare_type": True, "include_object": outside_search_index}
        context = MigrationContext.configure(connection, opts=opts)
        return compare_metadata(context, db.metadata)


def test_migrations_match_models(app):
    with app.app_context():
        assert schema_differences() == []


def test_downgrade_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        tables = {"post", "tag", "post_tag", "redirect", "subscriber", "suppression"}
        assert tables <= set(sa.inspect(db.engine).get_table_names())
        assert schema_differences() == []
