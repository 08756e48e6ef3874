"""Absolute URLs on the public SITE_URL, in a request or not (the worker has none).

Links in pages, feeds and messages always name SITE_URL, never the Host a request came
in on: behind a proxy, or from the worker, that Host is not the public address.
"""

from urllib.parse import urlsplit

from flask import current_app
from werkzeug import routing
from werkzeug.routing import MapAdapter

from blog.models import LARGEST_ID


class IntegerConverter(routing.IntegerConverter):
    """`<int:...>` in every route: a number the database can hold, else the URL does not match (404)."""

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
