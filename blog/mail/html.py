"""HTML as mail clients need it: absolute links and sources, and a width and alt on every image.

Mail clients resolve no relative address, and Outlook sizes an image by its width attribute
alone (it ignores max-width), so every image gets one, and alt text for clients that block
images.
"""

import re

from blog.content.sanitize import absolutize_urls

# An <img> tag of sanitised HTML (attribute values are quoted; nh3 escapes "<" inside them).
IMG = re.compile(r"<img\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.IGNORECASE)
ATTRIBUTE = re.compile(r"\s(width|alt)\s*=", re.IGNORECASE)


def email_html(html: str, base_url: str, source: str, width: int) -> str:
    """Sanitised HTML with absolute URLs, and on every image a width (`width`, unless it has one)
    and alt text ('Image from <source>', unless it has some)."""

    def sized(match: re.Match) -> str:
        attributes = match.group(1).rstrip("/").rstrip()
        present = {name.lower() for name in ATTRIBUTE.findall(attributes)}
        if "width" not in present:
            attributes += f' width="{width}"'
        if "alt" not in present:
            attributes += f' alt="Image from {escape_attribute(source)}"'
        return f"<img{attributes}>"

    return IMG.sub(sized, absolutize_urls(html, base_url + "/"))


def escape_attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
