"""`weeknote doctor`'s checks of the sending domain: SPF, DMARC, and alignment with DKIM_DOMAIN.

Gmail and Yahoo ask bulk senders for SPF and DKIM, a DMARC record, and a From domain that DKIM
(or SPF) aligns with. SPF is checked where receivers check it: on the envelope sender's domain
(BOUNCE_ADDRESS's when set, else MAIL_FROM's). Alignment is relaxed: one domain equal to, or a
subdomain of, the other.
"""

from collections.abc import Mapping

import dns.exception
import dns.resolver

from blog.platform.findings import Finding

TIMEOUT = 5.0
LOCAL = ("localhost", "localdomain", "local", "test", "example", "invalid")


def txt_records(name: str, resolver: dns.resolver.Resolver | None) -> list[str]:
    """The TXT strings at `name`; [] when the name or the record does not exist."""
    if resolver is None:
        resolver = dns.resolver.Resolver()
        resolver.lifetime = TIMEOUT
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return [b"".join(record.strings).decode(errors="replace") for record in answer]


def aligned(one: str, other: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other."""
    one, other = one.lower().rstrip("."), other.lower().rstrip(".")
    return one == other or one.endswith("." + other) or other.endswith("." + one)


def check_sending_domain(config: Mapping, resolver: dns.resolver.Resolver | None = None) -> list[Finding]:
    """SPF on the envelope domain, DMARC on MAIL_FROM's domain, and DKIM_DOMAIN's alignment."""
    sender = config["MAIL_FROM_ADDRESS"].domain.lower()
    if "." not in sender or sender.rsplit(".", 1)[1] in LOCAL:
        return [
            Finding("warn", "SPF/DMARC", f"MAIL_FROM's domain {sender} is not public: nothing to check yet")
        ]
    envelope = (config.get("BOUNCE_ADDRESS") or f"x@{sender}").rsplit("@", 1)[1].lower()
    missing = "fix" if config.get("SMTP_HOST") else "warn"
    try:
        return [
            _spf(envelope, missing, resolver),
            _dmarc(sender, missing, resolver),
            *_alignment(sender, envelope, config.get("DKIM_DOMAIN") or ""),
        ]
    except (dns.exception.DNSException, OSError) as error:
        return [
            Finding(
                "warn", "SPF/DMARC", f"the DNS records of {sender} could not be read ({type(error).__name__})"
            )
        ]


def _spf(domain: str, missing: str, resolver) -> Finding:
    records = [text for text in txt_records(domain, resolver) if text.lower().startswith("v=spf1")]
    if not records:
        return Finding(
            missing, "SPF", f"{domain} publishes no SPF record: add a TXT record like "
            f"'v=spf1 include:<your relay> ~all' so receivers accept mail from your relay"
        )  # fmt: skip
    if len(records) > 1:
        return Finding(
            "fix", "SPF", f"{domain} publishes {len(records)} SPF records; receivers need exactly one"
        )
    return Finding("ok", "SPF", f"{domain}: {records[0]}")


def _dmarc(domain: str, missing: str, resolver) -> Finding:
    """The DMARC record of the From domain, or of a parent (the organisational domain)."""
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        name = "_dmarc." + ".".join(labels[start:])
        records = [text for text in txt_records(name, resolver) if text.lower().startswith("v=dmarc1")]
        if records:
            tags = dict(part.strip().split("=", 1) for part in records[0].split(";") if "=" in part)
            return Finding("ok", "DMARC", f"{name}: policy {tags.get('p', 'none').strip()}")
    return Finding(
        missing, "DMARC", f"no DMARC record for {domain}: Gmail and Yahoo require one of bulk senders; "
        f"start with a TXT record at _dmarc.{domain}: 'v=DMARC1; p=none; rua=mailto:dmarc@{domain}'"
    )  # fmt: skip


def _alignment(sender: str, envelope: str, dkim_domain: str) -> list[Finding]:
    findings = []
    if dkim_domain and not aligned(sender, dkim_domain):
        findings.append(
            Finding(
                "fix",
                "Alignment",
                f"DKIM_DOMAIN {dkim_domain} does not align with MAIL_FROM's domain {sender}: DMARC passes "
                f"only when the signing domain is {sender} or a parent of it",
            )
        )
    elif dkim_domain:
        findings.append(
            Finding("ok", "Alignment", f"DKIM_DOMAIN {dkim_domain} aligns with MAIL_FROM ({sender})")
        )
    if not aligned(sender, envelope):
        findings.append(
            Finding(
                "warn" if dkim_domain else "fix",
                "Alignment",
                f"the envelope sender's domain {envelope} does not align with MAIL_FROM's {sender}: "
                "SPF cannot pass DMARC" + (", so DMARC rests on DKIM alone" if dkim_domain else ""),
            )
        )
    return findings
