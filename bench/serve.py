"""Serving speed: requests/second for reader pages beside the framework's floor, in one run.

Builds a SQLite blog of --posts posts, starts gunicorn with the production settings
(gunicorn.conf.py) and, with wrk at 64 connections, measures /, a post page, a tag page
and /feed.xml, each right after a route of the same app that returns a constant string of
the same size (the floor: routing, hooks and WSGI, no page work). Goal: every page at 90%
or more of its floor, no errors. Pages come from the page cache (Redis when redis-server
is installed, as in production; in-process otherwise), which is the steady state readers meet.

    python bench/serve.py [--posts 200] [--seconds 10] [--connections 64]
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from flask import Flask, Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from import_posts import write_corpus  # noqa: E402


def bench_app() -> Flask:
    """The production app plus /bench/floor/<size>: a constant body of that many bytes."""
    from blog import create_app

    app = create_app()
    bodies: dict[int, bytes] = {}

    @app.get("/bench/floor/<int:size>")
    def floor(size: int) -> Response:
        body = bodies.get(size) or bodies.setdefault(size, b"x" * size)  # built once, not per request
        return Response(body, content_type="text/plain; charset=utf-8")

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def run_wrk(url: str, seconds: int, connections: int) -> dict:
    """One wrk run; returns requests/second, p99 latency and error counts."""
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", output).group(1)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0, socket_errors.group(1) if socket_errors else "none")
    return {"rate": rate, "p99": p99, "errors": errors}


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    venv_bin = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "SECRET_KEY": "bench",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "PORT": str(port),
            "FLASK_APP": "blog:create_app",
        }
        redis = server = None
        try:
            if shutil.which("redis-server"):
                redis_port = free_port()
                redis = subprocess.Popen(
                    ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            (folder / "posts").mkdir()
            write_corpus(folder / "posts", args.posts)
            weeknote = [str(venv_bin / "weeknote")]
            subprocess.run([*weeknote, "db", "upgrade"], env=env, check=True, capture_output=True)
            subprocess.run(
                [*weeknote, "import", str(folder / "posts")], env=env, check=True, capture_output=True
            )
            server = subprocess.Popen(
                [str(venv_bin / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "bench.serve:bench_app()"],
                cwd=ROOT,
                env=env,
                stderr=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz")
            measure(base, args, "Redis" if redis else "in-process (no redis-server found)")
        finally:
            for process in (server, redis):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)


def pick_pages(base: str) -> dict[str, str]:
    home = urllib.request.urlopen(f"{base}/").read().decode()
    post = re.search(r'href="(/posts/[^"]+/)"', home).group(1)
    tag = re.search(r'href="(/tags/[^"]+/)"', home).group(1)
    return {"/": "/", "post page": post, "tag page": tag, "/feed.xml": "/feed.xml"}


def measure(base: str, args, cache: str) -> None:
    cores = os.cpu_count()
    print(f"gunicorn (gunicorn.conf.py) on {cores} cores; wrk -c{args.connections} -d{args.seconds}s")
    print(f"{args.posts} posts; page cache: {cache}")
    header = ("route", "bytes", "req/s", "floor req/s", "of floor", "p99", "floor p99")
    print("{:<12} {:>7} {:>9} {:>12} {:>9} {:>9} {:>10} errors".format(*header))
    for name, path in pick_pages(base).items():
        size = len(urllib.request.urlopen(base + path).read())
        for warm in (base + path, f"{base}/bench/floor/{size}"):
            run_wrk(warm, 1, args.connections)  # fill caches and connection pools
        floor = run_wrk(f"{base}/bench/floor/{size}", args.seconds, args.connections)
        page = run_wrk(base + path, args.seconds, args.connections)
        share = page["rate"] / floor["rate"]
        verdict = "ok" if share >= 0.9 and page["errors"] == (0, "none") else "BELOW GOAL"
        print(
            f"{name:<12} {size:>7} {page['rate']:>9.0f} {floor['rate']:>12.0f} {share:>8.0%} "
            f"{page['p99']:>9} {floor['p99']:>10} {page['errors']} {verdict}"
        )


if __name__ == "__main__":
    main()
