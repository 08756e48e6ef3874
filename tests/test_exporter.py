"""`weeknote export` writes posts that import back into the same posts."""

from flask_migrate import upgrade
from helpers import make_app
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post

FIELDS = (
    "slug", "guid", "title", "body", "html", "excerpt", "reading_minutes", "draft",
    "published_at", "updated_at", "extra",
)  # fmt: skip


def snapshot(app) -> dict:
    with app.app_context():
        posts = db.session.scalars(select(Post).order_by(Post.slug)).all()
        return {
            post.slug: {
                **{name: getattr(post, name) for name in FIELDS},
                "tags": [tag.name for tag in post.tags],
                "redirects": [r.old_path for r in post.redirects],
                "cover": post.cover_image,
            }
            for post in posts
        }


def test_export_then_import_reproduces_the_posts(app, runner, shapes, write_post, tmp_path):
    write_post("cover.png", b"\x89PNG\r\n\x1a\nimage")
    write_post(
        "2021-05-06-extras.md",
        "---\ntitle: Extras\nlastmod: 2021-06-01\ndraft: true\ncover: cover.png\n"
        "aliases: [/old/extras/]\ncategories: [x]\ntags: [One, two]\nseries: {name: s, part: 2}\n---\n\n"
        'Text with a [link](https://example.com){:target="_blank"}.\n',
    )
    assert runner.invoke(args=["import", str(shapes), str(tmp_path / "posts")]).exit_code == 0
    original = snapshot(app)
    export = tmp_path / "export"
    result = runner.invoke(args=["export", str(export)])
    assert result.exit_code == 0 and "Exported 6 posts" in result.output
    assert (export / "extras.md").read_text().startswith("---\ntitle: Extras\nslug: extras\n")

    fresh = make_app(tmp_path / "fresh-instance", f"sqlite:///{tmp_path / 'fresh.db'}")
    with fresh.app_context():
        upgrade()
    fresh_runner = fresh.test_cli_runner()
    assert fresh_runner.invoke(args=["import", str(export)]).exit_code == 0
    assert snapshot(fresh) == original

    # Importing the export into the same database recognises every post by its slug.
    result = runner.invoke(args=["import", "--json", str(export)])
    assert '"unchanged": 6' in result.output
    assert snapshot(app) == original
