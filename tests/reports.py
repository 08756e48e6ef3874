"""Returned messages written for a test's own recipients: an RFC 3464 report and an RFC 5965 one.

The shapes are those of tests/bounces/ (the fixtures the parser is tested on); these fill in the
addresses, the envelope sender of ours they went back to, and the Message-ID they quote.
"""

from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid


def _original(recipient: str, message_id: str, envelope: str, extra: str = "") -> str:
    return (
        f"Return-Path: <{envelope}>\nFrom: Weeknote <digest@blog.example.com>\nTo: {recipient}\n"
        f"Subject: Weeknote - 3 new posts\nMessage-ID: {message_id}\n{extra}"
    )


def _report(kind: str, sender: str, to: str, subject: str, parts: list[tuple[str, str]]) -> bytes:
    boundary = "=_" + make_msgid().strip("<>").split("@")[0]
    head = (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {format_datetime(datetime.now(UTC))}\n"
        f"Message-ID: {make_msgid(domain='reports.example.net')}\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type={kind}; boundary="{boundary}"\n\n'
    )
    body = "".join(f"--{boundary}\nContent-Type: {ctype}\n\n{content}\n" for ctype, content in parts)
    return (head + body + f"--{boundary}--\n").replace("\n", "\r\n").encode()


def dsn(
    recipient: str, envelope: str, message_id: str, status: str = "5.1.1", action: str = "failed"
) -> bytes:
    """A delivery status notification to `envelope` about the copy `message_id` sent to `recipient`."""
    reply = {"5": f"550 {status} User unknown", "4": f"452 {status} Mailbox full"}[status[0]]
    fields = (
        "Reporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {reply}\n"
    )
    return _report(
        "delivery-status",
        "Mail Delivery System <MAILER-DAEMON@mx.example.net>",
        envelope,
        "Delivery Status Notification" + (" (Failure)" if action == "failed" else " (Delay)"),
        [
            ("text/plain", f"Your message to <{recipient}> could not be delivered.\n"),
            ("message/delivery-status", fields),
            ("text/rfc822-headers", _original(recipient, message_id, envelope)),
        ],
    )


def arf(recipient: str, envelope: str, message_id: str, feedback_id: str = "") -> bytes:
    """A complaint (feedback report) about the copy `message_id` sent to `recipient`."""
    fields = (
        "Feedback-Type: abuse\nUser-Agent: ExampleFBL/1.0\nVersion: 1\n"
        f"Original-Mail-From: <{envelope}>\nOriginal-Rcpt-To: <{recipient}>\n"
    )
    extra = f"CFBL-Feedback-ID: {feedback_id}\n" if feedback_id else ""
    return _report(
        "feedback-report",
        "Feedback Loop <fbl@mail.example.org>",
        "abuse@blog.example.com",
        "Email Feedback Report",
        [
            ("text/plain", "This is an email abuse report.\n"),
            ("message/feedback-report", fields),
            ("text/rfc822-headers", _original(recipient, message_id, envelope, extra)),
        ],
    )
