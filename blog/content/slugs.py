"""Slugs for posts and tags."""

from slugify import slugify as _slugify

MAX_SLUG_LENGTH = 200


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by hyphens; '@journal' -> 'journal'."""
    return _slugify(str(text), max_length=MAX_SLUG_LENGTH, word_boundary=True)
