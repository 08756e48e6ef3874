"""Subscribers in and out of CSV files: export for the owner, import from another service."""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from blog.models import Subscriber
from blog.models import SubscriberStatus as Status
from blog.subscriptions.lifecycle import (
    Consent,
    InvalidEmail,
    claim_confirmation,
    email_key,
    find_subscriber,
    is_suppressed,
    normalise_email,
    record_consent,
)

EXPORT_COLUMNS = (
    "email",
    "status",
    "created_at",
    "confirmation_sent_at",
    "confirmed_at",
    "unsubscribed_at",
    "bounce_count",
    "consent_at",
    "consent_ip",
    "consent_user_agent",
    "consent_form_version",
    "consent_source",
    "consent_note",
    "confirmed_ip",
)
EMAIL_HEADERS = ("email", "email address", "e-mail", "e-mail address", "mail")
MAX_IMPORT_BYTES = 5 * 1024 * 1024  # about 100,000 addresses; larger lists can be split
# A spreadsheet runs a cell that starts with one of these as a formula; a visitor controls their
# address and User-Agent, so exported cells that start so get a leading apostrophe (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ImportOptionsError(ValueError):
    """The import options contradict each other or lack a consent note; `option` names which."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class ImportOptions:
    """How to add the people in an imported file: as pending (the default) or as already confirmed."""

    confirmed: bool = False  # they agreed elsewhere: add them as active, vouched for by `consent_note`
    consent_note: str | None = None  # where and when they agreed, kept with each consent record
    send_confirmations: bool = False  # email each new pending subscriber a confirmation link

    def check(self) -> None:
        """Refuse a confirmed import without a note saying where the consent came from."""
        if self.confirmed and not (self.consent_note or "").strip():
            raise ImportOptionsError(
                "consent_note", "people added as confirmed need a note saying where and when they agreed"
            )
        if self.confirmed and self.send_confirmations:
            raise ImportOptionsError(
                "send_confirmations", "confirmation emails are for pending subscribers, not confirmed ones"
            )


def export_rows(session: Session) -> Iterator[dict[str, str]]:
    """Every subscriber as a row of EXPORT_COLUMNS, times in ISO 8601 UTC; no token secrets."""
    for subscriber in session.scalars(select(Subscriber).order_by(Subscriber.id)):
        row = {}
        for column in EXPORT_COLUMNS:
            value = getattr(subscriber, column)
            row[column] = value.isoformat() if isinstance(value, datetime) else str(value or "")
        row["bounce_count"] = str(subscriber.bounce_count)
        yield row


def write_csv(rows: Iterable[dict[str, str]], out: TextIO) -> int:
    """Write the rows as CSV with a header line; return how many rows were written."""
    # CRLF as RFC 4180 has it: a field holding a bare CR (a User-Agent can) is then quoted too.
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({column: defuse(value) for column, value in row.items()})
        count += 1
    return count


def defuse(value: str) -> str:
    """The cell as text a spreadsheet shows and never runs."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def undo_defuse(value: str) -> str:
    """A cell of Weeknote's own export as it was before defuse()."""
    return value[1:] if value.startswith("'") and value[1:2] in FORMULA_STARTS else value


@dataclass
class ImportReport:
    """What happened to each line of an imported file."""

    added: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # (line, address, why)
    failed: list[tuple[int, str, str]] = field(default_factory=list)


def find_email_column(fieldnames: list[str] | None) -> str:
    """Return the header naming the email column, or say what the file needs."""
    for name in fieldnames or []:
        if name.strip().lower() in EMAIL_HEADERS:
            return name
    found = ", ".join(repr(name) for name in fieldnames or []) or "nothing"
    raise ValueError(f"the first line must name the columns and one of them must be 'email' (found {found})")


def decode_csv(data: bytes) -> str:
    """The text of an uploaded or read CSV file, or a ValueError saying how to save it properly."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"the file is not UTF-8 text (line {line} holds a byte that is not valid UTF-8); "
            "save it as 'CSV UTF-8' (a spreadsheet: File > Save as > CSV UTF-8) and try again"
        ) from error
    if "\x00" in text:
        raise ValueError("the file holds binary data, not CSV text; export the list as CSV and try again")
    return text


def import_subscribers(
    session: Session, source: TextIO, options: ImportOptions, now: datetime
) -> ImportReport:
    """Check the options and import the file as `weeknote subscribers import` and the console do."""
    options.check()
    note = (options.consent_note or "").strip() or None
    consent = Consent(at=now, form_version=None, source="import", note=note)
    return import_csv(session, source, consent, options.confirmed)


def claim_confirmations(session: Session, emails: Iterable[str], now: datetime) -> list[int]:
    """Claim a confirmation email for each newly imported pending address; return their ids to send."""
    claimed = []
    for email in emails:
        subscriber = find_subscriber(session, email)
        if subscriber is not None and claim_confirmation(session, subscriber, now):
            claimed.append(subscriber.id)
    return claimed


def import_csv(session: Session, source: TextIO, consent: Consent, confirmed: bool) -> ImportReport:
    """Add each new, unsuppressed address as pending (or active when `confirmed`); change no one else."""
    reader = csv.DictReader(source)
    try:
        column = find_email_column(reader.fieldnames)
        return _import_rows(session, reader, column, consent, confirmed)
    except csv.Error as error:  # a NUL byte, an overlong field: say where
        raise ValueError(f"line {reader.line_num} is not valid CSV ({error})") from error


def _import_rows(
    session: Session, reader: csv.DictReader, column: str, consent: Consent, confirmed: bool
) -> ImportReport:
    report = ImportReport()
    seen: set[str] = set()
    for row in reader:
        line, raw = reader.line_num, undo_defuse((row.get(column) or "").strip())
        try:
            email = normalise_email(raw)
        except InvalidEmail as error:
            report.failed.append((line, raw, str(error)))
            continue
        existing = find_subscriber(session, email)
        if email_key(email) in seen:
            report.skipped.append((line, email, "listed twice in this file"))
        elif existing is not None:
            report.skipped.append((line, email, f"already on the list ({existing.status})"))
        elif is_suppressed(session, email):
            report.skipped.append((line, email, "erased on request; only they can subscribe again"))
        else:
            status = Status.ACTIVE if confirmed else Status.PENDING
            subscriber = Subscriber(email=email, email_key=email_key(email), status=status)
            record_consent(subscriber, consent)
            if confirmed:
                subscriber.confirmed_at = consent.at
            session.add(subscriber)
            report.added.append(email)
        seen.add(email_key(email))
    session.flush()
    return report
