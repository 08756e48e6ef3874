"""The Alembic revisions build exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from blog.extensions import db


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
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
