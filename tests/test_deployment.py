"""docker-compose.yml, Dockerfile and .env.example; and the compose services' exact commands, run here.

No Docker engine runs on our machines: the compose file is validated against the Compose
Specification schema (shipped inside check-jsonschema), and the commands of web, worker and beat
are started as they are written, on PostgreSQL and a private Redis, to deliver a digest.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from helpers import CSRF_INPUT, Browser, add_post, confirm_link, make_app, require
from servers import CONFIG_VARIABLES, PROJECT_ROOT, free_port, wait_until

from blog.config import DEFAULTS, normalise_database_url
from blog.extensions import db
from blog.newsletter.digests import save_schedule

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_compose_file_follows_the_compose_specification():
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    result = subprocess.run([*command, str(COMPOSE_FILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services(compose):
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "redis", "cache", "db", "mailcatcher"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    for name in APP_SERVICES:
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert set(conditions.values()) == {"service_healthy"}, name
        assert "redis" in conditions
    assert services["web"]["command"][-1].startswith(
        "weeknote db upgrade && exec gunicorn -c gunicorn.conf.py"
    )
    # Workers scale out (--scale worker=N): nothing in them may be unique to one container.
    assert not {"ports", "container_name"} & set(services["worker"])
    assert not {"ports", "container_name"} & set(services["beat"])
    redis_command = services["redis"]["command"]
    assert "--appendonly" in redis_command and redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert redis_command[redis_command.index("--maxmemory-policy") + 1] == "noeviction"
    assert services["redis"]["volumes"] == ["redis:/data"]
    # Pages live apart from the queue: bounded and evictable there, never in the queue's Redis.
    cache_command = services["cache"]["command"]
    assert cache_command[cache_command.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert "--maxmemory" in cache_command and "volumes" not in services["cache"]
    assert compose["x-app"]["environment"]["CACHE_REDIS_URL"] == "redis://cache:6379/0"
    assert services["web"]["depends_on"]["cache"]["condition"] == "service_healthy"
    assert services["db"]["volumes"] == ["postgres:/var/lib/postgresql/data"]
    assert services["mailcatcher"]["profiles"] == ["dev"]
    assert "profiles" not in services["web"]


def test_dockerfile_builds_in_two_stages_and_runs_as_a_user():
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    assert len(stages) == 2
    build, final = stages
    assert "build-essential" in build
    assert "build-essential" not in final and "apt-get install" not in final
    assert re.search(r"^USER weeknote$", final, flags=re.MULTILINE)
    assert "COPY --from=build /venv /venv" in final


def test_env_example_documents_every_variable(compose):
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M)
    )
    read_by_app = set(DEFAULTS) | {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SMTP_PORT"}
    read_by_gunicorn = set(
        re.findall(r'os\.environ\.get\(["\'](\w+)', (PROJECT_ROOT / "gunicorn.conf.py").read_text())
    )
    used_by_compose = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    missing = (read_by_app | read_by_gunicorn | used_by_compose) - documented - {"PORT"}  # PORT: the image's
    assert not missing


def postgresql_database() -> str:
    """An emptied PostgreSQL database (TEST_DATABASE_URL): the web command must migrate it."""
    if not os.environ.get("TEST_DATABASE_URL"):
        require("PostgreSQL", "set TEST_DATABASE_URL, e.g. postgresql://127.0.0.1/test")
    url = os.environ["TEST_DATABASE_URL"]
    engine = sa.create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


class Service:
    """One compose service's command, started here in its own process group, output to a log."""

    def __init__(self, name: str, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name, self.log_path = name, cwd / f"{name}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, marker: str, timeout: float = 60) -> None:
        def seen() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
            return marker in self.output()

        wait_until(seen, timeout, f"{marker!r} from {self.name} (log: {self.log_path})", interval=0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # what `docker compose stop` sends
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def test_compose_commands_deliver_a_digest(compose, tmp_path, redis_url, smtp_server):
    database_url = postgresql_database()
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    # The image's working directory: gunicorn.conf.py and a writable instance/ (beat's schedule).
    workdir = tmp_path / "app"
    (workdir / "instance").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "gunicorn.conf.py", workdir)
    base = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    env = base | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{base['PATH']}",  # the image puts /venv/bin first
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "SECRET_KEY": "compose-test-" + "k" * 40,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SITE_URL": site,
        "MAIL_FROM": "Weeknote <digest@blog.example.com>",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_SECURITY": "none",
        "DISPATCH_INTERVAL": "0.5",
    }
    services: list[Service] = []
    try:
        web = Service("web", compose["services"]["web"]["command"], workdir, env)
        services.append(web)
        browser = Browser(site)

        def healthy() -> bool:
            if web.process.poll() is not None:
                raise RuntimeError(f"web exited with {web.process.returncode}:\n{web.output()}")
            return browser.health() == {"status": "ok", "database": "ok", "redis": "ok"}

        wait_until(healthy, 60, f"/healthz of the web command (log: {web.log_path})", interval=0.3)
        assert "Running upgrade  -> " in web.output()  # it migrated the empty database first
        for name, marker in (("worker", " ready."), ("beat", "beat: Starting")):
            service = Service(name, compose["services"][name]["command"], workdir, env)
            services.append(service)
            service.wait_for_output(marker)

        # A visitor subscribes and confirms through gunicorn; the worker sends the confirmation.
        token = CSRF_INPUT.search(browser.get("/subscribe")).group(1)
        browser.post("/subscribe", {"csrf_token": token, "email": "reader@example.com"})
        [confirmation] = smtp_server.wait_for(1)
        path = confirm_link(confirmation).removeprefix(site)
        token = CSRF_INPUT.search(browser.get(path)).group(1)
        assert "You are subscribed" in browser.post(path, {"csrf_token": token})

        # A post this week and a schedule that is due: beat dispatches, the worker delivers.
        app = make_app(tmp_path / "instance", normalise_database_url(database_url))
        with app.app_context():
            now = datetime.now(UTC)
            add_post("Compose week", now - timedelta(hours=2), tags=("ops",))
            schedule = save_schedule(
                db.session, weekday=now.weekday(), local_time=now.time().replace(microsecond=0),
                timezone="UTC", min_posts=1, hold_for_review=False, enabled=True, now=now - timedelta(days=1),
            )  # fmt: skip
            schedule.next_run_at = now
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        messages = smtp_server.wait_for(3, timeout=60)  # the confirmation, the welcome, the digest
        assert [m["Subject"].startswith("Welcome to") for m in messages].count(True) == 1
        [digest] = [m for m in messages if "new post" in m["Subject"]]
        assert digest["To"] == "reader@example.com"
        assert digest["List-Unsubscribe"].startswith(f"<{site}/unsubscribe/")
        assert "Compose week" in digest.get_body(preferencelist=("plain",)).get_content()
        link = re.compile(r'href="(/digests/\d+/)"')
        [web_copy] = wait_until(lambda: link.findall(browser.get("/digests/")), 20, "the digest marked sent")
        assert "Compose week" in browser.get(web_copy)
    finally:
        for service in reversed(services):
            service.stop()
    # Each stopped cleanly on SIGTERM; if not, show how it ended.
    unclean = {s.name: (s.process.returncode, s.output()[-3000:]) for s in services if s.process.returncode}
    assert not unclean and len(services) == 3, unclean
