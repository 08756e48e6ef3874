"""What a newcomer does: a fresh clone, the README's run command, subscribe, send a digest, Ctrl-C.

Slow (it creates a virtual environment and installs Weeknote): select it with `-m newcomer`,
leave it out with `-m "not newcomer"`. It tests the last commit, not uncommitted changes.
"""

import email
import os
import re
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from email.policy import default as default_policy
from pathlib import Path

import pytest
from helpers import Browser
from servers import (
    alive,
    clone_head,
    descendants,
    free_port,
    newcomer_env,
    require_program,
    start_make_run,
    wait_until,
)

pytestmark = pytest.mark.newcomer
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def outbox_messages(folder: Path) -> list[email.message.EmailMessage]:
    if not folder.is_dir():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=default_policy) for path in folder.glob("*.eml")
    ]


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_fresh_clone_runs_the_whole_stack(tmp_path):
    require_program("git")
    require_program("make")
    require_program("redis-server")
    clone = clone_head(tmp_path / "weeknote")
    env = newcomer_env()
    port = free_port()
    log_path = tmp_path / "make-run.log"
    make = start_make_run(clone, env, port, log_path)
    started: set[int] = set()
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        started = descendants(make.pid)
        assert len(started) >= 8, started  # honcho, its four runners, web, redis, worker, beat...

        # Subscribe and confirm through HTTP; the worker writes the confirmation to the outbox.
        token = CSRF.search(browser.get("/subscribe")).group(1)
        thanks = browser.post("/subscribe", {"csrf_token": token, "email": "newcomer@example.com"})
        assert "Check your inbox" in thanks
        outbox = clone / "instance" / "outbox"
        [confirmation] = wait_until(lambda: outbox_messages(outbox), 30, "the confirmation email")
        assert confirmation["To"] == "newcomer@example.com"
        link = re.search(r"https?://\S+/subscribe/confirm/\S+", text_of(confirmation)).group(0)
        assert link.startswith(f"http://127.0.0.1:{port}/")  # SITE_URL follows PORT
        path = urllib.parse.urlsplit(link).path
        token = CSRF.search(browser.get(path)).group(1)
        assert "You are subscribed" in browser.post(path, {"csrf_token": token})

        # `make run` printed one short block once everything answered; the services' start-up
        # output went to instance/logs/ instead of the terminal.
        printed = log_path.read_text()
        assert f"Weeknote is running at http://127.0.0.1:{port}/" in printed
        assert "celery@" not in printed and "celery@" in (clone / "instance" / "logs" / "run.log").read_text()

        # A post written today, then the digest, sent from another shell as the README says: with
        # no SITE_URL or REDIS_URL set there, it links to this run's port and queues on its worker.
        post = clone / "first-post.md"
        post.write_text(
            f"---\ntitle: My first week\ndate: {datetime.now(UTC):%Y-%m-%d %H:%M:%S}\n---\nHello.\n"
        )
        weeknote = str(clone / ".venv" / "bin" / "weeknote")
        subprocess.run([weeknote, "import", str(post)], cwd=clone, env=env, check=True, capture_output=True)
        sent = subprocess.run(
            [weeknote, "digest", "send", "--now", "--yes"], cwd=clone, env=env, capture_output=True, text=True
        )
        assert sent.returncode == 0, sent.stderr
        assert "Queued for the worker" in sent.stdout

        def digest_sent() -> bool:
            messages = outbox_messages(outbox)
            return any(m["List-Unsubscribe"] and not m["Subject"].startswith("Welcome") for m in messages)

        wait_until(digest_sent, 30, "the digest, sent by the worker")
        messages = outbox_messages(outbox)
        welcomes = [m for m in messages if m["Subject"].startswith("Welcome to")]
        assert [m["To"] for m in welcomes] == ["newcomer@example.com"]  # after confirming
        digests = [m for m in messages if m["List-Unsubscribe"] and m not in welcomes]
        assert [m["To"] for m in digests] == ["newcomer@example.com"]
        assert "My first week" in text_of(digests[0])
        sites = re.findall(r"https?://[\w.:-]*\w", text_of(digests[0]))  # each link's scheme and host
        assert sites and set(sites) == {f"http://127.0.0.1:{port}"}, sites

        # The author made on first start signs in with the one-time password `make run` printed,
        # must choose their own, and finds the digest in the console's outbox, as sent.
        password = re.search(r"one-time password: (\S+)", log_path.read_text()).group(1)
        author = Browser(f"http://127.0.0.1:{port}")
        page = author.get("/admin/")  # redirected to the sign-in form
        fields = {"email": "author@example.com", "password": password}
        page = author.post("/admin/sign-in", {"csrf_token": CSRF.search(page).group(1)} | fields)
        assert "<h1>Change your password</h1>" in page
        fields = {"current": password, "new": "my own long password", "confirm": "my own long password"}
        page = author.post("/admin/password", {"csrf_token": CSRF.search(page).group(1)} | fields)
        assert "<h1>Dashboard</h1>" in page
        listing = author.get("/admin/outbox/")
        assert "Development mail is on" in listing
        link = re.search(r'href="(/admin/outbox/[^"]+/)">' + re.escape(digests[0]["Subject"]), listing)
        assert link, listing
        assert "My first week" in author.get(link.group(1))
    finally:
        started |= descendants(make.pid)
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group
        try:
            make.wait(60)
        except subprocess.TimeoutExpired:
            for pid in started | {make.pid}:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            raise
    left = sorted(pid for pid in started if alive(pid))
    assert not left, f"still running after Ctrl-C: {left}\n{log_path.read_text()[-3000:]}"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
