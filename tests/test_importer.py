"""`weeknote import`: statuses, the report, per-file transactions and idempotence."""

import json
import os
from datetime import UTC, datetime

from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Post, Redirect, Tag


def import_json(runner, *args):
    result = runner.invoke(args=["import", "--json", *map(str, args)])
    return result, json.loads(result.stdout)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_imports_the_five_shapes(app, runner, shapes):
    result, report = import_json(runner, shapes)
    assert result.exit_code == 0, result.output
    assert report["counts"] == {"imported": 5, "updated": 0, "unchanged": 0, "failed": 0}
    by_title = {entry["title"]: entry for entry in report["posts"]}
    assert set(by_title) == {
        "Learning Rust in Public",
        "My Week in Rust, 3/14/2023",
        "A Year of Rust",
        "Rust Self Teaching Plan",
        "Why I Started Learning Rust",
    }
    assert by_title["My Week in Rust, 3/14/2023"]["published_at"] == "2023-03-14T00:00:00+00:00"
    assert by_title["Rust Self Teaching Plan"]["inferred"]["published_at"] == "file modified time"
    assert by_title["Learning Rust in Public"]["tags"] == ["@journal", "rust"]
    assert all(entry["draft"] is False for entry in report["posts"])
    with app.app_context():
        assert count(Post) == 5
        tag = db.session.scalar(select(Tag).where(Tag.slug == "journal"))
        assert tag.name == "@journal"


def test_summary_table_names_inferred_fields(runner, shapes):
    result = runner.invoke(args=["import", str(shapes)])
    assert result.exit_code == 0
    assert "imported   learning-rust-in-public" in result.output
    assert "inferred: published_at from title" in result.output
    assert "title from first H1, published_at from file modified time" in result.output
    assert "5 files: 5 imported, 0 updated, 0 unchanged, 0 failed" in result.output


def test_reimport_changes_nothing_and_an_edit_updates(app, runner, shapes):
    import_json(runner, shapes)
    with app.app_context():
        before = {p.slug: (p.id, p.modified_at) for p in db.session.scalars(select(Post))}
    _, report = import_json(runner, shapes)
    assert report["counts"]["unchanged"] == 5
    edited = shapes / "description-only.md"
    edited.write_text(edited.read_text().replace("sounded like magic", "sounded like a dream"))
    _, report = import_json(runner, shapes)
    assert report["counts"] == {"imported": 0, "updated": 1, "unchanged": 4, "failed": 0}
    with app.app_context():
        posts = {p.slug: p for p in db.session.scalars(select(Post))}
        assert {slug: (p.id, p.modified_at) for slug, p in posts.items() if slug != "description-only"} == {
            slug: value for slug, value in before.items() if slug != "description-only"
        }
        assert "a dream" in posts["description-only"].html
        assert count(Post) == 5


def test_editing_an_undated_post_keeps_its_date(app, runner, write_post):
    path = write_post("undated.md", "# Undated\n\nFirst version.")
    os.utime(path, (1_600_000_000, 1_600_000_000))
    import_json(runner, path)
    path.write_text("# Undated\n\nSecond version.")
    _, report = import_json(runner, path)
    assert report["posts"][0]["status"] == "updated"
    assert report["posts"][0]["published_at"] == datetime.fromtimestamp(1_600_000_000, UTC).isoformat()


def test_bad_files_are_reported_and_the_rest_imported(app, runner, write_post):
    write_post("good.md", "---\ntitle: Good\ndate: 2024-01-01\n---\n\nFine.")
    write_post("yaml.md", "---\ntitle: Bad\n  oops: [\n---\n\nText")
    write_post("latin1.md", b"---\ntitle: caf\xe9\n---\n")
    write_post("empty.md", b"")
    write_post("image.md", b"\x89PNG\r\n\x1a\n\x00\x00")
    write_post("huge.md", b"a" * (5 * 1024 * 1024 + 10))
    write_post("ignored.png", b"\x89PNG")
    folder = write_post("good.md", "---\ntitle: Good\ndate: 2024-01-01\n---\n\nFine.").parent
    result, report = import_json(runner, folder, folder / "missing.md")
    assert result.exit_code == 1
    errors = {os.path.basename(e["path"]): e["error"] for e in report["posts"] if e["status"] == "failed"}
    yaml_error = errors.pop("yaml.md")
    assert yaml_error.startswith("line 3: invalid YAML front matter: mapping values are not allowed")
    assert errors == {
        "missing.md": "no such file or folder",
        "latin1.md": "line 2: not UTF-8: byte 0xe9 at offset 14 cannot be decoded; re-save the file as UTF-8",
        "empty.md": "empty file: there is no front matter and no text",
        "image.md": "binary file (it contains NUL bytes), not Markdown text",
        "huge.md": "file is 5.0 MB, larger than the 5 MB limit for a post",
    }
    assert report["counts"] == {"imported": 1, "updated": 0, "unchanged": 0, "failed": 6}
    with app.app_context():
        assert db.session.scalars(select(Post.title)).all() == ["Good"]


def test_human_report_shows_failures_with_their_path(runner, write_post):
    path = write_post("yaml.md", "---\ntitle: Bad\n  oops: [\n---\n\nText")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert f"failed     {path}: line 3: invalid YAML front matter" in result.output


def test_dry_run_saves_nothing(app, runner, shapes):
    result, report = import_json(runner, "--dry-run", shapes)
    assert result.exit_code == 0
    assert report["counts"]["imported"] == 5 and report["dry_run"] is True
    with app.app_context():
        assert count(Post) == 0 and count(Tag) == 0


def test_slug_collisions_get_a_suffix_and_are_reported(app, runner, write_post):
    write_post("a/hello.md", "---\ntitle: One\ndate: 2024-01-01\n---\n\nOne.")
    write_post("b/hello.md", "---\ntitle: Two\ndate: 2024-01-02\n---\n\nTwo.")
    folder = write_post("c/hello.md", "---\ntitle: Three\ndate: 2024-01-03\n---\n\nThree.").parent.parent
    _, report = import_json(runner, folder)
    assert [entry["slug"] for entry in report["posts"]] == ["hello", "hello-2", "hello-3"]
    assert "slug 'hello' is taken by" in report["posts"][1]["warnings"][0]
    _, again = import_json(runner, folder)
    assert [entry["slug"] for entry in again["posts"]] == ["hello", "hello-2", "hello-3"]
    assert again["counts"]["unchanged"] == 3


def test_changed_slug_leaves_a_redirect(app, client, runner, write_post):
    path = write_post("p.md", "---\ntitle: P\nslug: first\ndate: 2024-01-01\n---\n\nText.")
    import_json(runner, path)
    path.write_text("---\ntitle: P\nslug: second\ndate: 2024-01-01\n---\n\nText.")
    import_json(runner, path)
    response = client.get("/posts/first/")
    assert response.status_code == 301
    assert response.headers["Location"] == "/posts/second/"
    with app.app_context():
        assert count(Post) == 1


def test_cover_file_is_copied_into_the_media_store(app, client, runner, write_post):
    write_post("cover.png", b"\x89PNG\r\n\x1a\nnot really")
    path = write_post("p.md", "---\ntitle: P\ndate: 2024-01-01\ncover: cover.png\n---\n\nText.")
    import_json(runner, path)
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post.cover_image.startswith("/media/") and post.cover_image.endswith("-cover.png")
    with client.get(post.cover_image) as response:
        assert response.status_code == 200 and response.data == b"\x89PNG\r\n\x1a\nnot really"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert f'src="{post.cover_image}"' in client.get("/posts/p/").text


def test_redirect_paths_are_stored(app, runner, write_post):
    path = write_post(
        "p.md",
        "---\ntitle: P\ndate: 2024-01-01\naliases: [/old/p/]\nredirect_from: /older/p.html\n---\n\nText.",
    )
    import_json(runner, path)
    with app.app_context():
        assert sorted(db.session.scalars(select(Redirect.old_path))) == ["/old/p/", "/older/p.html"]
