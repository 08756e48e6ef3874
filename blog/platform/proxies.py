"""Who the visitor is when reverse proxies stand in front: TRUSTED_PROXY_HOPS forwarding headers are
believed (Werkzeug's ProxyFix), and no more, since a visitor can send such headers too.

Rate limits and consent records use the address this gives. Links never use the Host of a
request: they are built on SITE_URL (platform/urls.py).
"""

from pathlib import Path

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    else:
        app.before_request(note_forwarded_request)


def note_forwarded_request() -> None:
    """Leave a mark for `weeknote doctor` when a proxy forwards requests that nobody trusts."""
    if "X-Forwarded-For" in request.headers and not current_app.extensions.get("weeknote_forwarded_seen"):
        current_app.extensions["weeknote_forwarded_seen"] = True
        Path(current_app.config["FORWARDED_SEEN_FILE"]).write_text(request.headers["X-Forwarded-For"] + "\n")
