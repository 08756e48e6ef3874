"""`/healthz` answers 200 when the database and Redis answer, 503 naming what failed otherwise."""

from helpers import make_app
from servers import RedisServer, free_port, require_program


def test_healthz_without_redis_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_checks_redis_when_configured(app_factory, redis_url):
    response = app_factory(REDIS_URL=redis_url).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_answers_503_when_redis_is_down(app_factory, tmp_path):
    server = RedisServer(require_program("redis-server"), tmp_path)
    client = app_factory(REDIS_URL=server.url).test_client()
    assert client.get("/healthz").status_code == 200
    server.stop()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    assert response.json["failed"] == ["redis"]
    assert response.json["database"] == "ok"
    assert "ConnectionError" in response.json["redis"]


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    app = make_app(tmp_path / "instance", f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["failed"] == ["database"]
    assert "OperationalError" in response.json["database"]
