"""Real servers for the tests: a private Redis, an SMTP server, a Celery worker, a web server."""

import asyncio
import email
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset
import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
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
    "BOUNCE_ADDRESS",
    "COMPLAINTS_ADDRESS",
    "BOUNCE_MAILBOX",
    "BOUNCE_POLL_INTERVAL",
    "LOG_FORMAT",
    "SMTP_CONNECTIONS",
    "SMTP_RATE_LIMIT",
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
        self.executable, self.folder = executable, folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = self._start()
        self.client = redis.Redis.from_url(self.url)
        wait_until(self.ping, 10, f"redis-server on port {self.port}")

    def ping(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {self.process.returncode}")
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def restart(self, down_for: float = 1.0) -> None:
        """Kill the server (losing every queued task: nothing is persisted) and start it again."""
        self.kill()
        time.sleep(down_for)
        self.start()

    def kill(self) -> None:
        """Stop the server at once: connections are refused until start()."""
        self.process.kill()
        self.process.wait(10)

    def start(self) -> None:
        self.process = self._start()
        wait_until(self.ping, 10, f"redis-server to come back on port {self.port}")

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, and then nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def flush(self) -> None:
        self.client.flushall()

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(10)


class Allowance:
    """A relay's allowance: a token bucket of `rate` messages a second and bursts of `burst`."""

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


class MailHandler:
    """Collects every message the SMTP server accepts; `reply` makes it answer DATA with an error.

    Like a distant, rationed relay: `reply_delay` holds every reply back that long (a round trip,
    without holding up the session), `allowance` answers `throttle_reply` past its rate (a 421
    closes the connection, as relays do), and `sessions`/`peak_sessions` count connections open.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # each message exactly as received
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reply: str | None = None
        # policy(recipients) may return an error reply for one message; delay slows every DATA.
        self.policy: Callable[[list[str]], str | None] | None = None
        self.delay = 0.0
        self.rcpt_policy: Callable[[str], str | None] | None = None  # an error reply at RCPT
        self.mail_reply: str | None = None  # an error reply at MAIL FROM
        # hang_up(recipients) True: drop the connection at the end of that message's data, unanswered.
        self.hang_up: Callable[[list[str]], bool] | None = None
        # Advertise RFC 2920 PIPELINING, as production servers do (several commands in one write).
        self.pipelining = True
        self.arrived = threading.Condition()
        self.reply_delay = 0.0
        self.allowance: Allowance | None = None
        self.throttle_reply = "421 4.7.0 Try again later, closing connection"
        self.throttled = 0  # messages answered with throttle_reply
        self.sessions = self.peak_sessions = 0
        self.accepted_at: list[float] = []  # time.monotonic() of each acceptance
        self.accepted_on: list[int] = []  # the connection (numbered from 1) each message came on
        self.quit: set[int] = set()  # connections the client ended with QUIT
        self.opened = 0  # connections ever opened
        self.open: set[int] = set()  # the connections open now

    def session_opened(self) -> int:
        """Count a new connection; returns its number."""
        with self.arrived:
            self.sessions += 1
            self.peak_sessions = max(self.peak_sessions, self.sessions)
            self.opened += 1
            self.open.add(self.opened)
            return self.opened

    def session_closed(self, number: int) -> None:
        with self.arrived:
            self.sessions -= 1
            self.open.discard(number)

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_QUIT(self, server, session, envelope) -> str:
        with self.arrived:
            self.quit.add(server.number)
        return "221 Bye"

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.rcpt_policy and (reply := self.rcpt_policy(address)):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hang_up and self.hang_up(list(envelope.rcpt_tos)):
            server.transport.abort()
            return "421 4.3.0 Gone"  # never arrives
        if self.reply:
            return self.reply
        if self.policy and (reply := self.policy(list(envelope.rcpt_tos))):
            return reply
        if self.allowance is not None and not self.allowance.take():
            with self.arrived:
                self.throttled += 1
            return self.throttle_reply
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self.arrived:
            self.accepted_at.append(time.monotonic())
            self.accepted_on.append(server.number)
            self.messages.append(message)
            self.raw.append(envelope.original_content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class RelaySMTP(SMTP):
    """aiosmtpd's session, counting open connections, with replies held back by the handler's
    reply_delay (a round trip: later commands are still read and answered in order meanwhile),
    and the connection closed after a 421 as RFC 5321 says."""

    number = 0  # the connection's number, given by the handler

    def connection_made(self, transport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            self.number = self.event_handler.session_opened()

    def connection_lost(self, error) -> None:
        super().connection_lost(error)
        self.event_handler.session_closed(self.number)

    async def push(self, status) -> None:
        response = status.encode() if isinstance(status, str) else status
        closing = response.startswith(b"421")
        delay = self.event_handler.reply_delay
        if not delay and not closing:
            return await super().push(status)
        self.loop.call_later(delay, self._write_late, response + b"\r\n", closing)

    def _write_late(self, data: bytes, closing: bool) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            if closing:
                self.transport.close()


class RelayController(Controller):
    def factory(self):
        return RelaySMTP(self.handler, **self.SMTP_kwargs)


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
        self.options = options
        self.controller = RelayController(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        self.listening = True

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

    def refuse_connections(self) -> None:
        """Close the port: a relay that is down (connection refused) until accept_connections()."""
        if self.listening:
            self.controller.stop()
            self.listening = False

    def accept_connections(self) -> None:
        if not self.listening:
            options = {"hostname": "127.0.0.1", "port": self.port, **self.options}
            self.controller = RelayController(self.handler, **options)
            self.controller.start()
            self.listening = True

    def stop(self) -> None:
        self.refuse_connections()


class CeleryProcess:
    """A `celery -A worker.main` process in its own session, configured only by environment variables."""

    ready_marker = ""

    def __init__(self, arguments: list[str], env: dict[str, str], log_path: Path) -> None:
        base = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
        self.log_path = log_path
        self.log = log_path.open("w")
        command = [sys.executable, "-m", "celery", "-A", "worker.main", *arguments, "--loglevel=INFO"]
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=base | env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes the pool children too
        )
        name = type(self).__name__
        wait_until(self._ready, 60, f"the {name} to start (log: {log_path})", interval=0.2)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the Celery process exited early:\n{self.output()}")
        return self.ready_marker in self.output()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acks, nothing cleaned up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is not None:
            self.log.close()
            return
        self.process.terminate()  # warm shutdown: finishes the task in hand
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()


class CeleryWorker(CeleryProcess):
    """`celery -A worker.main worker`: solo pool by default, or prefork (which enforces time limits)."""

    ready_marker = " ready."

    def __init__(self, env: dict[str, str], log_path: Path, pool: str = "solo", concurrency: int = 1) -> None:
        arguments = ["worker", f"--pool={pool}", f"--concurrency={concurrency}"]
        arguments += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        arguments += ["--hostname", f"test-{os.getpid()}-{free_port()}@localhost"]
        super().__init__(arguments, env, log_path)


class CeleryBeat(CeleryProcess):
    """`celery -A worker.main beat`, its schedule file in the test's folder."""

    ready_marker = "beat: Starting"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        schedule = log_path.with_suffix(".schedule")
        super().__init__(["beat", "--schedule", str(schedule)], env, log_path)


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


class DNSServer:
    """A UDP DNS server on a free port that answers TXT queries from a dict (name -> text)."""

    def __init__(self, records: dict[str, str]) -> None:
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, client = self.sock.recvfrom(4096)
            except OSError:
                return  # closed by stop()
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            name = query.question[0].name
            text = self.records.get(name.to_text(omit_final_dot=True))
            if text is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                chunks = " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))
                response.answer.append(dns.rrset.from_text(name, 300, "IN", "TXT", chunks))
            self.sock.sendto(response.to_wire(), client)

    def resolver(self, lifetime: float = 2.0) -> dns.resolver.Resolver:
        """A resolver that asks only this server."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = lifetime
        return resolver

    def stop(self) -> None:
        self.sock.close()
        self.thread.join(5)


def descendants(pid: int) -> set[int]:
    """Every process below pid, from /proc (honcho starts each of its processes in a new session)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def newcomer_env() -> dict[str, str]:
    """The caller's environment without Weeknote settings or this test run's virtual environment."""
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    venv = env.pop("VIRTUAL_ENV", None)
    if venv:
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(venv))
    return env


def clone_head(target: Path) -> Path:
    """A fresh clone of this repository's last commit (what a newcomer gets), at target."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(target)], check=True)
    subprocess.run(["git", "checkout", "--quiet", head.stdout.strip()], cwd=target, check=True)
    return target


def start_make_run(clone: Path, env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    """`make run` in clone, as a terminal starts it, once /healthz and the worker say they are ready."""
    with log_path.open("w") as log:
        make = subprocess.Popen(
            ["make", "run", f"PORT={port}"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives it
        )  # fmt: skip
    health = f"http://127.0.0.1:{port}/healthz"

    def ready() -> bool:
        if make.poll() is not None:
            raise RuntimeError(f"make run exited with {make.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                return json.load(response) == {"status": "ok", "database": "ok", "redis": "ok"}
        except (OSError, ValueError):
            return False

    try:
        wait_until(ready, 240, f"/healthz on port {port} (log: {log_path})", interval=0.5)
        # Printed once the site and a Celery worker answer (blog/platform/first_run.py).
        wait_until(
            lambda: "Weeknote is running at" in log_path.read_text(), 60, "make run's block", interval=0.2
        )
    except BaseException:
        os.killpg(make.pid, signal.SIGKILL)  # nothing left behind by a run that never came up
        make.wait(10)
        raise
    return make


def press_ctrl_c(make: subprocess.Popen) -> None:
    """Ctrl-C: SIGINT to the foreground group; then no process the run started may be left."""
    started = descendants(make.pid)
    os.killpg(make.pid, signal.SIGINT)
    make.wait(60)
    left = sorted(pid for pid in started if alive(pid))
    assert not left, f"still running after Ctrl-C: {left}"
