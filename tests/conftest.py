"""Fixtures: an app on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from helpers import (
    AUTHOR_EMAIL,
    AUTHOR_PASSWORD,
    BACKENDS,
    CHROMIUM,
    CHROMIUM_ARGS,
    CONTENT,
    SITE,
    add_post,
    add_subscribers,
    make_app,
    require,
    sign_in,
)
from servers import CeleryWorker, RedisServer, SMTPServer, require_program
from sqlalchemy import event

from blog.admin import authors
from blog.config import normalise_database_url
from blog.extensions import db


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    app = make_app(folder / "instance", f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    """The PostgreSQL test database, emptied and migrated once per run."""
    url = normalise_database_url(os.environ["TEST_DATABASE_URL"])
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgresql_url")


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(tmp_path / "instance", database_url)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            upgrade()  # no-op after the first test; then start from empty tables
            tables = ", ".join(table.name for table in db.metadata.sorted_tables)
            db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def author(app) -> str:
    """An author who can sign in with AUTHOR_EMAIL and AUTHOR_PASSWORD; returns the address."""
    with app.app_context():
        authors.create_author(db.session, AUTHOR_EMAIL, AUTHOR_PASSWORD)
        db.session.commit()
    return AUTHOR_EMAIL


@pytest.fixture
def admin(client, author):
    """A test client signed in as the author, as a browser would be after the sign-in form."""
    response = sign_in(client, author, AUTHOR_PASSWORD)
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def shapes(tmp_path) -> Path:
    """A copy of the five post shapes (Gatsby, Jekyll, Next.js, plain, description)."""
    target = tmp_path / "shapes"
    shutil.copytree(CONTENT / "shapes", target)
    return target


@pytest.fixture
def write_post(tmp_path):
    """Write a post file under tmp_path/posts and return its path."""

    def write(name: str, text: str | bytes) -> Path:
        path = tmp_path / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def app_factory(app, database_url, tmp_path):
    """Build more apps on the test's database and instance folder, with config overrides."""
    built = []

    def build(**overrides):
        other = make_app(tmp_path / "instance", database_url, **overrides)
        built.append(other)
        return other

    yield build
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private redis-server for this test run (never the shared one on port 6379)."""
    server = RedisServer(require_program("redis-server"), tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The private Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def smtp_server():
    """An SMTP server in this process that keeps every message it accepts."""
    server = SMTPServer()
    yield server
    server.stop()


@pytest.fixture
def smtp_config(smtp_server) -> dict:
    """App settings that send mail to smtp_server."""
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "SMTP_SECURITY": "none"}


@pytest.fixture
def mail_site_config() -> dict:
    """Settings mail_site adds to SITE's: none here; a module that needs more overrides this fixture."""
    return {}


@pytest.fixture
def mail_site(app_factory, smtp_config, mail_site_config):
    """The site (SITE's settings plus mail_site_config) on the test database, its mail going to
    smtp_server. No REDIS_URL: digests are sent in the request or command, as in development."""
    return app_factory(**(SITE | smtp_config | mail_site_config))


@pytest.fixture
def week(mail_site) -> None:
    """In mail_site: three posts this week (Newest, Middle, Oldest: one, two and three days ago,
    tagged rust), one from last month and a draft; four active subscribers (reader0@example.com
    to reader3@example.com), one pending and one unsubscribed."""
    now = datetime.now(UTC)
    with mail_site.app_context():
        for day, title in ((1, "Newest"), (2, "Middle"), (3, "Oldest")):
            add_post(title, now - timedelta(days=day), tags=("rust",))
        add_post("Last month", now - timedelta(days=30))
        add_post("Draft", now - timedelta(days=1), draft=True)
        add_subscribers(4)
        add_subscribers(1, status="pending", prefix="pending")
        add_subscribers(1, status="unsubscribed", prefix="gone")
        db.session.commit()


@pytest.fixture
def process_env(app, database_url, redis_url, smtp_server) -> dict[str, str]:
    """What a worker or beat process started by a test needs: the test's database, the private
    Redis, smtp_server and the app's secret (they run from environment variables only)."""
    return {
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_SECURITY": "none",
    }


@pytest.fixture
def worker_env(process_env) -> dict[str, str]:
    """process_env for the site of SITE (mail_site's), with a beat that ticks every half second."""
    return SITE | process_env | {"DISPATCH_INTERVAL": "0.5"}


@pytest.fixture
def celery_worker(app, process_env, tmp_path):
    """A real Celery worker process on the private Redis, the test database and smtp_server."""
    env = process_env | {"SITE_URL": app.config["SITE_URL"], "MAIL_FROM": app.config["MAIL_FROM"]}
    worker = CeleryWorker(env, tmp_path / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture
def processes():
    """Start Celery processes through this; all are stopped at the end of the test."""
    started = []

    def start(kind, *args, **kwargs):
        process = kind(*args, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def count_statements(app):
    """Run a callable and return the SQL statements it sent to the database."""

    def count(action) -> list[str]:
        statements: list[str] = []
        with app.app_context():
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                action()
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
        return statements

    return count


@pytest.fixture
def import_posts(runner, tmp_path):
    """Import the posts under tmp_path/posts (written with write_post) and fail loudly on errors."""

    def run(*paths: Path) -> None:
        result = runner.invoke(args=["import", *(str(p) for p in paths or [tmp_path / "posts"])])
        assert result.exit_code == 0, result.output

    return run


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the whole run (Playwright allows one)."""
    if not CHROMIUM.exists():
        require("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
