"""Who the visitor is when reverse proxies stand in front: the X-Forwarded-For and -Proto of
TRUSTED_PROXY_HOPS proxies are believed (Werkzeug's ProxyFix), and no more, since a visitor can
send such headers too.

Rate limits and consent records use the address this gives. Links never use the Host of a
request: they are built on SITE_URL (platform/urls.py).
"""

from pathlib import Path

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # Not X-Forwarded-Host: links are built on SITE_URL, and a proxy that does not set it
        # would pass on whatever the visitor sent.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    else:
        app.before_request(note_forwarded_request)


def note_forwarded_request() -> None:
    """Leave a mark for `weeknote doctor` when a proxy forwards requests that nobody trusts."""
    if "X-Forwarded-For" in request.headers and not current_app.extensions.get("weeknote_forwarded_seen"):
        current_app.extensions["weeknote_forwarded_seen"] = True
        seen = "".join(c for c in request.headers["X-Forwarded-For"][:200] if c.isprintable())
        Path(current_app.config["FORWARDED_SEEN_FILE"]).write_text(seen + "\n")
