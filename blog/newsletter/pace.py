"""The relay's pace, shared by every worker through Redis: connection leases and the allowance.

Connections. SMTP_CONNECTIONS slots in one sorted set: a member per lease, scored with the
moment (Redis's own clock) it expires. A sender holds a lease for as long as its SMTP
connection is open, and a heartbeat renews it; the leases of a killed worker expire after
lease_ttl, and other workers take the places.

Allowance. Each rate of SMTP_RATE_LIMIT is a token bucket in GCRA form: one "theoretical
arrival time" per rate, so taking a token is one short script. Rates over windows shorter
than an hour are paced evenly (a token every 1/rate seconds, no burst: the relay never sees
more than the rate in any second); hourly and daily allowances are quotas that may be spent
as fast as the short rates allow.

Throttling. A 421, 454 or 4.7.x throttling answer halves a shared "learned" rate (from the
pace the workers were keeping) and pauses every sender for a moment; the learned rate then
grows again by RAMP a second until it reaches the configured rate, or the relay answers again.

When Redis cannot be reached every call raises PaceUnavailable: senders stop and give their
rows back, rather than send unthrottled.
"""

import contextlib
import threading
import time
import uuid
from collections.abc import Sequence

import redis

PAUSE = 1.0  # seconds every sender waits after a throttling answer
RAMP = 1.05  # the learned rate grows 5% a second without a throttling answer
MIN_RATE = 0.2  # messages a second: the learned rate never falls below this
QUOTA_WINDOW = 3600  # rates over windows this long or longer are quotas, spent in bursts
KEY = "weeknote:pace:"

# Leases: KEYS[1] the set; ARGV limit, ttl ms, how many, id prefix. Returns the ids granted.
ACQUIRE = """
local t = redis.call('TIME'); local now = t[1] * 1000 + t[2] / 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
local got = {}
for i = 1, math.min(free, tonumber(ARGV[3])) do
  local id = ARGV[4] .. ':' .. i
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
  got[#got + 1] = id
end
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return got
"""
# KEYS[1] the set; ARGV ttl ms, ids. Renews the leases still held; returns those lost.
RENEW = """
local t = redis.call('TIME'); local now = t[1] * 1000 + t[2] / 1000
local lost = {}
for i = 2, #ARGV do
  local expiry = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if expiry and tonumber(expiry) > now then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
  else
    redis.call('ZREM', KEYS[1], ARGV[i])
    lost[#lost + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])))
return lost
"""
# The learned rate now (0: none), shared by TAKE and THROTTLED; clears itself once it has grown
# past the configured rate (ARGV cap, 0 when there is none).
LEARNED = """
local function learned(h, now, cap)
  local rate = tonumber(redis.call('HGET', h, 'rate') or '0')
  if rate == 0 then return 0 end
  local since = now - tonumber(redis.call('HGET', h, 'rate_at') or now)
  if since > 0 then rate = rate * math.pow(RAMP, since / 1000) end
  if (cap > 0 and rate >= cap) or rate > 1e6 then
    redis.call('HDEL', h, 'rate', 'rate_at', 'tat0')
    return 0
  end
  return rate
end
""".replace("RAMP", str(RAMP))
# KEYS[1] the hash; ARGV wanted, max wait ms, cap, then (interval ms, tolerance ms) per rate.
# Returns {wait ms, tokens granted}: nothing is granted when the wait would be longer than max.
TAKE = (
    LEARNED
    + """
local t = redis.call('TIME'); local now = t[1] * 1000 + t[2] / 1000
local h = KEYS[1]
local wanted = tonumber(ARGV[1])
local rate = learned(h, now, tonumber(ARGV[3]))
local rates = (#ARGV - 3) / 2
local tats = {}
for i = 1, rates do
  tats[i] = tonumber(redis.call('HGET', h, 'tat' .. i) or '0')
  local interval, tolerance = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  wanted = math.min(wanted, math.floor(tolerance / interval) + 1)
end
if rate > 0 then wanted = 1 end
local function start(k)
  local s = math.max(now, tonumber(redis.call('HGET', h, 'until') or '0'))
  for i = 1, rates do
    local interval, tolerance = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
    s = math.max(s, tats[i] + (k - 1) * interval - tolerance)
  end
  if rate > 0 then s = math.max(s, tonumber(redis.call('HGET', h, 'tat0') or '0')) end
  return s
end
local s = start(wanted)
if s > now and wanted > 1 then wanted = 1; s = start(1) end
if s - now > tonumber(ARGV[2]) then return {tostring(s - now), 0} end
for i = 1, rates do
  redis.call('HSET', h, 'tat' .. i, tostring(math.max(tats[i], s) + wanted * tonumber(ARGV[2 + 2 * i])))
end
if rate > 0 then redis.call('HSET', h, 'tat0', tostring(s + 1000 / rate)) end
-- What was granted in the current second, to know the pace kept when the relay objects.
local window = tonumber(redis.call('HGET', h, 'win_at') or '0')
if now - window >= 1000 then
  redis.call('HSET', h, 'kept', tostring((tonumber(redis.call('HGET', h, 'win_n') or '0')) * 1000
    / math.max(now - window, 1000)), 'win_at', tostring(now), 'win_n', '0')
end
redis.call('HINCRBY', h, 'win_n', wanted)
redis.call('PEXPIRE', h, 86400000 * 2)
return {tostring(s - now), wanted}
"""
)
# KEYS[1] the hash; ARGV pause ms, cap (0: none), floor. Halves the learned rate once per
# pause (the answers of every connection to one burst are one event); returns the pause left.
THROTTLED = (
    LEARNED
    + """
local t = redis.call('TIME'); local now = t[1] * 1000 + t[2] / 1000
local h = KEYS[1]
local pause = tonumber(ARGV[1])
redis.call('HINCRBY', h, 'throttles', 1)
local last = tonumber(redis.call('HGET', h, 'throttled_at') or '0')
if now - last < pause then
  return tostring(math.max(0, tonumber(redis.call('HGET', h, 'until') or '0') - now))
end
local rate = learned(h, now, tonumber(ARGV[2]))
if rate == 0 then
  local kept = tonumber(redis.call('HGET', h, 'kept') or '0')
  local window = tonumber(redis.call('HGET', h, 'win_at') or now)
  local current = tonumber(redis.call('HGET', h, 'win_n') or '0') * 1000 / math.max(now - window, 250)
  if kept > 0 then rate = kept else rate = current end
  if tonumber(ARGV[2]) > 0 then rate = math.min(rate, tonumber(ARGV[2])) end
end
rate = math.max(tonumber(ARGV[3]), rate / 2)
redis.call('HSET', h, 'rate', tostring(rate), 'rate_at', tostring(now + pause), 'throttled_at',
  tostring(now), 'until', tostring(now + pause), 'tat0', tostring(now + pause))
redis.call('PEXPIRE', h, 86400000 * 2)
return tostring(pause)
"""
)


class PaceUnavailable(Exception):
    """Redis, which keeps the shared pace, did not answer: stop sending, do not run unthrottled."""


def _buckets(rates: Sequence[tuple[int, int]]) -> list[tuple[float, float]]:
    """(interval ms, tolerance ms) per rate: short windows paced evenly, quotas spent in bursts."""
    buckets = []
    for count, seconds in rates:
        interval = seconds * 1000 / count
        burst = count if seconds >= QUOTA_WINDOW else 1
        buckets.append((interval, (burst - 1) * interval))
    return buckets


def _cap(rates: Sequence[tuple[int, int]]) -> float:
    """The configured rate a learned rate grows back to (messages a second), 0 when none."""
    short = [count / seconds for count, seconds in rates if seconds < QUOTA_WINDOW]
    return min(short) if short else 0.0


class Pace:
    """The shared pace in Redis: leases on SMTP_CONNECTIONS, and tokens for SMTP_RATE_LIMIT."""

    def __init__(self, client: redis.Redis, connections: int, rates: Sequence[tuple[int, int]],
                 lease_ttl: float) -> None:  # fmt: skip
        self.client, self.connections, self.lease_ttl = client, connections, lease_ttl
        self.buckets, self.cap = _buckets(rates), _cap(rates)
        sources = {"acquire": ACQUIRE, "renew": RENEW, "take": TAKE, "throttled": THROTTLED}
        self.scripts = {name: client.register_script(source) for name, source in sources.items()}

    def _run(self, name: str, keys: list[str], args: list) -> object:
        try:
            return self.scripts[name](keys=keys, args=args)
        except redis.RedisError as error:
            raise PaceUnavailable(f"Redis did not answer ({type(error).__name__}: {error})") from error

    def acquire(self, wanted: int) -> list[str]:
        """Up to `wanted` connection leases, fewer (or none) when others hold the rest."""
        prefix = uuid.uuid4().hex
        granted = self._run(
            "acquire", [KEY + "leases"], [self.connections, self.lease_ttl * 1000, wanted, prefix]
        )
        return [lease.decode() if isinstance(lease, bytes) else lease for lease in granted]

    def renew(self, leases: Sequence[str]) -> set[str]:
        """Renew the leases; returns those that had expired (their places may be taken)."""
        if not leases:
            return set()
        lost = self._run("renew", [KEY + "leases"], [self.lease_ttl * 1000, *leases])
        return {lease.decode() if isinstance(lease, bytes) else lease for lease in lost}

    def release(self, leases: Sequence[str]) -> None:
        if leases:
            with contextlib.suppress(redis.RedisError):  # else they expire by themselves
                self.client.zrem(KEY + "leases", *leases)

    def take(self, wanted: int, max_wait: float) -> tuple[float, int]:
        """Book up to `wanted` messages: (seconds to wait before sending, how many were granted).
        Nothing is granted when the wait would exceed max_wait; the first value is then the wait."""
        args = [wanted, max_wait * 1000, self.cap]
        for interval, tolerance in self.buckets:
            args += [interval, tolerance]
        wait, granted = self._run("take", [KEY + "bucket"], args)
        return max(0.0, float(wait) / 1000), int(granted)

    def throttled(self) -> float:
        """The relay asked to slow down: halve the shared rate; returns the seconds to pause."""
        return float(self._run("throttled", [KEY + "bucket"], [PAUSE * 1000, self.cap, MIN_RATE])) / 1000


class LocalPace:
    """The same pace in this process only, for sending without Redis (development, `make run`
    without a worker): leases are counted here, and the rates paced with the same buckets."""

    def __init__(self, connections: int, rates: Sequence[tuple[int, int]]) -> None:
        self.connections, self.buckets = connections, _buckets(rates)
        self.lock = threading.Lock()
        self.held: set[str] = set()
        self.tats = [0.0] * len(self.buckets)
        self.until = 0.0

    def acquire(self, wanted: int) -> list[str]:
        with self.lock:
            granted = [uuid.uuid4().hex for _ in range(min(wanted, self.connections - len(self.held)))]
            self.held.update(granted)
            return granted

    def renew(self, leases: Sequence[str]) -> set[str]:
        return set()

    def release(self, leases: Sequence[str]) -> None:
        with self.lock:
            self.held.difference_update(leases)

    def take(self, wanted: int, max_wait: float) -> tuple[float, int]:
        with self.lock:
            now = time.monotonic() * 1000
            for interval, tolerance in self.buckets:
                wanted = min(wanted, int(tolerance // interval) + 1)
            start = max(now, self.until)
            for tat, (interval, tolerance) in zip(self.tats, self.buckets, strict=True):
                start = max(start, tat + (wanted - 1) * interval - tolerance)
            if start - now > max_wait * 1000:
                return (start - now) / 1000, 0
            self.tats = [
                max(tat, start) + wanted * interval
                for tat, (interval, _) in zip(self.tats, self.buckets, strict=True)
            ]
            return (start - now) / 1000, wanted

    def throttled(self) -> float:
        with self.lock:
            self.until = max(self.until, time.monotonic() * 1000 + PAUSE * 1000)
        return PAUSE
