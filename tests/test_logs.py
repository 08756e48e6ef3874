"""LOG_FORMAT=json: every log line of the web process, gunicorn and the Celery worker is one JSON object."""

import json
import logging
import subprocess
import sys
import urllib.error
import urllib.request

from servers import PROJECT_ROOT, CeleryWorker, free_port, wait_until

from blog.platform.logs import JSONFormatter


def json_lines(text: str) -> list[dict]:
    """Parse every non-empty line; fail on the first that is not a JSON object."""
    entries = []
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            assert isinstance(entry, dict), line
            entries.append(entry)
    return entries


def test_formatter_writes_one_object_with_the_traceback():
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.LogRecord(
            "blog.jobs", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
        )
    entry = json.loads(JSONFormatter().format(record))
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "blog.jobs"
    assert entry["message"] == "failed x"
    assert "ValueError: bad value" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def run_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SECRET_KEY": "s" * 32}
    return env | {"DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}", "LOG_FORMAT": "json"} | extra


def test_web_process_logs_json_lines(tmp_path):
    code = (
        "import logging\nfrom blog import create_app\n"
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path / 'instance')!r}}})\n"
        "app.logger.warning('from %s', 'flask')\nlogging.getLogger('blog.jobs').info('queued')\n"
        "logging.getLogger('werkzeug').info('GET / 200')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=run_env(tmp_path), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    entries = json_lines(result.stderr)
    assert [(e["logger"], e["message"]) for e in entries] == [
        ("blog", "from flask"),
        ("blog.jobs", "queued"),
        ("werkzeug", "GET / 200"),
    ]


def test_text_is_the_default(tmp_path):
    code = f"from blog import create_app\napp = create_app({{'INSTANCE_PATH': {str(tmp_path)!r}}})\n"
    code += "app.logger.warning('hi')"
    env = run_env(tmp_path)
    del env["LOG_FORMAT"]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert result.stderr.strip().endswith("hi")
    assert not result.stderr.startswith("{")


def test_gunicorn_logs_json_lines(tmp_path):
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "blog:create_app()"]
    env = run_env(tmp_path, PORT=str(port), WEB_CONCURRENCY="1", GUNICORN_ACCESSLOG="-")
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def answers() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except urllib.error.HTTPError:
                return True  # answered (503: this database has no tables), and logged
            except OSError:
                return process.poll() is not None

        wait_until(answers, 30, f"gunicorn on port {port}")
    finally:
        process.terminate()
        process.wait(20)
        log.close()
    entries = json_lines((tmp_path / "gunicorn.log").read_text())
    loggers = {entry["logger"] for entry in entries}
    assert {"gunicorn.error", "gunicorn.access"} <= loggers
    assert any("/healthz" in entry["message"] for entry in entries if entry["logger"] == "gunicorn.access")


def test_celery_worker_logs_json_lines(tmp_path, redis_url):
    env = {
        "SECRET_KEY": "s" * 32,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}",
        "REDIS_URL": redis_url,
        "LOG_FORMAT": "json",
    }
    worker = CeleryWorker(env, tmp_path / "worker.log")
    worker.stop()
    # The banner is printed, not logged; every line after it is a log record.
    logged = [line for line in worker.output().splitlines() if line.startswith("{")]
    entries = json_lines("\n".join(logged))
    messages = [entry["message"] for entry in entries]
    assert any(message.startswith("Connected to redis://") for message in messages)
    assert any(message.endswith(" ready.") for message in messages)
    assert not [line for line in worker.output().splitlines() if line.startswith("[20")]  # no text records
