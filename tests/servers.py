"""Real servers for the tests: a private Redis, an SMTP server, a Celery worker, a web server."""

import email
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from werkzeug.serving import make_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Variables the app reads; a worker started by a test gets only what the test gives it.
CONFIG_VARIABLES = [
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "SITE_URL",
    "SITE_TITLE",
    "SITE_DESCRIPTION",
    "AUTHOR_NAME",
    "TIMEZONE",
    "POSTS_PER_PAGE",
    "MAIL_FROM",
    "MAIL_POSTAL_ADDRESS",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_SECURITY",
    "DKIM_DOMAIN",
    "DKIM_SELECTOR",
    "DKIM_PRIVATE_KEY",
]


def require_program(name: str) -> str:
    """Return a program's path; without it, skip the test, or fail it when CI is set."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt-get install {name})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.05):
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")


class RedisServer:
    """A private redis-server on a free port: nothing saved to disk, gone when stopped."""

    def __init__(self, executable: str, folder: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(folder), "--logfile", str(folder / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis.from_url(self.url)
        wait_until(self.ping, 10, f"redis-server on port {self.port}")

    def ping(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {self.process.returncode}")
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    def flush(self) -> None:
        self.client.flushall()

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(10)


class MailHandler:
    """Collects every message the SMTP server accepts; `reply` makes it answer DATA with an error."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reply: str | None = None
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reply:
            return self.reply
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self.arrived:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class SMTPServer:
    """aiosmtpd on a free port in this process; optionally TLS, STARTTLS, and login (over TLS only)."""

    def __init__(self, tls_context=None, implicit_tls: bool = False, login: tuple[str, str] | None = None):
        self.handler = MailHandler()
        self.port = free_port()
        self.logins: list[str] = []
        options = {}
        if tls_context is not None and implicit_tls:
            options["ssl_context"] = tls_context
        elif tls_context is not None:
            options.update(tls_context=tls_context, require_starttls=True)
        if login:
            options.update(authenticator=self._authenticator(login), auth_required=True)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def _authenticator(self, login: tuple[str, str]):
        def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
            user = auth_data.login.decode()
            ok = (user, auth_data.password.decode()) == login
            if ok:
                self.logins.append(user)
            return AuthResult(success=ok, handled=False)

        return authenticate

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def wait_for(self, count: int = 1, timeout: float = 30) -> list[EmailMessage]:
        """Block until `count` messages have arrived; return them."""
        with self.handler.arrived:
            if not self.handler.arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"{len(self.messages)} of {count} messages arrived in {timeout}s")
        return list(self.messages)

    def stop(self) -> None:
        self.controller.stop()


class CeleryWorker:
    """`celery -A worker.main worker` in its own process, configured only by environment variables."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        base = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
        self.log_path = log_path
        self.log = log_path.open("w")
        command = [sys.executable, "-m", "celery", "-A", "worker.main", "worker", "--pool=solo"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
        command += ["--hostname", f"test-{os.getpid()}-{free_port()}@localhost"]
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=base | env, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_until(self._ready, 60, f"the Celery worker to start (log: {log_path})", interval=0.2)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited early:\n{self.output()}")
        return " ready." in self.output()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()  # warm shutdown: finishes the task in hand
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


class LiveServer:
    """The app served over real HTTP on a free port, in a background thread."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
