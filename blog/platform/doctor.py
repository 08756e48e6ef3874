"""`weeknote doctor`: the checks of what an operator can get wrong, each with what to do about it."""

import base64
import ssl
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import dkim.crypto
import dns.exception
import dns.resolver
import redis

from blog.mail.signing import DKIMSigner
from blog.mail.transport import SendError, SMTPTransport
from blog.platform.findings import Finding
from blog.platform.mail_dns import check_sending_domain

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
TIMEOUT = 5.0  # seconds for each network check


def is_production(config: Mapping) -> bool:
    """A SITE_URL that is not on this machine means the blog is public."""
    return (urlsplit(config["SITE_URL"]).hostname or "") not in LOOPBACK_HOSTS


def check_secret_key(config: Mapping) -> list[Finding]:
    if config.get("SECRET_KEY_GENERATED"):
        return [
            Finding(
                "fix",
                "SECRET_KEY",
                "not set: the development key in instance/secret_key is in use; "
                "set SECRET_KEY to 64 random hex characters (python -c 'import secrets; "
                "print(secrets.token_hex(32))') and keep it the same on every machine",
            )
        ]
    if len(config["SECRET_KEY"]) < 32:
        return [Finding("fix", "SECRET_KEY", f"only {len(config['SECRET_KEY'])} characters: use 32 or more")]
    return [Finding("ok", "SECRET_KEY", "set")]


def check_site_url(config: Mapping) -> list[Finding]:
    url = config["SITE_URL"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            Finding("fix", "SITE_URL", f"{url!r} is not absolute: write it like https://blog.example.com")
        ]
    if not is_production(config):
        return [
            Finding(
                "warn",
                "SITE_URL",
                f"{url} is this machine: links in emails work only here; "
                "set SITE_URL to the public https address before sending mail",
            )
        ]
    if parts.scheme != "https":
        return [
            Finding(
                "fix",
                "SITE_URL",
                f"{url} is public but not https: List-Unsubscribe needs an "
                "https URL and subscribers' addresses travel in links; use https://",
            )
        ]
    return [Finding("ok", "SITE_URL", url)]


def check_smtp(config: Mapping, ssl_context: ssl.SSLContext | None = None) -> list[Finding]:
    """Connect to SMTP_HOST with SMTP_SECURITY and log in when SMTP_USERNAME is set; send nothing."""
    if not config.get("SMTP_HOST"):
        level = "fix" if is_production(config) else "warn"
        return [
            Finding(
                level,
                "SMTP",
                "SMTP_HOST is not set: mail is only written to instance/outbox/; "
                "set SMTP_HOST (and SMTP_USERNAME, SMTP_PASSWORD) to your relay",
            )
        ]
    where = f"{config['SMTP_HOST']}:{config['SMTP_PORT']} ({config['SMTP_SECURITY']})"
    transport = SMTPTransport(
        config["SMTP_HOST"],
        int(config["SMTP_PORT"]),
        config["SMTP_SECURITY"],
        config.get("SMTP_USERNAME", ""),
        config.get("SMTP_PASSWORD", ""),
        timeout=TIMEOUT,
        ssl_context=ssl_context,
    )
    try:
        with transport:
            pass
    except SendError as error:
        return [Finding("fix", "SMTP", f"{error}; check SMTP_HOST, SMTP_PORT, SMTP_SECURITY and the login")]
    logged_in = f", logged in as {config['SMTP_USERNAME']}" if config.get("SMTP_USERNAME") else ""
    findings = [Finding("ok", "SMTP", f"{where} reachable{logged_in}")]
    if config["SMTP_SECURITY"] == "none" and is_production(config):
        findings.append(Finding("warn", "SMTP", "SMTP_SECURITY=none: mail and password travel in clear"))
    return findings


def check_postal_address(config: Mapping) -> list[Finding]:
    """Bulk mail must carry a postal address (CAN-SPAM, and Gmail's and Yahoo's sender rules)."""
    if config.get("MAIL_POSTAL_ADDRESS", "").strip():
        return [Finding("ok", "MAIL_POSTAL_ADDRESS", "set: every digest's footer carries it")]
    if not config.get("SMTP_HOST"):
        return [Finding("warn", "MAIL_POSTAL_ADDRESS", "empty: set it before sending mail for real")]
    return [
        Finding(
            "fix",
            "MAIL_POSTAL_ADDRESS",
            "empty while SMTP_HOST sends real mail: anti-spam law and the bulk-sender rules expect a "
            "postal address in every digest's footer; set it in the console's Settings or "
            "MAIL_POSTAL_ADDRESS (a PO box will do)",
        )
    ]


def check_dkim(config: Mapping, resolver: dns.resolver.Resolver | None = None) -> list[Finding]:
    """Load the DKIM key and compare it with the public key published at selector._domainkey.domain."""
    names = ("DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_PRIVATE_KEY")
    values = [config.get(name) for name in names]
    if not any(values):
        return [
            Finding("warn", "DKIM", "not set: digests go out unsigned, and many receivers file those as spam")
        ]
    if not all(values):
        missing = ", ".join(name for name, value in zip(names, values, strict=True) if not value)
        return [Finding("fix", "DKIM", f"{missing} not set: DKIM needs all of {', '.join(names)}")]
    try:
        signer = DKIMSigner(*values)
        private = dkim.crypto.parse_pem_private_key(signer.key)
    except (ValueError, dkim.crypto.UnparsableKeyError) as error:
        return [Finding("fix", "DKIM", f"DKIM_PRIVATE_KEY cannot be loaded: {error}")]
    name = f"{config['DKIM_SELECTOR']}._domainkey.{config['DKIM_DOMAIN']}"
    try:
        published = lookup_dkim_modulus(name, resolver)
    except (dns.exception.DNSException, OSError) as error:
        return [
            Finding(
                "warn",
                "DKIM",
                f"key loads, but the TXT record {name} could not be read "
                f"({type(error).__name__}): check it is published",
            )
        ]
    except (ValueError, dkim.crypto.UnparsableKeyError) as error:
        return [Finding("fix", "DKIM", f"the TXT record {name} holds no usable public key ({error})")]
    if published != private["modulus"]:
        return [
            Finding(
                "fix",
                "DKIM",
                f"the public key at {name} does not match DKIM_PRIVATE_KEY: "
                "publish the key pair's public half, or fix DKIM_SELECTOR",
            )
        ]
    return [Finding("ok", "DKIM", f"key loads and matches {name}")]


def lookup_dkim_modulus(name: str, resolver: dns.resolver.Resolver | None = None) -> int:
    """The RSA modulus in the DKIM TXT record at name (p=, base64 of the DER public key)."""
    if resolver is None:
        resolver = dns.resolver.Resolver()
        resolver.lifetime = TIMEOUT
    answer = resolver.resolve(name, "TXT")
    for record in answer:
        text = b"".join(record.strings).decode()
        tags = dict(part.strip().split("=", 1) for part in text.split(";") if "=" in part)
        if "p" in tags:
            if not tags["p"].strip():
                raise ValueError("p= is empty: the key was revoked")
            der = base64.b64decode("".join(tags["p"].split()))
            return dkim.crypto.parse_public_key(der)["modulus"]
    raise ValueError("no p= tag")


def check_redis(config: Mapping) -> list[Finding]:
    """PING Redis, then read its persistence and eviction settings."""
    url = config.get("REDIS_URL")
    if not url:
        return [
            Finding(
                "warn",
                "Redis",
                "REDIS_URL is not set: mail is sent inside web requests, rate "
                "limits are per process, and no digest is sent on schedule (no worker, no beat)",
            )
        ]
    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    try:
        client.ping()
        settings = client.config_get("appendonly") | client.config_get("save")
        settings |= client.config_get("maxmemory-policy")
    except redis.ResponseError as error:
        return [
            Finding(
                "warn",
                "Redis",
                f"reachable, but CONFIG GET is refused ({error}): check by hand "
                "that it persists (appendonly yes) and never evicts (maxmemory-policy noeviction)",
            )
        ]
    except redis.RedisError as error:
        return [Finding("fix", "Redis", f"cannot reach {redacted(url)}: {error}")]
    finally:
        client.close()
    findings = []
    if settings.get("appendonly") != "yes":
        level = "warn" if settings.get("save") else "fix"
        findings.append(
            Finding(
                level,
                "Redis",
                "appendonly is off: queued mail is lost when Redis restarts; "
                "set `appendonly yes` in redis.conf",
            )
        )
    if settings.get("maxmemory-policy") != "noeviction":
        findings.append(
            Finding(
                "fix",
                "Redis",
                f"maxmemory-policy is {settings.get('maxmemory-policy')}: "
                "Redis may drop queued tasks when full; set `maxmemory-policy noeviction`",
            )
        )
    if config.get("CACHE_REDIS_URL", url) == url and "SITE_URL" in config and is_production(config):
        findings.append(
            Finding(
                "warn",
                "Redis",
                "rendered pages share the queue's Redis, and with noeviction a full Redis refuses "
                "mail; point CACHE_REDIS_URL at a Redis of their own (maxmemory, allkeys-lru)",
            )
        )
    return findings or [Finding("ok", "Redis", f"{redacted(url)}: appendonly yes, noeviction")]


def redacted(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def check_proxy(config: Mapping) -> list[Finding]:
    hops = config["TRUSTED_PROXY_HOPS"]
    if hops:
        return [Finding("ok", "TRUSTED_PROXY_HOPS", f"X-Forwarded-* headers of {hops} proxies trusted")]
    seen = Path(config["FORWARDED_SEEN_FILE"])
    if seen.exists():
        return [
            Finding(
                "warn",
                "TRUSTED_PROXY_HOPS",
                f"is 0, but requests came with X-Forwarded-For ({seen.read_text().strip()}): behind a "
                "proxy every visitor shares one rate limit and consent records hold its address; set it "
                "to the number of proxies in front (1 for one), then remove " + str(seen),
            )
        ]
    return [Finding("ok", "TRUSTED_PROXY_HOPS", "0: no request has come through a proxy")]


def run_checks(config: Mapping) -> list[Finding]:
    """Every check, in the order the report prints them."""
    checks = (check_secret_key, check_site_url, check_proxy, check_smtp, check_postal_address)
    checks += (check_dkim, check_sending_domain, check_redis)
    return [finding for check in checks for finding in check(config)]
