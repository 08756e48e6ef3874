"""Static assets served from memory under fingerprinted names, cached for a year."""

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, request
from pygments.formatters import HtmlFormatter

bp = Blueprint("assets", __name__)
STATIC_FOLDER = Path(__file__).resolve().parents[2] / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"
LIGHT_STYLE, DARK_STYLE = "default", "github-dark"
# A highlighted code line: (background, edge) per scheme; the backgrounds keep every token at 4.5:1.
HIGHLIGHTED_LINE = {"light": ("#ffffcc", "#b08800"), "dark": ("#1b2535", "#58a6ff")}


@dataclass(frozen=True)
class Asset:
    data: bytes
    mimetype: str
    digest: str


def init_app(app: Flask) -> None:
    """Load every asset once, so hashing and serving cost nothing per request."""
    app.extensions["assets"] = load_assets(STATIC_FOLDER)
    app.add_template_global(asset_url)
    app.register_blueprint(bp)


def load_assets(folder: Path) -> dict[str, Asset]:
    files = {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()
    }
    files["css/pygments.css"] = pygments_css().encode()
    assets = {}
    for name, data in files.items():
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        assets[name] = Asset(data, mimetype, hashlib.sha256(data).hexdigest()[:12])
    return assets


def pygments_css() -> str:
    """Code colours for light pages, and for dark ones through prefers-color-scheme.

    A highlighted line (```python{2}) gets a background every token keeps 4.5:1 contrast on
    (github-dark's own grey left comments at 1.8:1) and a bar at its left edge, so the mark is
    not told by colour alone.
    """
    light = HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".highlight")
    dark = HtmlFormatter(style=DARK_STYLE).get_style_defs(".highlight")
    mark = ".highlight .hll {{ background-color: {}; box-shadow: inset 3px 0 0 {}; }}"
    return (
        f"{light}\n{mark.format(*HIGHLIGHTED_LINE['light'])}\n"
        f"@media (prefers-color-scheme: dark) {{\n{dark}\n{mark.format(*HIGHLIGHTED_LINE['dark'])}\n}}\n"
    )


def fingerprinted(name: str, digest: str) -> str:
    """css/site.css -> css/site.<digest>.css"""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"


def asset_url(name: str) -> str:
    """The URL of an asset under its fingerprinted name."""
    asset = current_app.extensions["assets"][name]
    return f"/static/{fingerprinted(name, asset.digest)}"


@bp.get("/static/<path:filename>")
def static(filename: str) -> Response:
    """Serve an asset: a current fingerprint is cached for a year, anything else revalidates."""
    assets: dict[str, Asset] = current_app.extensions["assets"]
    name, cache_control = filename, REVALIDATE
    parts = filename.rsplit(".", 2)
    if filename not in assets and len(parts) == 3:
        name = f"{parts[0]}.{parts[2]}"
        if name in assets and assets[name].digest == parts[1]:
            cache_control = IMMUTABLE
    asset = assets.get(name)
    if asset is None:
        abort(404)
    response = Response(asset.data, mimetype=asset.mimetype)
    response.set_etag(asset.digest)
    response.headers["Cache-Control"] = cache_control
    return response.make_conditional(request)
