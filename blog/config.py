"""Configuration read from environment variables, with instance-folder defaults."""

import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULTS = {
    "SITE_URL": "http://127.0.0.1:5000",
    "SITE_TITLE": "Weeknote",
    "SITE_DESCRIPTION": "Notes from learning in public.",
    "AUTHOR_NAME": "",
    "TIMEZONE": "UTC",
    "POSTS_PER_PAGE": 10,
    "FEED_ITEMS": 20,
}


class Config:
    """Settings from the environment; unset values fall back to DEFAULTS."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MAX_IMPORT_BYTES = 5 * 1024 * 1024
    PAGE_CACHE = True
    SITE_STATE_SECONDS = 1.0  # how stale a page may be after an edit, per process
    CACHE_KEY_PREFIX = "weeknote:"
    CACHE_DEFAULT_TIMEOUT = 24 * 3600  # entries of an outdated site state just age out

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        for key, default in DEFAULTS.items():
            value = env.get(key) or default
            try:
                setattr(self, key, type(default)(value))
            except ValueError:
                kind = "whole number" if isinstance(default, int) else type(default).__name__
                raise ValueError(f"{key}={value!r} must be a {kind}") from None
        self.SECRET_KEY = env.get("SECRET_KEY") or None
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", ""))
        self.REDIS_URL = env.get("REDIS_URL") or None


class TestConfig(Config):
    """Settings for the test suite: no environment leaks in, a fixed secret."""

    TESTING = True
    SITE_STATE_SECONDS = 0.0  # tests see every change at once

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        super().__init__(environ or {})
        self.SECRET_KEY = "test-secret-key"


def normalise_database_url(url: str) -> str:
    """Point PostgreSQL URLs at psycopg 3; an empty URL means the default SQLite file."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def finish_config(config: dict, instance_path: Path) -> None:
    """Fill in the defaults that live in the instance folder and check what was given."""
    instance_path.mkdir(parents=True, exist_ok=True)
    config["SITE_URL"] = config["SITE_URL"].rstrip("/")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'weeknote.db'}"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_or_create_secret(instance_path / "secret_key")
    try:
        ZoneInfo(config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"TIMEZONE={config['TIMEZONE']!r} is not an IANA time zone (try 'Europe/Berlin')"
        ) from error
    config.setdefault("MEDIA_FOLDER", str(instance_path / "media"))
    # Rendered pages live in Redis when there is one (shared by every worker), else in process.
    if config.get("REDIS_URL"):
        config.setdefault("CACHE_TYPE", "RedisCache")
        config.setdefault("CACHE_REDIS_URL", config["REDIS_URL"])
    else:
        config.setdefault("CACHE_TYPE", "SimpleCache")


def load_or_create_secret(path: Path) -> str:
    """Return the development secret key, generating it on first use."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
