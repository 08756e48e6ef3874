"""What `make run` prints once everything answers: one short block instead of start-up logs.

A script the Makefile starts in the background beside honcho. It waits until the web server's
/healthz says the database and Redis are fine and a Celery worker answers a ping, then prints
the address, how to sign in (the one-time password `weeknote create-author --if-none` printed,
read from standard input), where mail goes and where the logs are. It gives up quietly when
`make run` stops first, and points at the log when nothing answers in time.
"""

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from celery import Celery
from dotenv import dotenv_values

WAIT_SECONDS = 180


def alive(pid: int) -> bool:
    """Whether the process (make run, become honcho) still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def site_answers(port: int) -> bool:
    """/healthz on the local port says the database and Redis answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.load(response).get("status") == "ok"
    except (OSError, ValueError):
        return False


def worker_answers(celery: Celery) -> bool:
    """A Celery worker on the broker replies to a ping."""
    try:
        return bool(celery.control.ping(timeout=1.0))
    except Exception:  # noqa: BLE001 - the broker still starting is just "not yet"
        return False


def block(port: int, site_url: str, author: str, smtp_host: str, log: Path) -> str:
    """The lines a newcomer needs, and nothing else."""
    address = f"http://127.0.0.1:{port}/"
    lines = ["", f"  Weeknote is running at {address}"]
    if site_url.rstrip("/") + "/" != address:
        lines.append(f"  Links in mail and feeds use SITE_URL: {site_url}")
    created = next((line for line in author.splitlines() if "one-time password:" in line), "")
    if created:
        sign_in = created.removeprefix("Created the author ")  # "EMAIL with the one-time password: ..."
        lines += [
            f"  Console:  {address}admin/",
            f"  Sign in:  {sign_in}",
            "            (it works once: you then choose your own password)",
        ]
    else:
        lines.append(f"  Console:  {address}admin/  (password lost? .venv/bin/weeknote reset-password EMAIL)")
    if smtp_host:
        lines.append(f"  Mail:     sent through {smtp_host}")
    else:
        lines.append("  Mail:     nothing leaves this machine; messages are written to instance/outbox/")
        lines.append(f"            (read them in the console: {address}admin/outbox/)")
    lines.append(f"  Logs:     {log} (VERBOSE=1 shows them here). Ctrl-C stops everything.")
    return "\n".join(lines + [""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--site-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument(
        "--pid", type=int, required=True, help="make run's process: stop waiting when it ends"
    )
    parser.add_argument("--smtp-host", default="")
    parser.add_argument("--log", type=Path, default=Path("instance/logs/run.log"))
    args = parser.parse_args(argv)
    author = sys.stdin.read() if not sys.stdin.isatty() else ""
    celery = Celery(
        broker=args.redis_url, broker_transport_options={"socket_timeout": 2, "socket_connect_timeout": 2}
    )
    deadline = time.monotonic() + WAIT_SECONDS
    ready = False
    while time.monotonic() < deadline and alive(args.pid):
        if site_answers(args.port) and worker_answers(celery):
            ready = True
            break
        time.sleep(0.5)
    if not alive(args.pid):
        return 0  # stopped before it was ready: nothing to announce
    if not ready:
        print(
            f"\n  Weeknote did not answer within {WAIT_SECONDS} s; the last lines of {args.log}:\n",
            flush=True,
        )
        if args.log.exists():
            print("\n".join(args.log.read_text(errors="replace").splitlines()[-30:]), flush=True)
        return 1
    # honcho, like the `weeknote` command, reads a .env file: a relay set there is used too.
    smtp_host = args.smtp_host or dotenv_values(".env").get("SMTP_HOST") or ""
    print(block(args.port, args.site_url, author, smtp_host, args.log), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
