"""Read a source file as text, refusing what cannot be a Markdown post."""

from pathlib import Path

from blog.content.errors import ContentError

MAX_BYTES = 5 * 1024 * 1024
BINARY_SNIFF_BYTES = 8192


def read_source(path: Path, max_bytes: int = MAX_BYTES) -> tuple[str, bytes]:
    """Return the file's text (BOM removed, newlines normalised) and its raw bytes."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ContentError(
            f"file is {size / 1024 / 1024:.1f} MB, larger than the "
            f"{max_bytes / 1024 / 1024:.0f} MB limit for a post"
        )
    raw = path.read_bytes()
    return decode_source(raw), raw


def decode_source(raw: bytes) -> str:
    """Decode UTF-8 bytes into post text, with errors an author can act on."""
    if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
        raise ContentError("binary file (it contains NUL bytes), not Markdown text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ContentError(
            f"not UTF-8: byte 0x{raw[error.start]:02x} at offset {error.start} cannot be "
            "decoded; re-save the file as UTF-8",
            line=line,
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ContentError("empty file: there is no front matter and no text")
    return text
