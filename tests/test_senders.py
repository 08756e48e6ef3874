"""Several SMTP connections per worker, shared by every worker, at the relay's pace.

Real Celery workers and beat on the private Redis, the in-process SMTP server made to behave
like a distant, rationed relay (replies held back, an allowance answered with 421 or 454 past
its rate), SQLite and PostgreSQL. What matters is what the relay saw: how many sessions at
once, how many messages a second, and that each subscriber got the digest exactly once.
"""

import time
from collections import Counter

import pytest
from servers import Allowance, CeleryBeat, CeleryWorker, wait_until
from sqlalchemy import func, select
from test_digest_worker import assert_exactly_once, prepare, wait_for_sent

from blog.extensions import db
from blog.models import Delivery


@pytest.fixture
def relay_env(worker_env) -> dict[str, str]:
    """Worker and beat settings: a short claim timeout (so leases live two seconds) and quick retries."""
    return worker_env | {
        "DELIVERY_CLAIM_TIMEOUT": "4",
        "DELIVERY_RETRY_BASE": "0.2",
        "DELIVERY_BATCH_SIZE": "50",
    }


def busiest_second(moments: list[float]) -> int:
    return max((sum(1 for m in moments if start <= m < start + 1) for start in moments), default=0)


def test_one_worker_process_keeps_several_connections_busy(
    mail_site, relay_env, smtp_server, processes, tmp_path
):
    emails = prepare(mail_site, active=200, others=False)
    smtp_server.handler.reply_delay = 0.02  # a relay 20 ms away
    env = relay_env | {"SMTP_CONNECTIONS": "4", "DELIVERY_PARALLEL": "1"}
    processes(CeleryWorker, env, tmp_path / "worker.log")  # one process, one task at a time
    processes(CeleryBeat, env, tmp_path / "beat.log")
    wait_for_sent(mail_site, 90)
    assert smtp_server.handler.peak_sessions == 4
    assert_exactly_once(mail_site, smtp_server, emails)


def test_two_workers_never_open_more_connections_than_smtp_connections(
    mail_site, relay_env, smtp_server, processes, tmp_path
):
    emails = prepare(mail_site, active=300, others=False)
    smtp_server.handler.reply_delay = 0.02
    # Each of the two chains would open two connections: together they may open three.
    env = relay_env | {"SMTP_CONNECTIONS": "3", "DELIVERY_PARALLEL": "2"}
    processes(CeleryWorker, env, tmp_path / "worker1.log")
    processes(CeleryWorker, env, tmp_path / "worker2.log")
    processes(CeleryBeat, env, tmp_path / "beat.log")
    wait_for_sent(mail_site, 120)
    assert smtp_server.handler.peak_sessions == 3
    assert_exactly_once(mail_site, smtp_server, emails)


def test_smtp_rate_limit_holds_across_workers(mail_site, relay_env, smtp_server, processes, tmp_path):
    emails = prepare(mail_site, active=150, others=False)
    smtp_server.handler.reply_delay = 0.01
    smtp_server.handler.allowance = Allowance(rate=40, burst=4)  # the relay's own count: none refused
    env = relay_env | {"SMTP_RATE_LIMIT": "40/s", "SMTP_CONNECTIONS": "4"}
    processes(CeleryWorker, env, tmp_path / "worker1.log")
    processes(CeleryWorker, env, tmp_path / "worker2.log")
    processes(CeleryBeat, env, tmp_path / "beat.log")
    wait_for_sent(mail_site, 120)
    moments = smtp_server.handler.accepted_at
    assert busiest_second(moments) <= 41
    assert smtp_server.handler.throttled == 0  # how close to the allowance it gets: bench/relay.py
    assert_exactly_once(mail_site, smtp_server, emails)


@pytest.mark.parametrize(
    "answer",
    [
        "421 4.7.0 Try again later, closing connection",
        "454 4.7.0 Throttling failure: Maximum sending rate exceeded",
    ],
)
def test_throttling_answers_slow_every_worker_down_and_lose_nothing(
    mail_site, relay_env, smtp_server, processes, tmp_path, answer
):
    emails = prepare(mail_site, active=240, others=False)
    handler = smtp_server.handler
    handler.reply_delay = 0.01
    handler.allowance, handler.throttle_reply = Allowance(rate=30, burst=3), answer
    env = relay_env | {"SMTP_CONNECTIONS": "4"}  # no SMTP_RATE_LIMIT: the answers alone teach the pace
    processes(CeleryWorker, env, tmp_path / "worker1.log")
    processes(CeleryWorker, env, tmp_path / "worker2.log")
    processes(CeleryBeat, env, tmp_path / "beat.log")
    wait_for_sent(mail_site, 180)
    assert handler.throttled > 0, "the relay never had to say it"
    assert handler.throttled < len(emails) / 2, f"{handler.throttled} throttled: nobody slowed down"
    assert_exactly_once(mail_site, smtp_server, emails)
    with mail_site.app_context():  # slowing down is not a failed attempt at anyone's address
        assert db.session.scalar(select(func.sum(Delivery.attempts))) == 0
    # After the first answers everyone keeps under the allowance: the last half took at least
    # as long as the allowance needs for it.
    moments = handler.accepted_at[len(handler.accepted_at) // 2 :]
    assert (len(moments) - 1) / (moments[-1] - moments[0]) <= 30 * 1.1


def test_a_killed_worker_with_several_connections_in_flight_costs_one_duplicate_each_at_most(
    mail_site, relay_env, smtp_server, processes, tmp_path
):
    emails = prepare(mail_site, active=2000, others=False)
    smtp_server.handler.delay = 0.002  # long enough to kill the worker in the middle
    connections = 6
    env = relay_env | {"SMTP_CONNECTIONS": str(connections), "DELIVERY_PARALLEL": "2"}
    first = processes(CeleryWorker, env, tmp_path / "worker1.log", pool="prefork", concurrency=2)
    processes(CeleryBeat, env, tmp_path / "beat.log")
    wait_until(lambda: len(smtp_server.messages) >= 300, 60, "300 messages before the kill")
    handler = smtp_server.handler
    in_flight = set(handler.open)
    first.kill()
    at_kill = len(smtp_server.messages)
    assert at_kill < 2000, "the worker finished before it could be killed"
    assert len(in_flight) > 2, f"only {len(in_flight)} connections were open when the worker was killed"
    processes(CeleryWorker, env, tmp_path / "worker2.log", pool="prefork", concurrency=2)
    wait_for_sent(mail_site, 180)
    for log in ("worker1.log", "worker2.log"):  # a task that overran it was killed too
        assert "Hard time limit" not in (tmp_path / log).read_text(), f"{log}: a task was killed"
    doubled = first_copies_of_duplicates(handler)
    print(f"\nkilled after {at_kill} of 2000 messages, {len(in_flight)} connections open;"
          f" duplicates first sent on connections {sorted(doubled.values())}")  # fmt: skip
    last_on = {number: index for index, number in enumerate(handler.accepted_on)}
    for index, number in doubled.items():
        # The guarantee itself: a message accepted and not recorded is the last its connection
        # carried, on a connection the kill cut (so one per connection at most).
        assert number in in_flight, f"message {index} was sent again though its connection was not cut"
        assert number not in handler.quit, f"message {index} was sent again though its connection ended well"
        assert last_on[number] == index, f"connection {number} went on after an unrecorded message"
    assert_exactly_once(mail_site, smtp_server, emails, allowed_duplicates=len(in_flight))


def first_copies_of_duplicates(handler) -> dict[int, int]:
    """For each address that got the message more than once: where its first copy is in the
    relay's list, and the connection it came on."""
    received = Counter(str(message["To"]) for message in handler.messages)
    doubled = {}
    for index, message in enumerate(handler.messages):
        address = str(message["To"])
        if received[address] > 1:
            doubled[index] = handler.accepted_on[index]
            received[address] = 0
    return doubled


def test_redis_frozen_stops_paced_sending_until_it_answers_again(
    mail_site, relay_env, smtp_server, redis_server, processes, tmp_path
):
    emails = prepare(mail_site, active=300, others=False)
    smtp_server.handler.reply_delay = 0.01
    env = relay_env | {"SMTP_RATE_LIMIT": "50/s", "SMTP_CONNECTIONS": "2"}
    processes(CeleryWorker, env, tmp_path / "worker.log")
    processes(CeleryBeat, env, tmp_path / "beat.log")
    wait_until(lambda: len(smtp_server.messages) >= 50, 60, "50 messages before Redis freezes")
    redis_server.pause()
    try:
        time.sleep(0.5)  # each sender finishes the message it had a token for
        during = len(smtp_server.messages)
        time.sleep(3)
        assert len(smtp_server.messages) == during, "mail went out unthrottled while Redis was away"
    finally:
        redis_server.resume()
    assert during < 300
    wait_for_sent(mail_site, 180)
    assert_exactly_once(mail_site, smtp_server, emails)
