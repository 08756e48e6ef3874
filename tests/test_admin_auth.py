"""Signing in to the console, and the rules every /admin/ URL follows: no author, no access;
no CSRF token, no change."""

import re

import pytest
from helpers import AUTHOR_EMAIL, AUTHOR_PASSWORD, admin_post, csrf_token, sign_in, submit
from sqlalchemy import select

from blog.extensions import db
from blog.models import Author

SAMPLE_VALUES = {"integer": "1", "default": "x", "string": "x", "path": "x/y"}


def admin_urls(app) -> list[tuple[str, set[str]]]:
    """Every /admin/ URL of the app with made-up values for its variables, and its methods."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        values = {}
        for name, converter in rule._converters.items():
            kind = type(converter).__name__.removesuffix("Converter").lower()
            values[name] = SAMPLE_VALUES.get(kind, "x")
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, path)
        urls.append((path, set(rule.methods) - {"HEAD", "OPTIONS"}))
    return urls


def test_the_console_has_the_sections_an_author_needs(app):
    paths = {path for path, _ in admin_urls(app)}
    assert {"/admin/", "/admin/sign-in", "/admin/sign-out", "/admin/password"} <= paths


def test_anonymous_visitors_are_refused_every_admin_url(app, client):
    checked = 0
    for path, methods in admin_urls(app):
        if path == "/admin/sign-in":
            continue
        for method in methods:
            response = client.open(path, method=method)
            checked += 1
            if method == "GET":
                assert response.status_code == 302, (method, path, response.status_code)
                assert response.location.startswith("/admin/sign-in?next="), (path, response.location)
            else:  # a POST without a session also lacks a CSRF token: refused before anything runs
                assert response.status_code in (302, 400), (method, path, response.status_code)
            assert AUTHOR_EMAIL not in response.text
    assert checked >= 3


def test_every_admin_post_needs_a_csrf_token(app, admin):
    posts = [path for path, methods in admin_urls(app) if "POST" in methods]
    assert "/admin/sign-out" in posts
    for path in posts:
        response = admin.post(path, data={})
        assert response.status_code == 400, (path, response.status_code)
        assert "The form could not be checked" in response.text, path
    assert admin.get("/admin/").status_code == 200  # and the author is still signed in


def test_sign_in_takes_the_author_to_where_they_were_going(client, author):
    response = client.get("/admin/")
    assert response.location == "/admin/sign-in?next=/admin/"
    response = sign_in(client, author, AUTHOR_PASSWORD, query_string={"next": "/admin/"})
    assert response.status_code == 302
    assert response.location == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "Sign out" in page.text


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/admin/", "/admin\\@evil", "/posts/"]
)
def test_sign_in_never_follows_next_off_the_console(client, author, target):
    token = csrf_token(client.get("/admin/sign-in").text)
    data = {"csrf_token": token, "email": author, "password": AUTHOR_PASSWORD}
    response = client.post("/admin/sign-in", query_string={"next": target}, data=data)
    assert response.location == "/admin/"


@pytest.mark.parametrize(
    "email, password", [(AUTHOR_EMAIL, "wrong password!"), ("who@example.com", AUTHOR_PASSWORD)]
)
def test_a_wrong_address_or_password_gets_the_same_answer(client, author, email, password):
    response = sign_in(client, email, password)
    assert response.status_code == 401
    assert "That email address and password do not match an author." in response.text
    assert client.get("/admin/").status_code == 302


def test_an_empty_form_says_what_is_missing(client, author):
    response = submit(client, "/admin/sign-in", {"email": "", "password": ""})
    assert response.status_code == 400
    assert "Enter your email address." in response.text
    assert 'aria-invalid="true"' in response.text


def test_sign_in_is_rate_limited_per_client(app_factory, author):
    app = app_factory(SIGN_IN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, author, "wrong password!").status_code == 401
    response = sign_in(client, author, AUTHOR_PASSWORD)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.text
    assert client.get("/admin/").status_code == 302  # the right password did not get through


def test_signing_out_ends_the_session(admin):
    response = admin_post(admin, "/admin/sign-out")
    assert response.status_code == 302
    assert admin.get("/admin/").status_code == 302


def test_passwords_are_stored_with_scrypt(app, author):
    with app.app_context():
        stored = db.session.scalar(select(Author.password_hash))
    assert stored.startswith("scrypt:32768:8:1$")
    assert AUTHOR_PASSWORD not in stored


def test_admin_pages_are_never_cached_and_may_run_only_our_scripts(admin):
    response = admin.get("/admin/")
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy


def test_session_cookies_are_secure_on_an_https_site(app_factory, author):
    app = app_factory(SITE_URL="https://blog.example.com")
    client = app.test_client()
    token = csrf_token(client.get("/admin/sign-in", base_url="https://blog.example.com").text)
    response = client.post(
        "/admin/sign-in",
        base_url="https://blog.example.com",
        headers={"Referer": "https://blog.example.com/admin/sign-in"},  # Flask-WTF checks it on HTTPS
        data={"csrf_token": token, "email": author, "password": AUTHOR_PASSWORD, "remember": "y"},
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert {cookie.split("=", 1)[0] for cookie in cookies} >= {"session", "remember_token"}
    for cookie in cookies:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def test_a_one_time_password_must_be_changed_first(app, client, runner):
    result = runner.invoke(args=["create-author", "--if-none"])
    assert result.exit_code == 0, result.output
    password = re.search(r"one-time password: (\S+)", result.output).group(1)
    assert sign_in(client, "author@example.com", password).location == "/admin/password"
    assert client.get("/admin/").location == "/admin/password"
    response = submit(
        client,
        "/admin/password",
        {"current": password, "new": "a new long password", "confirm": "a new long password"},
    )
    assert response.location == "/admin/"
    assert client.get("/admin/").status_code == 200
    other = app.test_client()
    assert sign_in(other, "author@example.com", password).status_code == 401
    assert sign_in(other, "author@example.com", "a new long password").location == "/admin/"


def test_a_new_password_signs_out_other_devices(app, admin, author):
    laptop = app.test_client()
    sign_in(laptop, author, AUTHOR_PASSWORD)
    assert laptop.get("/admin/").status_code == 200
    response = submit(
        admin,
        "/admin/password",
        {"current": AUTHOR_PASSWORD, "new": "another long password", "confirm": "another long password"},
    )
    assert response.status_code == 302
    assert admin.get("/admin/").status_code == 200
    assert laptop.get("/admin/").status_code == 302


def test_a_new_password_must_be_long_enough_and_typed_twice(admin):
    response = submit(
        admin, "/admin/password", {"current": AUTHOR_PASSWORD, "new": "short", "confirm": "other"}
    )
    assert response.status_code == 400
    assert "at least 10 characters" in response.text
    assert "The two new passwords differ." in response.text
