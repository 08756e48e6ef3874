"""Delivery speed and memory: one digest through the real Celery worker to a local smtp-sink.

Creates N active subscribers (10,000 by default; --large for 100,000) in a scratch
database, sends one digest with `celery -A worker.main worker` (prefork, 2 processes,
SMTP_CONNECTIONS --connections, default 4, shared between them: a sender thread each)
through a private Redis to Postfix's `smtp-sink`, and prints messages/second and the
worker's peak RSS. In the same run, `smtp-source` sends the same number of same-sized
messages over the same number of connections, as the reference. Goals: at least 50% of
the smtp-source rate, on SQLite and on PostgreSQL (--database-url); peak RSS of a worker
process no higher with 8 connections than it was with one (108 MB), and at 100,000
subscribers within 1.1x of that at 10,000.

Needs redis-server and Postfix's smtp-sink/smtp-source (Debian: apt-get install postfix).

    python bench/deliver.py [--subscribers N | --large] [--connections N] [--database-url URL]
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import insert, select

from blog import create_app
from blog.extensions import db
from blog.models import Digest, Post, Subscriber, as_utc
from blog.newsletter import delivery
from blog.newsletter.digests import create_digest
from blog.newsletter.mailer import Recipient
from blog.newsletter.progress import digest_counts
from blog.newsletter.sending import composer_from_app, mailer_for, queue_digest

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 2  # worker processes; the SMTP connections are shared between them


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


def need(program: str, package: str) -> str:
    path = shutil.which(program) or (
        f"/usr/sbin/{program}" if Path(f"/usr/sbin/{program}").exists() else None
    )
    if path is None:
        raise SystemExit(f"{program} is missing: apt-get install {package}")
    return path


def start_sink(port: int) -> subprocess.Popen:
    sink = subprocess.Popen(
        [need("smtp-sink", "postfix"), "-u", "nobody", f"127.0.0.1:{port}", "256"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return sink


def seed(app, count: int) -> tuple[int, int]:
    """Subscribers, three posts and a digest fanned out to everyone; returns (digest id, bytes)."""
    with app.app_context():
        upgrade()
        if db.session.scalar(select(Subscriber.id).limit(1)) is not None:
            raise SystemExit(f"{db.engine.url.render_as_string()} is not empty: give an empty database")
        now = datetime.now(UTC)
        for day in range(3):
            db.session.add(
                Post(
                    slug=f"post-{day}", title=f"Post {day}", body="x", html="<p>x</p>",
                    excerpt="An excerpt of a reasonable length for a weekly digest. " * 3,
                    published_at=now - timedelta(days=day + 1),
                )
            )  # fmt: skip
        rows = [
            {"email": f"reader{i}@bench.test", "email_key": f"reader{i}@bench.test", "status": "active",
             "token_secret": f"secret{i}"}
            for i in range(count)
        ]  # fmt: skip
        for start in range(0, count, 5000):
            db.session.execute(insert(Subscriber), rows[start : start + 5000])
        digest = create_digest(db.session, composer_from_app(), now)
        delivery.fan_out(db.session, digest)
        db.session.commit()
        sample = db.session.scalar(select(Subscriber).limit(1))
        recipient = Recipient(sample.id, sample.email, sample.token_secret)
        size = len(mailer_for(digest).message_for(1, recipient).data)
        return digest.id, size


def peak_rss_kib(pids: list[int]) -> dict[int, int]:
    """VmHWM (peak resident set) of each live process, in KiB."""
    peaks = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = int(line.split()[1])
        except FileNotFoundError:
            pass
    return peaks


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                pass
    return pids


def run_worker(env: dict, app, digest_id: int, count: int, processes: int = PROCESSES):
    """Queue the digest to a prefork worker; (seconds to sent, peak RSS per process, row counts)."""
    log = open(env["LOG"], "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker.main", "worker", "--pool=prefork",
         f"--concurrency={processes}", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_worker(app, worker)  # the clock starts when the worker answers, not while it boots
        with app.app_context():
            queued_at = datetime.now(UTC)
            queue_digest(digest_id)
            while True:
                status, sent_at = db.session.execute(
                    select(Digest.status, Digest.sent_at).where(Digest.id == digest_id)
                ).one()
                db.session.commit()  # not idle in a transaction, which keeps PostgreSQL from pruning
                if status == "sent":
                    break
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited; see {env['LOG']}")
                time.sleep(0.2)
            # From queueing to the moment the worker marked the digest sent (not to the poll
            # that saw it: polling more often would take CPU from the worker).
            elapsed = (as_utc(sent_at) - queued_at).total_seconds()
            numbers = digest_counts(db.session, digest_id)
        # VmHWM is each process's peak RSS since it started: read once, at the end, so that
        # measuring takes no CPU from the worker while it sends.
        peaks = peak_rss_kib(group_pids(worker.pid))
        if numbers["sent"] != count:
            raise SystemExit(f"only {numbers['sent']} of {count} sent: {numbers}")
        return elapsed, peaks, numbers
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        log.close()


def wait_for_worker(app, worker: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait until the worker answers a ping over the broker (its pool started, its queue read):
    on a busy machine it takes longer to boot than any fixed sleep."""
    deadline = time.monotonic() + timeout
    while not app.extensions["celery"].control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the worker did not start")
    time.sleep(0.5)  # its pool processes finish their own start-up


def run_smtp_source(port: int, count: int, size: int, connections: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [need("smtp-source", "postfix"), "-d", "-s", str(connections), "-m", str(count), "-l", str(size),
         "-f", "digest@bench.test", "-t", "reader@bench.test", f"127.0.0.1:{port}"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--large", action="store_true", help="100,000 subscribers")
    parser.add_argument("--database-url", help="an empty database; default: a scratch SQLite file")
    parser.add_argument("--connections", type=int, default=4, help="SMTP_CONNECTIONS (default 4)")
    args = parser.parse_args()
    count = 100_000 if args.large else args.subscribers

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        redis_port, sink_port = free_port(), free_port()
        redis = subprocess.Popen(
            [need("redis-server", "redis-server"), "--port", str(redis_port), "--save", "",
             "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        sink = start_sink(sink_port)
        try:
            wait_for_port(redis_port)
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("SMTP_", "DATABASE_URL", "REDIS_URL", "DKIM_"))
            } | {
                "DATABASE_URL": args.database_url or f"sqlite:///{folder / 'bench.db'}",
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "SECRET_KEY": "bench",
                "SITE_URL": "https://blog.bench.test",
                "MAIL_FROM": "Weeknote <digest@bench.test>",
                "MAIL_POSTAL_ADDRESS": "1 Bench Street",
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(sink_port),
                "SMTP_SECURITY": "none",
                "DELIVERY_PARALLEL": str(PROCESSES),
                "SMTP_CONNECTIONS": str(args.connections),
                "DELIVERY_BATCH_SIZE": "500",
                "LOG": str(folder / "worker.log"),
            }
            os.environ.update({k: v for k, v in env.items() if k != "LOG"})
            app = create_app({"INSTANCE_PATH": str(folder / "instance")})
            seed_start = time.perf_counter()
            digest_id, size = seed(app, count)
            seed_time = time.perf_counter() - seed_start
            elapsed, peaks, _ = run_worker(env, app, digest_id, count)
            reference = run_smtp_source(sink_port, count, size, args.connections)
        finally:
            sink.terminate()
            redis.terminate()

    rate, reference_rate = count / elapsed, count / reference
    print(f"subscribers:             {count}  (seeded and fanned out in {seed_time:.1f} s)")
    print(f"message size:            {size} bytes")
    print(
        f"worker -> smtp-sink:     {rate:9.1f} messages/s  ({elapsed:.1f} s, {args.connections} connections)"
    )
    print(
        f"smtp-source -> smtp-sink:{reference_rate:9.1f} messages/s  ({reference:.1f} s, same count and size)"
    )
    print(f"worker / smtp-source:    {rate / reference_rate:9.2f}  (goal: at least 0.50)")
    print(f"worker peak RSS:         {max(peaks.values()) / 1024:9.1f} MiB per process (largest), "
          f"{sum(peaks.values()) / 1024:.1f} MiB in all {len(peaks)} processes")  # fmt: skip


if __name__ == "__main__":
    main()
