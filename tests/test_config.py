import os
import subprocess
import sys

import pytest

from blog import create_app
from blog.config import Config, normalise_database_url


def test_defaults_live_in_the_instance_folder(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'weeknote.db'}"
    secret = (tmp_path / "instance" / "secret_key").read_text()
    assert app.config["SECRET_KEY"] == secret and len(secret) == 64
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o777 == 0o600
    again = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert again.config["SECRET_KEY"] == secret


def test_environment_is_read(monkeypatch):
    env = {"SITE_TITLE": "My Notes", "POSTS_PER_PAGE": "5", "DATABASE_URL": "postgres://u@h/db"}
    config = Config(env)
    assert (config.SITE_TITLE, config.POSTS_PER_PAGE) == ("My Notes", 5)
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/db"


def test_bad_values_say_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="POSTS_PER_PAGE='ten' must be a whole number"):
        Config({"POSTS_PER_PAGE": "ten"})
    with pytest.raises(ValueError, match="TIMEZONE='Mars/Base' is not an IANA time zone"):
        create_app({"INSTANCE_PATH": str(tmp_path), "TIMEZONE": "Mars/Base"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://127.0.0.1/test", "postgresql+psycopg://127.0.0.1/test"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("", ""),
    ],
)
def test_normalise_database_url(url, expected):
    assert normalise_database_url(url) == expected


def test_mail_settings_are_read_and_checked(tmp_path):
    env = {
        "MAIL_FROM": "Ada's Notes <digest@notes.example.com>",
        "MAIL_POSTAL_ADDRESS": "1 Example Street",
        "SMTP_HOST": "smtp.example.com",
        "SMTP_PORT": "2525",
        "SMTP_USERNAME": "ada",
        "SMTP_PASSWORD": "s3cret",
        "SMTP_SECURITY": "tls",
    }
    config = Config(env)
    assert (config.SMTP_HOST, config.SMTP_PORT, config.SMTP_SECURITY) == ("smtp.example.com", 2525, "tls")
    assert (config.SMTP_USERNAME, config.SMTP_PASSWORD) == ("ada", "s3cret")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "MAIL_FROM": env["MAIL_FROM"]})
    assert app.config["MAIL_FROM_ADDRESS"].addr_spec == "digest@notes.example.com"
    assert app.config["OUTBOX_FOLDER"] == str(tmp_path / "outbox")
    with pytest.raises(ValueError, match="SMTP_PORT='smtp' must be a whole number"):
        Config({"SMTP_PORT": "smtp"})


@pytest.mark.parametrize(("security", "port"), [("none", 25), ("starttls", 587), ("tls", 465)])
def test_the_smtp_port_follows_the_security_mode(tmp_path, security, port):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SMTP_SECURITY": security})
    assert app.config["SMTP_PORT"] == port


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY='ssl' must be one of: none, starttls, tls"),
        ({"MAIL_FROM": "digest"}, "MAIL_FROM='digest' must be one address"),
        ({"MAIL_FROM": "a@example.com, b@example.com"}, "must be one address"),
        ({"MAIL_FROM": "Eve\r\nBcc: x@example.com <a@example.com>"}, "must be one address"),
    ],
)
def test_bad_mail_settings_say_what_is_wrong(tmp_path, setting, message):
    with pytest.raises(ValueError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path)} | setting)


def test_redis_url_drives_the_limiter_and_celery(tmp_path):
    plain = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert plain.config["RATELIMIT_STORAGE_URI"] == "memory://"
    app = create_app({"INSTANCE_PATH": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6399/2"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6399/2"
    celery = app.extensions["celery"]
    assert celery.conf.broker_url == "redis://127.0.0.1:6399/2"
    assert celery.conf.result_backend is None  # results are never read: no store to wait on
    # Every Redis client of the web app gives up quickly: a frozen Redis keeps no visitor waiting.
    timeouts = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    assert app.config["RATELIMIT_STORAGE_OPTIONS"] == app.config["CACHE_OPTIONS"] == timeouts
    assert celery.conf.task_acks_late and celery.conf.task_reject_on_worker_lost
    assert celery.conf.worker_prefetch_multiplier == 1
    assert celery.conf.task_time_limit < celery.conf.broker_transport_options["visibility_timeout"]
    assert celery.conf.task_always_eager is False
    beats = {entry["task"] for entry in celery.conf.beat_schedule.values()}
    assert beats == {"weeknote.dispatch_digests", "weeknote.sweep_mail", "weeknote.tidy_subscribers"}


def test_smtp_rate_limit_is_read_as_rates_and_a_wrong_one_says_how_to_write_it(tmp_path):
    app = create_app(
        {"INSTANCE_PATH": str(tmp_path), "SMTP_RATE_LIMIT": "14/s, 50000/day", "SMTP_CONNECTIONS": 8}
    )
    assert app.config["SMTP_RATES"] == ((14, 1), (50000, 86400))
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["max_overflow"] >= 3 * 8  # a sender thread holds three
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["SMTP_RATES"] == ()
    with pytest.raises(ValueError, match="'14 a second' is not a rate like '14/s'"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SMTP_RATE_LIMIT": "14 a second"})
    with pytest.raises(ValueError, match="SMTP_CONNECTIONS=0 must be 1 or more"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SMTP_CONNECTIONS": 0})


def test_a_bounce_mailbox_adds_its_poll_to_the_beat(tmp_path):
    app = create_app(
        {"INSTANCE_PATH": str(tmp_path), "BOUNCE_MAILBOX": "imaps://b:pw@imap.example.com/INBOX"}
    )
    schedule = app.extensions["celery"].conf.beat_schedule
    assert {entry["task"]: entry["schedule"] for entry in schedule.values()}["weeknote.poll_bounces"] == 300.0
    with pytest.raises(ValueError, match="BOUNCE_MAILBOX"):
        create_app({"INSTANCE_PATH": str(tmp_path), "BOUNCE_MAILBOX": "https://imap.example.com/"})


def write_run_file(instance, pid: int) -> None:
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "run.env").write_text(
        f"WEEKNOTE_RUN_PID={pid}\nPORT=5072\nSITE_URL=http://127.0.0.1:5072\nREDIS_URL=redis://127.0.0.1:6399/0\n"
    )


def test_commands_beside_make_run_act_on_the_running_site(tmp_path, monkeypatch, request):
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    instance = tmp_path / "instance"
    # A process that stands in for `make run` (which becomes honcho): alive, and named so.
    stand_in = "import time; print('started', flush=True); time.sleep(60)"
    honcho = subprocess.Popen([sys.executable, "-c", stand_in, "honcho"], stdout=subprocess.PIPE, text=True)
    request.addfinalizer(lambda: (honcho.kill(), honcho.wait(), honcho.stdout.close()))
    assert honcho.stdout.readline() == "started\n"  # running its own command line by now
    write_run_file(instance, honcho.pid)
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["SITE_URL"] == "http://127.0.0.1:5072"
    assert app.config["CELERY"]["broker_url"] == "redis://127.0.0.1:6399/0"

    monkeypatch.setenv("SITE_URL", "https://notes.example.com")  # set by hand: it wins
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["SITE_URL"] == "https://notes.example.com"
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6399/0"


def test_a_stopped_or_reused_process_id_is_ignored(tmp_path, monkeypatch):
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    ended = subprocess.Popen(["true"])
    ended.wait()  # its process id now belongs to no process
    instance = tmp_path / "instance"
    write_run_file(instance, ended.pid)
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["SITE_URL"] == "http://127.0.0.1:5000" and app.config["REDIS_URL"] is None
    write_run_file(instance, os.getpid())  # alive, but not a make run: the id was reused
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["SITE_URL"] == "http://127.0.0.1:5000" and app.config["REDIS_URL"] is None
