"""Poll the bounce mailbox (BOUNCE_MAILBOX: imaps://, imap://, pop3s:// or pop3://).

Each message is read and acted on (returned.handle), and its outcome committed before the
mailbox is touched: then it moves to the `Processed` folder over IMAP, or is deleted over POP.
A message that cannot be read as a bounce, a complaint or an auto-reply stays where it is, for a
person to read, and is counted. A move that fails after the commit is harmless: the next poll
reads the message again, and a report counts once.
"""

import contextlib
import imaplib
import logging
import poplib
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session

from blog.bounces import returned

log = logging.getLogger(__name__)
PROCESSED = "Processed"
POLL_LIMIT = 500  # messages read per poll; the rest wait for the next
TIMEOUT = 30.0
DEFAULT_PORTS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}


class MailboxError(Exception):
    """The mailbox could not be reached, or refused the login or a command."""


@dataclass(frozen=True)
class Mailbox:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    folder: str

    @classmethod
    def from_url(cls, url: str) -> "Mailbox":
        """imaps://user:password@host[:port]/INBOX (the folder is INBOX when none is given)."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname or not parts.username:
            raise ValueError(
                "BOUNCE_MAILBOX must look like imaps://user:password@host/INBOX "
                "(or imap://, pop3s://, pop3://)"
            )
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.strip("/")) or "INBOX",
        )


@dataclass
class Poll:
    """What one poll did."""

    read: int = 0
    counted: int = 0  # bounces and complaints acted on
    ignored: int = 0  # auto-replies and reports that nothing failed: filed away too
    unknown: int = 0  # left in the mailbox
    outcomes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{self.read} read: {self.counted} bounces or complaints, {self.ignored} ignored, "
            f"{self.unknown} left in the mailbox (not recognised)"
        )


def poll(session: Session, config: Mapping, ssl_context: ssl.SSLContext | None = None) -> Poll:
    """Read the bounce mailbox once; commit each message's outcome before filing it away."""
    mailbox = Mailbox.from_url(config["BOUNCE_MAILBOX"])
    reader = PopReader if mailbox.scheme.startswith("pop3") else ImapReader
    result = Poll()
    try:
        with reader(mailbox, ssl_context) as messages:
            for key, data in messages.fetch(POLL_LIMIT):
                handled = returned.handle(session, data, config, datetime.now(UTC))
                session.commit()
                result.read += 1
                result.outcomes.append(handled.describe())
                if not handled.known:
                    result.unknown += 1
                    continue
                if handled.report.counts:
                    result.counted += 1
                else:
                    result.ignored += 1
                messages.file_away(key)
    except (OSError, imaplib.IMAP4.error, poplib.error_proto) as error:
        raise MailboxError(
            f"bounce mailbox {mailbox.scheme}://{mailbox.host}:{mailbox.port}: {error}"
        ) from error
    log.info("bounce mailbox: %s", result.describe())
    return result


class ImapReader:
    """One IMAP session on the folder: fetch without marking read, then move to Processed."""

    def __init__(self, mailbox: Mailbox, ssl_context: ssl.SSLContext | None) -> None:
        self.mailbox, self.ssl_context = mailbox, ssl_context

    def __enter__(self) -> "ImapReader":
        box = self.mailbox
        if box.scheme == "imaps":
            context = self.ssl_context or ssl.create_default_context()
            self.imap = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context, timeout=TIMEOUT)
        else:
            self.imap = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT)
            if "STARTTLS" in self.imap.capabilities:
                self.imap.starttls(self.ssl_context or ssl.create_default_context())
        try:
            self.imap.login(box.user, box.password)
            _ok(self.imap.select(_quoted(box.folder)), f"select {box.folder}")
            self.imap.create(_quoted(PROCESSED))  # NO when it exists already: fine
            self.move = b"MOVE" in b" ".join(self.imap.capability()[1]).upper().split()
        except BaseException:
            self.imap.shutdown()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            if not self.move:
                self.imap.expunge()
            self.imap.logout()

    def fetch(self, limit: int) -> Iterator[tuple[bytes, bytes]]:
        uids = _ok(self.imap.uid("SEARCH", None, "ALL"), "search")[0].split()[:limit]
        for uid in uids:
            response = _ok(self.imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetch {uid!r}")
            data = next((item[1] for item in response if isinstance(item, tuple)), None)
            if data is not None:
                yield uid, data

    def file_away(self, uid: bytes) -> None:
        if self.move:
            _ok(self.imap.uid("MOVE", uid, _quoted(PROCESSED)), "move")
            return
        _ok(self.imap.uid("COPY", uid, _quoted(PROCESSED)), "copy")
        _ok(self.imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "store")


class PopReader:
    """One POP3 session: retrieve each message, delete the ones read (at QUIT)."""

    def __init__(self, mailbox: Mailbox, ssl_context: ssl.SSLContext | None) -> None:
        self.mailbox, self.ssl_context = mailbox, ssl_context

    def __enter__(self) -> "PopReader":
        box = self.mailbox
        if box.scheme == "pop3s":
            context = self.ssl_context or ssl.create_default_context()
            self.pop = poplib.POP3_SSL(box.host, box.port, context=context, timeout=TIMEOUT)
        else:
            self.pop = poplib.POP3(box.host, box.port, timeout=TIMEOUT)
        try:
            self.pop.user(box.user)
            self.pop.pass_(box.password)
        except BaseException:
            self.pop.close()
            raise
        return self

    def __exit__(self, exc_type, *exc_info: object) -> None:
        with contextlib.suppress(OSError, poplib.error_proto):
            if exc_type is None:
                self.pop.quit()  # QUIT applies the deletions
            else:
                self.pop.close()  # without QUIT none is applied: the next poll reads them again

    def fetch(self, limit: int) -> Iterator[tuple[bytes, bytes]]:
        count = self.pop.stat()[0]
        for number in range(1, min(count, limit) + 1):
            _, lines, _ = self.pop.retr(number)
            yield str(number).encode(), b"\r\n".join(lines) + b"\r\n"

    def file_away(self, number: bytes) -> None:
        self.pop.dele(int(number))


def _ok(response: tuple[str, list], what: str) -> list:
    status, data = response
    if status != "OK":
        raise imaplib.IMAP4.error(f"{what}: {status} {data!r}")
    return data


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
