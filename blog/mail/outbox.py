"""The development outbox: OutboxTransport writes each message as an .eml file in a folder, and
the console reads them back, newest first."""

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path
from typing import TYPE_CHECKING, Self, TypeVar

if TYPE_CHECKING:  # transport.py imports this module for transport_from_config
    from blog.mail.transport import PreparedMessage, SendError

T = TypeVar("T")

# The names OutboxTransport gives its files: "<UTC stamp>-<Message-ID letters>.eml".
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.@-]*\.eml")


class OutboxTransport:
    """Development mail: each message becomes an .eml file in a folder, newest last by name."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    connected = True

    def send(self, message: EmailMessage, sender: str | None = None) -> None:
        """Write the message to <folder>/<UTC time>-<Message-ID>.eml (the envelope is not kept)."""
        self._write(str(message.get("Message-ID", "")), message.as_bytes())

    def send_prepared(self, message: "PreparedMessage") -> None:
        self._write(message.message_id, message.data)

    def send_all(
        self, messages: Iterable[tuple[T, "PreparedMessage"]], turn: Callable[[], bool] | None = None
    ) -> Iterator[tuple[T, "SendError | None"]]:
        for tag, message in messages:
            if turn is not None and not turn():
                return
            self.send_prepared(message)
            yield tag, None

    def _write(self, message_id: str, data: bytes) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = re.sub(r"[^A-Za-z0-9.@-]+", "", message_id)[:80]
        path = self.folder / f"{stamp}-{name or 'message'}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, path)  # readers never see half a message


@dataclass(frozen=True)
class OutboxEntry:
    """One message file, with the headers a list of messages shows."""

    name: str
    date: datetime
    to: str
    subject: str


def message_files(folder: Path) -> list[Path]:
    """The message files in the folder, newest first (names start with the time they were written)."""
    if not folder.is_dir():
        return []
    files = (path for path in folder.iterdir() if NAME.fullmatch(path.name) and path.is_file())
    return sorted(files, key=lambda path: path.name, reverse=True)


def list_messages(folder: Path, limit: int) -> list[OutboxEntry]:
    """The newest `limit` messages with their date, recipient and subject."""
    entries = []
    for path in message_files(folder)[:limit]:
        try:
            headers = BytesHeaderParser(policy=default).parsebytes(path.read_bytes())
        except OSError:  # removed while we listed: it is simply gone
            continue
        entries.append(
            OutboxEntry(
                path.name,
                message_date(headers, path),
                str(headers["To"] or ""),
                str(headers["Subject"] or ""),
            )
        )
    return entries


def message_path(folder: Path, name: str) -> Path | None:
    """The file for a name taken from a URL, only if it is a message file in the folder itself."""
    if not NAME.fullmatch(name):
        return None
    path = folder / name
    return path if path.is_file() and path.resolve().parent == folder.resolve() else None


def read_message(path: Path) -> EmailMessage:
    """Parse a message file as the recipient's mail program would."""
    return message_from_bytes(path.read_bytes(), policy=default)  # type: ignore[return-value]


def message_date(message: EmailMessage, path: Path) -> datetime:
    """The message's Date header, or when its file was written if the header is missing or bad."""
    try:
        moment = message["Date"].datetime if message["Date"] else None
    except (AttributeError, TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return moment.astimezone(UTC)


def body_parts(message: EmailMessage) -> tuple[str | None, str | None]:
    """The text and HTML bodies a mail program would choose; None for a part the message lacks."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return (text.get_content() if text else None, html.get_content() if html else None)
