"""Transports against a real SMTP server: plain, STARTTLS, TLS, login, 4xx and 5xx; the outbox."""

import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address

import pytest
import trustme
from servers import SMTPServer, free_port

from blog.mail.message import build_message
from blog.mail.outbox import OutboxTransport
from blog.mail.transport import (
    PreparedMessage,
    SendError,
    SMTPTransport,
    transport_from_config,
)


def sample(to: str = "reader@example.org"):
    return build_message(
        sender=Address("Weeknote", "digest", "example.com"),
        to=to,
        subject="Hello",
        text="Hi.\n",
        html="<p>Hi.</p>\n",
        now=datetime(2026, 11, 2, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
def tls(certificate_authority):
    """A server context with a certificate for 127.0.0.1, and a client context that trusts it."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    certificate_authority.configure_trust(client)
    return server, client


def test_plain_smtp_delivers_one_message_per_send(smtp_server):
    with SMTPTransport("127.0.0.1", smtp_server.port, "none") as transport:
        transport.send(sample("a@example.org"))
        transport.send(sample("b@example.org"))
    messages = smtp_server.wait_for(2)
    assert [m["To"] for m in messages] == ["a@example.org", "b@example.org"]
    assert smtp_server.handler.envelopes[0] == ("digest@example.com", ["a@example.org"])


def test_starttls_and_login(tls):
    server_context, client_context = tls
    server = SMTPServer(tls_context=server_context, login=("mailer", "s3cret"))
    try:
        with SMTPTransport(
            "127.0.0.1", server.port, "starttls", "mailer", "s3cret", ssl_context=client_context
        ) as transport:
            transport.send(sample())
        assert len(server.wait_for(1)) == 1
        assert server.logins == ["mailer"]
    finally:
        server.stop()


def test_implicit_tls(tls):
    server_context, client_context = tls
    server = SMTPServer(tls_context=server_context, implicit_tls=True)
    try:
        with SMTPTransport("127.0.0.1", server.port, "tls", ssl_context=client_context) as transport:
            transport.send(sample())
        assert server.wait_for(1)[0]["Subject"] == "Hello"
    finally:
        server.stop()


def test_an_untrusted_certificate_is_refused(tls):
    server_context, _ = tls
    server = SMTPServer(tls_context=server_context)
    try:
        untrusting = SMTPTransport("127.0.0.1", server.port, "starttls")
        with pytest.raises(SendError, match="cannot reach"), untrusting:
            pass
        assert server.messages == []
    finally:
        server.stop()


def test_wrong_password_is_a_permanent_error(tls):
    server_context, client_context = tls
    server = SMTPServer(tls_context=server_context, login=("mailer", "s3cret"))
    try:
        with (
            pytest.raises(SendError) as caught,
            SMTPTransport(
                "127.0.0.1", server.port, "starttls", "mailer", "wrong", ssl_context=client_context
            ),
        ):
            pass
        assert (caught.value.temporary, caught.value.code) == (False, 535)
    finally:
        server.stop()


def test_starttls_missing_says_which_setting_to_check(smtp_server):
    expected = "does not offer STARTTLS: check SMTP_SECURITY"
    transport = SMTPTransport("127.0.0.1", smtp_server.port, "starttls")
    with pytest.raises(SendError, match=expected) as caught, transport:
        pass
    assert caught.value.temporary is False


@pytest.mark.parametrize(
    "reply,temporary,code",
    [("451 4.3.0 Try again later", True, 451), ("554 5.7.1 Rejected as spam", False, 554)],
)
def test_smtp_errors_say_whether_to_retry(smtp_server, reply, temporary, code):
    smtp_server.handler.reply = reply
    with (
        pytest.raises(SendError) as caught,
        SMTPTransport("127.0.0.1", smtp_server.port, "none") as transport,
    ):
        transport.send(sample())
    assert (caught.value.temporary, caught.value.code) == (temporary, code)
    assert reply.split(" ", 2)[2] in str(caught.value)
    assert smtp_server.messages == []


def test_an_unreachable_server_is_a_temporary_error():
    unreachable = SMTPTransport("127.0.0.1", free_port(), "none", timeout=2)
    with pytest.raises(SendError, match="cannot reach SMTP server") as caught, unreachable:
        pass
    assert caught.value.temporary is True


def test_outbox_writes_parseable_eml_files(tmp_path):
    with OutboxTransport(tmp_path / "outbox") as transport:
        transport.send(sample("a@example.org"))
        transport.send(sample("b@example.org"))
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    assert b"To: a@example.org" in files[0].read_bytes()
    assert not list((tmp_path / "outbox").glob("*.part"))


def test_transport_from_config(tmp_path):
    assert isinstance(transport_from_config({"OUTBOX_FOLDER": str(tmp_path)}), OutboxTransport)
    smtp = transport_from_config(
        {"SMTP_HOST": "mail.example.com", "SMTP_PORT": 2525, "SMTP_SECURITY": "tls", "SMTP_USERNAME": "u"}
    )
    assert (smtp.host, smtp.port, smtp.security, smtp.username) == ("mail.example.com", 2525, "tls", "u")


def prepared(to: str = "reader@example.com", body: str = "Hello\r\n.leading dot\r\n") -> PreparedMessage:
    data = f"From: a@example.com\r\nTo: {to}\r\nSubject: Hi\r\nMessage-ID: <1@example.com>\r\n\r\n{body}"
    return PreparedMessage("a@example.com", to, "<1@example.com>", data.encode())


@pytest.mark.parametrize("pipelining", [False, True])
def test_prepared_messages_with_and_without_pipelining(smtp_server, pipelining):
    smtp_server.handler.pipelining = pipelining
    smtp_server.handler.rcpt_policy = lambda address: (
        "550 5.1.1 No such user" if address.startswith("gone") else None
    )
    transport = SMTPTransport("127.0.0.1", smtp_server.port, "none")
    with transport:
        assert transport._smtp.has_extn("pipelining") is False  # not known before EHLO
        transport.send_prepared(prepared())
        assert transport._smtp.has_extn("pipelining") is pipelining
        with pytest.raises(SendError) as refused:
            transport.send_prepared(prepared(to="gone@example.com"))
        assert refused.value.code == 550 and not refused.value.temporary
        smtp_server.handler.reply = "451 4.3.0 Try later"
        with pytest.raises(SendError) as deferred:
            transport.send_prepared(prepared(to="later@example.com"))
        assert deferred.value.code == 451 and deferred.value.temporary
        smtp_server.handler.reply = None
        transport.send_prepared(prepared(to="second@example.com"))  # the connection is still good
    assert [str(m["To"]) for m in smtp_server.messages] == ["reader@example.com", "second@example.com"]
    assert smtp_server.messages[0].get_content() == "Hello\r\n.leading dot\r\n"  # dot-stuffing undone


def test_pipelining_sends_each_message_with_the_next_ones_commands(smtp_server, monkeypatch):
    """One write per message: its content goes out with the next message's MAIL, RCPT and DATA,
    and each outcome is yielded before the next message's content is sent."""
    smtp_server.handler.rcpt_policy = lambda address: (
        "550 5.1.1 No such user" if address == "gone@x.org" else None
    )
    smtp_server.handler.policy = lambda rcpts: "451 4.3.0 Try later" if rcpts == ["later@x.org"] else None
    writes = []
    send = smtplib.SMTP.send

    def record(smtp, data):
        writes.append(data if isinstance(data, bytes) else data.encode())
        send(smtp, data)

    monkeypatch.setattr(smtplib.SMTP, "send", record)
    recipients = ["a@x.org", "gone@x.org", "later@x.org", "b@x.org", "c@x.org"]
    outcomes = []
    with SMTPTransport("127.0.0.1", smtp_server.port, "none") as transport:
        for to, error in transport.send_all((to, prepared(to=to)) for to in recipients):
            received = [str(message["To"]) for message in smtp_server.messages]
            outcomes.append((to, error and (error.code, error.temporary), received))
    assert outcomes == [
        ("a@x.org", None, ["a@x.org"]),
        ("gone@x.org", (550, False), ["a@x.org"]),
        ("later@x.org", (451, True), ["a@x.org"]),
        ("b@x.org", None, ["a@x.org", "b@x.org"]),
        ("c@x.org", None, ["a@x.org", "b@x.org", "c@x.org"]),
    ]
    shapes = [
        ("content" if b"\r\n.\r\n" in data else "") + ("+envelope" if b"MAIL FROM" in data else "")
        or data.split()[0].decode().upper()
        for data in writes
    ]
    assert shapes == [
        "EHLO", "+envelope",  # a's commands
        "content+envelope",  # a's content, gone's commands (refused: RSET)
        "RSET", "+envelope",  # later's commands
        "content+envelope", "content+envelope",  # later's content and b's commands; b's and c's
        "content", "QUIT",  # c's content
    ]  # fmt: skip
    assert smtp_server.messages[0].get_content() == "Hello\r\n.leading dot\r\n"


def test_a_connection_lost_mid_stream_reports_only_the_message_in_flight(smtp_server):
    smtp_server.handler.hang_up = lambda rcpts: rcpts == ["c@x.org"]
    recipients = ["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"]
    with SMTPTransport("127.0.0.1", smtp_server.port, "none") as transport:
        outcomes = list(transport.send_all((to, prepared(to=to)) for to in recipients))
        assert transport._smtp is None  # dropped: leaving the block does not wait on it
    assert [(to, error and (error.code, error.temporary)) for to, error in outcomes] == [
        ("a@x.org", None), ("b@x.org", None), ("c@x.org", (None, True))
    ]  # fmt: skip
    assert "connection lost" in str(outcomes[-1][1])
    assert [str(message["To"]) for message in smtp_server.messages] == ["a@x.org", "b@x.org"]


def test_the_next_message_is_made_while_the_server_answers(smtp_server, monkeypatch):
    """Making a message overlaps the round trip of the one before; a failure to make one is
    raised only after the outcome of the message whose content went has been yielded."""
    events = []
    getreply = smtplib.SMTP.getreply

    def reply(smtp):
        events.append("reply")
        return getreply(smtp)

    monkeypatch.setattr(smtplib.SMTP, "getreply", reply)

    def messages(fail_at: str | None):
        for to in ["a@x.org", "b@x.org", "c@x.org", "d@x.org"]:
            events.append(f"make {to}")
            if to == fail_at:
                raise OSError("the database went away")  # an OSError: not the connection's
            yield to, prepared(to=to)

    with SMTPTransport("127.0.0.1", smtp_server.port, "none") as transport:
        outcomes = []
        for to, error in transport.send_all(messages(None)):
            events.append(f"outcome {to}")
            outcomes.append((to, error))
    assert outcomes == [(to, None) for to in ["a@x.org", "b@x.org", "c@x.org", "d@x.org"]]
    # c is made after b's content and d's commands went, before their replies are read
    assert events.index("make c@x.org") < events.index("outcome a@x.org")
    assert events.index("make d@x.org") < events.index("outcome b@x.org")

    smtp_server.messages.clear()
    events.clear()
    with SMTPTransport("127.0.0.1", smtp_server.port, "none") as transport:
        seen = []
        with pytest.raises(OSError, match="the database went away"):
            for to, error in transport.send_all(messages("c@x.org")):
                seen.append((to, error))
        assert transport._smtp is None  # dropped: b's envelope was answered, its content never goes
    assert seen == [("a@x.org", None)]  # a's content went before c failed: its outcome was yielded
    assert [str(message["To"]) for message in smtp_server.messages] == ["a@x.org"]
