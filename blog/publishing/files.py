"""Local files a post references (images, downloads): found, copied into the media store, re-pointed.

A reference is read from the post's sanitised HTML (`src`, `href`, `poster`, `srcset`), so every way
of writing an image (Markdown, HTML, a figure shortcode, a Hexo asset tag) is covered. A relative path
is looked up beside the post, then under the old address; a root-relative one in the site's static
folders. Nothing outside the site's folders is ever read.
"""

import hashlib
import html
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Both begin with what is cheap to look for first: tried at each space, or at each occurrence of the
# old reference, not at every character of the post (several times faster on a long post).
ATTRIBUTE = re.compile(
    r'(?<=\s)(?:(?P<name>(?:src|href|poster)=")(?P<url>[^"]*)"|(?P<set>srcset=")(?P<list>[^"]*)")'
)
BEFORE_REFERENCE = re.compile(r"[(\"'\s=,<]")  # what may come right before a reference in Markdown
PAGE_SUFFIXES = {"", ".html", ".htm", ".md", ".markdown", ".mdx", ".php", ".xml"}
MEDIA_PREFIX = "/media/"
HASHED = re.compile(r"^[0-9a-f]{16}-")


@dataclass
class FileReport:
    """The files one post references: copied (old reference -> new address) and missing."""

    copied: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


class FileCopier:
    """Copies referenced files into the media folder under content-hash names, once each."""

    def __init__(self, media_folder: Path, dry_run: bool = False) -> None:
        self.media_folder = media_folder
        self.dry_run = dry_run
        self.stored: dict[Path, str] = {}  # source file -> its media address, for this run

    def store(self, source: Path) -> str:
        if (known := self.stored.get(source)) is not None:
            return known
        data = source.read_bytes()
        prefix = hashlib.sha256(data).hexdigest()[:16] + "-"
        name = source.name if source.name.startswith(prefix) else prefix + source.name
        name = re.sub(r"[^\w.-]", "-", name)
        if not self.dry_run:
            self.media_folder.mkdir(parents=True, exist_ok=True)
            target = self.media_folder / name
            if not target.exists():
                shutil.copyfile(source, target)
        self.stored[source] = MEDIA_PREFIX + name
        return self.stored[source]


def is_local_file(url: str) -> bool:
    """Whether a reference names a file on the old site (not a page, not another site)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path or url.startswith(("#", MEDIA_PREFIX, "/posts/")):
        return False
    return posixpath.splitext(unquote(parts.path))[1].lower() not in PAGE_SUFFIXES


def references(rendered: str) -> list[str]:
    """The local file references in rendered HTML, in order, each once."""
    found: list[str] = []
    for match in ATTRIBUTE.finditer(rendered):
        if match["name"]:
            urls = [html.unescape(match["url"])]
        else:
            urls = [
                part.strip().split()[0] for part in html.unescape(match["list"]).split(",") if part.strip()
            ]
        found.extend(url for url in urls if is_local_file(url))
    return list(dict.fromkeys(found))


def find_file(
    url: str, post: Path, folders: list[Path], old_path: str | None, allowed: list[Path]
) -> Path | None:
    """The file a reference names, looked up as the old generator would; None when there is none."""
    path = unquote(urlsplit(url).path)
    candidates: list[Path] = []
    if path.startswith("/"):
        candidates += [folder / path.lstrip("/") for folder in folders]
        candidates.append(post.parent / path.lstrip("/"))
    else:
        candidates.append(post.parent / path)
        if post.stem not in {"index", "_index"}:
            candidates.append(post.parent / post.stem / path)  # Hexo's post asset folder
        if old_path:
            base = old_path if old_path.endswith("/") else posixpath.dirname(old_path) + "/"
            absolute = posixpath.normpath(posixpath.join(base, path)).lstrip("/")
            candidates += [folder / absolute for folder in folders]
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and any(resolved.is_relative_to(root) for root in allowed):
            return resolved
    return None


def rewrite_html(rendered: str, mapping: dict[str, str]) -> str:
    """Point every copied reference (src, href, poster and each srcset entry) at its new address."""
    if not mapping:
        return rendered

    def replace(match: re.Match) -> str:
        if match["name"]:
            url = html.unescape(match["url"])
            return f'{match["name"]}{html.escape(mapping.get(url, url), quote=True)}"'
        entries = []
        for part in html.unescape(match["list"]).split(","):
            words = part.strip().split()
            if words:
                words[0] = mapping.get(words[0], words[0])
                entries.append(" ".join(words))
        return f'{match["set"]}{html.escape(", ".join(entries), quote=True)}"'

    return ATTRIBUTE.sub(replace, rendered)


def rewrite_source(body: str, mapping: dict[str, str]) -> str:
    """Point the Markdown source at the new addresses: each reference as written, between delimiters."""
    for old, new in sorted(mapping.items(), key=lambda item: -len(item[0])):
        pattern = re.compile(re.escape(old) + r"(?=[)\"'\s>,]|$)", re.MULTILINE)

        def replace(match: re.Match, new: str = new, text: str = body) -> str:
            start = match.start()
            return new if start and BEFORE_REFERENCE.match(text, start - 1) else match[0]

        body = pattern.sub(replace, body)
    return body


def media_names(body: str) -> list[str]:
    """The media-store names a post's source points at (what an export copies beside it)."""
    return list(dict.fromkeys(re.findall(r"/media/([0-9a-f]{16}-[\w.-]+)", body)))
