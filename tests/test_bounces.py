"""Acting on bounces and complaints: suppress, count, unsubscribe, never mail again, lift.

Returned messages go in through `weeknote bounces ingest`, as an MTA's pipe or an operator would
feed them; each names a copy of a real digest sent to the test's SMTP server.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import add_post, admin_post, csrf_token, send_digest_now, signed_in, subscribe, subscriber
from reports import arf, dsn
from sqlalchemy import func, select

from blog.extensions import db
from blog.mail.verp import Verp
from blog.models import Delivery, MailEvent

ROW_LINK = re.compile(r'<td data-label="Email"><a href="/admin/subscribers/\d+/">([^<]+)</a></td>')
BOUNCES = {"BOUNCE_ADDRESS": "bounces@blog.example.com", "COMPLAINTS_ADDRESS": "abuse@blog.example.com"}


@pytest.fixture
def mail_site_config() -> dict:
    return BOUNCES


def copies(smtp_server) -> dict[str, tuple[str, str]]:
    """Each recipient's latest copy as it arrived: (envelope sender, Message-ID)."""
    found = {}
    for (sender, [recipient]), message in zip(
        smtp_server.handler.envelopes, smtp_server.messages, strict=True
    ):
        found[recipient] = (sender, message["Message-ID"])
    return found


def ingest(site, tmp_path, *messages: bytes) -> str:
    paths = []
    for number, data in enumerate(messages):
        path = tmp_path / f"returned-{len(list(tmp_path.glob('returned-*')))}-{number}.eml"
        path.write_bytes(data)
        paths.append(str(path))
    result = site.test_cli_runner().invoke(args=["bounces", "ingest", *paths])
    assert result.exit_code == 0, result.output
    return result.output


def bounce(email: str, smtp_server, status: str = "5.1.1", action: str = "failed") -> bytes:
    envelope, message_id = copies(smtp_server)[email]
    return dsn(email, envelope, message_id, status, action)


def next_digest(site, smtp_server) -> set[str]:
    """Publish a post, send the next digest; who got it."""
    before = len(smtp_server.messages)
    with site.app_context():
        add_post(f"Post {before}", datetime.now(UTC))
        db.session.commit()
    send_digest_now(site)
    return {str(message["To"]) for message in smtp_server.messages[before:]}


def test_a_hard_bounce_suppresses_at_once_and_the_next_digest_skips_it(
    mail_site, week, smtp_server, tmp_path
):
    send_digest_now(mail_site)
    output = ingest(mail_site, tmp_path, bounce("reader1@example.com", smtp_server))
    assert "hard bounce (5.1.1) for reader1@example.com: suppressed" in output
    person = subscriber(mail_site, "reader1@example.com")
    assert (person.status, person.suppressed_reason) == ("bounced", "hard-bounce")
    assert person.suppressed_detail == "5.1.1 550 5.1.1 User unknown"
    with mail_site.app_context():
        row = db.session.scalar(select(Delivery).where(Delivery.subscriber_id == person.id))
        assert row.bounce == "hard-bounce"
    status = mail_site.test_cli_runner().invoke(args=["digest", "status"]).output
    assert "Of 4 delivered: 1 bounced hard (25.0%), 0 soft (0.0%), 0 complaints (0.0%)" in status
    assert next_digest(mail_site, smtp_server) == {"reader0@example.com", "reader2@example.com",
                                                   "reader3@example.com"}  # fmt: skip


def test_the_same_report_twice_counts_once(mail_site, week, smtp_server, tmp_path):
    send_digest_now(mail_site)
    returned = bounce("reader2@example.com", smtp_server, "4.2.2", "delayed")
    assert "soft bounce (4.2.2) for reader2@example.com: counted" in ingest(mail_site, tmp_path, returned)
    assert ": duplicate" in ingest(mail_site, tmp_path, returned)
    with mail_site.app_context():
        assert db.session.scalar(select(func.count()).select_from(MailEvent)) == 1
    assert subscriber(mail_site, "reader2@example.com").status == "active"


def test_soft_bounces_on_three_digests_in_a_row_suppress(mail_site, week, smtp_server, tmp_path):
    send_digest_now(mail_site)
    for round_ in range(3):
        output = ingest(mail_site, tmp_path, bounce("reader3@example.com", smtp_server, "4.2.2"))
        assert subscriber(mail_site, "reader3@example.com").status == ("bounced" if round_ == 2 else "active")
        assert output.strip().endswith("suppressed" if round_ == 2 else "counted")
        if round_ < 2:
            assert "reader3@example.com" in next_digest(mail_site, smtp_server)
    person = subscriber(mail_site, "reader3@example.com")
    assert person.suppressed_reason == "soft-bounces" and "3 digests in a row" in person.suppressed_detail
    assert "reader3@example.com" not in next_digest(mail_site, smtp_server)


def test_a_delivered_digest_between_soft_bounces_starts_the_count_again(
    mail_site, week, smtp_server, tmp_path
):
    send_digest_now(mail_site)
    ingest(mail_site, tmp_path, bounce("reader3@example.com", smtp_server, "4.2.2"))
    next_digest(mail_site, smtp_server)  # delivered: nothing came back
    next_digest(mail_site, smtp_server)
    ingest(mail_site, tmp_path, bounce("reader3@example.com", smtp_server, "4.2.2"))
    next_digest(mail_site, smtp_server)
    ingest(mail_site, tmp_path, bounce("reader3@example.com", smtp_server, "4.2.2"))
    assert subscriber(mail_site, "reader3@example.com").status == "active"


def test_a_complaint_unsubscribes_and_suppresses(mail_site, week, smtp_server, tmp_path):
    send_digest_now(mail_site)
    envelope, message_id = copies(smtp_server)["reader0@example.com"]
    token = smtp_server.messages[0]["CFBL-Feedback-ID"]
    # The receiver redacted the address, as some do: the signed CFBL-Feedback-ID still names the copy.
    output = ingest(mail_site, tmp_path, arf("redacted@example.org", "redacted@example.org", "<x@y>", token))
    assert "complaint for redacted@example.org: suppressed" in output
    first = str(smtp_server.messages[0]["To"])
    person = subscriber(mail_site, first)
    assert (person.status, person.suppressed_reason) == ("complained", "complaint")
    assert person.unsubscribed_at is not None


def test_a_suppressed_address_gets_no_confirmation_when_it_asks_again(mail_site, week, smtp_server, tmp_path):
    send_digest_now(mail_site)
    ingest(mail_site, tmp_path, bounce("reader1@example.com", smtp_server))
    before = len(smtp_server.messages)
    assert subscribe(mail_site.test_client(), "reader1@example.com").status_code == 303
    assert len(smtp_server.messages) == before
    assert subscriber(mail_site, "reader1@example.com").status == "bounced"


def test_a_complainer_who_unsubscribes_later_stays_suppressed(mail_site, week, smtp_server, tmp_path):
    send_digest_now(mail_site)
    envelope, message_id = copies(smtp_server)["reader2@example.com"]
    ingest(mail_site, tmp_path, arf("reader2@example.com", envelope, message_id))
    message = next(m for m in smtp_server.messages if str(m["To"]) == "reader2@example.com")
    path = message["List-Unsubscribe"].strip("<>").removeprefix("https://blog.example.com")
    client = mail_site.test_client()
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    page = client.get(path).text
    answer = client.post(path, data={"action": "resubscribe", "csrf_token": csrf_token(page)})
    assert answer.status_code == 303  # answered as for anyone: read, and refused
    person = subscriber(mail_site, "reader2@example.com")
    assert (person.status, person.suppressed_reason) == ("complained", "complaint")
    assert len(smtp_server.messages) == 4  # no confirmation went out


def test_a_bounced_confirmation_suppresses_the_address(mail_site, smtp_server, tmp_path):
    subscribe(mail_site.test_client(), "typo@example.con")
    [(envelope, _)] = smtp_server.handler.envelopes
    ingest(mail_site, tmp_path, dsn("typo@example.con", envelope, "<unknown@blog.example.com>"))
    assert subscriber(mail_site, "typo@example.con").status == "bounced"


def test_a_forged_report_changes_nothing(mail_site, week, smtp_server, tmp_path):
    send_digest_now(mail_site)
    forged = Verp("bounces@blog.example.com", "not-our-secret").sender(
        *_target(mail_site, "reader2@example.com")
    )
    output = ingest(mail_site, tmp_path, dsn("reader2@example.com", forged, "<guessed@blog.example.com>"))
    assert output.strip().endswith("unmatched")
    assert subscriber(mail_site, "reader2@example.com").status == "active"


def _target(site, email):
    from blog.mail.verp import Sent

    with site.app_context():
        row = db.session.scalar(
            select(Delivery).join(Delivery.subscriber).where(Delivery.subscriber.has(email=email))
        )
        return Sent.DELIVERY, row.id


def sent_without_a_bounce_address(app_factory, smtp_config):
    """A site with no BOUNCE_ADDRESS (no VERP) that has sent a digest to two subscribers."""
    site = app_factory(SITE_URL="https://blog.example.com", MAIL_FROM="Weeknote <digest@blog.example.com>",
                       MAIL_POSTAL_ADDRESS="1 Example Street", **smtp_config)  # fmt: skip
    with site.app_context():
        from helpers import add_subscribers

        add_post("One", datetime.now(UTC) - timedelta(days=1))
        add_subscribers(2)
        db.session.commit()
    send_digest_now(site)
    return site


def test_without_a_bounce_address_the_recipient_names_the_subscriber(
    app_factory, smtp_config, smtp_server, tmp_path
):
    site = sent_without_a_bounce_address(app_factory, smtp_config)
    envelope, message_id = copies(smtp_server)["reader1@example.com"]
    assert envelope == "digest@blog.example.com"
    output = ingest(site, tmp_path, dsn("reader1@example.com", envelope, "<not-stored@example.net>"))
    assert "suppressed" in output
    assert subscriber(site, "reader1@example.com").status == "bounced"
    assert subscriber(site, "reader0@example.com").status == "active"


def test_auto_replies_and_unknown_mail_change_nothing(mail_site, week, smtp_server, tmp_path):
    from test_bounce_parse import FIXTURES

    send_digest_now(mail_site)
    output = ingest(
        mail_site,
        tmp_path,
        (FIXTURES / "out-of-office.eml").read_bytes(),
        (FIXTURES / "not-a-report.eml").read_bytes(),
    )
    assert "auto-reply: ignored" in output and "unknown: left alone" in output
    with mail_site.app_context():
        assert db.session.scalar(select(func.count()).select_from(MailEvent)) == 0


def test_ingest_reads_standard_input(mail_site, week, smtp_server):
    send_digest_now(mail_site)
    result = mail_site.test_cli_runner().invoke(
        args=["bounces", "ingest", "-"], input=bounce("reader0@example.com", smtp_server)
    )
    assert result.exit_code == 0 and "standard input: hard bounce" in result.output
    assert subscriber(mail_site, "reader0@example.com").status == "bounced"


def test_the_author_lifts_a_suppression(mail_site, week, smtp_server, tmp_path):
    send_digest_now(mail_site)
    ingest(mail_site, tmp_path, bounce("reader1@example.com", smtp_server))
    runner = mail_site.test_cli_runner()
    result = runner.invoke(args=["bounces", "lift", "reader1@example.com"])
    assert result.exit_code == 0 and "it is active now" in result.output, result.output
    person = subscriber(mail_site, "reader1@example.com")
    assert (person.status, person.suppressed_reason) == ("active", None)
    assert runner.invoke(args=["bounces", "lift", "reader1@example.com"]).exit_code == 1
    assert "reader1@example.com" in next_digest(mail_site, smtp_server)
    with mail_site.app_context():
        kinds = db.session.scalars(select(MailEvent.kind).order_by(MailEvent.id)).all()
    assert kinds == ["hard-bounce", "lifted"]


def test_the_console_shows_the_history_filters_and_lifts(mail_site, week, author, smtp_server, tmp_path):
    send_digest_now(mail_site)
    envelope, message_id = copies(smtp_server)["reader2@example.com"]
    ingest(
        mail_site,
        tmp_path,
        bounce("reader1@example.com", smtp_server),
        arf("reader2@example.com", envelope, message_id),
    )
    console = signed_in(mail_site)
    assert ROW_LINK.findall(console.get("/admin/subscribers/?status=bounced").text) == ["reader1@example.com"]
    assert ROW_LINK.findall(console.get("/admin/subscribers/?status=complained").text) == [
        "reader2@example.com"
    ]
    person = subscriber(mail_site, "reader1@example.com")
    page = console.get(f"/admin/subscribers/{person.id}/").text
    assert "a hard bounce" in page and "550 5.1.1 User unknown" in page
    assert re.search(
        r"<td>hard bounce</td><td>a returned message</td><td[^>]*>5.1.1 550 5.1.1 User unknown</td>", page
    )
    lifted = admin_post(
        console, f"/admin/subscribers/{person.id}/lift", page=f"/admin/subscribers/{person.id}/"
    )
    assert lifted.status_code == 302
    page = console.get(f"/admin/subscribers/{person.id}/").text
    assert 'id="lift"' not in page and "<td>lifted</td><td>you</td>" in page
    assert subscriber(mail_site, "reader1@example.com").status == "active"


def test_a_report_that_only_quotes_the_message_id_finds_the_copy(
    app_factory, smtp_config, smtp_server, tmp_path
):
    # No bounce address (no VERP), and the report names the address the copy was forwarded to:
    # only the Message-ID it quotes says which copy came back.
    site = sent_without_a_bounce_address(app_factory, smtp_config)
    envelope, first = copies(smtp_server)["reader0@example.com"]
    _, second = copies(smtp_server)["reader1@example.com"]
    # The first copy's row id with another key: a Message-ID we never sent.
    guessed = re.sub(r"\.[^.@]+@", ".0000000000000000@", first)
    assert guessed != first
    output = ingest(site, tmp_path, dsn("forwarded@elsewhere.example", envelope, guessed))
    assert output.strip().endswith("unmatched")
    output = ingest(site, tmp_path, dsn("forwarded@elsewhere.example", envelope, second))
    assert "suppressed" in output
    assert subscriber(site, "reader1@example.com").status == "bounced"
    assert subscriber(site, "reader0@example.com").status == "active"
