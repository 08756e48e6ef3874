"""Small helpers shared by the tests: settings, apps, CSRF tokens, links in messages, look-ups, HTTP.

Plain constants and functions only; the fixtures are in conftest.py, which imports from here
(never the other way round).
"""

import http.cookiejar
import json
import os
import re
import struct
import urllib.parse
import urllib.request
import zlib
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from blog import create_app
from blog.extensions import db
from blog.models import Subscriber

CONTENT = Path(__file__).parent / "content"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",  # this machine has no network; don't let Chromium try
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

AUTHOR_EMAIL = "author@example.com"
AUTHOR_PASSWORD = "correct horse battery"

# The site the mail_site fixture runs: where its links point and who its mail is from.
SITE = {
    "SITE_URL": "https://blog.example.com",
    "SITE_TITLE": "Weeknote",
    "MAIL_FROM": "Weeknote <digest@blog.example.com>",
    "MAIL_POSTAL_ADDRESS": "1 Example Street, Berlin",
}


def make_app(instance: Path, database_url: str, **overrides):
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
    }
    return create_app(config | overrides)


def require(what: str, hint: str) -> None:
    """Skip when a real component is missing on a developer's machine; fail under CI."""
    message = f"{what} is not available: {hint}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(tab) -> list:
    """axe-core's serious and critical violations on the tab's page (installed by make test)."""
    if not AXE.exists():
        require("axe-core", "run `npm ci --prefix tests/js` (make test does)")
    tab.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the test: no CSP exception needed
    results = tab.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]][:3])
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


CSRF_INPUT = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def submit(client, path: str, data: dict, **kwargs):
    """GET a page, then POST `data` to it with the page's CSRF token, like a browser would."""
    token = csrf_token(client.get(path).text)
    return client.post(path, data={"csrf_token": token} | data, **kwargs)


def sign_in(client, email: str, password: str, **kwargs):
    return submit(client, "/admin/sign-in", {"email": email, "password": password}, **kwargs)


def admin_post(client, path: str, data: dict | None = None, page: str | None = None, **kwargs):
    """POST to an admin URL with a CSRF token taken from `page` (default: the dashboard)."""
    token = csrf_token(client.get(page or "/admin/").text)
    return client.post(path, data={"csrf_token": token} | (data or {}), **kwargs)


def signed_in(app):
    """A test client of `app` signed in as the author."""
    client = app.test_client()
    assert sign_in(client, AUTHOR_EMAIL, AUTHOR_PASSWORD).status_code == 302
    return client


def flashes(html: str, category: str) -> list[str]:
    """The flash messages of one category on a page."""
    return re.findall(rf'<p class="flash flash-{category}">([^<]*)</p>', html)


def send_now(client):
    """Send now as the author does: freeze the draft, open its confirmation page, press Send.
    Returns the confirmation page and the answer to Send."""
    opened = admin_post(client, "/admin/digest/send", page="/admin/digest/")
    assert opened.status_code == 302 and "/confirm" in opened.location, opened.text
    page = client.get(opened.location)
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', page.text)[1]
    sent = client.post(
        opened.location, data={"csrf_token": csrf_token(page.text), "fingerprint": fingerprint}
    )
    return page, sent


def subscribe(client, email: str, **kwargs):
    return submit(client, "/subscribe", {"email": email, "website": ""}, **kwargs)


def send_digest_now(app) -> int:
    """Send now, as `weeknote digest send --now --yes` does; return the digest's id."""
    from blog.models import Digest

    result = app.test_cli_runner().invoke(args=["digest", "send", "--now", "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return db.session.scalar(select(Digest.id).order_by(Digest.id.desc()))


def subscriber(app, email: str) -> Subscriber | None:
    """The subscriber row as the database has it now (a fresh session, nothing cached)."""
    with app.app_context():
        row = db.session.scalar(select(Subscriber).where(Subscriber.email_key == email.lower()))
        if row is not None:
            db.session.expunge(row)
        db.session.remove()
        return row


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a multipart/alternative message."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def confirm_link(message: EmailMessage) -> str:
    text, html = parts(message)
    links = re.findall(r"https?://\S+/subscribe/confirm/[\w.-]+", text)
    assert len(set(links)) == 1, links
    assert f'href="{links[0]}"' in html
    return links[0]


def outbox(app) -> list[EmailMessage]:
    """The messages the development transport wrote into the instance folder, oldest first."""
    folder = Path(app.config["OUTBOX_FOLDER"])
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [message_from_bytes(path.read_bytes(), policy=default) for path in files]


def add_post(title: str, published_at, tags=(), draft: bool = False) -> None:
    """Store a published post directly (within an app context; the caller commits)."""
    from blog.models import Post, Tag

    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    post = Post(
        slug=slug,
        title=title,
        body=f"About {title}.",
        html=f"<p>About {title}.</p>",
        excerpt=f"About {title}.",
        draft=draft,
        published_at=published_at,
    )
    post.tags = [
        db.session.scalar(select(Tag).where(Tag.slug == tag)) or Tag(slug=tag, name=tag) for tag in tags
    ]
    db.session.add(post)
    db.session.flush()


def add_subscribers(count: int, status: str = "active", prefix: str = "reader") -> list[str]:
    """Store subscribers reader0@example.com ... directly; return their addresses."""
    from blog.models import Subscriber

    emails = [f"{prefix}{index}@example.com" for index in range(count)]
    db.session.add_all(Subscriber(email=email, email_key=email, status=status) for email in emails)
    return emails


class Browser:
    """An HTTP client with a cookie jar, as a visitor's browser would have."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> str:
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as response:
            return response.read().decode()

    def health(self) -> dict | None:
        try:
            with self.opener.open(self.base + "/healthz", timeout=2) as response:
                return json.load(response)
        except (OSError, ValueError):
            return None


def png(extra: bytes = b"") -> bytes:
    """A real 1x1 PNG; `extra` goes into a text chunk to make it as large as a test needs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    text = chunk(b"tEXt", b"Comment\0" + extra) if extra else b""
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + text + pixels + chunk(b"IEND", b"")


def rsa_key(bits: int = 2048) -> tuple[str, str]:
    """A new RSA key: (private PEM, base64 of the public DER, as a DKIM p= tag holds it)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(public).decode()


def preferences_link(body: str) -> str:
    """The recipient's own preferences link in a copy they got (its signed token is theirs)."""
    return re.search(r"https?://[^\s\"<>]+/preferences/[^\s\"<>]+", body)[0]
