"""The block `make run` prints once everything answers (the whole run: tests/test_newcomer.py)."""

import io
import subprocess
from pathlib import Path

from blog.platform.first_run import block, main

CREATED = (
    "Created the author author@example.com with the one-time password: Xy7kTq2WbN9xVr4H\n"
    "Sign in at http://127.0.0.1:5072/admin/; you will be asked to choose your own password.\n"
)
LOG = Path("instance/logs/run.log")


def test_the_first_start_shows_the_address_the_password_and_where_mail_goes():
    text = block(5072, "http://127.0.0.1:5072", CREATED, "", LOG)
    assert "Weeknote is running at http://127.0.0.1:5072/" in text
    assert "author@example.com with the one-time password: Xy7kTq2WbN9xVr4H" in text
    assert "instance/outbox/" in text and "instance/logs/run.log" in text
    assert "SITE_URL" not in text  # the address is the site's own
    assert len(text.splitlines()) <= 10


def test_later_starts_say_how_to_get_back_in_and_name_a_relay_and_another_site_url():
    text = block(5072, "https://notes.example.com", "", "smtp.example.com", LOG)
    assert "one-time password" not in text and "weeknote reset-password EMAIL" in text
    assert "sent through smtp.example.com" in text
    assert "Links in mail and feeds use SITE_URL: https://notes.example.com" in text


def test_nothing_is_printed_when_make_run_stopped_first(capsys, monkeypatch):
    ended = subprocess.Popen(["true"])
    ended.wait()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    args = ["--port", "1", "--site-url", "http://127.0.0.1:1", "--redis-url", "redis://127.0.0.1:1/0"]
    assert main([*args, "--pid", str(ended.pid)]) == 0
    assert capsys.readouterr().out == ""
