"""Reading what mail systems send back: fixtures of each shape under tests/bounces/."""

from pathlib import Path

import pytest

from blog.bounces.parse import Kind, parse

FIXTURES = Path(__file__).parent / "bounces"
# fixture: (kind, the address it reports on, status, words of the diagnostic, the quoted Message-ID)
EXPECTED = {
    "rfc3464-hard-5.1.1.eml": (Kind.HARD, "reader1@example.net", "5.1.1", "User unknown", "digest-3.17."),
    "rfc3464-soft-4.2.2.eml": (Kind.SOFT, "reader2@example.org", "4.2.2", "Mailbox full", "digest-3.18."),
    "rfc3464-mailbox-full-5.2.2.eml": (Kind.SOFT, "full@example.net", "5.2.2", "quota", "digest-3.17."),
    "postfix-5.1.1.eml": (
        Kind.HARD,
        "kim@mail.example.com",
        "5.1.1",
        "local recipient table",
        "digest-3.19.",
    ),
    "exim-plain.eml": (Kind.HARD, "sam@exim.example.com", "5.1.1", "mailbox unavailable", "digest-3.20."),
    "outlook-5.1.10.eml": (Kind.HARD, "lee@contoso.example", "5.1.10", "RecipientNotFound", "digest-3.21."),
    "exchange-2003-plain.eml": (Kind.HARD, "pat@corp.example", "5.1.1", "#5.1.1", ""),
    "gmail-5.1.1.eml": (Kind.HARD, "no.such.reader@gmail.com", "5.1.1", "does not exist", "digest-3.23."),
    "yahoo-plain.eml": (
        Kind.HARD,
        "gone.reader@yahoo.com",
        "",
        "doesn't have a yahoo.com account",
        "digest-3.24.",
    ),
    "qmail-plain.eml": (Kind.HARD, "alex@qmail.example", "5.1.1", "no mailbox here", "digest-3.25."),
    "out-of-office.eml": (Kind.AUTO_REPLY, None, "", "", ""),
    "vacation-autoreply.eml": (Kind.AUTO_REPLY, None, "", "", ""),
    "arf-complaint.eml": (Kind.COMPLAINT, "casey@yahoo.example", "", "abuse", "digest-3.27."),
    "not-a-report.eml": (Kind.UNKNOWN, None, "", "", ""),
}


def test_every_fixture_has_an_expectation():
    assert sorted(path.name for path in FIXTURES.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shape_is_classified(name):
    kind, recipient, status, words, quoted = EXPECTED[name]
    report = parse((FIXTURES / name).read_bytes())
    assert report.kind == kind
    assert report.counts == (kind in (Kind.HARD, Kind.SOFT, Kind.COMPLAINT))
    if recipient:
        assert report.recipients == (recipient,)
    else:
        assert report.recipients == ()
    assert report.status == status
    assert words in report.diagnostic
    assert any(found.startswith(f"<{quoted}") for found in report.message_ids) if quoted else True
    assert report.report_id and report.report_id not in report.message_ids


def test_a_delivered_notice_is_not_a_bounce():
    data = (FIXTURES / "rfc3464-hard-5.1.1.eml").read_bytes().replace(b"Action: failed", b"Action: delivered")
    assert parse(data).kind == Kind.NOT_A_BOUNCE


def test_a_not_spam_feedback_report_is_no_complaint():
    data = (
        (FIXTURES / "arf-complaint.eml")
        .read_bytes()
        .replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    )
    assert parse(data).kind == Kind.NOT_A_BOUNCE


def test_the_classification_report(capsys):
    """Prints which fixture gave which classification (run with -s to read it)."""
    lines = [f"{'fixture':34} {'kind':11} {'read as':16} {'status':7} recipient"]
    for path in sorted(FIXTURES.glob("*.eml")):
        report = parse(path.read_bytes())
        recipients = ", ".join(report.recipients) or "-"
        lines.append(
            f"{path.name:34} {report.kind:11} {report.shape or '-':16} {report.status or '-':7} {recipients}"
        )
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert len(lines) == len(EXPECTED) + 1
