"""`weeknote doctor` against real servers: an SMTP server, a private Redis, a DNS server for DKIM."""

import ssl

import helpers
import pytest
import trustme
from helpers import make_app
from servers import DNSServer, RedisServer, SMTPServer, free_port, require_program, wait_until

from blog.platform.doctor import check_dkim, check_postal_address, check_redis, check_site_url, check_smtp

GOOD = {
    "SECRET_KEY": "k" * 64,
    "SITE_URL": "https://blog.example.com",
    "SMTP_SECURITY": "none",
    "MAIL_POSTAL_ADDRESS": "PO Box 1, 10115 Berlin",
}


def levels(findings) -> list[tuple[str, str]]:
    return [(finding.level, finding.topic) for finding in findings]


@pytest.fixture
def durable_redis(tmp_path):
    """A private Redis set up as production should be: append-only file, no eviction."""
    server = RedisServer(require_program("redis-server"), tmp_path)
    server.client.config_set("appendonly", "yes")
    server.client.config_set("maxmemory-policy", "noeviction")

    def aof_written() -> bool:
        info = server.client.info("persistence")
        return info["aof_enabled"] == 1 and not info["aof_rewrite_in_progress"]

    wait_until(aof_written, 10, "Redis to write its first append-only file")  # it refuses SIGTERM until then
    yield server
    server.stop()


def test_development_defaults_fail_on_the_generated_secret_key(tmp_path):
    app = make_app(tmp_path / "instance", f"sqlite:///{tmp_path / 'x.db'}", SECRET_KEY=None)
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "FIX   SECRET_KEY: not set: the development key in instance/secret_key" in result.output
    assert "warn  SITE_URL: http://127.0.0.1:5000 is this machine" in result.output
    assert "warn  SMTP: SMTP_HOST is not set" in result.output
    assert "1 problem to fix." in result.output


def test_a_well_configured_site_passes(app_factory, smtp_server, durable_redis):
    pages = durable_redis.url.rsplit("/", 1)[0] + "/1"  # in production, a Redis of their own
    config = GOOD | {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "REDIS_URL": durable_redis.url}
    config["CACHE_REDIS_URL"] = pages
    result = app_factory(**config).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert f"ok    SMTP: 127.0.0.1:{smtp_server.port} (none) reachable" in result.output
    assert "ok    Redis: " in result.output
    assert "ok    SITE_URL: https://blog.example.com" in result.output
    assert "ok    MAIL_POSTAL_ADDRESS: set" in result.output
    assert "Nothing to fix." in result.output


def test_real_mail_without_a_postal_address_is_a_problem(app_factory, smtp_server):
    config = GOOD | {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "MAIL_POSTAL_ADDRESS": ""}
    result = app_factory(**config).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "FIX   MAIL_POSTAL_ADDRESS: empty while SMTP_HOST sends real mail" in result.output
    assert levels(check_postal_address({"SMTP_HOST": "", "MAIL_POSTAL_ADDRESS": ""})) == [
        ("warn", "MAIL_POSTAL_ADDRESS")
    ]


def test_redis_without_persistence_is_a_problem(app_factory, redis_url):
    result = app_factory(**GOOD, REDIS_URL=redis_url).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "FIX   Redis: appendonly is off: queued mail is lost when Redis restarts" in result.output


def test_a_public_site_whose_pages_share_the_queue_redis_is_warned(durable_redis):
    config = {"REDIS_URL": durable_redis.url, "SITE_URL": "https://blog.example.com"}
    [finding] = check_redis(config | {"CACHE_REDIS_URL": durable_redis.url})
    assert finding.level == "warn" and "CACHE_REDIS_URL" in finding.text
    assert levels(check_redis(config | {"CACHE_REDIS_URL": "redis://cache:6379/0"})) == [("ok", "Redis")]


def test_redis_that_evicts_or_is_down(durable_redis):
    durable_redis.client.config_set("maxmemory-policy", "allkeys-lru")
    findings = check_redis({"REDIS_URL": durable_redis.url})
    assert levels(findings) == [("fix", "Redis")]
    assert "maxmemory-policy is allkeys-lru" in findings[0].text
    down = f"redis://127.0.0.1:{free_port()}/0"
    assert "cannot reach" in check_redis({"REDIS_URL": down})[0].text


@pytest.mark.parametrize(
    ("url", "level", "words"),
    [
        ("blog.example.com", "fix", "is not absolute"),
        ("http://blog.example.com", "fix", "is public but not https"),
        ("http://localhost:5000", "warn", "is this machine"),
        ("https://blog.example.com", "ok", "https://blog.example.com"),
    ],
)
def test_site_url(url, level, words):
    [finding] = check_site_url({"SITE_URL": url})
    assert finding.level == level
    assert words in finding.text


def test_smtp_unreachable(app_factory):
    port = free_port()
    config = GOOD | {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port}
    result = app_factory(**config).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert f"FIX   SMTP: cannot reach SMTP server 127.0.0.1:{port}" in result.output


@pytest.fixture
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1, and a client context that trusts it."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


def test_smtp_login_is_checked(tls):
    server_context, client_context = tls
    server = SMTPServer(tls_context=server_context, login=("mailer", "s3cret"))
    try:
        config = {"SITE_URL": "https://blog.example.com", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": server.port}
        config |= {"SMTP_SECURITY": "starttls", "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "wrong"}
        [finding] = check_smtp(config, client_context)
        assert finding.level == "fix"
        assert "refused the session" in finding.text
        [finding] = check_smtp(config | {"SMTP_PASSWORD": "s3cret"}, client_context)
        assert finding.level == "ok"
        assert finding.text.endswith("reachable, logged in as mailer")
        assert server.logins == ["mailer"]
        [finding] = check_smtp(config | {"SMTP_SECURITY": "none"}, client_context)
        assert finding.level == "fix"  # the server insists on STARTTLS before AUTH
        assert server.messages == []  # the doctor never sends anything
    finally:
        server.stop()


def rsa_key() -> tuple[str, str]:
    return helpers.rsa_key(1024)  # small keys: these tests only check that the pair matches


def test_dkim_key_matches_the_published_selector(tmp_path):
    private, public = rsa_key()
    _, other_public = rsa_key()
    dns = DNSServer(
        {
            "wk._domainkey.example.com": f"v=DKIM1; k=rsa; p={public}",
            "old._domainkey.example.com": f"v=DKIM1; k=rsa; p={other_public}",
            "gone._domainkey.example.com": "v=DKIM1; p=",
        }
    )
    key_file = tmp_path / "dkim.pem"
    key_file.write_text(private)
    config = {"DKIM_DOMAIN": "example.com", "DKIM_SELECTOR": "wk", "DKIM_PRIVATE_KEY": str(key_file)}
    try:
        resolver = dns.resolver()
        [finding] = check_dkim(config, resolver)
        assert (finding.level, finding.text) == ("ok", "key loads and matches wk._domainkey.example.com")
        [finding] = check_dkim(config | {"DKIM_SELECTOR": "old"}, resolver)
        assert finding.level == "fix"
        assert "does not match DKIM_PRIVATE_KEY" in finding.text
        [finding] = check_dkim(config | {"DKIM_SELECTOR": "gone"}, resolver)
        assert "the key was revoked" in finding.text
        [finding] = check_dkim(config | {"DKIM_SELECTOR": "missing"}, resolver)
        assert finding.level == "warn"
        assert "could not be read (NXDOMAIN)" in finding.text
    finally:
        dns.stop()


def test_dkim_key_that_does_not_load():
    config = {"DKIM_DOMAIN": "example.com", "DKIM_SELECTOR": "wk", "DKIM_PRIVATE_KEY": "not a key"}
    [finding] = check_dkim(config)
    assert finding.level == "fix"
    assert "DKIM_PRIVATE_KEY cannot be loaded" in finding.text
    [finding] = check_dkim({"DKIM_DOMAIN": "example.com"})
    assert finding.text.startswith("DKIM_SELECTOR, DKIM_PRIVATE_KEY not set")
