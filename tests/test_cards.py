"""Social cards: a post without a cover gets a drawn og:image (title and site name), made once."""

import io
import re
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post

OG_IMAGE = re.compile(r'<meta property="og:image" content="([^"]+)">')


def fetch(client, path: str):
    """GET path and close the response (a served file stays open until then)."""
    response = client.get(path)
    response.get_data()  # buffered, so the body outlives the file
    response.close()
    return response


def og_image(client, slug: str) -> str:
    page = client.get(f"/posts/{slug}/").text
    [image] = OG_IMAGE.findall(page)
    assert f'<meta name="twitter:image" content="{image}">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert f'"image": "{image}"' in page  # the JSON-LD names the same picture
    return image


def test_a_post_without_a_cover_gets_a_drawn_card(app, client, write_post, import_posts):
    write_post("2024-01-01-card.md", "---\ntitle: What I Learned Building a Compiler in a Week\n---\n\nText.")
    import_posts()
    image = og_image(client, "card")
    assert image.startswith(app.config["SITE_URL"] + "/posts/card/card-") and image.endswith(".png")
    path = image.removeprefix(app.config["SITE_URL"])

    response = fetch(client, path)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    card = Image.open(io.BytesIO(response.data))
    assert card.size == (1200, 630)
    assert len(card.convert("L").getcolors()) > 2  # text was drawn, not a blank rectangle

    # Drawn once: the file on disk is served again as it is.
    [stored] = Path(app.config["CARDS_FOLDER"]).glob("*.png")
    drawn_at = stored.stat().st_mtime_ns
    assert fetch(client, path).data == response.data
    assert stored.stat().st_mtime_ns == drawn_at


def test_a_new_title_makes_a_new_card_and_the_old_address_follows(app, client, write_post, import_posts):
    write_post("2024-01-01-card.md", "---\ntitle: First Title\n---\n\nText.")
    import_posts()
    old = og_image(client, "card").removeprefix(app.config["SITE_URL"])
    first = fetch(client, old).data
    with app.app_context():
        db.session.scalar(select(Post).where(Post.slug == "card")).title = "A Better Title"
        db.session.commit()
    new = og_image(client, "card").removeprefix(app.config["SITE_URL"])
    assert new != old
    assert fetch(client, new).data != first
    moved = client.get(old)
    assert moved.status_code == 302 and moved.location == new


def test_a_cover_is_the_image_and_unknown_posts_have_no_card(app, client, write_post, import_posts):
    write_post(
        "2024-01-01-cover.md", "---\ntitle: Covered\nimage: https://images.example.com/c.jpg\n---\n\nText."
    )
    import_posts()
    assert og_image(client, "cover") == "https://images.example.com/c.jpg"
    assert client.get("/posts/nothing-here/card-0123456789abcdef.png").status_code == 404
