"""Import from the browser: a zipped site or a folder of posts, unpacked safely, imported with the
CLI's importer (in the request here: no REDIS_URL; the browser test uses the worker), dry run
first. Hostile archives are refused with a clear message and nothing is written anywhere."""

import io
import os
import re
import stat
import time
import zipfile
from pathlib import Path

import pytest
from helpers import AUTHOR_EMAIL, AUTHOR_PASSWORD, csrf_token, sign_in
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import ImportRun, Post
from blog.publishing.runs import run_upload, upload_importer

SITES = Path(__file__).parent / "content" / "sites"


def zipped(folder: Path, prefix: str = "") -> bytes:
    """The folder as a browser user would zip it: every file, under `prefix`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def with_entries(*entries: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for info, data in entries:
            bundle.writestr(info, data)
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "site.zip"):
    token = csrf_token(client.get("/admin/import/").text)
    files = {"csrf_token": token, "archive": (io.BytesIO(data), name, "application/zip")}
    return client.post("/admin/import/", data=files, content_type="multipart/form-data")


def posts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Post.id)))


def leftovers(app) -> list[Path]:
    folder = Path(app.config["IMPORT_FOLDER"])
    return sorted(folder.rglob("*")) if folder.exists() else []


def test_a_zipped_site_is_tried_then_imported_with_its_images(app, client, admin):
    answer = upload(admin, zipped(SITES / "jekyll", "my-blog/"), "my-blog.zip")
    assert answer.status_code == 302
    dry = admin.get(answer.location).text
    assert "Dry run finished: nothing was saved." in dry
    assert "Recognised <strong>jekyll</strong>" in dry
    assert re.search(r'id="count-imported">2<', dry)
    assert "4 files copied, 0 missing; 4 old addresses registered; 1 links between posts re-pointed." in dry
    assert "Old addresses: /2016/02/03/winter-seeds.html, /seeds/winter/" in dry
    assert "my-blog/_posts/2016-02-03-winter-seeds.md" in dry and "/instance/imports/" not in dry
    assert posts(app) == 0

    token = csrf_token(dry)
    run_id = int(answer.location.rstrip("/").rsplit("/", 1)[1])
    done = admin.post(f"/admin/import/{run_id}/import", data={"csrf_token": token})
    assert done.status_code == 302
    report = admin.get(done.location).text
    assert "Imported." in report
    assert '<a href="/posts/winter-seeds/">' in report
    assert posts(app) == 2
    page = client.get("/posts/winter-seeds/").text
    images = re.findall(r'src="(/media/[^"]+)"', page)
    assert images
    for source in images:
        with client.get(source) as served:
            assert served.status_code == 200
    assert leftovers(app) == []  # the upload is removed once imported
    progress = admin.get(f"/admin/import/{run_id}.json").json
    assert progress == {"status": "done", "done": 2, "total": 2, "current": "", "error": None}


def test_a_folder_of_posts_uploads_with_its_paths(app, client, admin):
    token = csrf_token(admin.get("/admin/import/").text)
    folder = [
        (io.BytesIO(b"---\ntitle: From A Folder\n---\n\nHello."), "notes/2024-01-02-from-a-folder.md"),
        (io.BytesIO(b"---\ntitle: Deeper\n---\n\nBelow."), "notes/more/2024-01-03-deeper.md"),
    ]
    answer = admin.post(
        "/admin/import/", data={"csrf_token": token, "folder": folder}, content_type="multipart/form-data"
    )
    assert answer.status_code == 302
    assert re.search(r'id="count-imported">2<', admin.get(answer.location).text)


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (with_entries(("../escaped.md", b"x")), "“../escaped.md” points outside the archive (..)"),
        (with_entries(("ok/../../escaped.md", b"x")), "points outside the archive (..)"),
        (with_entries(("/etc/escaped.md", b"x")), "“/etc/escaped.md” is an absolute path"),
        (with_entries(("C:/escaped.md", b"x")), "“C:/escaped.md” is an absolute path"),
        (b"this is not a zip", "it is not a .zip archive"),
    ],
)
def test_hostile_names_are_refused_and_nothing_is_written(app, admin, tmp_path, archive, message):
    answer = upload(admin, archive, "evil.zip")
    assert answer.status_code == 400
    assert message in answer.text and "Nothing was imported." in answer.text
    assert leftovers(app) == []
    assert not list(tmp_path.rglob("escaped.md")) and not Path("/etc/escaped.md").exists()
    with app.app_context():
        assert db.session.scalar(select(func.count(ImportRun.id))) == 0


def test_a_symlink_in_the_archive_is_refused(app, admin):
    link = zipfile.ZipInfo("posts/passwords.md")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    answer = upload(admin, with_entries(("posts/a.md", b"# A\n\nText."), (link, b"/etc/passwd")))
    assert answer.status_code == 400
    assert "“posts/passwords.md” is a symbolic link" in answer.text
    assert leftovers(app) == []


def test_a_zip_bomb_is_refused_before_and_while_unpacking(app_factory, author):
    app = app_factory(IMPORT_MAX_BYTES=4 * 1024 * 1024, IMPORT_MAX_RATIO=100, IMPORT_MAX_FILES=3)
    client = app.test_client()
    sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD)
    bomb = with_entries(("zeros.md", b"\0" * (3 * 1024 * 1024)))  # 3 MB of zeros in a few KB
    answer = upload(client, bomb, "bomb.zip")
    assert answer.status_code == 400
    assert "unpacks to more than 100 times its own size, as a zip bomb would" in answer.text
    big = with_entries(*((f"part{i}.md", bytes(range(256)) * 8192) for i in range(3)))  # 6 MB in all
    assert "it unpacks to more than 4 MB" in upload(client, big, "big.zip").text
    many = with_entries(*((f"p{i}.md", b"x") for i in range(4)))
    assert "it holds 4 files; at most 3 can be imported at once" in upload(client, many, "many.zip").text
    # A header that understates the size: never more than it says comes out, and the rest is refused.
    liar = io.BytesIO(with_entries(("small.md", b"y" * 5000)))
    data = bytearray(liar.getvalue())
    for offset in (m.start() for m in re.finditer(rb"PK\x03\x04|PK\x01\x02", data)):
        size_at = offset + (22 if data[offset + 2] == 3 else 24)
        data[size_at : size_at + 4] = (10).to_bytes(4, "little")
    answer = upload(client, bytes(data), "liar.zip")
    assert answer.status_code == 400
    assert (
        "liar.zip: “small.md” cannot be read (Bad CRC-32" in answer.text
        and "the archive is damaged" in answer.text
    )
    assert leftovers(app) == []


def test_an_upload_over_the_limit_gets_a_page_that_says_why(app_factory, author):
    app = app_factory(IMPORT_MAX_UPLOAD=64 * 1024)
    client = app.test_client()
    sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD)
    answer = upload(client, b"x" * 100_000, "huge.zip")
    assert answer.status_code == 413
    assert "That upload is larger than the limit (up to 64 KB uploaded, 10,000 files" in answer.text


def test_nothing_chosen_is_a_clear_error(admin):
    token = csrf_token(admin.get("/admin/import/").text)
    answer = admin.post("/admin/import/", data={"csrf_token": token}, content_type="multipart/form-data")
    assert answer.status_code == 400
    assert "Choose a .zip of your site, or a folder of posts." in answer.text


def test_the_import_pages_need_an_author(client):
    assert client.get("/admin/import/").status_code == 302


def test_an_upload_never_imported_is_removed_after_two_days(app, admin):
    old = Path(app.config["IMPORT_FOLDER"]) / "upload-old"
    (old / "posts").mkdir(parents=True)
    (old / "posts" / "a.md").write_text("# A\n\nText.")
    two_days_ago = time.time() - 2 * 86400 - 60
    os.utime(old, (two_days_ago, two_days_ago))
    assert upload(admin, zipped(SITES / "jekyll")).status_code == 302
    assert not old.exists()


def test_a_run_imports_once_and_a_lost_hand_off_is_made_again(app_factory, author, redis_url):
    app = app_factory(REDIS_URL=redis_url)  # a broker, but no worker: the run stays waiting
    client = app.test_client()
    sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD)
    answer = upload(client, zipped(SITES / "jekyll"))
    assert "Waiting for the worker to start" in client.get(answer.location).text
    with app.app_context():
        run = db.session.scalar(select(ImportRun))
        first = run.progress["queued_at"]
        run.progress = {**run.progress, "queued_at": first - 3600}  # as if Redis lost the task
        db.session.commit()
    client.get(answer.location)
    with app.app_context():
        run = db.session.scalar(select(ImportRun))
        assert run.progress["queued_at"] >= first  # handed over again
        assert run_upload(db.session, run.id, upload_importer).status == "done"
        assert run_upload(db.session, run.id, upload_importer).progress["done"] == 2  # not again
