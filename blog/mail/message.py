"""Build mail messages: multipart/alternative (text, then HTML), one From, Message-ID and Date."""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit


class HeaderInjectionError(ValueError):
    """A header value (subject, name, address) contained a line break; nothing is sent."""


def _check_header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjectionError(f"the {name} header may not contain a line break: {value!r}")
    return value


def _address(name: str, display_name: str, addr_spec: str) -> Address:
    _check_header(name, display_name)
    _check_header(name, addr_spec)
    try:
        return Address(display_name=display_name, addr_spec=addr_spec)
    except ValueError as error:  # the email package's own checks; also never sent
        raise HeaderInjectionError(f"the {name} address is not valid: {addr_spec!r}") from error


def build_message(
    *,
    sender: Address,
    to: str,
    subject: str,
    text: str,
    html: str,
    to_name: str = "",
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    cte: str | None = None,
) -> EmailMessage:
    """Return a message with a text part and an HTML alternative; raise on any header injection."""
    message = EmailMessage()
    message["From"] = _address("From", sender.display_name, sender.addr_spec)
    message["To"] = _address("To", to_name, to)
    message["Subject"] = _check_header("Subject", subject)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.domain)
    for name, value in (headers or {}).items():
        message[_check_header("header name", name)] = _check_header(name, value)
    message.set_content(text, cte=cte)
    message.add_alternative(html, subtype="html", cte=cte)
    return message


def site_list_id(title: str, site_url: str) -> str:
    """The List-Id of a site's mail: 'Weeknote <digest.blog.example.com>'."""
    return f"{title} <digest.{urlsplit(site_url).hostname}>"


def feedback_id(campaign: str, site_url: str) -> str:
    """Gmail's Feedback-ID for a kind of mail: 'digest-12:weeknote:blog.example.com'."""
    return f"{campaign}:weeknote:{urlsplit(site_url).hostname}"


def list_headers(list_id: str, unsubscribe_url: str) -> dict[str, str]:
    """Return the List-Id and RFC 8058 one-click List-Unsubscribe headers for a list message."""
    return {
        "List-Id": _check_header("List-Id", list_id),
        "List-Unsubscribe": f"<{_check_header('List-Unsubscribe', unsubscribe_url)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def copy_message_id(digest_id: int, delivery_id: int, key: str, domain: str) -> str:
    """A digest copy's Message-ID: its delivery row's id in it (a bounce quoting it names the row),
    and the digest's random key, which keeps it unique across sites and databases."""
    return f"<digest-{digest_id}.{delivery_id}.{key}@{domain}>"


COPY_MESSAGE_ID = re.compile(r"<digest-\d+\.(\d+)\.[^@<>]*@[^<>]+>")


def copy_delivery_id(message_id: str) -> int | None:
    """The delivery row a copy's Message-ID names, or None for any other Message-ID."""
    found = COPY_MESSAGE_ID.fullmatch(message_id.strip())
    return int(found.group(1)) if found else None
