"""Where the author stands: the dashboard's 30-day rates against the thresholds, and the doctor's
checks of SPF, DMARC and alignment (against a DNS server of the test's own)."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape as html_unescape

import pytest
from servers import DNSServer

from blog.config import parse_sender
from blog.extensions import db
from blog.models import Delivery, Digest
from blog.platform.mail_dns import check_sending_domain

NOW = datetime.now(UTC)


def deliveries(app, sent: int, hard: int = 0, soft: int = 0, complaints: int = 0, days_ago: int = 3) -> None:
    """A digest `days_ago` days old with `sent` copies delivered, some of which came back."""
    when = NOW - timedelta(days=days_ago)
    with app.app_context():
        digest = Digest(scheduled_for=when, period_start=when, period_end=when, status="sent")
        db.session.add(digest)
        db.session.flush()
        outcomes = ["hard-bounce"] * hard + ["soft-bounce"] * soft + ["complaint"] * complaints
        outcomes += [None] * (sent - len(outcomes))
        db.session.execute(
            Delivery.__table__.insert(),
            [
                {"digest_id": digest.id, "status": "sent", "attempts": 1, "sent_at": when, "bounce": bounce}
                for bounce in outcomes
            ],  # fmt: skip
        )
        db.session.commit()


def dashboard(admin) -> tuple[dict[str, str], str]:
    html = admin.get("/admin/").text
    rates = {
        name: re.search(rf'id="rate-{name}">([^<]+)<', html).group(1) for name in ("bounce", "complaint")
    }
    warning = re.search(r'id="deliverability-warning"[^>]*>(.*?)</div>', html, re.S)
    return rates, html_unescape(" ".join(warning.group(1).split())) if warning else ""


def test_quiet_rates_raise_no_warning(app, admin):
    deliveries(app, 1000, hard=5, soft=30, complaints=1)
    deliveries(app, 1000, hard=900, complaints=100, days_ago=40)  # older than 30 days: not counted
    assert dashboard(admin) == ({"bounce": "0.5%", "complaint": "0.10%"}, "")


def test_over_two_percent_hard_bounces_warns(app, admin):
    deliveries(app, 1000, hard=25)
    rates, warning = dashboard(admin)
    assert rates["bounce"] == "2.5%"
    assert "2.5% of the last 30 days' mail bounced hard, above 2%" in warning


@pytest.mark.parametrize(
    ("complaints", "words"), [(2, "above the 0.1% Gmail asks"), (4, "above 0.3%: Gmail and Yahoo reject")]
)
def test_complaints_over_the_thresholds_warn(app, admin, complaints, words):
    deliveries(app, 1000, complaints=complaints)
    rates, warning = dashboard(admin)
    assert rates["complaint"] == f"{complaints / 10:.2f}%"
    assert words in warning and "bounced hard" not in warning


@pytest.fixture
def dns_server():
    records = {
        "blog.example.com": "v=spf1 include:amazonses.com ~all",
        "_dmarc.example.com": "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com",
        "mail.example.org": "v=spf1 -all",
    }
    server = DNSServer(records)
    yield server
    server.stop()


def config(**values) -> dict:
    base = {
        "MAIL_FROM": "Weeknote <digest@blog.example.com>",
        "SMTP_HOST": "smtp.example.com",
        "DKIM_DOMAIN": "",
    }
    merged = base | values
    return merged | {"MAIL_FROM_ADDRESS": parse_sender(merged["MAIL_FROM"])}


def report(findings) -> list[tuple[str, str]]:
    return [(finding.level, finding.topic) for finding in findings]


def test_a_domain_with_spf_dmarc_and_aligned_dkim_passes(dns_server):
    findings = check_sending_domain(config(DKIM_DOMAIN="example.com"), dns_server.resolver())
    assert report(findings) == [("ok", "SPF"), ("ok", "DMARC"), ("ok", "Alignment")]
    assert "policy quarantine" in findings[1].text  # found at the organisational domain


def test_missing_records_and_a_foreign_dkim_domain_are_problems(dns_server):
    sender = "Weeknote <news@other.example.net>"
    findings = check_sending_domain(
        config(MAIL_FROM=sender, DKIM_DOMAIN="example.com"), dns_server.resolver()
    )
    assert report(findings) == [("fix", "SPF"), ("fix", "DMARC"), ("fix", "Alignment")]
    assert "_dmarc.other.example.net" in findings[1].text
    assert (
        "DKIM_DOMAIN example.com does not align with MAIL_FROM's domain other.example.net" in findings[2].text
    )


def test_spf_is_checked_on_the_bounce_address_domain(dns_server):
    findings = check_sending_domain(
        config(BOUNCE_ADDRESS="bounces@mail.example.org", DKIM_DOMAIN="blog.example.com"),
        dns_server.resolver(),
    )
    assert findings[0].text == "mail.example.org: v=spf1 -all"
    assert report(findings)[-1] == ("warn", "Alignment")  # SPF cannot align; DKIM does
    assert "DMARC rests on DKIM alone" in findings[-1].text


def test_a_local_sender_is_not_looked_up():
    findings = check_sending_domain(config(MAIL_FROM="weeknote@localhost"), resolver=None)
    assert report(findings) == [("warn", "SPF/DMARC")]
