"""Messages: multipart/alternative, Message-ID, Date, one From; line breaks in headers raise."""

from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import parsedate_to_datetime

import pytest

from blog.mail.message import HeaderInjectionError, build_message, list_headers

SENDER = Address("Weeknote Digest", "digest", "news.example.com")
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def message(**overrides):
    fields = {
        "sender": SENDER,
        "to": "reader@example.org",
        "subject": "This week: borrow checker",
        "text": "Hello, reader.\n",
        "html": "<p>Hello, <b>reader</b>.</p>\n",
        "now": NOW,
    }
    return build_message(**fields | overrides)


def test_text_then_html_with_the_required_headers():
    built = message(to_name="Zoë Reader", subject="Ünïcode week")
    assert built.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in built.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert built.get_body(("plain",)).get_content() == "Hello, reader.\n"
    assert "<b>reader</b>" in built.get_body(("html",)).get_content()
    assert len(built.get_all("From")) == 1
    assert str(built["From"]) == "Weeknote Digest <digest@news.example.com>"
    assert built["To"].addresses[0].display_name == "Zoë Reader"
    assert str(built["Subject"]) == "Ünïcode week"
    assert parsedate_to_datetime(built["Date"]) == NOW
    assert built["Message-ID"].startswith("<") and built["Message-ID"].endswith("@news.example.com>")
    assert message()["Message-ID"] != message()["Message-ID"]


@pytest.mark.parametrize(
    "field",
    [
        {"subject": "Hello\r\nBcc: victim@example.net"},
        {"subject": "Hello\nBcc: victim@example.net"},
        {"to_name": "Eve\r\nBcc: victim@example.net"},
        {"to": "reader@example.org\r\nBcc: victim@example.net"},
        {"to": "reader@example.org, victim@example.net"},
        {"sender": Address("Eve", "eve", "example.com"), "headers": {"X-Note": "a\rb"}},
        {"headers": {"X-Note\nBcc": "victim@example.net"}},
    ],
)
def test_line_breaks_in_headers_raise(field):
    with pytest.raises(HeaderInjectionError):
        message(**field)


def test_list_headers_for_one_click_unsubscribe():
    headers = list_headers("Weeknote <weeknote.news.example.com>", "https://news.example.com/unsubscribe/abc")
    built = message(headers=headers)
    assert built["List-Unsubscribe"] == "<https://news.example.com/unsubscribe/abc>"
    assert built["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert built["List-Id"] == "Weeknote <weeknote.news.example.com>"
    with pytest.raises(HeaderInjectionError):
        list_headers("x", "https://news.example.com/u\r\nBcc: victim@example.net")
