"""Cover images uploaded in the console: checked by their bytes, stored under a content hash."""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from blog.content.slugs import slugify

# The first bytes of each image format a browser shows; the name and the browser's type lie easily.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
KINDS = "PNG, JPEG, GIF or WebP"


class CoverError(ValueError):
    """An upload that cannot be a cover image; the message says what to do."""


@dataclass(frozen=True)
class Cover:
    name: str  # content-hash prefixed, with the extension of what the bytes are
    data: bytes

    @property
    def url(self) -> str:
        return f"/media/{self.name}"


def image_kind(data: bytes) -> str | None:
    """The file extension of an image format recognised from its first bytes, else None."""
    for signature, kind in SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_cover(data: bytes, filename: str, max_bytes: int) -> Cover:
    """Accept an upload only when its bytes are an image of at most max_bytes."""
    if not data:
        raise CoverError(f"The file {filename or 'chosen'} is empty. Choose a {KINDS} image.")
    if len(data) > max_bytes:
        size, most = human_size(len(data)), human_size(max_bytes)
        if size == most:  # just over the limit: "5.0 MB; at most 5.0 MB" would not say why
            size, most = f"{len(data):,} bytes", f"{max_bytes:,} bytes ({most})"
        raise CoverError(
            f"{filename or 'The image'} is {size}; covers can be at most {most}. "
            "Make it smaller and upload it again."
        )
    kind = image_kind(data)
    if kind is None:
        raise CoverError(f"{filename or 'The file'} is not a {KINDS} image. Choose an image file.")
    # Like the importer's copies: hash first, so the same picture is stored once under one name.
    stem = slugify(Path(filename).stem)[:60] or "cover"
    return Cover(f"{hashlib.sha256(data).hexdigest()[:16]}-{stem}.{kind}", data)


def store_cover(cover: Cover, folder: Path) -> str:
    """Write the image into the media folder (once: the name is its hash) and return its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / cover.name
    if not target.exists():
        # Written beside the target then renamed, so a reader never gets half a file.
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        with os.fdopen(handle, "wb") as file:
            file.write(cover.data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    return cover.url


def human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{size / 1024:.0f} KB"
