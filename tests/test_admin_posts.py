"""Writing posts in the console: publish, drafts, schedule, slugs, preview, covers, the list."""

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from helpers import AUTHOR_EMAIL, AUTHOR_PASSWORD, add_post, admin_post, csrf_token, png, sign_in
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Post, Redirect, Tag

MALICIOUS = 'Hello **world**.\n\n<script>alert("x")</script>\n\n<img src="x.png" onerror="alert(1)">\n'


def save(client, path: str, action: str = "save", **fields):
    """Open the editor at path and send it like a browser: the page's token, every field."""
    token = csrf_token(client.get(path).text)
    data = {"title": "", "body": "", "slug": "", "tags": "", "excerpt": "", "when": "now"}
    data |= {"publish_at": "", "action": action, "csrf_token": token} | fields
    return client.post(path, data=data, content_type="multipart/form-data")


def publish(client, title: str, body: str = "Some text.", **fields):
    response = save(client, "/admin/posts/new", "publish", title=title, body=body, **fields)
    assert response.status_code == 302, response.text
    return response.location


def stored(app, slug: str) -> Post | None:
    """The post as the database has it now, with its tags and redirects loaded."""
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == slug))
        if post is not None:
            post.tags, post.redirects  # noqa: B018 - load them before leaving the session
            db.session.expunge_all()
        db.session.remove()
        return post


def count_posts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Post.id)))


def test_a_published_post_is_on_the_site_and_in_the_feed(app, client, admin):
    assert "Written Here" not in client.get("/").text  # cached pages must not hide it afterwards
    assert "Written Here" not in client.get("/feed.xml").text
    location = publish(admin, "Written Here", "Plain *Markdown* text.", tags="@journal, Machine Learning")
    page = admin.get(location)
    assert "Published." in page.text
    assert '<a href="/posts/written-here/">View the post</a>' in page.text
    assert "Written Here" in client.get("/").text
    feed = feedparser.parse(client.get("/feed.xml").data)
    assert feed.entries[0].title == "Written Here"
    article = client.get("/posts/written-here/")
    assert article.status_code == 200
    assert "Plain <em>Markdown</em> text." in article.text
    post = stored(app, "written-here")
    assert post.source_path is None and not post.draft
    assert post.excerpt == "Plain Markdown text." and post.plain_text == "Plain Markdown text."
    assert [(tag.slug, tag.name) for tag in post.tags] == [
        ("journal", "@journal"),
        ("machine-learning", "Machine Learning"),
    ]
    assert feed.entries[0].id == post.guid


def test_a_draft_is_listed_but_readers_get_404(app, client, admin):
    response = save(admin, "/admin/posts/new", "save", title="Half Done", body="Not yet.")
    assert response.status_code == 302
    assert "Draft created." in admin.get(response.location).text
    assert client.get("/posts/half-done/").status_code == 404
    assert "Half Done" not in client.get("/").text
    listing = admin.get("/admin/posts/").text
    assert "Half Done" in listing and "Draft" in listing
    assert "Half Done" in admin.get("/admin/posts/?status=drafts").text
    assert "Half Done" not in admin.get("/admin/posts/?status=published").text


def test_a_scheduled_post_uses_the_authors_zone_and_waits(app_factory, author):
    app = app_factory(TIMEZONE="Europe/Berlin")
    client = app.test_client()
    assert sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD).status_code == 302
    assert "Europe/Berlin" in client.get("/admin/posts/new").text
    year = datetime.now(UTC).year + 2
    for local, utc_hour, slug in ((f"{year}-07-01T09:30", 7, "summer"), (f"{year}-01-15T09:30", 8, "winter")):
        response = save(
            client, "/admin/posts/new", "publish", title=slug, body="Later.", when="at", publish_at=local
        )
        assert response.status_code == 302, response.text
        assert "Scheduled: readers see the post from" in client.get(response.location).text
        post = stored(app, slug)
        assert not post.draft
        assert post.published_at == datetime.fromisoformat(local).replace(hour=utc_hour, tzinfo=UTC)
        assert client.get(f"/posts/{slug}/").status_code == 404
        assert slug not in client.get("/feed.xml").text
        editor = client.get(response.location).text
        assert f'value="{local}"' in editor  # shown back in the author's zone
    listing = client.get("/admin/posts/?status=scheduled").text
    assert "summer" in listing and "winter" in listing and "Scheduled" in listing


def test_a_time_the_clocks_skip_is_refused(app_factory, author):
    app = app_factory(TIMEZONE="Europe/Berlin")
    client = app.test_client()
    sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD)
    year = datetime.now(UTC).year + 1
    sunday = max(day for day in range(25, 32) if datetime(year, 3, day).weekday() == 6)
    gap = f"{year}-03-{sunday}T02:30"
    response = save(client, "/admin/posts/new", "publish", title="Gap", body="x", when="at", publish_at=gap)
    assert response.status_code == 400
    assert "does not exist in Europe/Berlin" in response.text
    assert count_posts(app) == 0


def test_editing_keeps_the_feed_guid_and_a_new_slug_redirects(app, client, admin):
    publish(admin, "First Title", "Before.", slug="first")
    post = stored(app, "first")
    guid, published_at = post.guid, post.published_at
    editor = f"/admin/posts/{post.id}/"
    shown = re.search(r'name="publish_at" type="datetime-local" value="([^"]+)"', admin.get(editor).text)
    response = save(admin, editor, title="Second Title", body="After.", slug="second", when="at",
                    publish_at=shown.group(1))  # fmt: skip
    assert response.status_code == 302
    message = admin.get(response.location).text
    assert "The old address /posts/first/ now redirects to /posts/second/." in message
    edited = stored(app, "second")
    assert edited.guid == guid and edited.id == post.id
    assert edited.published_at == published_at  # re-saving the shown time does not re-date it
    entry = feedparser.parse(client.get("/feed.xml").data).entries[0]
    assert (entry.id, entry.title) == (guid, "Second Title")
    old = client.get("/posts/first/")
    assert old.status_code == 301
    assert old.location.endswith("/posts/second/")
    # A later post given the old slug gets its address back: the redirect does not shadow it.
    publish(admin, "Another", "New owner.", slug="first")
    page = client.get("/posts/first/")
    assert page.status_code == 200 and "New owner." in page.text


def test_unpublish_takes_the_post_off_the_site(app, client, admin):
    publish(admin, "Short Lived")
    post = stored(app, "short-lived")
    assert client.get("/posts/short-lived/").status_code == 200
    response = save(admin, f"/admin/posts/{post.id}/", "unpublish", title="Short Lived", body="Some text.",
                    slug="short-lived")  # fmt: skip
    assert "Unpublished" in admin.get(response.location).text
    assert stored(app, "short-lived").draft
    assert client.get("/posts/short-lived/").status_code == 404
    assert "Short Lived" not in client.get("/").text
    assert "Short Lived" in admin.get("/admin/posts/?status=drafts").text


def test_delete_asks_first_then_the_post_is_gone(app, client, admin):
    publish(admin, "Doomed", slug="doomed")
    post = stored(app, "doomed")
    save(admin, f"/admin/posts/{post.id}/", "save", title="Doomed", body="Some text.", slug="moved-doomed")
    confirm = admin.get(f"/admin/posts/{post.id}/delete")
    assert confirm.status_code == 200
    assert "Delete “Doomed”?" in confirm.text and "Delete this post" in confirm.text
    assert stored(app, "moved-doomed") is not None  # opening the page deletes nothing
    response = admin_post(admin, f"/admin/posts/{post.id}/delete", page=f"/admin/posts/{post.id}/delete")
    assert response.status_code == 302
    assert "Deleted “Doomed”." in admin.get(response.location).text
    assert stored(app, "moved-doomed") is None
    assert client.get("/posts/moved-doomed/").status_code == 404
    assert client.get("/posts/doomed/").status_code == 404  # its old address went with it
    assert admin.get(f"/admin/posts/{post.id}/").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(Redirect.id))) == 0


def test_the_preview_is_sanitised_like_the_published_page(app, client, admin):
    response = admin_post(
        admin, "/admin/posts/preview", {"title": "T", "body": MALICIOUS}, page="/admin/posts/new"
    )
    assert response.status_code == 200
    html = response.json["html"]
    assert "<strong>world</strong>" in html
    assert "<script" not in html and "alert" not in html and "onerror" not in html
    assert '<img src="x.png">' in html
    publish(admin, "Risky", MALICIOUS)
    page = client.get("/posts/risky/").text
    assert "<strong>world</strong>" in page
    assert 'alert("x")' not in page and "onerror" not in page


def test_the_preview_button_renders_without_saving(app, admin):
    response = save(
        admin, "/admin/posts/new", "preview", title="Looking", body="Some `code` here.\n\n" + MALICIOUS
    )
    assert response.status_code == 200
    preview = response.text.split('id="preview"')[1].split("</div>")[0]
    assert "<code>code</code>" in preview and "<script" not in preview and "onerror" not in preview
    assert count_posts(app) == 0


def test_the_preview_needs_the_csrf_header(admin):
    assert admin.post("/admin/posts/preview", data={"body": "x"}).status_code == 400
    token = csrf_token(admin.get("/admin/posts/new").text)
    response = admin.post("/admin/posts/preview", data={"body": "# Hi\n\nx"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and "<p>x</p>" in response.json["html"]


def media_files(app) -> list[Path]:
    folder = Path(app.config["MEDIA_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_file_that_is_not_an_image_is_refused(app, admin):
    cover = (io.BytesIO(b"just some text, not a picture"), "cover.png", "image/png")
    response = save(
        admin, "/admin/posts/new", "publish", title="With Cover", body="Kept *body*.", cover=cover
    )
    assert response.status_code == 400
    assert "cover.png is not a PNG, JPEG, GIF or WebP image. Choose an image file." in response.text
    assert "Kept *body*." in response.text  # what the author typed is still there
    assert count_posts(app) == 0
    assert media_files(app) == []


def test_an_image_over_the_limit_is_refused(app_factory, author):
    app = app_factory(COVER_MAX_BYTES=2048)
    assert app.config["MAX_CONTENT_LENGTH"] == 2048 + 1024 * 1024  # the cover and the post's text
    client = app.test_client()
    sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD)
    big = (io.BytesIO(png(b"x" * 4000)), "big.png")
    response = save(client, "/admin/posts/new", "publish", title="Big", body="Text.", cover=big)
    assert response.status_code == 400
    assert "big.png is 4 KB; covers can be at most 2 KB. Make it smaller" in response.text
    assert count_posts(app) == 0 and media_files(app) == []


def test_a_request_far_over_the_limit_gets_a_page_that_says_why(app_factory, author):
    # A small MAX_CONTENT_LENGTH keeps the test's upload in memory; the default is checked above.
    app = app_factory(COVER_MAX_BYTES=2048, MAX_CONTENT_LENGTH=64 * 1024)
    client = app.test_client()
    sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD)
    huge = (io.BytesIO(png(b"x" * 100_000)), "huge.png")
    response = save(client, "/admin/posts/new", "publish", title="Huge", body="Text.", cover=huge)
    assert response.status_code == 413
    assert "That upload is too large" in response.text and "at most 2 KB" in response.text
    assert count_posts(app) == 0 and media_files(app) == []


def test_a_real_image_is_stored_and_served_for_a_year(app, client, admin):
    image = png()
    publish(admin, "Pictured", cover=(io.BytesIO(image), "My Photo.PNG", "application/octet-stream"))
    post = stored(app, "pictured")
    assert re.fullmatch(r"/media/[0-9a-f]{16}-my-photo\.png", post.cover_image)
    [file] = media_files(app)
    assert file.read_bytes() == image and post.cover_image == f"/media/{file.name}"
    with client.get(post.cover_image) as served:
        assert served.status_code == 200 and served.data == image
        assert served.mimetype == "image/png"
        assert "max-age=31536000" in served.headers["Cache-Control"]
        assert "immutable" in served.headers["Cache-Control"]
    assert f'src="{post.cover_image}"' in client.get("/posts/pictured/").text
    response = save(admin, f"/admin/posts/{post.id}/", "save", title="Pictured", body="Some text.",
                    slug="pictured", remove_cover="y")  # fmt: skip
    assert response.status_code == 302
    assert stored(app, "pictured").cover_image is None


def test_the_list_filters_by_status_tag_and_words(app, admin):
    now = datetime.now(UTC)
    with app.app_context():
        add_post("Rust Notes", now - timedelta(days=2), tags=["rust"])
        add_post("Python Draft", now - timedelta(days=1), tags=["python"], draft=True)
        add_post("Future Rust", now + timedelta(days=3), tags=["rust"])
        add_post("Percent 100% Sure", now - timedelta(days=4))
        db.session.execute(
            Post.__table__.update().where(Post.slug == "rust-notes").values(body="About borrowing.")
        )
        db.session.commit()

    def titles(query: str) -> set[str]:
        page = admin.get("/admin/posts/" + query).text
        table = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
        return set(re.findall(r'/admin/posts/\d+/">([^<]+)</a>', table))

    everything = {"Rust Notes", "Python Draft", "Future Rust", "Percent 100% Sure"}
    assert titles("") == everything
    assert titles("?status=published") == {"Rust Notes", "Percent 100% Sure"}
    assert titles("?status=drafts") == {"Python Draft"}
    assert titles("?status=scheduled") == {"Future Rust"}
    assert titles("?tag=rust") == {"Rust Notes", "Future Rust"}
    assert titles("?tag=rust&status=published") == {"Rust Notes"}
    assert titles("?q=BORROWING") == {"Rust Notes"}  # the text, any case
    assert titles("?q=rust") == {"Rust Notes", "Future Rust"}
    assert titles("?q=100%25") == {"Percent 100% Sure"}  # % is a character, not a wildcard
    assert titles("?q=nothing+matches") == set()
    assert "No post matches these filters." in admin.get("/admin/posts/?q=zzz").text


def test_the_list_shows_dates_in_the_authors_zone_and_pages(app_factory, author):
    app = app_factory(TIMEZONE="America/New_York")
    client = app.test_client()
    sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD)
    with app.app_context():
        add_post("Late Night", datetime(2024, 5, 2, 2, 30, tzinfo=UTC))
        for number in range(21):
            add_post(f"Filler {number}", datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=number))
        db.session.commit()
    first = client.get("/admin/posts/").text
    assert "1 May 2024, 22:30" in first and "America/New_York" in first
    assert "Page 1 of 2" in first and "Filler 0" not in first
    assert "Filler 0" in client.get("/admin/posts/?page=2").text


def test_validation_errors_keep_what_was_typed(app, admin):
    response = save(admin, "/admin/posts/new", "publish", title="", body="My *precious* words.")
    assert response.status_code == 400
    assert "Give the post a title." in response.text
    assert "My *precious* words." in response.text
    publish(admin, "Owner", slug="taken")
    response = save(admin, "/admin/posts/new", "publish", title="Second", body="Other *words*.", slug="taken")
    assert response.status_code == 400
    assert "The slug “taken” is already used by the post “Owner”. Choose another." in response.text
    assert "Other *words*." in response.text and 'aria-invalid="true"' in response.text
    assert count_posts(app) == 1


def test_a_derived_slug_and_excerpt_follow_the_importer(app, admin):
    publish(admin, "Same Name", "First paragraph here.\n\nSecond one.")
    publish(admin, "Same Name", "Intro.\n\n<!--more-->\n\nRest.")
    first, second = stored(app, "same-name"), stored(app, "same-name-2")
    assert first.excerpt == "First paragraph here."
    assert second.excerpt == "Intro."
    editor = admin.get(f"/admin/posts/{first.id}/").text
    assert re.search(r'<textarea[^>]*name="excerpt"[^>]*>\s*</textarea>', editor)  # derived: left empty
    publish(admin, "Own Excerpt", "Body.", excerpt="Written by hand.")
    assert stored(app, "own-excerpt").excerpt == "Written by hand."


def test_tags_keep_their_display_names_and_order(app, admin):
    publish(admin, "Tagged", tags="Zeta, @journal , machine learning, Journal")
    post = stored(app, "tagged")
    assert [tag.name for tag in post.tags] == ["Zeta", "@journal", "machine learning"]
    editor = admin.get(f"/admin/posts/{post.id}/").text
    assert 'value="Zeta, @journal, machine learning"' in editor
    save(
        admin,
        f"/admin/posts/{post.id}/",
        "save",
        title="Tagged",
        body="Some text.",
        slug="tagged",
        tags="zeta",
    )
    assert [tag.name for tag in stored(app, "tagged").tags] == ["Zeta"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Tag.id))) == 3  # tags are shared, never duplicated


@pytest.mark.parametrize("path", ["/admin/posts/", "/admin/posts/new"])
def test_the_pages_need_an_author(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.location.startswith("/admin/sign-in")


def upload_image(admin, data: bytes, name: str = "image.png"):
    """POST an image as the editor's script does: the page's CSRF token in a header."""
    token = csrf_token(admin.get("/admin/posts/new").text)
    files = {"image": (io.BytesIO(data), name, "image/png")}
    return admin.post("/admin/posts/images", data=files, headers={"X-CSRFToken": token})


def test_an_image_for_the_text_is_stored_like_covers_and_its_markdown_returned(app, client, admin):
    image = png(b"body")
    answer = upload_image(admin, image, "Whiteboard.png")
    assert answer.status_code == 200
    url = answer.json["url"]
    assert re.fullmatch(r"/media/[0-9a-f]{16}-whiteboard\.png", url)
    assert answer.json["markdown"] == f"![Describe the image]({url})"
    with client.get(url) as served:
        assert served.data == image
    publish(
        admin,
        "With a picture",
        f"Before.\n\n{answer.json['markdown'].replace('Describe the image', 'A board')}",
    )
    assert f'<img alt="A board" src="{url}"' in client.get("/posts/with-a-picture/").text


def test_a_body_image_that_is_not_one_is_refused_and_nothing_stored(app, admin):
    answer = upload_image(admin, b"not a picture", "notes.png")
    assert answer.status_code == 400
    assert answer.json["error"] == "notes.png is not a PNG, JPEG, GIF or WebP image. Choose an image file."
    assert media_files(app) == []
    token = csrf_token(admin.get("/admin/posts/new").text)
    assert (
        admin.post("/admin/posts/images", headers={"X-CSRFToken": token}).json["error"].startswith("Choose")
    )
    assert admin.post("/admin/posts/images", data={"image": (io.BytesIO(png()), "a.png")}).status_code == 400


def test_after_publishing_the_form_shows_the_date_kept_not_a_schedule(app, admin):
    location = publish(admin, "Out Now")
    page = admin.get(location).text
    assert "<legend>Publication date</legend>" in page
    assert re.search(
        r'<input checked id="when-0" name="when" type="radio" value="at"> '
        r'<label for="when-0">On the date below',
        page,
    )
    assert "Schedule at" not in page
    assert "Schedule at" in admin.get("/admin/posts/new").text


def test_the_list_links_each_published_post_on_the_site_and_the_preview_is_reachable(app, admin):
    publish(admin, "Live One")
    save(admin, "/admin/posts/new", "save", title="Still Draft", body="Text.")
    listing = admin.get("/admin/posts/").text
    assert (
        '<a class="view-on-site" href="/posts/live-one/">'
        'View<span class="visually-hidden"> “Live One”</span> on site</a>' in listing
    )
    assert listing.count('class="view-on-site"') == 1
    assert (
        'id="preview" class="post-body preview-body" role="region" tabindex="0"'
        in admin.get("/admin/posts/new").text
    )
    assert '<a class="button" href="/admin/posts/new" id="new-post">New post</a>' in admin.get("/admin/").text
