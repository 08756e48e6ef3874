"""Absolute URLs on the public SITE_URL, in a request or not (the worker has none).

Links in pages, feeds and messages always name SITE_URL, never the Host a request came
in on: behind a proxy, or from the worker, that Host is not the public address.
"""

from urllib.parse import urlsplit

from flask import Flask, current_app, redirect, request
from werkzeug import routing
from werkzeug.routing import MapAdapter, RequestRedirect

from blog.models import LARGEST_ID


def init_app(app: Flask) -> None:
    """Bound `<int:...>` (before any route is added) and send slash redirects to SITE_URL."""
    app.url_map.converters["int"] = IntegerConverter
    app.before_request(redirect_on_site_url)


def redirect_on_site_url():
    """Werkzeug's own redirects (/posts/x to /posts/x/) name the Host the request came with; a
    forged Host would get a redirect to anywhere. Answer them on SITE_URL instead."""
    moved = request.routing_exception
    if not isinstance(moved, RequestRedirect):
        return None
    target = urlsplit(moved.new_url)
    path = target.path.removeprefix(request.script_root)
    return redirect(absolute_url(path) + (f"?{target.query}" if target.query else ""), code=moved.code)


class IntegerConverter(routing.IntegerConverter):
    """`<int:...>` in every route: a number the database can hold, else the URL does not match (404).

    Written one way only (no leading zeros): /page/01/ would be a second address of /page/1/,
    and each such address a new entry in the page cache.
    """

    regex = r"[1-9]\d{0,9}"

    def __init__(self, map: routing.Map, *args, **kwargs) -> None:
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


def external_url(endpoint: str, **values: object) -> str:
    """The absolute URL of an endpoint on SITE_URL (a site in a folder keeps its folder)."""
    return _adapter().build(endpoint, values, force_external=True)


def absolute_url(path_or_url: str) -> str:
    """A path made absolute against SITE_URL; absolute URLs are returned as they are."""
    if "://" in path_or_url:
        return path_or_url
    return current_app.config["SITE_URL"] + "/" + path_or_url.lstrip("/")


def _adapter() -> MapAdapter:
    """The app's URL map bound to SITE_URL, built once per app (and again if SITE_URL changes)."""
    site_url = current_app.config["SITE_URL"]
    cached = current_app.extensions.get("weeknote_url_adapter")
    if cached is None or cached[0] != site_url:
        site = urlsplit(site_url)
        adapter = current_app.url_map.bind(
            site.netloc, script_name=site.path.rstrip("/") or "/", url_scheme=site.scheme or "https"
        )
        cached = current_app.extensions["weeknote_url_adapter"] = (site_url, adapter)
    return cached[1]
