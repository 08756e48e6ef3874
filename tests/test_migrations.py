"""The Alembic revisions build exactly the schema the models describe."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from blog.extensions import db
from blog.site.fulltext import is_search_table


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


def test_status_checks_keep_every_digest_and_delivery_and_refuse_unknown_statuses(app):
    """The revision that adds the CHECKs copies the tables on SQLite: nothing may cascade away."""
    with app.app_context():
        downgrade(revision="c3d9cacd4c76")
        for statement in (
            "INSERT INTO digest (id, scheduled_for, period_start, period_end, status, post_ids, subject,"
            " html, text, created_at) VALUES (1, '2026-01-01', '2026-01-01', '2026-01-01', 'sent', '[]',"
            " 's', 'h', 't', '2026-01-01')",
            "INSERT INTO subscriber (id, email, email_key, status, token_secret, created_at, bounce_count,"
            " consent_source) VALUES (1, 'a@example.com', 'a@example.com', 'active', 's', '2026-01-01', 0,"
            " 'form')",
            "INSERT INTO delivery (digest_id, subscriber_id, status, attempts) VALUES (1, 1, 'sent', 0)",
        ):
            db.session.execute(sa.text(statement))
        db.session.commit()
        upgrade()
        assert db.session.execute(sa.text("SELECT digest_id, status FROM delivery")).all() == [(1, "sent")]
        for statement in ("UPDATE digest SET status = 'lost'", "UPDATE delivery SET status = 'lost'"):
            try:
                db.session.execute(sa.text(statement))
                db.session.commit()
            except sa.exc.IntegrityError:
                db.session.rollback()
            else:
                raise AssertionError(f"{statement} was allowed")
        assert schema_differences() == []


def test_confirmations_asked_for_before_the_outbox_revision_stay_due(app):
    with app.app_context():
        downgrade(revision="02e83e875f2a")
        recent = datetime.now(UTC) - timedelta(minutes=3)
        old = datetime.now(UTC) - timedelta(days=3)
        for number, sent_at in enumerate((recent, old)):
            if db.engine.dialect.name == "sqlite":
                sent_at = sent_at.replace(tzinfo=None)
            db.session.execute(
                sa.text(
                    "INSERT INTO subscriber (id, email, email_key, status, token_secret, created_at,"
                    " bounce_count, consent_source, confirmation_sent_at) VALUES (:id, :email, :email,"
                    " 'pending', 's', :at, 0, 'form', :at)"
                ),
                {"id": number + 1, "email": f"p{number}@example.com", "at": sent_at},
            )
        db.session.commit()
        upgrade()
        due = db.session.execute(sa.text("SELECT id FROM subscriber WHERE confirmation_due_at IS NOT NULL"))
        assert [row[0] for row in due] == [1]


def test_a_claim_walks_the_digest_status_id_index_in_order_without_sorting(app):
    """The claim reads a digest's pending rows in id order and stops at the batch size: on both
    databases the plan uses (digest_id, status, id), with no sort of every pending row."""
    with app.app_context():
        downgrade(revision="5b1f0c9d7e21")
        upgrade()
        [index] = [
            i for i in sa.inspect(db.engine).get_indexes("delivery") if i["name"].startswith("ix_delivery_d")
        ]
        assert (index["name"], index["column_names"]) == (
            "ix_delivery_digest_status_id",
            ["digest_id", "status", "id"],
        )
        for digest_id in (1, 2):  # last week's digest, all sent; this week's, three quarters sent
            db.session.execute(
                sa.text(
                    "INSERT INTO digest (id, scheduled_for, period_start, period_end, status, post_ids,"
                    " subject, html, text, created_at, message_key)"
                    " VALUES (:id, :at, :at, :at, 'sending', '[]', 's', 'h', 't', :at, 'key' || :id)"
                ),
                {"id": digest_id, "at": datetime(2026, 1, digest_id, tzinfo=UTC).replace(tzinfo=None)},
            )
        numbers = (
            "generate_series(1, 40000) AS g(n)"
            if db.engine.dialect.name == "postgresql"
            else "(WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 40000)"
            " SELECT n FROM g)"
        )
        db.session.execute(
            sa.text(
                "INSERT INTO delivery (digest_id, status, attempts)"
                " SELECT CASE WHEN n <= 20000 THEN 1 ELSE 2 END,"
                f" CASE WHEN n <= 35000 THEN 'sent' ELSE 'pending' END, 0 FROM {numbers}"
            )
        )
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        claim = "SELECT id FROM delivery WHERE digest_id = 2 AND status = 'pending' ORDER BY id LIMIT 200"
        explain = "EXPLAIN " if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        plan = " ".join(str(row[-1]) for row in db.session.execute(sa.text(explain + claim)))
        assert "ix_delivery_digest_status_id" in plan
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
