"""Send messages: over SMTP (SMTP_* settings), or into the instance folder's outbox/ in development.

Both transports are context managers that keep one connection (or folder) open for a batch:

    with transport_from_config(app.config) as transport:
        transport.send(message)

Failures raise SendError, whose `temporary` flag says whether trying again later can help
(SMTP 4xx, refused or dropped connections) or not (5xx, bad credentials, missing STARTTLS).
"""

import os
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self


class SendError(Exception):
    """A message was not accepted; `temporary` says whether a retry may succeed."""

    def __init__(self, reason: str, *, temporary: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.temporary = temporary
        self.code = code


@dataclass(frozen=True)
class PreparedMessage:
    """A complete message as bytes (CRLF line ends), with its envelope."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


class Transport(Protocol):
    """What delivery code needs: a context manager that sends messages."""

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def send(self, message: EmailMessage) -> None: ...

    def send_prepared(self, message: PreparedMessage) -> None: ...


class SMTPTransport:
    """One SMTP connection: plain, STARTTLS or implicit TLS, with optional login."""

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The given context, or the system's default one (loaded once per process: it takes
        tens of milliseconds, and a worker opens a connection for every batch)."""
        return self._ssl_context or default_ssl_context()

    def __enter__(self) -> Self:
        where = f"SMTP server {self.host}:{self.port}"
        missing = "STARTTLS"
        try:
            if self.security == "tls":
                self._smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self.ssl_context
                )
            else:
                self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                self._smtp.starttls(context=self.ssl_context)
            missing = "login (AUTH)"
            if self.username:
                self._smtp.login(self.username, self.password)
        except smtplib.SMTPNotSupportedError as error:
            self.close()
            raise SendError(
                f"{where} does not offer {missing}: check SMTP_SECURITY and SMTP_USERNAME ({error})",
                temporary=False,
            ) from error
        except smtplib.SMTPResponseException as error:
            self.close()
            raise _response_error(f"{where} refused the session", error) from error
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise SendError(f"cannot reach {where}: {error}", temporary=True) from error
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, message: EmailMessage) -> None:
        """Send one message over the open connection."""
        self._deliver(lambda smtp: smtp.send_message(message))

    def send_prepared(self, message: "PreparedMessage") -> None:
        """Send bytes that are already a complete message (the digest's fast path)."""
        if self._smtp is None:
            raise RuntimeError("SMTPTransport.send_prepared() outside a `with` block")
        try:
            self._smtp.ehlo_or_helo_if_needed()  # the extensions below are known after EHLO
        except (OSError, smtplib.SMTPException) as error:
            self._smtp = None
            raise SendError(f"connection lost while sending: {error}", temporary=True) from error
        options = ["BODY=8BITMIME"] if self._smtp.has_extn("8bitmime") else []
        if self._smtp.has_extn("pipelining"):
            self._deliver(lambda smtp: _pipelined_send(smtp, message, options))
        else:
            self._deliver(
                lambda smtp: smtp.sendmail(message.sender, [message.recipient], message.data, options)
            )

    def _deliver(self, send) -> None:
        if self._smtp is None:
            raise RuntimeError("SMTPTransport.send() outside a `with` block")
        try:
            refused = send(self._smtp)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise _code_error(f"recipient refused: {reply!r}", code) from error
        except smtplib.SMTPResponseException as error:
            raise _response_error("message refused", error) from error
        except (OSError, smtplib.SMTPException) as error:
            self._smtp = None
            raise SendError(f"connection lost while sending: {error}", temporary=True) from error
        if refused:
            code, reply = next(iter(refused.values()))
            raise _code_error(f"recipient refused: {reply!r}", code)

    def close(self) -> None:
        """Say QUIT politely; drop the connection if the server is already gone."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._smtp.close()
        self._smtp = None


LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)  # dot-stuffing (RFC 5321 4.5.2)


@cache
def default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def dot_stuffed(data: bytes) -> bytes:
    """Double every line-leading dot (RFC 5321 4.5.2); most messages have none, and finding
    that out is much cheaper than rewriting them."""
    if data.startswith(b".") or b"\n." in data:
        return LEADING_DOT.sub(b"..", data)
    return data


def _pipelined_send(smtp: smtplib.SMTP, message: "PreparedMessage", options: list[str]) -> dict:
    """MAIL, RCPT and DATA in one write (RFC 2920 PIPELINING), then the message: two round trips
    instead of four. Raises smtplib's own exceptions, so errors read as with sendmail()."""
    mail_options = "".join(f" {option}" for option in options)
    smtp.send(f"MAIL FROM:<{message.sender}>{mail_options}\r\nRCPT TO:<{message.recipient}>\r\nDATA\r\n")
    mail, rcpt, data = smtp.getreply(), smtp.getreply(), smtp.getreply()
    if data[0] == 354:
        if mail[0] == 250 and rcpt[0] in (250, 251):
            smtp.send(dot_stuffed(message.data).rstrip(b"\r\n") + b"\r\n.\r\n")
            code, reply = smtp.getreply()
            if code != 250:
                smtp.rset()
                raise smtplib.SMTPDataError(code, reply)
            return {}
        smtp.send(b".\r\n")  # the server accepted DATA after a refusal: end the empty message
        smtp.getreply()
    smtp.rset()
    if mail[0] != 250:
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], message.sender)
    if rcpt[0] not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({message.recipient: rcpt})
    raise smtplib.SMTPDataError(*data)


def _code_error(reason: str, code: int) -> SendError:
    return SendError(f"{reason} (SMTP {code})", temporary=400 <= code < 500, code=code)


def _response_error(reason: str, error: smtplib.SMTPResponseException) -> SendError:
    reply = (
        error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
    )
    return _code_error(f"{reason}: {reply}", error.smtp_code)


class OutboxTransport:
    """Development mail: each message becomes an .eml file in a folder, newest last by name."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def send(self, message: EmailMessage) -> None:
        """Write the message to <folder>/<UTC time>-<Message-ID>.eml."""
        self._write(str(message.get("Message-ID", "")), message.as_bytes())

    def send_prepared(self, message: "PreparedMessage") -> None:
        self._write(message.message_id, message.data)

    def _write(self, message_id: str, data: bytes) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = re.sub(r"[^A-Za-z0-9.@-]+", "", message_id)[:80]
        path = self.folder / f"{stamp}-{name or 'message'}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, path)  # readers never see half a message


def transport_from_config(config: Mapping) -> SMTPTransport | OutboxTransport:
    """SMTP when SMTP_HOST is set, else the outbox folder (development)."""
    if not config.get("SMTP_HOST"):
        return OutboxTransport(Path(config["OUTBOX_FOLDER"]))
    return SMTPTransport(
        config["SMTP_HOST"],
        int(config["SMTP_PORT"]),
        config["SMTP_SECURITY"],
        config.get("SMTP_USERNAME", ""),
        config.get("SMTP_PASSWORD", ""),
    )
