"""The console's subscriber pages: list, consent record, erase, CSV export and import."""

import io
import re
from datetime import UTC, datetime, timedelta

from helpers import (
    add_subscribers,
    admin_post,
    confirm_link,
    csrf_token,
    outbox,
    submit,
    subscribe,
    subscriber,
)
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from blog.extensions import db
from blog.models import Delivery, Digest, Subscriber
from blog.subscriptions.lifecycle import CONSENT_VERSION, is_suppressed

NOW = datetime.now(UTC)
ROW_LINK = re.compile(r'<td data-label="Email"><a href="/admin/subscribers/\d+/">([^<]+)</a></td>')


def listed(admin, query: str = "") -> list[str]:
    response = admin.get(f"/admin/subscribers/{query}")
    assert response.status_code == 200
    return ROW_LINK.findall(response.text)


def count(html: str, status: str) -> int:
    return int(re.search(rf'id="count-{status}">(\d+)<', html).group(1))


def upload(admin, content: bytes, name: str = "people.csv", **fields):
    """POST a file to the import form with the page's CSRF token, as the browser would."""
    token = csrf_token(admin.get("/admin/subscribers/import").text)
    data = {"csrf_token": token, "file": FileStorage(io.BytesIO(content), name)} | fields
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(data)
    content_type = f"multipart/form-data; boundary={boundary}"
    return admin.post("/admin/subscribers/import", data=body, content_type=content_type)


def total(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Subscriber))


def test_list_counts_search_and_filter(app, admin):
    with app.app_context():
        add_subscribers(3, status="active", prefix="reader")
        add_subscribers(2, status="pending", prefix="other")
        add_subscribers(1, status="unsubscribed", prefix="gone")
        db.session.commit()
    html = admin.get("/admin/subscribers/").text
    assert (count(html, "all"), count(html, "active"), count(html, "pending")) == (6, 3, 2)
    assert (count(html, "unsubscribed"), count(html, "bounced")) == (1, 0)
    assert 'href="/admin/subscribers/export.csv"' in html and 'action="/admin/subscribers/import"' in html
    assert sorted(listed(admin, "?q=OTHER")) == ["other0@example.com", "other1@example.com"]
    assert sorted(listed(admin, "?status=active")) == [f"reader{i}@example.com" for i in range(3)]
    assert listed(admin, "?q=reader&status=pending") == []
    assert listed(admin, "?q=_") == []  # a LIKE wildcard is searched for as the character it is
    assert len(listed(admin, "?status=nonsense")) == 6  # an unknown filter shows everyone
    assert "2 subscribers whose address contains “other”" in admin.get("/admin/subscribers/?q=other").text


def test_the_list_is_paginated_newest_first(app, admin):
    with app.app_context():
        db.session.add_all(
            Subscriber(
                email=f"p{i}@example.com",
                email_key=f"p{i}@example.com",
                created_at=NOW + timedelta(minutes=i),
            )
            for i in range(120)
        )
        db.session.commit()
    first = listed(admin)
    assert len(first) == 50 and first[:2] == ["p119@example.com", "p118@example.com"]
    html = admin.get("/admin/subscribers/?status=pending").text
    assert 'href="/admin/subscribers/?page=3&amp;status=pending"' in html and 'rel="next"' in html
    last = listed(admin, "?page=3&status=pending")
    assert len(last) == 20 and last[-1] == "p0@example.com"
    assert listed(admin, "?page=99") == last  # past the end: the last page


def test_the_consent_record_shows_how_they_subscribed(app, admin, client):
    subscribe(
        client,
        "Ann@Example.com",
        headers={"User-Agent": "Firefox/140"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    path = confirm_link(outbox(app)[0]).removeprefix("http://127.0.0.1:5000")
    submit(client, path, {}, environ_base={"REMOTE_ADDR": "198.51.100.4"})
    with app.app_context():
        person = db.session.scalar(select(Subscriber))
        for number in (1, 2, 3):
            digest = Digest(scheduled_for=NOW, period_start=NOW, period_end=NOW, status="sent")
            db.session.add(digest)
            db.session.flush()
            status = "failed" if number == 3 else "sent"
            db.session.add(Delivery(digest_id=digest.id, subscriber_id=person.id, status=status))
        db.session.commit()
        person_id = person.id
    html = admin.get(f"/admin/subscribers/{person_id}/").text
    assert "<h1" in html and "Ann@example.com</h1>" in html
    assert 'id="consent-ip">203.0.113.9<' in html
    assert 'id="consent-user-agent" class="break-anywhere">Firefox/140<' in html
    assert f"<code>{CONSENT_VERSION}</code> (the current wording" in html
    assert 'id="confirmed-ip">198.51.100.4<' in html
    assert 'id="digests-delivered">2<' in html
    assert f'href="/admin/subscribers/{person_id}/erase"' in html
    assert admin.get("/admin/subscribers/999/").status_code == 404


def test_erasing_needs_the_confirmation_post_and_keeps_a_suppression(app, admin, client):
    subscribe(client, "ann@example.com")
    person_id = subscriber(app, "ann@example.com").id
    page = admin.get(f"/admin/subscribers/{person_id}/erase")
    assert "Erase ann@example.com?" in page.text and "hash" in page.text
    assert subscriber(app, "ann@example.com") is not None  # showing the question changes nothing
    assert admin.post(f"/admin/subscribers/{person_id}/erase").status_code == 400  # no CSRF token
    assert subscriber(app, "ann@example.com") is not None
    response = admin_post(
        admin, f"/admin/subscribers/{person_id}/erase", page=f"/admin/subscribers/{person_id}/erase"
    )
    assert response.status_code == 302 and response.location == "/admin/subscribers/"
    assert "Erased. Only a hash of the address is kept" in admin.get(response.location).text
    assert subscriber(app, "ann@example.com") is None
    with app.app_context():
        assert is_suppressed(db.session, "ANN@example.com")
    report = upload(admin, b"email\nAnn@example.com\n").text
    assert "erased on request" in report and 'id="count-added">0<' in report
    assert subscriber(app, "ann@example.com") is None


def test_export_is_the_cli_export(app, admin, client, runner):
    subscribe(client, "a@example.com", headers={"User-Agent": "Firefox/140"})
    subscribe(client, "b@example.com")
    response = admin.get("/admin/subscribers/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    today = NOW.date().isoformat()  # TIMEZONE is UTC in tests
    assert response.headers["Content-Disposition"] == f'attachment; filename="subscribers-{today}.csv"'
    cli = runner.invoke(args=["subscribers", "export"])
    assert cli.exit_code == 0
    # Lines end in CRLF (RFC 4180); click's test runner turns the command's CRLF into LF.
    assert response.text.replace("\r\n", "\n") == cli.stdout
    assert response.text.count("\r\n") == 3
    assert "a@example.com" in response.text and "Firefox/140" in response.text


def test_import_adds_pending_people_and_reports_each_line(app, admin):
    response = upload(admin, b"Email Address,Name\r\nann@example.com,Ann\r\nbo@example.com,Bo\r\n")
    assert response.status_code == 200
    assert 'id="count-added">2<' in response.text and "added 2 pending" in response.text
    row = subscriber(app, "ann@example.com")
    assert (row.status, row.consent_source, row.confirmed_at, row.consent_note) == (
        "pending",
        "import",
        None,
        None,
    )
    assert outbox(app) == []  # nobody is emailed unless asked


def test_import_reports_an_invalid_row_with_its_line(app, admin):
    content = b"email\nann@example.com\nnot-an-address\nANN@example.com\nbo@example.com\n"
    html = upload(admin, content).text
    assert re.search(r'<td class="number">3</td><td>not-an-address</td><td>[^<]*@', html)
    assert '<td class="number">4</td><td>ANN@example.com</td><td>listed twice in this file</td>' in html
    assert 'id="count-added">2<' in html and 'id="count-failed">1<' in html
    assert total(app) == 2


def test_a_file_that_is_not_utf8_csv_is_refused_with_nothing_imported(app, admin):
    latin1 = "email\nann@example.com\nzoë@example.com\n".encode("latin-1")
    response = upload(admin, latin1)
    assert response.status_code == 400
    assert (
        "people.csv: the file is not UTF-8 text (line 3 holds a byte that is not valid UTF-8)"
        in response.text
    )
    assert "Nothing was imported." in response.text and 'aria-invalid="true"' in response.text
    png = upload(admin, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", name="photo.png")
    assert png.status_code == 400 and "photo.png: the file is not UTF-8 text" in png.text
    nul = upload(admin, b"email\nann@example.com\x00\n")
    assert nul.status_code == 400 and "binary data, not CSV text" in nul.text
    columns = upload(admin, b"name,address\nAnn,ann@example.com\n")
    assert (
        columns.status_code == 400
        and "must be &#39;email&#39; (found &#39;name&#39;, &#39;address&#39;)" in columns.text
    )
    empty = upload(admin, b"")
    assert empty.status_code == 400 and "(found nothing)" in empty.text
    assert total(app) == 0


def test_a_file_over_the_size_limit_is_refused(app, admin):
    big = b"email\n" + b"someone@example.com\n" * (5 * 1024 * 1024 // 20 + 1)
    response = upload(admin, big)
    assert response.status_code == 400 and "larger than 5 MB" in response.text
    assert total(app) == 0


def test_import_as_confirmed_needs_a_consent_note(app, admin):
    response = upload(admin, b"email\nann@example.com\n", confirmed="y")
    assert response.status_code == 400
    assert 'id="consent_note-error">People added as confirmed need a note' in response.text
    assert subscriber(app, "ann@example.com") is None
    note = "Subscribed on Buttondown; exported 2026-11-01"
    response = upload(admin, b"email\nann@example.com\n", confirmed="y", consent_note=note)
    assert response.status_code == 200 and "added 1 active" in response.text
    row = subscriber(app, "ann@example.com")
    assert (row.status, row.consent_note, row.consent_source) == ("active", note, "import")
    assert row.confirmed_at is not None


def test_import_can_send_confirmations(app, admin):
    response = upload(admin, b"email\nann@example.com\nbo@example.com\n", send_confirmations="y")
    assert "Confirmation emails queued: 2." in response.text
    assert sorted(str(m["To"]) for m in outbox(app)) == ["ann@example.com", "bo@example.com"]
    both = upload(admin, b"email\ncy@example.com\n", send_confirmations="y", confirmed="y", consent_note="x")
    assert both.status_code == 400 and "Confirmation emails are for pending subscribers" in both.text
    assert subscriber(app, "cy@example.com") is None


def test_a_missing_file_is_asked_for(app, admin):
    response = submit(admin, "/admin/subscribers/import", {})
    assert response.status_code == 400 and "Choose a CSV file to import." in response.text


def test_the_author_adds_someone_who_confirms_by_email_first(app, admin):
    assert 'id="add-subscriber" href="/admin/subscribers/add"' in admin.get("/admin/subscribers/").text
    page = admin.get("/admin/subscribers/add").text
    assert re.search(r"<input [^>]*checked id=\"send_confirmation\"", page)  # double opt-in by default
    note = "Asked after my talk, 12 November"
    answer = submit(
        admin,
        "/admin/subscribers/add",
        {"email": "Ann@Example.com", "consent_note": note, "send_confirmation": "y"},
    )
    assert answer.status_code == 302
    record = admin.get(answer.location).text
    assert "Added Ann@example.com as pending: a confirmation link is on its way." in record
    assert '<dd id="consent-note">Asked after my talk, 12 November</dd>' in record
    assert "author (added by hand by the author)" in record
    row = subscriber(app, "ann@example.com")
    assert row.status == "pending" and row.consent_source == "author" and row.consent_ip is None
    [message] = outbox(app)
    assert str(message["To"]) == "Ann@example.com"
    assert confirm_link(message)


def test_the_author_may_add_someone_as_active_on_their_word(app, admin):
    answer = submit(
        admin, "/admin/subscribers/add", {"email": "bo@example.com", "consent_note": "Signed up on paper"}
    )
    assert answer.status_code == 302
    row = subscriber(app, "bo@example.com")
    assert row.status == "active" and row.confirmed_at is not None
    assert row.consent_note == "Signed up on paper"
    assert outbox(app) == []


def test_adding_refuses_a_bad_or_known_address_and_a_missing_note(app, admin):
    with app.app_context():
        add_subscribers(1, status="active", prefix="known")
        db.session.commit()
    cases = [
        ({"email": "not-an-address", "consent_note": "x"}, "An email address must have an @-sign."),
        (
            {"email": "known0@example.com", "consent_note": "x"},
            "known0@example.com is already on the list (active).",
        ),
        ({"email": "new@example.com", "consent_note": ""}, "Say where and when they asked to subscribe."),
    ]
    for data, message in cases:
        answer = submit(admin, "/admin/subscribers/add", data)
        assert answer.status_code == 400
        assert message in answer.text
    assert subscriber(app, "new@example.com") is None
