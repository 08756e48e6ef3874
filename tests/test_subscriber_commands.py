"""`weeknote subscribers export | import | delete` and the suppression rule."""

import csv
import io

import pytest
from helpers import confirm_link, outbox, submit, subscribe, subscriber

from blog.subscriptions.csv_files import EXPORT_COLUMNS


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str):
        path = tmp_path / "people.csv"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def exported(runner) -> list[dict[str, str]]:
    result = runner.invoke(args=["subscribers", "export"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_export_writes_every_subscriber_and_their_consent(app, client, runner):
    subscribe(client, "a@example.com", headers={"User-Agent": "Firefox/140"})
    submit(client, confirm_link(outbox(app)[0]).removeprefix("http://127.0.0.1:5000"), {})
    subscribe(client, "b@example.com")
    result = runner.invoke(args=["subscribers", "export"])
    assert result.stdout.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    assert "Exported 2 subscribers." in result.stderr
    rows = exported(runner)
    assert [(r["email"], r["status"]) for r in rows] == [
        ("a@example.com", "active"),
        ("b@example.com", "pending"),
    ]
    first = rows[0]
    assert first["consent_user_agent"] == "Firefox/140" and first["consent_ip"] == "127.0.0.1"
    assert first["confirmed_at"].endswith("+00:00") and first["consent_form_version"].startswith("sha256:")
    assert "token_secret" not in first


def test_import_adds_pending_subscribers_and_reports_each_line(app, runner, csv_file):
    path = csv_file(
        "Email Address,Name\nann@example.com,Ann\nnot-an-address,Bob\n"
        "ANN@example.com,Ann again\nbo@example.com,Bo\n"
    )
    result = runner.invoke(args=["subscribers", "import", path])
    assert result.exit_code == 1  # a line failed; the others were still added
    assert f"{path}:3: not an address 'not-an-address'" in result.stderr
    assert f"{path}:4: skipped ANN@example.com: listed twice in this file" in result.stdout
    assert "Added 2 pending, skipped 1, failed 1." in result.stdout
    row = subscriber(app, "ann@example.com")
    assert (row.status, row.consent_source, row.confirmed_at) == ("pending", "import", None)
    assert outbox(app) == []  # nobody is emailed unless asked


def test_import_never_changes_who_is_already_there(app, client, runner, csv_file):
    subscribe(client, "ann@example.com")
    result = runner.invoke(args=["subscribers", "import", csv_file("email\nann@example.com\n")])
    assert "skipped ann@example.com: already on the list (pending)" in result.stdout
    assert subscriber(app, "ann@example.com").consent_source == "form"


def test_import_confirmed_needs_a_consent_note(app, runner, csv_file):
    path = csv_file("email\nann@example.com\n")
    result = runner.invoke(args=["subscribers", "import", path, "--confirmed"])
    assert result.exit_code == 2 and "--confirmed needs --consent-note" in result.output
    assert subscriber(app, "ann@example.com") is None
    note = "Subscribed on Buttondown; exported 2026-11-01"
    result = runner.invoke(args=["subscribers", "import", path, "--confirmed", "--consent-note", note])
    assert result.exit_code == 0, result.output
    row = subscriber(app, "ann@example.com")
    assert (row.status, row.consent_note, row.consent_source) == ("active", note, "import")
    assert row.confirmed_at is not None


def test_import_can_send_confirmations(app, runner, csv_file):
    path = csv_file("email\nann@example.com\nbo@example.com\n")
    result = runner.invoke(args=["subscribers", "import", path, "--send-confirmations"])
    assert "Queued 2 confirmation emails." in result.stdout
    assert sorted(m["To"] for m in outbox(app)) == ["ann@example.com", "bo@example.com"]


def test_a_file_without_an_email_column_says_so(runner, csv_file):
    result = runner.invoke(args=["subscribers", "import", csv_file("name,address\nAnn,ann@example.com\n")])
    assert result.exit_code == 1
    assert "must be 'email' (found 'name', 'address')" in result.output


def test_delete_erases_and_suppresses(app, client, runner, csv_file):
    subscribe(client, "Ann@Example.com")
    result = runner.invoke(args=["subscribers", "delete", "ann@example.com"])
    assert result.exit_code == 0 and "Erased ann@example.com" in result.output
    assert subscriber(app, "ann@example.com") is None and exported(runner) == []
    for flags in ([], ["--confirmed", "--consent-note", "old list"]):
        result = runner.invoke(args=["subscribers", "import", csv_file("email\nANN@example.com\n"), *flags])
        assert "skipped ANN@example.com: erased on request" in result.stdout
        assert subscriber(app, "ann@example.com") is None


def test_an_erased_person_may_subscribe_again_themselves(app, client, runner, csv_file):
    runner.invoke(args=["subscribers", "delete", "ann@example.com"])
    subscribe(client, "ann@example.com")
    assert subscriber(app, "ann@example.com").status == "pending"
    submit(client, confirm_link(outbox(app)[-1]).removeprefix("http://127.0.0.1:5000"), {})
    assert subscriber(app, "ann@example.com").status == "active"
    runner.invoke(args=["subscribers", "delete", "ann@example.com"])  # and erase again
    result = runner.invoke(args=["subscribers", "import", csv_file("email\nann@example.com\n")])
    assert "erased on request" in result.stdout


def test_delete_of_an_unknown_address_still_suppresses_it(runner, csv_file):
    result = runner.invoke(args=["subscribers", "delete", "nobody@example.com"])
    assert result.exit_code == 0 and "No subscriber had the address nobody@example.com" in result.output
    result = runner.invoke(args=["subscribers", "import", csv_file("email\nnobody@example.com\n")])
    assert "erased on request" in result.stdout
