"""Each recipient's copy of a digest: built from a template, exactly the composed bodies."""

from email import message_from_bytes
from email.headerregistry import Address
from email.policy import default

import pytest

from blog.models import Digest
from blog.newsletter.compose import UNSUBSCRIBE_URL, personalise
from blog.newsletter.mailer import DigestMailer, Recipient

LINK = "https://blog.example.com/unsubscribe/eyJpZCI6NDJ9.ZmFrZQ.c2lnbmF0dXJlLW9mLWEtcmVhbGlzdGljLWxlbmd0aA"
TEXT = (
    f"{UNSUBSCRIBE_URL} at the very start\n"
    "Café, naïve, “quotes” — and a line that runs on for well over seventy-six characters "
    f"before the link{UNSUBSCRIBE_URL}right after it, then trailing spaces   \n"
    f".a line with a leading dot\n\n{UNSUBSCRIBE_URL}{UNSUBSCRIBE_URL}\nUnsubscribe: {UNSUBSCRIBE_URL}"
)
HTML = (
    f'<p style="color:#333">{"x" * 200}<a href="{UNSUBSCRIBE_URL}">Unsubscribe</a> '
    f'= signs = and tabs\t\n<a href="{UNSUBSCRIBE_URL}">again</a></p>'
)


@pytest.fixture
def mailer() -> DigestMailer:
    digest = Digest(id=7, subject="Weeknote — 2 new posts", text=TEXT, html=HTML)
    sender = Address("Weeknote", "digest", "example.com")
    return DigestMailer(digest, sender, "Weeknote <digest.example.com>", lambda recipient: LINK)


def test_each_copy_decodes_to_the_composed_bodies_with_the_recipient_link(mailer):
    prepared = mailer.message_for(3, Recipient(1, "reader@example.com", "secret"))
    message = message_from_bytes(prepared.data, policy=default)
    assert message["To"] == "reader@example.com"
    assert message["List-Unsubscribe"] == f"<{LINK}>"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert text.rstrip("\n") == personalise(TEXT, LINK)
    assert html.rstrip("\n") == personalise(HTML, LINK)


def test_no_encoded_line_is_longer_than_quoted_printable_allows(mailer):
    data = mailer.message_for(3, Recipient(1, "reader@example.com", "secret")).data
    body = data.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert b"\n" not in body.replace(b"\r\n", b"")  # CRLF line ends only


def test_each_copy_carries_its_own_preferences_link_beside_the_unsubscribe_link():
    from blog.newsletter.compose import PREFERENCES_URL

    text = f"Choose: {PREFERENCES_URL}\nLeave: {UNSUBSCRIBE_URL}\n{'é' * 90}{PREFERENCES_URL}"
    digest = Digest(id=8, subject="Weeknote", text=text, html=f'<a href="{PREFERENCES_URL}">p</a>')
    sender = Address("Weeknote", "digest", "example.com")
    choose = "https://blog.example.com/preferences/tok-{}"
    mailer = DigestMailer(
        digest, sender, "Weeknote <digest.example.com>", lambda r: LINK,
        preferences_url=lambda recipient: choose.format(recipient.id),
    )  # fmt: skip
    message = message_from_bytes(
        mailer.message_for(3, Recipient(5, "r@example.com", "s")).data, policy=default
    )
    body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body.rstrip("\n") == personalise(text, LINK, choose.format(5))
    assert message["List-Unsubscribe"] == f"<{LINK}>"  # unchanged: one HTTPS URL
    assert choose.format(5) in message.get_body(("html",)).get_content()
