"""Input an attacker (or a careless client) sends: each answers as a user expects, never a 500."""

from datetime import UTC, datetime, timedelta

import pytest
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
    [f"/page/{HUGE}/", f"/tags/rust/page/{HUGE}/", f"/digests/{HUGE}/", "/page/0/", "/tags/rust/page/0/"],
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
