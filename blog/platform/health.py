"""`/healthz`: 200 when the database and Redis (if REDIS_URL is set) answer, else 503 naming the failure."""

import redis
from flask import Blueprint, current_app
from sqlalchemy import text

from blog.extensions import db

bp = Blueprint("health", __name__)


def check_database() -> str:
    """Run SELECT 1 on the app's database; return "ok" or the error."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        return f"{type(error).__name__}: {error}"
    return "ok"


def check_redis(url: str, timeout: float) -> str:
    """PING the Redis at url; return "ok" or the error."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as error:
        return f"{type(error).__name__}: {error}"
    finally:
        client.close()
    return "ok"


@bp.get("/healthz")
def healthz():
    checks = {"database": check_database()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = check_redis(current_app.config["REDIS_URL"], current_app.config["REDIS_TIMEOUT"])
    failed = [name for name, result in checks.items() if result != "ok"]
    body = {"status": "error" if failed else "ok", **checks}
    if failed:
        body["failed"] = failed
    return body, 503 if failed else 200, {"Cache-Control": "no-store"}
