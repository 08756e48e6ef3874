"""Weeknote: a Markdown blog with a weekly digest newsletter."""

from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from blog import admin
from blog.admin import commands as admin_commands
from blog.bounces import commands as bounces_commands
from blog.bounces import webhooks
from blog.config import Config, TestConfig, environment, finish_config
from blog.extensions import cache, celery_init_app, csrf, db, migrate
from blog.newsletter import commands as newsletter_commands
from blog.newsletter.preview import next_digest_words
from blog.platform import (
    assets,
    errors,
    health,
    logs,
    proxies,
    ratelimit,
    security,
    templating,
    upload_limits,
    urls,
)
from blog.platform import commands as platform_commands
from blog.publishing import commands as publishing_commands
from blog.site import archive, cards, digest_pages, discovery, feeds, pagecache, posts, search, tags
from blog.site.digest_pages import latest_digest_url
from blog.subscriptions import commands as subscriptions_commands
from blog.subscriptions import views as subscription_views
from blog.subscriptions.lifecycle import CONSENT_TEXT
from blog.subscriptions.views import form_token

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment (ignored when TESTING), then apply overrides."""
    config = config or {}
    app = Flask(
        __name__,
        static_folder=None,  # blog.platform.assets serves static files under fingerprinted names
        instance_path=str(config.get("INSTANCE_PATH") or PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    instance = Path(app.instance_path)
    app.config.from_object(TestConfig() if config.get("TESTING") else Config(environment(instance)))
    app.config.update(config)
    finish_config(app.config, instance)
    register_extensions(app)
    register_templating(app)
    register_blueprints(app)
    register_commands(app)
    register_errorhandlers(app)
    return app


def register_extensions(app: Flask) -> None:
    logs.init_app(app)
    proxies.init_app(app)
    urls.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    upload_limits.init_app(app)  # before the CSRF check reads a form
    csrf.init_app(app)
    celery_init_app(app)  # only a client here: tasks are sent by name (blog.jobs), never imported
    cache.init_app(app)
    pagecache.init_app(app)
    security.init_app(app)
    ratelimit.init_app(app)


def register_templating(app: Flask) -> None:
    """Filters and globals every template may use; packages register none of their own."""
    templating.init_app(app)
    app.add_template_global(CONSENT_TEXT, "subscribe_consent_text")  # the small form on every page
    app.add_template_global(form_token, "subscribe_form_token")  # its cookie-free token
    app.add_template_global(  # when the first digest comes
        lambda: next_digest_words(db.session, datetime.now(UTC)), "next_digest"
    )
    app.add_template_global(latest_digest_url)
    app.add_template_global(cards.card_url)  # a post's og:image when it has no cover


def register_blueprints(app: Flask) -> None:
    for module in (health, posts, cards, tags, archive, search, feeds, discovery, digest_pages):
        app.register_blueprint(module.bp)
    subscription_views.init_app(app)
    webhooks.init_app(app)
    admin.init_app(app)
    assets.init_app(app)


def register_commands(app: Flask) -> None:
    for commands in (
        platform_commands,
        publishing_commands,
        subscriptions_commands,
        newsletter_commands,
        bounces_commands,
        admin_commands,
    ):
        commands.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    errors.init_app(app)


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, connection_record) -> None:
    """Enforce foreign keys and let readers and the importer share the SQLite file."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
