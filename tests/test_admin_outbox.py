"""The development outbox page: the messages OutboxTransport wrote, as a recipient sees them."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import AUTHOR_PASSWORD, add_post, sign_in, subscribe

from blog.admin.outbox import HTML_POLICY
from blog.extensions import db
from blog.mail.message import build_message
from blog.mail.outbox import OutboxTransport

NAME_LINK = re.compile(r'<a href="/admin/outbox/([^/"]+)/">([^<]+)</a>')


def files(app) -> list[Path]:
    return sorted(Path(app.config["OUTBOX_FOLDER"]).glob("*.eml"))


@pytest.fixture
def sent(app, client, runner):
    """A confirmation email (the subscribe form) and then a digest test, both through the app."""
    subscribe(client, "ann@example.com")
    with app.app_context():
        add_post("Alpha", datetime.now(UTC) - timedelta(days=1))
        db.session.commit()
    result = runner.invoke(args=["digest", "test", "--to", "bo@example.com"])
    assert result.exit_code == 0, result.output
    assert len(files(app)) == 2


def test_the_outbox_lists_what_the_transport_wrote_newest_first(app, admin, sent):
    html = admin.get("/admin/outbox/").text
    assert "Development mail is on" in html and app.config["OUTBOX_FOLDER"] in html
    links = NAME_LINK.findall(html)
    digest, confirmation = [subject for _, subject in links]
    assert digest.startswith("[Test] Weeknote — 1 new post (")
    assert confirmation == "Confirm your subscription to Weeknote"
    assert [name for name, _ in links] == [path.name for path in reversed(files(app))]
    assert (
        '<td data-label="To">bo@example.com</td>' in html
        and '<td data-label="To">ann@example.com</td>' in html
    )


def test_a_message_shows_as_the_recipient_sees_it(app, admin, sent):
    confirmation = files(app)[0]
    page = admin.get(f"/admin/outbox/{confirmation.name}/")
    assert page.status_code == 200
    assert "<dt>To</dt><dd>ann@example.com</dd>" in page.text
    assert "<dt>From</dt><dd>Weeknote &lt;weeknote@localhost&gt;</dd>" in page.text
    frame = f'sandbox src="/admin/outbox/{confirmation.name}/html" title="HTML version"></iframe>'
    assert '<iframe class="message-frame" ' + frame in page.text
    text = re.search(r'<pre class="message-text" id="text-version">(.*?)</pre>', page.text, re.S).group(1)
    assert "http://127.0.0.1:5000/subscribe/confirm/" in text
    framed = admin.get(f"/admin/outbox/{confirmation.name}/html")
    assert framed.status_code == 200 and framed.mimetype == "text/html"
    assert framed.headers["Content-Security-Policy"] == HTML_POLICY
    assert "frame-ancestors 'self'" in HTML_POLICY and "script-src" not in HTML_POLICY
    assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert 'href="http://127.0.0.1:5000/subscribe/confirm/' in framed.text
    with admin.get(f"/admin/outbox/{confirmation.name}/raw") as raw:  # closes the file it streams
        assert raw.data == confirmation.read_bytes() and raw.mimetype == "message/rfc822"
        assert raw.headers["Content-Disposition"] == f'attachment; filename="{confirmation.name}"'

    digest = files(app)[1]
    page = admin.get(f"/admin/outbox/{digest.name}/").text
    assert "<dt>Subject</dt><dd>[Test] Weeknote — 1 new post (" in page
    assert 'id="list-unsubscribe">&lt;http://127.0.0.1:5000/&gt;' in page
    assert "Alpha" in page  # the text part
    assert "Alpha" in admin.get(f"/admin/outbox/{digest.name}/html").text


def test_names_outside_the_outbox_are_refused(app, admin, sent):
    instance = Path(app.config["OUTBOX_FOLDER"]).parent
    (instance / "outside.eml").write_bytes(files(app)[0].read_bytes())
    (Path(app.config["OUTBOX_FOLDER"]) / "half.part").write_bytes(b"Subject: half\r\n\r\nx")
    names = [
        "../outside.eml",
        "..%2Foutside.eml",
        "..%2foutside.eml",
        "%2E%2E%2Foutside.eml",
        "..%252Foutside.eml",
        "..%5Coutside.eml",
        "....%2F%2Foutside.eml",
        "%2Fetc%2Fpasswd",
        "..",
        ".%2E",
        "secret_key",
        "half.part",
        "nothing-here.eml",
    ]
    for name in names:
        for suffix in ("/", "/html", "/raw"):
            response = admin.get(f"/admin/outbox/{name}{suffix}")
            assert response.status_code == 404, (name, suffix, response.status_code)
            assert b"weeknote@localhost" not in response.data


def test_with_smtp_configured_the_page_says_the_outbox_is_off(app, app_factory, author):
    folder = Path(app.config["OUTBOX_FOLDER"])
    with app.app_context(), OutboxTransport(folder) as transport:
        transport.send(
            build_message(
                sender=app.config["MAIL_FROM_ADDRESS"],
                to="old@example.com",
                subject="Written earlier",
                text="t",
                html="<p>h</p>",
            )
        )
    smtp_app = app_factory(SMTP_HOST="mail.example.net", SMTP_PORT=2525, SMTP_SECURITY="none")
    browser = smtp_app.test_client()
    assert sign_in(browser, author, AUTHOR_PASSWORD).status_code == 302
    html = browser.get("/admin/outbox/").text
    assert "Mail goes to the SMTP server <strong>mail.example.net:2525</strong>; the outbox is off." in html
    assert "Development mail is on" not in html
    assert "Written earlier" in html and '<td data-label="To">old@example.com</td>' in html


def test_an_empty_outbox_says_so(admin):
    html = admin.get("/admin/outbox/").text
    assert 'id="outbox-empty">The outbox is empty.' in html
