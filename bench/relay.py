"""Delivery against a relay that behaves like one: far away and rationed.

An SMTP server in this process (aiosmtpd) holds every reply back by --delay (default 40 ms,
a round trip to a distant relay; later commands are still read meanwhile), accepts at most
--allowance messages a second across all connections (a token bucket with bursts of a tenth
of a second; past it, `421 4.7.0`, and the connection closes) and counts what it accepted,
refused and saw twice (by Message-ID). One digest to N subscribers (10,000 by default) goes
through the real worker (prefork, two processes, SMTP_CONNECTIONS shared between them), with
SMTP_RATE_LIMIT set to --rate-limit (default the allowance; `none` to leave it unset and let
the 421s alone teach the pace).

Prints Weeknote's accepted messages/second, the allowance and their ratio, the throttling
answers, duplicates, lost messages and the worker's peak RSS. Goals: at least 0.95 of the
allowance, at most 1% of messages answered with a throttling code, 0 duplicates, 0 lost.

    python bench/relay.py [--subscribers N] [--delay S] [--allowance N] [--rate-limit R|none]
                          [--connections N] [--database-url URL]
"""

import argparse
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from deliver import free_port, need, run_worker, seed, wait_for_port

from blog import create_app

MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


class Relay:
    """What the relay saw: accepted, throttled and repeated messages; its allowance as a bucket."""

    def __init__(self, delay: float, allowance: float, burst: float) -> None:
        self.delay, self.rate, self.burst = delay, allowance, burst
        self.tokens, self.at = burst, time.monotonic()
        self.lock = threading.Lock()
        self.accepted = self.throttled = self.duplicates = 0
        self.seen: set[bytes] = set()
        self.first = self.last = 0.0
        self.sessions = self.peak_sessions = 0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        session.host_name = hostname
        responses.insert(-1, "250-PIPELINING")  # as relays do (RFC 2920)
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            if not self.take():
                self.throttled += 1
                return "421 4.7.0 Try again later, closing connection"
            found = MESSAGE_ID.search(envelope.original_content[:4096])
            key = found.group(1) if found else envelope.original_content
            self.duplicates += key in self.seen
            self.seen.add(key)
            self.accepted += 1
            self.last = time.monotonic()
            self.first = self.first or self.last
        return "250 OK"


class DistantSMTP(SMTP):
    """Replies leave `delay` after their command arrived, in order, without holding up the
    session; a 421 closes the connection, as relays do. Counts the sessions open at once."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        relay = self.event_handler
        relay.sessions += 1
        relay.peak_sessions = max(relay.peak_sessions, relay.sessions)

    def connection_lost(self, error) -> None:
        super().connection_lost(error)
        self.event_handler.sessions -= 1

    async def push(self, status) -> None:
        response = status.encode() if isinstance(status, str) else status
        self.loop.call_later(self.event_handler.delay, self._write_late, response + b"\r\n")

    def _write_late(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            if data.startswith(b"421"):
                self.transport.close()


class RelayController(Controller):
    def factory(self):
        return DistantSMTP(self.handler, **self.SMTP_kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.040, help="seconds each reply is held back")
    parser.add_argument("--allowance", type=float, default=100.0, help="messages a second the relay accepts")
    parser.add_argument("--rate-limit", default=None, help="SMTP_RATE_LIMIT (default: the allowance; none)")
    parser.add_argument("--connections", type=int, default=None, help="SMTP_CONNECTIONS (default: the app's)")
    parser.add_argument("--database-url", help="an empty database; default: a scratch SQLite file")
    args = parser.parse_args()
    rate_limit = f"{args.allowance:g}/s" if args.rate_limit is None else args.rate_limit
    relay = Relay(args.delay, args.allowance, max(1.0, args.allowance / 10))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        redis_port, relay_port = free_port(), free_port()
        redis = subprocess.Popen(
            [need("redis-server", "redis-server"), "--port", str(redis_port), "--save", "",
             "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        controller = RelayController(relay, hostname="127.0.0.1", port=relay_port)
        controller.start()
        try:
            wait_for_port(redis_port)
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("SMTP_", "DATABASE_URL", "REDIS_URL", "DKIM_", "DELIVERY_"))
            } | {
                "DATABASE_URL": args.database_url or f"sqlite:///{folder / 'bench.db'}",
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "SECRET_KEY": "bench",
                "SITE_URL": "https://blog.bench.test",
                "MAIL_FROM": "Weeknote <digest@bench.test>",
                "MAIL_POSTAL_ADDRESS": "1 Bench Street",
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(relay_port),
                "SMTP_SECURITY": "none",
                "LOG": str(folder / "worker.log"),
            }
            if rate_limit.lower() != "none":
                env["SMTP_RATE_LIMIT"] = rate_limit
            if args.connections:
                env["SMTP_CONNECTIONS"] = str(args.connections)
            os.environ.update({k: v for k, v in env.items() if k != "LOG"})
            app = create_app({"INSTANCE_PATH": str(folder / "instance")})
            digest_id, size = seed(app, args.subscribers)
            elapsed, peaks, numbers = run_worker(env, app, digest_id, args.subscribers, processes=2)
        finally:
            controller.stop()
            redis.terminate()

    count = args.subscribers
    rate = count / elapsed
    answered = relay.accepted + relay.throttled
    lost = count - len(relay.seen)
    print(f"subscribers:            {count}  (message size {size} bytes)")
    print(
        f"relay:                  {args.delay * 1000:.0f} ms a reply, allowance {args.allowance:g} messages/s"
    )
    print(f"SMTP_RATE_LIMIT:        {env.get('SMTP_RATE_LIMIT', '(unset)')}, "
          f"SMTP_CONNECTIONS: {env.get('SMTP_CONNECTIONS', app.config['SMTP_CONNECTIONS'])}")  # fmt: skip
    print(
        f"accepted:               {rate:9.1f} messages/s  ({elapsed:.1f} s from queueing to the digest sent)"
    )
    print(f"accepted / allowance:   {rate / args.allowance:9.3f}  (goal: at least 0.95)")
    steady = (relay.accepted - 1) / max(relay.last - relay.first, 0.001)
    print(f"as the relay saw it:    {steady:9.1f} messages/s from its first acceptance to its last, "
          f"at most {relay.peak_sessions} connections at once")  # fmt: skip
    print(f"throttling answers:     {relay.throttled:9d}  ({relay.throttled / max(answered, 1):.2%} of "
          f"{answered} answers; goal: at most 1%)")  # fmt: skip
    print(f"duplicates:             {relay.duplicates:9d}  (goal: 0)")
    print(f"lost:                   {lost:9d}  (goal: 0; rows {numbers})")
    print(f"worker peak RSS:        {max(peaks.values()) / 1024:9.1f} MiB per process (largest), "
          f"{sum(peaks.values()) / 1024:.1f} MiB in all {len(peaks)} processes")  # fmt: skip


if __name__ == "__main__":
    main()
