"""Weeknote: a Markdown blog with a weekly digest newsletter."""

from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from blog import (
    admin,
    archive,
    assets,
    cli,
    digest_pages,
    discovery,
    feeds,
    health,
    logs,
    pagecache,
    posts,
    ratelimit,
    search,
    security,
    subscribe,
    tags,
    templating,
)
from blog.config import Config, TestConfig, finish_config
from blog.extensions import cache, csrf, db, migrate
from worker.celery_app import celery_init_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment (ignored when TESTING), then apply overrides."""
    config = config or {}
    app = Flask(
        __name__,
        static_folder=None,  # blog.assets serves static files under fingerprinted names
        instance_path=str(config.get("INSTANCE_PATH") or PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_object(TestConfig() if config.get("TESTING") else Config())
    app.config.update(config)
    finish_config(app.config, Path(app.instance_path))
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    register_errorhandlers(app)
    return app


def register_extensions(app: Flask) -> None:
    logs.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    celery_init_app(app)  # only a client here: tasks are sent by name (blog.jobs), never imported
    cache.init_app(app)
    pagecache.init_app(app)
    templating.init_app(app)
    security.init_app(app)
    ratelimit.init_app(app)


def register_blueprints(app: Flask) -> None:
    for module in (health, posts, tags, archive, search, feeds, discovery, digest_pages):
        app.register_blueprint(module.bp)
    subscribe.init_app(app)
    admin.init_app(app)
    assets.init_app(app)


def register_commands(app: Flask) -> None:
    cli.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(404, posts.not_found)
    app.register_error_handler(500, posts.server_error)


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, connection_record) -> None:
    """Enforce foreign keys and let readers and the importer share the SQLite file."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
