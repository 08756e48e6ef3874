"""Outages caused for real: Redis stopped or frozen around what visitors and the author do.

Real Redis, a real Celery worker and beat, the in-process SMTP server. The figures that matter
are what was lost, doubled or kept waiting.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers import SITE, add_post, subscribe, subscriber
from servers import CeleryBeat, CeleryWorker, wait_until

from blog.extensions import db
from blog.models import SubscriberStatus


@pytest.fixture
def site(app_factory, redis_url, smtp_config):
    return app_factory(REDIS_URL=redis_url, **SITE, **smtp_config)


@pytest.fixture
def worker_env(site, database_url, redis_url, smtp_server) -> dict[str, str]:
    return SITE | {
        "SECRET_KEY": site.config["SECRET_KEY"],
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_SECURITY": "none",
        "DISPATCH_INTERVAL": "0.5",
    }


def timed(action) -> tuple[object, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def confirmations_to(smtp_server, address: str) -> int:
    return sum(message["To"] == address for message in smtp_server.messages)


def test_subscribing_while_redis_is_down_thanks_at_once_and_the_confirmation_follows_once(
    site, redis_server, smtp_server, worker_env, processes, tmp_path
):
    client = site.test_client()
    assert client.get("/subscribe").status_code == 200
    redis_server.kill()
    answer, took = timed(lambda: subscribe(client, "ann@example.com"))
    assert answer.status_code == 303 and answer.location.endswith("/subscribe/thanks")
    assert took < 2, f"the visitor waited {took:.1f} s"
    assert subscriber(site, "ann@example.com").status == SubscriberStatus.PENDING
    redis_server.start()  # empty: whatever was queued before is gone
    processes(CeleryWorker, worker_env, tmp_path / "worker.log")
    processes(CeleryBeat, worker_env, tmp_path / "beat.log")
    smtp_server.wait_for(1, timeout=30)
    time.sleep(3)  # several more sweeps: none may send it again
    assert confirmations_to(smtp_server, "ann@example.com") == 1


def test_a_frozen_redis_keeps_no_visitor_waiting(site, redis_server, posts_for_faults):
    client = site.test_client()
    assert client.get("/subscribe").status_code == 200
    redis_server.pause()
    try:
        for path in ("/", "/posts/first/", "/search?q=first", "/tags/", "/feed.xml"):
            answer, took = timed(lambda path=path: client.get(path))
            assert answer.status_code == 200 and took < 2, f"{path}: {answer.status_code} after {took:.1f} s"
        answer, took = timed(lambda: subscribe(client, "bob@example.com"))
        assert answer.status_code == 303 and took < 2, f"subscribe: {answer.status_code} after {took:.1f} s"
        health, took = timed(lambda: client.get("/healthz"))
        assert health.status_code == 503 and health.json["failed"] == ["redis"] and took < 2
    finally:
        redis_server.resume()
    wait_until(lambda: client.get("/healthz").status_code == 200, 10, "healthz to recover")


@pytest.fixture
def posts_for_faults(site):
    with site.app_context():
        add_post("First", datetime.now(UTC) - timedelta(days=1), tags=("rust",))
        db.session.commit()
