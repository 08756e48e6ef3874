"""Social cards: the picture a link preview shows for a post without a cover (og:image).

Drawn on the server with Pillow (title and site name), once per content: the file name is a
hash of what is drawn, so a new title or site name makes a new card and an old one is never
served for it. Cards live in the instance folder (CARDS_FOLDER) and are served immutable.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, send_file, url_for
from PIL import Image, ImageDraw, ImageFont

from blog.extensions import db
from blog.models import Post
from blog.platform.site_settings import site
from blog.site.queries import published_posts

bp = Blueprint("cards", __name__)
WIDTH, HEIGHT = 1200, 630  # what Open Graph and X (summary_large_image) show without cropping
MARGIN = 80
BACKGROUND, TEXT, MUTED, ACCENT = "#fdfcfa", "#1f2328", "#565d66", "#0b5cad"
TITLE_SIZES = (72, 60, 50)  # the largest that fits in MAX_TITLE_LINES wins
MAX_TITLE_LINES = 4
CARD_VERSION = "1"  # bump when the drawing changes, so cached cards are drawn again
MAX_AGE = 365 * 24 * 3600


def card_digest(title: str, site_title: str) -> str:
    """A short hash of everything the card shows: its file name and URL change with it."""
    content = "\0".join((CARD_VERSION, title, site_title)).encode()
    return hashlib.sha256(content).hexdigest()[:16]


def card_url(post: Post) -> str:
    """The path of a post's card (the page's og:image, made absolute by the template)."""
    digest = card_digest(post.title, site().title)
    return url_for("cards.show", slug=post.slug, digest=digest)


def wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Break text into lines no wider than width; a word too long for a line is cut."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
            continue
        while draw.textlength(word, font=font) > width and len(word) > 1:
            cut = len(word)
            while cut > 1 and draw.textlength(word[:cut], font=font) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines


def draw_card(title: str, site_title: str) -> Image.Image:
    """A 1200x630 card: the site's name above the post's title, on the site's colours."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 16), fill=ACCENT)
    site_font = ImageFont.load_default(size=40)
    draw.text((MARGIN, MARGIN), site_title, font=site_font, fill=MUTED)
    text_width = WIDTH - 2 * MARGIN
    for size in TITLE_SIZES:
        font = ImageFont.load_default(size=size)
        lines = wrap(draw, title, font, text_width)
        if len(lines) <= MAX_TITLE_LINES:
            break
    if len(lines) > MAX_TITLE_LINES:
        lines = lines[:MAX_TITLE_LINES]
        lines[-1] = lines[-1].rstrip(" ,;:.") + "…"
    line_height = round(size * 1.2)
    top = MARGIN + 110
    for number, line in enumerate(lines):
        draw.text((MARGIN, top + number * line_height), line, font=font, fill=TEXT)
    return image


def card_file(title: str, site_title: str) -> Path:
    """The card's PNG in CARDS_FOLDER, drawn the first time it is asked for."""
    folder = Path(current_app.config["CARDS_FOLDER"])
    path = folder / f"{card_digest(title, site_title)}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed into place: two workers drawing at once never serve half a file.
        handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(handle, "wb") as output:
            draw_card(title, site_title).save(output, "PNG", optimize=True)
        os.replace(partial, path)
    return path


@bp.get("/posts/<slug>/card-<digest>.png")
def show(slug: str, digest: str):
    post = db.session.scalar(published_posts().where(Post.slug == slug))
    if post is None:
        abort(404)
    site_title = site().title
    if digest != card_digest(post.title, site_title):
        return redirect(card_url(post))  # an old card's address: the current one
    response = send_file(card_file(post.title, site_title), mimetype="image/png", max_age=MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}, immutable"
    return response
