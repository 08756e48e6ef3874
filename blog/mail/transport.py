"""Send messages: over SMTP (SMTP_* settings), or into the instance folder's outbox/ in development.

Both transports are context managers that keep one connection (or folder) open for a batch:

    with transport_from_config(app.config) as transport:
        transport.send(message)

Failures raise SendError, whose `temporary` flag says whether trying again later can help
(SMTP 4xx, refused or dropped connections) or not (5xx, bad credentials, missing STARTTLS).
"""

import re
import smtplib
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TypeVar

from blog.mail.outbox import OutboxTransport

# A temporary answer that asks the sender to slow down, rather than to try one address later:
# 421 (the server closes the channel), 454 ("Throttling failure"), or a 4.7.x about rates.
THROTTLING = re.compile(
    r"\b4\.7\.\d+\b.*(throttl|rate|too many|slow down)|throttl", re.IGNORECASE | re.DOTALL
)


class SendError(Exception):
    """A message was not accepted; `temporary` says whether a retry may succeed, `sender`
    whether the server refused the sender (MAIL FROM), not the recipient, and `throttled`
    whether it asked to send more slowly (421, 454, a 4.7.x about rates)."""

    def __init__(
        self, reason: str, *, temporary: bool, code: int | None = None, sender: bool = False
    ) -> None:
        super().__init__(reason)
        self.temporary = temporary
        self.code = code
        self.sender = sender
        self.throttled = code in (421, 454) or (
            temporary and code is not None and bool(THROTTLING.search(reason))
        )


@dataclass(frozen=True)
class PreparedMessage:
    """A complete message as bytes (CRLF line ends), with its envelope."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


T = TypeVar("T")


class Transport(Protocol):
    """What delivery code needs: a context manager that sends messages."""

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    @property
    def connected(self) -> bool: ...

    def send(self, message: EmailMessage, sender: str | None = None) -> None: ...

    def send_prepared(self, message: PreparedMessage) -> None: ...

    def send_all(
        self, messages: Iterable[tuple[T, PreparedMessage]], turn: Callable[[], bool] | None = None
    ) -> Iterator[tuple[T, "SendError | None"]]: ...


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

    @property
    def connected(self) -> bool:
        """False once the connection is lost or closed: open another to send more."""
        return self._smtp is not None

    def send(self, message: EmailMessage, sender: str | None = None) -> None:
        """Send one message over the open connection; the envelope sender is `sender`, else From."""
        self._deliver(smtplib.SMTP.send_message, message, sender)

    def send_prepared(self, message: PreparedMessage) -> None:
        """Send bytes that are already a complete message."""
        for _, error in list(self.send_all([(None, message)])):  # to the end: closing early drops
            if error is not None:
                raise error

    def send_all(
        self, messages: Iterable[tuple[T, PreparedMessage]], turn: Callable[[], bool] | None = None
    ) -> Iterator[tuple[T, SendError | None]]:
        """Send (tag, message) pairs in order; yield each tag with None once the server has
        accepted its message, or with the SendError that refused it.

        `turn()`, when given, is asked right before each message's content goes (the moment
        the server accepts it); it may wait for a pace, and False stops sending: the connection
        is dropped, so a message whose content has not gone is discarded by the server.

        A tag is yielded as soon as its outcome is known, before the next message's outcome,
        so the caller can record each one. After an error whose `code` is None the connection
        is gone: nothing more is sent, and messages not yet yielded were not delivered.
        """
        if self._smtp is None:
            raise RuntimeError("SMTPTransport.send_all() outside a `with` block")
        try:
            self._smtp.ehlo_or_helo_if_needed()  # the extensions below are known after EHLO
        except (OSError, smtplib.SMTPException) as error:
            self._smtp = None
            raise SendError(f"connection lost while sending: {error}", temporary=True) from error
        options = " BODY=8BITMIME" if self._smtp.has_extn("8bitmime") else ""
        if self._smtp.has_extn("pipelining"):
            yield from self._pipelined(messages, options, turn)
            return
        for tag, message in messages:
            if turn is not None and not turn():
                return
            try:
                self._deliver(_sendmail, message, options.split())
            except SendError as error:
                if error.code == 421:
                    self._drop()  # the server closes the channel after a 421
                yield tag, error
                if error.code is None or error.code == 421:
                    return
            else:
                yield tag, None

    def _pipelined(self, messages, options: str, turn: Callable[[], bool] | None):
        """RFC 2920 PIPELINING across messages: each write carries one message's content and
        the next message's MAIL, RCPT and DATA, and their replies are read together, so a
        message costs one round trip. Each message's outcome is still yielded before the next
        message's content is sent.

        The message after those is made (`messages` is advanced) while the server answers, so
        its making overlaps the round trip. Should making it fail, the failure waits until the
        outcome of the message whose content just went has been yielded (so the caller records
        it), then ends the sending."""
        smtp = self._smtp
        waiting = None  # the (tag, message) whose DATA was answered 354: its content goes next
        trying = None  # the tag whose outcome a lost connection would leave unknown
        pending = iter(messages)
        try:
            upcoming = next(pending, None)
            while upcoming is not None:
                tag, message = upcoming
                envelope = _envelope(message, options)
                if waiting is None:
                    trying = tag
                    smtp.send(envelope)
                    upcoming = next(pending, None)  # no content has gone: a failure may end it now
                else:
                    if turn is not None and not turn():
                        self._drop()  # the waiting message's content never goes: not delivered
                        return
                    sent = trying = waiting[0]
                    smtp.send(_content(waiting[1]) + envelope)
                    upcoming, failure = _advance(pending)  # while the server answers
                    outcome = _reply_error("message refused", smtp.getreply())
                    waiting, trying = None, tag
                    if outcome is not None and outcome.code == 421:
                        self._drop()  # closing the channel: the next envelope was not answered
                        yield sent, outcome
                        if failure is not None:
                            raise _MadeLate(failure)
                        return
                    yield sent, outcome
                    if failure is not None:
                        raise _MadeLate(failure)
                mail, rcpt, data = smtp.getreply(), smtp.getreply(), smtp.getreply()
                if mail[0] == 250 and rcpt[0] in (250, 251) and data[0] == 354:
                    waiting = tag, message
                    continue
                trying = None
                refusal = _envelope_error(mail, rcpt, data)
                if 421 in (mail[0], rcpt[0], data[0]):
                    self._drop()
                    yield tag, refusal
                    return
                yield tag, refusal
                if data[0] == 354:  # the server accepted DATA after a refusal: end the empty message
                    smtp.send(b".\r\n")
                    smtp.getreply()
                smtp.rset()
            if waiting is not None:
                if turn is not None and not turn():
                    self._drop()
                    return
                trying = waiting[0]
                smtp.send(_content(waiting[1]))
                yield waiting[0], _reply_error("message refused", smtp.getreply())
        except _MadeLate as late:
            self._drop()  # the next envelope was answered; its content never goes
            raise late.failure from None
        except (OSError, smtplib.SMTPException) as error:
            self._drop()
            if trying is not None:
                yield trying, SendError(f"connection lost while sending: {error}", temporary=True)
        except BaseException:
            self._drop()  # the server may be waiting for a message's content: never QUIT into it
            raise

    def _deliver(self, send, *args) -> None:
        """Call send(smtp, *args), one of smtplib's sending methods, with errors as SendError."""
        if self._smtp is None:
            raise RuntimeError("SMTPTransport.send() outside a `with` block")
        try:
            refused = send(self._smtp, *args)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise _code_error(f"recipient refused: {_text(reply)}", code) from error
        except smtplib.SMTPSenderRefused as error:
            raise _response_error("sender refused", error, sender=True) from error
        except smtplib.SMTPResponseException as error:
            raise _response_error("message refused", error) from error
        except (OSError, smtplib.SMTPException) as error:
            self._smtp = None
            raise SendError(f"connection lost while sending: {error}", temporary=True) from error
        if refused:
            code, reply = next(iter(refused.values()))
            raise _code_error(f"recipient refused: {_text(reply)}", code)

    def _drop(self) -> None:
        """Close the connection without a word: the server discards an unfinished message."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        """Say QUIT politely; drop the connection if the server is already gone."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._smtp.close()
        self._smtp = None


@cache
def default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def dot_stuffed(data: bytes) -> bytes:
    """Double every line-leading dot (RFC 5321 4.5.2); lines end in CRLF."""
    return (b"." + data if data.startswith(b".") else data).replace(b"\n.", b"\n..")


def _sendmail(smtp: smtplib.SMTP, message: PreparedMessage, options: list[str]) -> dict:
    return smtp.sendmail(message.sender, [message.recipient], message.data, options)


class _MadeLate(Exception):
    """Carries a failure to make the next message past the handlers meant for the connection's."""

    def __init__(self, failure: BaseException) -> None:
        super().__init__(failure)
        self.failure = failure


def _advance(pending: Iterator[T]) -> tuple[T | None, BaseException | None]:
    """The next item, or None at the end; a failure to make it is returned, not raised."""
    try:
        return next(pending, None), None
    except BaseException as failure:  # raised again once the outcome is recorded
        return None, failure


def _envelope(message: PreparedMessage, options: str) -> bytes:
    """MAIL, RCPT and DATA for one message, to be sent in one write."""
    commands = f"MAIL FROM:<{message.sender}>{options}\r\nRCPT TO:<{message.recipient}>\r\nDATA\r\n"
    return commands.encode("ascii")


def _content(message: PreparedMessage) -> bytes:
    """The message as sent after DATA: dot-stuffed, ending in CRLF and the lone dot."""
    data = dot_stuffed(message.data)
    return data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")


def _reply_error(reason: str, reply: tuple[int, bytes]) -> "SendError | None":
    """None for 250, else the SendError the reply means."""
    code, text = reply
    return None if code == 250 else _code_error(f"{reason}: {text.decode(errors='replace')}", code)


def _text(reply: bytes | str) -> str:
    """A server's reply as the author reads it (smtplib hands back bytes)."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _envelope_error(mail, rcpt, data) -> "SendError":
    if mail[0] != 250:
        return _code_error(f"sender refused: {mail[1].decode(errors='replace')}", mail[0], sender=True)
    if rcpt[0] not in (250, 251):
        return _code_error(f"recipient refused: {_text(rcpt[1])}", rcpt[0])
    return _code_error(f"message refused: {data[1].decode(errors='replace')}", data[0])


def _code_error(reason: str, code: int, sender: bool = False) -> SendError:
    return SendError(f"{reason} (SMTP {code})", temporary=400 <= code < 500, code=code, sender=sender)


def _response_error(reason: str, error: smtplib.SMTPResponseException, sender: bool = False) -> SendError:
    reply = (
        error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
    )
    return _code_error(f"{reason}: {reply}", error.smtp_code, sender)


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
