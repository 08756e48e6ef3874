"""Security headers on every response, with a strict Content-Security-Policy."""

import base64
import hashlib
from html.parser import HTMLParser

from flask import Flask, Response, current_app

from blog.content.embeds import FRAME_HOSTS

BASE_POLICY = (
    "default-src 'none'; img-src 'self' https: data:; style-src 'self'; font-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; manifest-src 'self'; "
    f"frame-src {' '.join(FRAME_HOSTS)}"  # the video embeds a post may show (content/embeds.py)
)
NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def content_security_policy(body: bytes) -> str:
    """The page's policy: no scripts at all, styles from our own files and hashed attributes."""
    values = style_attributes(body.decode()) if b"style" in body else set()
    if not values:
        return f"{BASE_POLICY}; style-src-attr 'none'"
    hashes = " ".join(sorted(f"'sha256-{digest(value)}'" for value in values))
    return f"{BASE_POLICY}; style-src-attr 'unsafe-hashes' {hashes}"


def policy_with_own_script(body: bytes) -> str:
    """A reader page's policy that also runs this site's own script files (no inline script):
    the preferences page's zone detection."""
    return f"{content_security_policy(body)}; script-src 'self'"


class StyleAttributes(HTMLParser):
    """The values of the style attributes of a page's elements (not text that looks like one)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.values.update(value for name, value in attrs if name == "style" and value is not None)

    handle_startendtag = handle_starttag


def style_attributes(page: str) -> set[str]:
    """Sanitised posts may carry style="color:..." attributes: each one is allowed by its hash."""
    parser = StyleAttributes()
    parser.feed(page)
    parser.close()
    return parser.values


def digest(value: str) -> str:
    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


def policy_for(response: Response) -> str:
    """The policy a response needs: worked out from the body for HTML, a fixed one otherwise."""
    if response.mimetype == "text/html" and not response.direct_passthrough:
        return content_security_policy(response.get_data())
    return NON_HTML_POLICY


def fixed_headers() -> list[tuple[str, str]]:
    """The headers every response carries whatever its body (HSTS once the site is on HTTPS)."""
    headers = list(HEADERS.items())
    if current_app.config["SITE_URL"].startswith("https://"):
        headers.append(HSTS)
    return headers


def add_security_headers(response: Response) -> Response:
    """Fill in whatever a view (or the page cache, which stores them all) has not already set."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    if "content-security-policy" not in present:
        headers["Content-Security-Policy"] = policy_for(response)
    for name, value in fixed_headers():
        if name.lower() not in present:
            headers.add(name, value)
    return response
