"""Security headers on every response, with a strict Content-Security-Policy."""

import base64
import hashlib
import html
import re

from flask import Flask, Response, current_app

# Sanitised posts may carry style="color:..." attributes: each one is allowed by its hash.
STYLE_ATTRIBUTE = re.compile(rb'\sstyle="([^"]*)"')
BASE_POLICY = (
    "default-src 'none'; img-src 'self' https: data:; style-src 'self'; font-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; manifest-src 'self'"
)
NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def content_security_policy(body: bytes) -> str:
    """The page's policy: no scripts at all, styles from our own files and hashed attributes."""
    values = {html.unescape(value.decode()) for value in STYLE_ATTRIBUTE.findall(body)}
    if not values:
        return f"{BASE_POLICY}; style-src-attr 'none'"
    hashes = " ".join(sorted(f"'sha256-{digest(value)}'" for value in values))
    return f"{BASE_POLICY}; style-src-attr 'unsafe-hashes' {hashes}"


def digest(value: str) -> str:
    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


def add_security_headers(response: Response) -> Response:
    """Fill in whatever a view (or the page cache) has not already set."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if "Content-Security-Policy" not in response.headers:
        if response.mimetype == "text/html" and not response.direct_passthrough:
            policy = content_security_policy(response.get_data())
        else:
            policy = NON_HTML_POLICY
        response.headers["Content-Security-Policy"] = policy
    if current_app.config["SITE_URL"].startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
