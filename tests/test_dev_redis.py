"""The private Redis of `make run`: started by blog.dev_redis, persistent in its folder."""

import subprocess
import sys

import redis
from servers import PROJECT_ROOT, free_port, require_program, wait_until


def test_dev_redis_serves_with_append_only_file_in_its_folder(tmp_path):
    require_program("redis-server")
    port = free_port()
    folder = tmp_path / "redis"
    command = [sys.executable, "-m", "blog.dev_redis", "--port", str(port), "--dir", str(folder)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(answers, 10, f"the development redis on port {port}")
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
        [sys.executable, "-m", "blog.dev_redis", "--free-port"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert output.returncode == 0
    assert 1024 < int(output.stdout) < 65536
