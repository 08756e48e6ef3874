"""Behind a reverse proxy: TRUSTED_PROXY_HOPS decides which forwarding headers are believed."""

import pytest
from helpers import subscribe, subscriber

from blog.platform.doctor import run_checks

PROXY = {"REMOTE_ADDR": "172.18.0.5"}  # every request reaches the app from the proxy


def visitor(ip: str) -> dict:
    """A visitor's form post over HTTPS, as the proxy hands it on."""
    headers = {"X-Forwarded-For": ip, "X-Forwarded-Proto": "https", "Referer": "https://localhost/subscribe"}
    return {"headers": headers, "environ_base": PROXY}


@pytest.fixture
def behind_proxy(app_factory):
    return app_factory(TRUSTED_PROXY_HOPS=1, SUBSCRIBE_RATE_LIMIT="2 per hour")


def test_each_visitor_behind_the_proxy_has_a_limit_and_a_consent_record_of_their_own(behind_proxy):
    client = behind_proxy.test_client()
    for number in range(2):
        assert subscribe(client, f"ann{number}@example.com", **visitor("203.0.113.1")).status_code == 303
    limited = subscribe(client, "ann2@example.com", **visitor("203.0.113.1"))
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert subscribe(client, "bob@example.com", **visitor("203.0.113.2")).status_code == 303
    assert subscriber(behind_proxy, "ann0@example.com").consent_ip == "203.0.113.1"
    assert subscriber(behind_proxy, "bob@example.com").consent_ip == "203.0.113.2"


def test_only_the_trusted_hops_are_believed(behind_proxy):
    """A visitor's own X-Forwarded-For is kept by the proxy and comes first: it is not believed."""
    client = behind_proxy.test_client()
    forged = visitor("6.6.6.6, 203.0.113.7")
    assert subscribe(client, "eve@example.com", **forged).status_code == 303
    assert subscriber(behind_proxy, "eve@example.com").consent_ip == "203.0.113.7"


def test_without_trusted_hops_forwarding_headers_are_ignored_and_doctor_says_so(app_factory):
    direct = app_factory(SUBSCRIBE_RATE_LIMIT="2 per hour")
    with direct.app_context():
        assert not [
            f for f in run_checks(direct.config) if f.topic == "TRUSTED_PROXY_HOPS" and f.level != "ok"
        ]
    client = direct.test_client()
    assert subscribe(client, "ann@example.com", **visitor("203.0.113.1")).status_code == 303
    assert subscriber(direct, "ann@example.com").consent_ip == "172.18.0.5"
    with direct.app_context():
        [finding] = [f for f in run_checks(direct.config) if f.topic == "TRUSTED_PROXY_HOPS"]
    assert finding.level == "warn" and "X-Forwarded-For" in finding.text
