"""A message that came back (from the bounce mailbox, a file, or an MTA's pipe): read it, find
what it is about, act. No commits: the mailbox poller and `weeknote bounces ingest` commit.

What it is about, strongest evidence first: an envelope sender of ours (VERP) or a
CFBL-Feedback-ID in it, whose signature is checked; the Message-ID of the copy it quotes, which
Weeknote stored; and, only when BOUNCE_ADDRESS is not set, the recipient address it reports.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from blog.bounces.actions import Event, Outcome, record
from blog.bounces.parse import Kind, Report, parse
from blog.mail.verp import Sent, verp_from_config
from blog.models import MailEventKind

KINDS = {
    Kind.HARD: MailEventKind.HARD_BOUNCE,
    Kind.SOFT: MailEventKind.SOFT_BOUNCE,
    Kind.COMPLAINT: MailEventKind.COMPLAINT,
}


@dataclass(frozen=True)
class Handled:
    """One message: how it was read, and what each event in it did."""

    report: Report
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def known(self) -> bool:
        """Recognised (a bounce, a complaint, an auto-reply or a report of success): it can be
        filed away. An unknown message stays where it is, for a person to read."""
        return self.report.kind != Kind.UNKNOWN

    def describe(self) -> str:
        """'hard bounce (5.1.1) for reader@example.com: suppressed'"""
        report = self.report
        words = {Kind.HARD: "hard bounce", Kind.SOFT: "soft bounce", Kind.COMPLAINT: "complaint"}
        what = words.get(report.kind, report.kind.value)
        if report.status:
            what += f" ({report.status})"
        if report.recipients:
            what += f" for {', '.join(report.recipients)}"
        if not report.counts:
            return f"{what}: {'left alone' if report.kind == Kind.UNKNOWN else 'ignored'}"
        return f"{what}: {', '.join(outcome.value for outcome in self.outcomes)}"


def handle(session: Session, data: bytes, config: Mapping, now: datetime) -> Handled:
    """Read one returned message and act on what it reports."""
    report = parse(data)
    if not report.counts:
        return Handled(report)
    event_id = report.report_id or "sha256:" + hashlib.sha256(data).hexdigest()
    common = {"kind": KINDS[report.kind], "source": "mail", "status": report.status,
              "diagnostic": report.diagnostic}  # fmt: skip
    verp = verp_from_config(config)
    targets = verp.targets_in(report.text) if verp is not None else []
    message_id = report.message_ids[0] if report.message_ids else None  # the quoted original's
    if targets:
        named = {"delivery_id" if targets[0].kind == Sent.DELIVERY else "subscriber_id": targets[0].id}
        events = [Event(event_id=event_id, **common, **named)]
    elif verp is None and report.recipients:
        events = [
            Event(event_id=f"{event_id} {email}", message_id=message_id, email=email, **common)
            for email in report.recipients
        ]
    else:  # a forged or foreign report names no one; a stored Message-ID may still name a copy
        events = [Event(event_id=event_id, message_id=message_id, **common)]
    return Handled(report, [record(session, event, now) for event in events])
