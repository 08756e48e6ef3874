"""Configuration read from environment variables, with instance-folder defaults."""

import os
import re
import secrets
from datetime import timedelta
from email.headerregistry import Address
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from blog import jobs

DEFAULTS = {
    "SITE_URL": "http://127.0.0.1:5000",
    "SITE_TITLE": "Weeknote",
    "SITE_DESCRIPTION": "Notes from learning in public.",
    "AUTHOR_NAME": "",
    "AUTHOR_BIO": "",
    "TIMEZONE": "UTC",
    "POSTS_PER_PAGE": 10,
    "MAIL_FROM": "Weeknote <weeknote@localhost>",
    "MAIL_POSTAL_ADDRESS": "",
    "SMTP_HOST": "",
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_SECURITY": "starttls",
    "FEED_ITEMS": 20,
    "DIGEST_SUBJECT": "",
    "DIGEST_CONTENT": "excerpt",  # or "full": each post's whole text in the digest (console setting too)
    "WELCOME_EMAIL": "on",  # "off": no welcome email after confirming (console setting too)
    "SITE_LOGO": "",  # an image URL, or a path under SITE_URL, shown at the top of the digest
    # Bounces and complaints. BOUNCE_ADDRESS: the envelope sender becomes bounces+<signed token>@...
    # (VERP); COMPLAINTS_ADDRESS: where receivers send complaint reports (CFBL-Address, RFC 9477).
    "BOUNCE_ADDRESS": "",
    "COMPLAINTS_ADDRESS": "",
    # Where bounces and complaints arrive (imaps://user:password@host/INBOX, imap://, pop3s://,
    # pop3://), and the seconds between two polls of it by the beat.
    "BOUNCE_MAILBOX": "",
    "BOUNCE_POLL_INTERVAL": 300.0,
    # The relays' webhooks, each off until set: the SNS topic(s) of SES notifications and the hosts
    # their signing certificates may come from; Postmark's basic auth (user:password); Mailgun's
    # webhook signing key; SendGrid's verification key (base64 DER, or PEM).
    "SES_TOPIC_ARN": "",
    "SES_CERT_HOSTS": "sns.*.amazonaws.com",
    "POSTMARK_WEBHOOK_AUTH": "",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "",
    "SENDGRID_WEBHOOK_PUBLIC_KEY": "",
    "DKIM_DOMAIN": "",
    "DKIM_SELECTOR": "",
    "DKIM_PRIVATE_KEY": "",  # the PEM key itself, or the path of a file holding it
    # Delivery: rows per batch (one SMTP connection each), batch tasks started per digest, seconds
    # after which a claimed row counts as abandoned (a task may run half of it), first 4xx retry.
    "DELIVERY_BATCH_SIZE": 200,
    "DELIVERY_PARALLEL": 2,
    "DELIVERY_CLAIM_TIMEOUT": 600.0,
    "DELIVERY_RETRY_BASE": 30.0,
    # SMTP connections open at once across every worker (a lease in Redis each), and the relay's
    # allowance, shared by every worker through a token bucket in Redis: "14/s", "50000/day" or
    # both ("14/s, 50000/day"); empty: no allowance but what the relay's throttling answers teach.
    # Eight: a connection carries one message a round trip, so at 40 ms four could never fill an
    # allowance of 100 a second; threads, not processes, so more cost no memory (bench/relay.py).
    "SMTP_CONNECTIONS": 8,
    "SMTP_RATE_LIMIT": "",
    "DISPATCH_INTERVAL": 60.0,  # seconds between two dispatcher runs of the beat
    # Hours a scheduled digest may be late (the beat was down) and still go out by itself; a later
    # one is held for the author to approve or cancel.
    "DIGEST_MAX_LATENESS": 12.0,
    # Minutes between a post's publication and the email to subscribers who chose every post, so a
    # quick fix does not send twice (the email carries the post as it is then).
    "POST_MAIL_DELAY": 10.0,
    # For tests that simulate weeks: a file holding the ISO moment the dispatcher takes as now
    # (newsletter/sending.dispatch_now). Empty, as it always is in use: the real clock.
    "DISPATCH_CLOCK_FILE": "",
    # Seconds any one Redis call of the web app may take (connect or answer) before Redis counts
    # as down: pages render without the cache, limits count in process, mail waits in the database.
    "REDIS_TIMEOUT": 0.5,
    # Seconds after which mail that is due but was handed to the worker is handed over again.
    "MAIL_REQUEUE_AFTER": 300.0,
    "PENDING_RETENTION_DAYS": 30,  # addresses that never confirmed are erased after this many days
    # A Redis for rendered pages apart from the queue's (maxmemory with allkeys-lru there), so
    # pages can never fill the Redis that holds mail; empty: the pages share REDIS_URL.
    "CACHE_REDIS_URL": "",
    "LOG_FORMAT": "text",  # or "json": one JSON object per line
    "TRUSTED_PROXY_HOPS": 0,  # reverse proxies in front whose X-Forwarded-* headers are believed
    # A site uploaded in the console's Import: the largest upload (a .zip or a folder's files, in
    # bytes), and what it may unpack to: files, bytes in all, and how many times its compressed size.
    "IMPORT_MAX_UPLOAD": 100 * 1024 * 1024,
    "IMPORT_MAX_FILES": 10000,
    "IMPORT_MAX_BYTES": 500 * 1024 * 1024,
    "IMPORT_MAX_RATIO": 100,
    # Where images and files live, and where uploads are unpacked; the worker must see the same
    # folders as the web app (the instance folder by default: share it, or point both here).
    "MEDIA_FOLDER": "",
    "IMPORT_FOLDER": "",
}
SMTP_SECURITY_MODES = ("none", "starttls", "tls")
# The windows SMTP_RATE_LIMIT understands ("14/s", "100/minute", "50000/day"), in seconds.
RATE_WINDOWS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
                "d": 86400, "day": 86400}  # fmt: skip
RATE = re.compile(r"\s*(?P<count>\d+)\s*(?:/|per)\s*(?P<every>\d*)\s*(?P<unit>[a-z]+)\s*")
MAILBOX_SCHEMES = ("imaps", "imap", "pop3s", "pop3")
SMTP_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


# Written by `make run` while it serves the site: commands run beside it in another shell act on
# that site (its SITE_URL, its Redis and worker). Its WEEKNOTE_RUN_PID says whether it still runs.
RUN_FILE = "run.env"
RUN_SETTINGS = ("SITE_URL", "REDIS_URL")


def running_site(instance_path: Path) -> dict[str, str]:
    """The settings `make run` recorded in instance/run.env, while the `make run` that wrote
    them is alive; {} otherwise (a file left by a stopped run points at nothing)."""
    path = instance_path / RUN_FILE
    if not path.is_file():
        return {}
    recorded = dotenv_values(path)
    pid = recorded.get("WEEKNOTE_RUN_PID") or ""
    if not pid.isdigit() or not runs_honcho(int(pid)):
        return {}
    return {key: value for key in RUN_SETTINGS if (value := recorded.get(key))}


def runs_honcho(pid: int) -> bool:
    """Whether pid is still `make run` (which became honcho): where /proc shows command lines,
    a process id reused by another program after the run stopped does not count."""
    proc = Path("/proc")
    if not (proc / "self").exists():
        return process_alive(pid)
    try:
        return b"honcho" in (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def environment(instance_path: Path) -> dict[str, str]:
    """The environment the app reads: a running `make run`'s settings, which any variable set
    in the real environment overrides."""
    return running_site(instance_path) | dict(os.environ)


class Config:
    """Settings from the environment; unset values fall back to DEFAULTS."""

    SUBSCRIBE_RATE_LIMIT = "5 per hour;20 per day"  # per client IP, POST /subscribe only
    SIGN_IN_RATE_LIMIT = "10 per 15 minutes;50 per day"  # per client IP, POST /admin/sign-in only
    WEBHOOK_RATE_LIMIT = "300 per minute"  # per client IP, POST /webhooks/<provider>
    SUBSCRIBE_ANSWER_SECONDS = 0.25  # every subscribe answers after this long, whatever the address
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    WTF_CSRF_TIME_LIMIT = None  # a post left open all afternoon can still be subscribed from
    RATELIMIT_KEY_PREFIX = "weeknote-limits"
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True  # Redis down: keep limiting, per process
    PAGE_CACHE = True
    SITE_STATE_SECONDS = 1.0  # how stale a page may be after an edit, per process
    CACHE_KEY_PREFIX = "weeknote:"
    CACHE_DEFAULT_TIMEOUT = 3600  # entries of an outdated site state age out within the hour
    COVER_MAX_BYTES = 5 * 1024 * 1024  # the largest cover image the console accepts

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        for key, default in DEFAULTS.items():
            value = env.get(key) or default
            try:
                setattr(self, key, type(default)(value))
            except ValueError:
                kind = "whole number" if isinstance(default, int) else type(default).__name__
                raise ValueError(f"{key}={value!r} must be a {kind}") from None
        self.SECRET_KEY = env.get("SECRET_KEY") or None
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", ""))
        self.REDIS_URL = env.get("REDIS_URL") or None
        port = env.get("SMTP_PORT") or ""
        if port and not port.isdigit():
            raise ValueError(f"SMTP_PORT={port!r} must be a whole number")
        self.SMTP_PORT = int(port) if port else None


class TestConfig(Config):
    """Settings for the test suite: no environment leaks in, a fixed secret."""

    TESTING = True
    SITE_STATE_SECONDS = 0.0  # tests see every change at once
    SUBSCRIBE_ANSWER_SECONDS = 0.0  # tests/test_subscribe.py sets it where it checks it

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        super().__init__(environ or {})
        self.SECRET_KEY = "test-secret-key"


def normalise_database_url(url: str) -> str:
    """Point PostgreSQL URLs at psycopg 3; an empty URL means the default SQLite file."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def finish_config(config: dict, instance_path: Path) -> None:
    """Fill in the defaults that live in the instance folder and check what was given."""
    instance_path.mkdir(parents=True, exist_ok=True)
    config["SITE_URL"] = config["SITE_URL"].rstrip("/")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'weeknote.db'}"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_or_create_secret(instance_path / "secret_key")
        config["SECRET_KEY_GENERATED"] = True  # fine for development; `weeknote doctor` says so
    try:
        ZoneInfo(config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"TIMEZONE={config['TIMEZONE']!r} is not an IANA time zone (try 'Europe/Berlin')"
        ) from error
    for name, allowed in (("DIGEST_CONTENT", ("excerpt", "full")), ("WELCOME_EMAIL", ("on", "off"))):
        if config[name] not in allowed:
            raise ValueError(f"{name}={config[name]!r} must be {' or '.join(allowed)}")
    if config["LOG_FORMAT"] not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT={config['LOG_FORMAT']!r} must be text or json")
    config["MEDIA_FOLDER"] = config.get("MEDIA_FOLDER") or str(instance_path / "media")
    config["IMPORT_FOLDER"] = config.get("IMPORT_FOLDER") or str(instance_path / "imports")
    config.setdefault("CARDS_FOLDER", str(instance_path / "cards"))  # posts' social cards, drawn once
    if config["TRUSTED_PROXY_HOPS"] < 0:
        raise ValueError(f"TRUSTED_PROXY_HOPS={config['TRUSTED_PROXY_HOPS']} must be 0 or more")
    # Written when a request arrives with X-Forwarded-For that no setting trusts (`weeknote doctor`).
    config.setdefault("FORWARDED_SEEN_FILE", str(instance_path / "forwarded-requests-seen"))
    if config.get("MAX_CONTENT_LENGTH") is None:  # refuse a huge upload before reading it all
        config["MAX_CONTENT_LENGTH"] = config["COVER_MAX_BYTES"] + 1024 * 1024  # room for the text
    # The author's session cookies travel only over HTTPS once the site is served that way.
    secure = config["SITE_URL"].startswith("https://")
    config["SESSION_COOKIE_SECURE"] = config.get("SESSION_COOKIE_SECURE") or secure
    config["REMEMBER_COOKIE_SECURE"] = config.get("REMEMBER_COOKIE_SECURE") or secure
    # Rendered pages live in Redis when there is one (shared by every worker), else in process.
    if config.get("REDIS_URL"):
        config.setdefault("CACHE_TYPE", "RedisCache")
        config["CACHE_REDIS_URL"] = config.get("CACHE_REDIS_URL") or config["REDIS_URL"]
    else:
        config.setdefault("CACHE_TYPE", "SimpleCache")
    config.setdefault("OUTBOX_FOLDER", str(instance_path / "outbox"))
    if config["SMTP_CONNECTIONS"] < 1:
        raise ValueError(f"SMTP_CONNECTIONS={config['SMTP_CONNECTIONS']} must be 1 or more")
    config["SMTP_RATES"] = parse_rate_limit(config["SMTP_RATE_LIMIT"])
    # Each sending thread holds three database connections (claims, outcomes, marks).
    engine = {"pool_pre_ping": True, "max_overflow": 10 + 3 * config["SMTP_CONNECTIONS"]}
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine | config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
    finish_mail_config(config)
    finish_queue_config(config)


def parse_rate_limit(value: str) -> tuple[tuple[int, int], ...]:
    """SMTP_RATE_LIMIT ("14/s, 50000/day") as (messages, seconds) pairs; empty for no limit."""
    rates = []
    for part in filter(None, (piece.strip() for piece in re.split(r"[,;]", value))):
        match = RATE.fullmatch(part.lower())
        unit = match["unit"] if match else ""
        unit = unit if unit in RATE_WINDOWS else unit.removesuffix("s")  # "days", "seconds"
        if not match or int(match["count"]) < 1 or unit not in RATE_WINDOWS:
            raise ValueError(
                f"SMTP_RATE_LIMIT={value!r}: {part!r} is not a rate like '14/s', '600/minute' or '50000/day'"
            )
        rates.append((int(match["count"]), RATE_WINDOWS[unit] * int(match["every"] or 1)))
    return tuple(rates)


def finish_mail_config(config: dict) -> None:
    """Check MAIL_FROM and SMTP_SECURITY, and pick the SMTP port that goes with the security mode."""
    security = config["SMTP_SECURITY"]
    if security not in SMTP_SECURITY_MODES:
        raise ValueError(f"SMTP_SECURITY={security!r} must be one of: {', '.join(SMTP_SECURITY_MODES)}")
    if not config.get("SMTP_PORT"):
        config["SMTP_PORT"] = SMTP_DEFAULT_PORTS[security]
    config["MAIL_FROM_ADDRESS"] = parse_sender(config["MAIL_FROM"])
    mailbox = urlsplit(config["BOUNCE_MAILBOX"])
    if config["BOUNCE_MAILBOX"] and (mailbox.scheme not in MAILBOX_SCHEMES or not mailbox.hostname):
        raise ValueError(
            "BOUNCE_MAILBOX must look like imaps://user:password@host/INBOX (or imap://, pop3s://, pop3://)"
        )
    for name in ("BOUNCE_ADDRESS", "COMPLAINTS_ADDRESS"):
        if config[name]:
            address = parse_sender(config[name], name)
            if address.display_name or (name == "BOUNCE_ADDRESS" and "+" in address.username):
                raise ValueError(
                    f"{name}={config[name]!r} must be a bare address with no '+', like bounces@example.com"
                )
            config[name] = address.addr_spec


def parse_sender(value: str, name: str = "MAIL_FROM") -> Address:
    """Parse MAIL_FROM ('Name <user@example.com>' or 'user@example.com') into one address."""
    problem = f"{name}={value!r} must be one address, like 'Weeknote <digest@example.com>'"
    if "\r" in value or "\n" in value:
        raise ValueError(problem)
    header = default_policy.header_factory("From", value)
    if header.defects or len(header.addresses) != 1 or not header.addresses[0].domain:
        raise ValueError(problem)
    return header.addresses[0]


def finish_queue_config(config: dict) -> None:
    """Point the rate limiter and Celery at REDIS_URL; without it, limits live in memory."""
    redis_url = config.get("REDIS_URL")
    config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    timeout = float(config["REDIS_TIMEOUT"])
    timeouts = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if redis_url:
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", timeouts)
        config.setdefault("CACHE_OPTIONS", timeouts)
    # A claimed delivery row is taken over after DELIVERY_CLAIM_TIMEOUT, so no task may run that
    # long (else two workers could send the same row); and a task must end before Redis's
    # visibility timeout hands its message to another worker.
    time_limit = float(config["DELIVERY_CLAIM_TIMEOUT"]) / 2
    celery = {
        "broker_url": redis_url or "memory://",
        "task_ignore_result": True,  # no result backend: nothing reads a task's return value
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A task that runs longer than the visibility timeout would be handed to a second worker.
        # The worker's own connections: a frozen Redis is noticed, and reconnected to, in seconds.
        "broker_transport_options": {
            "visibility_timeout": max(3600, 4 * time_limit),
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
        },
        "task_time_limit": time_limit,
        "task_soft_time_limit": time_limit * 0.9,
        "broker_connection_retry_on_startup": True,
        "beat_schedule": {
            "dispatch-digests": {
                "task": jobs.DISPATCH_DIGESTS,
                "schedule": float(config["DISPATCH_INTERVAL"]),
            },
            "sweep-mail": {"task": jobs.SWEEP_MAIL, "schedule": float(config["DISPATCH_INTERVAL"])},
            "tidy-subscribers": {"task": jobs.TIDY_SUBSCRIBERS, "schedule": 3600.0},
        },
    }
    if config.get("BOUNCE_MAILBOX"):
        celery["beat_schedule"]["poll-bounces"] = {
            "task": jobs.POLL_BOUNCES,
            "schedule": float(config["BOUNCE_POLL_INTERVAL"]),
        }
    config["CELERY"] = celery | config.get("CELERY", {})


def load_or_create_secret(path: Path) -> str:
    """Return the development secret key, generating it on first use."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
