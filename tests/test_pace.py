"""The shared pace on a real Redis: connection leases, the token bucket across processes, throttling."""

import json
import subprocess
import sys
import time

import pytest
import redis

from blog.newsletter.pace import PAUSE, Pace, PaceUnavailable


def pace(url: str, connections: int = 4, rates=(), lease_ttl: float = 30.0, timeout: float = 2.0) -> Pace:
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return Pace(client, connections, rates, lease_ttl)


def test_leases_never_exceed_the_cap_and_a_dead_holders_come_back(redis_url):
    one, other = pace(redis_url, 3, lease_ttl=1.0), pace(redis_url, 3, lease_ttl=1.0)
    mine = one.acquire(2)
    theirs = other.acquire(2)
    assert (len(mine), len(theirs)) == (2, 1)  # three in all, whoever asks
    assert other.acquire(1) == []
    one.release(mine[:1])
    assert len(other.acquire(5)) == 1
    time.sleep(0.6)
    assert one.renew(mine[1:]) == set()  # renewed in time: still held
    time.sleep(0.6)
    # The other holder died (never renewed): its places come back; the renewed one is still held.
    assert len(one.acquire(5)) == 2
    assert other.renew(theirs) == set(theirs)  # and it learns its lease is gone


CHILD = """
import json, sys, time, redis
from blog.newsletter.pace import Pace
url, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pace = Pace(redis.Redis.from_url(url), 4, ((rate, 1),), 30)
sent, end = [], time.time() + seconds
while time.time() < end:
    wait, granted = pace.take(10, 5)
    time.sleep(wait)
    sent += [time.time()] * granted
print(json.dumps(sent))
"""


def test_the_token_bucket_holds_one_rate_across_worker_processes(redis_url):
    rate, seconds = 40, 3.0
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, redis_url, str(rate), str(seconds)], stdout=subprocess.PIPE
        )
        for _ in range(3)
    ]
    moments = sorted(moment for worker in workers for moment in json.loads(worker.communicate(timeout=30)[0]))
    assert all(worker.returncode == 0 for worker in workers)
    # Paced evenly: in no second do the three processes together send more than the rate allows
    # (two more for the edges of the window and the sleeps' lateness), and together they fill it.
    busiest = max(sum(1 for m in moments if start <= m < start + 1) for start in moments)
    assert busiest <= rate + 2, busiest
    assert len(moments) >= rate * (seconds - 0.5), len(moments)


def test_a_daily_allowance_is_a_quota_spent_at_once_then_waited_for(redis_url):
    quota = pace(redis_url, rates=((5, 86400),))
    assert quota.take(10, 1.0)[1] == 5  # the day's five at once: not paced over the day
    wait, granted = quota.take(1, 1.0)
    assert granted == 0 and wait > 3600  # nothing more today; the wait says for how long


def test_a_throttling_answer_pauses_every_sender_and_halves_the_rate_once(redis_url):
    one, other = pace(redis_url), pace(redis_url)
    for _ in range(20):  # unpaced: about 100 messages a second, as the relay sees them
        assert one.take(5, 1.0) == (0.0, 5)
        time.sleep(0.05)
    assert one.throttled() == pytest.approx(PAUSE)
    assert other.throttled() <= PAUSE  # the same burst seen on another connection: one event
    wait, granted = other.take(5, 5.0)
    assert granted == 1 and wait == pytest.approx(PAUSE, abs=0.1)  # everyone pauses, then is paced
    time.sleep(wait)
    started, sent = time.monotonic(), 0
    while time.monotonic() - started < 1.0:
        wait, granted = one.take(5, 5.0)
        time.sleep(wait)
        sent += granted
    assert 30 <= sent <= 70, sent  # about half the pace that was kept, not a second halving


def test_without_redis_the_pace_says_so_instead_of_letting_mail_through(redis_server, redis_url):
    frozen = pace(redis_url, rates=((10, 1),), timeout=0.5)
    frozen.take(1, 1.0)
    redis_server.pause()
    try:
        with pytest.raises(PaceUnavailable):
            frozen.take(1, 1.0)
        with pytest.raises(PaceUnavailable):
            frozen.acquire(1)
    finally:
        redis_server.resume()
    assert frozen.take(1, 1.0)[1] == 1
