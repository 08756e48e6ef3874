"""Read a message that came back: a bounce (hard or soft), a complaint, an auto-reply, or unknown.

In order: an RFC 5965 feedback report (a complaint) and an RFC 3464 delivery status
notification are read field by field with the email package; then an auto-reply or
out-of-office is recognised (never a bounce); then flufl.bounce's detectors read the
non-standard shapes (Exim, qmail, old Exchange, Yahoo and others). Whatever is left is
unknown. Pure: bytes in, a Report out.
"""

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.policy import default
from email.utils import parseaddr
from enum import StrEnum

from flufl.bounce import all_failures


class Kind(StrEnum):
    HARD = "hard"  # the address does not work: suppress it
    SOFT = "soft"  # it did not work this time (full, delayed, refused by policy)
    COMPLAINT = "complaint"  # the reader marked a message as spam
    AUTO_REPLY = "auto-reply"  # an out-of-office or other automatic answer: never a bounce
    NOT_A_BOUNCE = "not-a-bounce"  # a report that says nothing failed (delivered, relayed, not spam)
    UNKNOWN = "unknown"  # nothing recognisable: left for a person to read


@dataclass(frozen=True)
class Report:
    """What one returned message says, and everything in it that may name what it is about."""

    kind: Kind
    shape: str  # how it was read: "feedback-report", "delivery-status", "auto-reply", "heuristic"
    recipients: tuple[str, ...] = ()  # the addresses it reports on, lower-cased
    status: str = ""  # the enhanced status code, like 5.1.1
    diagnostic: str = ""  # the receiving server's own words
    message_ids: tuple[str, ...] = ()  # Message-IDs of the original message it quotes
    report_id: str = ""  # its own Message-ID
    text: str = ""  # its headers and readable parts, where an envelope sender of ours may appear

    @property
    def counts(self) -> bool:
        """Whether it is a bounce or a complaint that something should be done about."""
        return self.kind in (Kind.HARD, Kind.SOFT, Kind.COMPLAINT)


# Permanent (5.x.x) codes that say something about the address itself; other permanent codes are
# about this message or this sender (a full mailbox, a policy or spam refusal, a DMARC failure),
# so they count as soft: three in a row suppress the address, one does not.
HARD_CODES = re.compile(r"5\.(1\.\d+|2\.1|4\.\d+|0\.0)$")
STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
SMTP_LINE = re.compile(r"\b[45]\d\d[ :-]|\b[45]\.\d{1,3}\.\d{1,3}\b|#[45]\.\d")
MESSAGE_ID = re.compile(r"^Message-ID:[ \t]*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
AUTO_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|"
    r"r[ée]ponse automatique|respuesta autom[aá]tica|away from|on vacation|vacation reply)",
    re.IGNORECASE,
)
DAEMONS = ("mailer-daemon", "postmaster", "mail delivery", "mail-daemon")


def kind_of(status: str, action: str = "failed") -> Kind:
    """A status code (and DSN action) as hard or soft."""
    if action == "delayed" or status.startswith("4"):
        return Kind.SOFT
    return Kind.HARD if not status or HARD_CODES.match(status) else Kind.SOFT


def parse(data: bytes) -> Report:
    """Classify one message from the bounce mailbox, an MTA's pipe, or a file."""
    message = message_from_bytes(data, policy=default)
    text = readable_text(message)
    own = str(message.get("Message-ID", "")).strip()
    quoted = tuple(found for found in dict.fromkeys(MESSAGE_ID.findall(text)) if found != own)
    base = {"report_id": own, "text": text, "message_ids": quoted}
    report_type = message.get_param("report-type", "", header="content-type")
    if message.get_content_type() == "multipart/report" and str(report_type).lower() == "feedback-report":
        return _feedback_report(message, base)
    if message.get_content_type() == "multipart/report" and str(report_type).lower() == "delivery-status":
        report = _delivery_status(message, base)
        if report is not None:
            return report
    if _is_auto_reply(message):
        return Report(Kind.AUTO_REPLY, "auto-reply", **base)
    temporary, permanent = all_failures(message)
    if temporary or permanent:
        recipients = tuple(sorted(a.decode("ascii").lower() for a in (permanent or temporary)))
        diagnostic = _diagnostic_line(message)
        match = STATUS.search(diagnostic)
        status = match.group(1) if match else ""
        kind = kind_of(status) if status else (Kind.HARD if permanent else Kind.SOFT)
        return Report(kind, "heuristic", recipients, status, diagnostic, **base)
    return Report(Kind.UNKNOWN, "", **base)


def readable_text(message: EmailMessage) -> str:
    """Every part's headers, and the text of the parts people and programs read."""
    chunks = []
    for part in message.walk():
        chunks.append("".join(f"{name}: {value}\n" for name, value in part.items()))
        if part.is_multipart():
            continue
        if part.get_content_maintype() == "text" or part.get_content_type() in REPORT_PARTS:
            chunks.append(_payload_text(part))
    return "\n".join(chunks)


REPORT_PARTS = ("message/delivery-status", "message/feedback-report", "text/rfc822-headers")


def _payload_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:  # a parsed message/delivery-status: a list of field blocks
        inner = part.get_payload()
        return "\n".join(str(block) for block in inner) if isinstance(inner, list) else str(inner)
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _fields(part: Message) -> list[Message]:
    """The field blocks of a message/delivery-status or message/feedback-report part."""
    inner = part.get_payload()
    if isinstance(inner, list):
        return inner
    raw = part.get_payload(decode=True) or b""
    return [
        HeaderParser().parsestr(block) for block in re.split(r"\r?\n\r?\n", raw.decode("utf-8", "replace"))
    ]


def _address(field: str | None) -> str:
    """'rfc822; Reader@Example.com' as 'reader@example.com'."""
    value = str(field or "").split(";", 1)[-1].strip()
    return parseaddr(value)[1].lower() or value.strip("<>").lower()


def _delivery_status(message: EmailMessage, base: dict) -> Report | None:
    """An RFC 3464 report: one group of fields per recipient, the worst of them counts."""
    part = next((p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None)
    if part is None:
        return None
    failures = []
    for block in _fields(part)[1:] or _fields(part):
        action = str(block.get("Action", "")).strip().lower()
        match = STATUS.search(str(block.get("Status", "")))
        status = match.group(1) if match else ""
        recipient = _address(block.get("Original-Recipient")) or _address(block.get("Final-Recipient"))
        if not recipient and not action:
            continue
        if action in ("delivered", "relayed", "expanded"):
            continue
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split(";", 1)[-1].split())
        failures.append((kind_of(status, action), recipient, status, diagnostic))
    if not failures:
        return Report(Kind.NOT_A_BOUNCE, "delivery-status", **base)
    failures.sort(key=lambda failure: failure[0] != Kind.HARD)  # a hard failure first
    kind, _, status, diagnostic = failures[0]
    recipients = tuple(dict.fromkeys(failure[1] for failure in failures if failure[1]))
    return Report(kind, "delivery-status", recipients, status, diagnostic, **base)


def _feedback_report(message: EmailMessage, base: dict) -> Report:
    """An RFC 5965 report: a complaint, unless it says the message was not spam."""
    part = next((p for p in message.walk() if p.get_content_type() == "message/feedback-report"), None)
    fields = _fields(part)[0] if part is not None and _fields(part) else Message()
    feedback_type = str(fields.get("Feedback-Type", "abuse")).strip().lower()
    recipients = [_address(value) for value in fields.get_all("Original-Rcpt-To") or []]
    original = next((p for p in message.walk() if p.get_content_type() == "message/rfc822"), None)
    if original is not None and not recipients:
        inner = original.get_payload()[0] if isinstance(original.get_payload(), list) else None
        if inner is not None and inner.get("To"):
            recipients = [parseaddr(str(inner["To"]))[1].lower()]
    kind = Kind.NOT_A_BOUNCE if feedback_type in ("not-spam", "auth-failure") else Kind.COMPLAINT
    diagnostic = f"Feedback-Type: {feedback_type}"
    if fields.get("User-Agent"):
        diagnostic += f" from {str(fields['User-Agent']).strip()}"
    return Report(kind, "feedback-report", tuple(r for r in recipients if r), "", diagnostic, **base)


def _is_auto_reply(message: EmailMessage) -> bool:
    """An out-of-office or other automatic answer (RFC 3834, and what common clients send)."""
    sender = str(message.get("From", "")).lower()
    if message.get("X-Failed-Recipients") or any(daemon in sender for daemon in DAEMONS):
        return False  # Exim marks its bounces Auto-Submitted too
    if message.get("X-Autoreply") or message.get("X-Autorespond") or message.get("X-Vacation"):
        return True
    if str(message.get("Precedence", "")).strip().lower() == "auto_reply":
        return True
    if str(message.get("Auto-Submitted", "no")).strip().lower().startswith("auto-replied"):
        return True
    return bool(AUTO_SUBJECT.match(str(message.get("Subject", "")).strip()))


def _diagnostic_line(message: EmailMessage) -> str:
    """The first line of a plain-text bounce that quotes the server's reply, before the copy."""
    body = message.get_body(("plain",)) or message
    text = _payload_text(body) if not body.is_multipart() else ""
    for line in text.splitlines():
        if "below this line is a copy" in line.lower() or "this is a copy of the message" in line.lower():
            break
        if SMTP_LINE.search(line):
            return " ".join(line.split())[:500]
    return ""
