"""Fixtures: an app on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import event

from blog import create_app
from blog.config import normalise_database_url
from blog.extensions import db

CONTENT = Path(__file__).parent / "content"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def make_app(instance: Path, database_url: str, **overrides):
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
    }
    return create_app(config | overrides)


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


def require(what: str, hint: str) -> None:
    """Skip when a real component is missing on a developer's machine; fail under CI."""
    message = f"{what} is not available: {hint}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A private redis-server on a free port, without persistence, for this test run only."""
    binary = shutil.which("redis-server")
    if binary is None:
        require("redis-server", "install it (apt-get install redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("the private redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


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
