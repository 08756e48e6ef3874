"""Normalise front matter from any blog into Weeknote's fields (docs/architecture.md's normalisation table).

Each field takes the first source that has a value. Whatever a post's front matter
says that no field takes is kept in `extra`, so nothing the author wrote is lost.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from blog.content.controls import clean_fields
from blog.content.dates import (
    date_from_filename,
    date_from_folder,
    date_from_title,
    date_from_url_path,
    parse_date,
)
from blog.content.errors import ContentError
from blog.content.headings import find_first_h1
from blog.content.slugs import slugify

INDEX_STEMS = {"index", "_index"}
DATE_PREFIX = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}|\d{6})[-_]")
ABSOLUTE_URL = re.compile(r"^(https?:)?//", re.IGNORECASE)
FALSE_WORDS = {"false", "no", "0", "off", ""}

DATE_KEYS = ("date", "publishdate", "pubdate", "published")
UPDATED_KEYS = ("updated", "lastmod", "modified", "last_modified_at")
TAG_KEYS = ("tags", "keywords", "categories", "category")
EXCERPT_KEYS = ("excerpt", "description", "summary", "meta")
COVER_KEYS = (
    "image", "images", "cover", "coverimage", "featuredimage", "featuredimagepath",
    "header", "headerimage",
)  # fmt: skip
# The canonical key of each field; any other source is reported as inferred.
CANONICAL = {
    "title": "title", "published_at": "date", "updated_at": "updated", "tags": "tags",
    "excerpt": "excerpt", "draft": "draft", "slug": "slug", "cover_image": "image",
}  # fmt: skip


@dataclass
class Metadata:
    title: str = ""
    slug: str = ""
    slug_explicit: bool = False
    published_at: datetime | None = None
    updated_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    excerpt: str | None = None
    draft: bool = False
    redirects: list[str] = field(default_factory=list)
    cover_image: str | None = None
    cover_file: Path | None = None
    # A cover found neither as a URL nor beside the post: (its key as written, its value), for the
    # importer to look up where the old site served it (publishing/files.py).
    cover_wanted: tuple[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    inferred: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    mdx: bool = False  # the body is MDX (Docusaurus, .mdx files)


class _Source:
    """Front matter looked up case-insensitively, remembering which keys were used."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata
        self.keys = {key.lower(): key for key in metadata if isinstance(key, str)}
        self.used: set[str] = set()

    def get(self, name: str) -> Any:
        key = self.keys.get(name)
        return None if key is None else self.metadata[key]

    def take(self, name: str) -> Any:
        """Return a key's value and mark it as consumed (so it is not kept in extra)."""
        if name in self.keys:
            self.used.add(self.keys[name])
        return self.get(name)

    def first(self, names: tuple[str, ...], accept=lambda value: value not in (None, "", [])):
        """Return (key as written, value) of the first present key whose value is accepted."""
        for name in names:
            value = self.get(name)
            if value is not None and accept(value):
                self.take(name)
                return self.keys[name], value
        return None, None

    def rest(self) -> dict[str, Any]:
        return {key: jsonable(value) for key, value in self.metadata.items() if key not in self.used}


def normalise_metadata(
    metadata: dict[str, Any],
    body: str,
    path: Path,
    zone: tzinfo,
    mtime: datetime | None = None,
) -> Metadata:
    """Map raw front matter, body and file location onto Weeknote's post fields."""
    source = _Source(metadata)
    result = Metadata()
    _title(result, source, body, path)
    _published_at(result, source, path, zone, mtime)
    _updated_at(result, source, zone)
    _tags(result, source)
    _excerpt(result, source)
    _draft(result, source)
    _without_controls(result)
    _slug_and_redirects(result, source, path)
    _cover(result, source, path)
    result.extra = source.rest()
    return result


def _without_controls(result: Metadata) -> None:
    fields = {"title": result.title, "tags": result.tags, "excerpt": result.excerpt}
    cleaned = clean_fields(fields, result.warnings)
    result.title, result.tags, result.excerpt = cleaned["title"], cleaned["tags"], cleaned["excerpt"]


def _note(result: Metadata, name: str, source: str) -> None:
    if CANONICAL.get(name) != source.lower():
        result.inferred[name] = source


def _title(result: Metadata, source: _Source, body: str, path: Path) -> None:
    key, value = source.first(("title",), accept=lambda v: str(v).strip() != "")
    if key:
        result.title = str(value).strip()
    elif heading := find_first_h1(body):
        result.title, key = heading, "first H1"
    else:
        result.title, key = _humanise(_stem_without_date(path)), "file name"
    _note(result, "title", key)


def _published_at(
    result: Metadata, source: _Source, path: Path, zone: tzinfo, mtime: datetime | None
) -> None:
    def is_date(value: Any) -> bool:
        return isinstance(value, (date, str)) and not isinstance(value, bool) and value != ""

    key, value = source.first(DATE_KEYS, accept=is_date)
    if key:
        result.published_at = parse_date(value, zone, field=key)
        _note(result, "published_at", key)
        return
    zola_path = source.get("path")
    candidates = (
        ("file name", lambda: date_from_filename(path, zone)),
        ("folder", lambda: date_from_folder(path, zone)),
        ("path", lambda: date_from_url_path(str(zola_path), zone) if zola_path else None),
        ("title", lambda: date_from_title(result.title, zone)),
        ("file modified time", lambda: mtime),
    )
    for name, find in candidates:
        if found := find():
            result.published_at = found
            _note(result, "published_at", name)
            return
    raise ContentError("no date: add 'date: YYYY-MM-DD' to the front matter")


def _updated_at(result: Metadata, source: _Source, zone: tzinfo) -> None:
    key, value = source.first(UPDATED_KEYS)
    if key:
        result.updated_at = parse_date(value, zone, field=key)
        _note(result, "updated_at", key)


def _tags(result: Metadata, source: _Source) -> None:
    key, value = source.first(TAG_KEYS)
    if not key:
        return
    result.tags = parse_tags(value)
    _note(result, "tags", key)


def parse_tags(value: Any) -> list[str]:
    """Accept a list, a comma/semicolon string or a space-separated (Jekyll) string."""
    if isinstance(value, (list, tuple)):
        names = [str(item).strip() for item in value if item is not None]
    elif isinstance(value, str):
        names = re.split(r"[,;]", value) if re.search(r"[,;]", value) else value.split()
    else:
        names = [str(value)]
    tags: dict[str, str] = {}
    for name in (name.strip() for name in names):
        if name and slugify(name) and slugify(name) not in tags:
            tags[slugify(name)] = name
    return list(tags.values())


def _excerpt(result: Metadata, source: _Source) -> None:
    key, value = source.first(EXCERPT_KEYS, accept=lambda v: isinstance(v, str) and v.strip())
    if key:
        result.excerpt = value.strip()
        _note(result, "excerpt", key)


def _draft(result: Metadata, source: _Source) -> None:
    if (value := source.take("draft")) is not None:
        result.draft = _truthy(value)
        _note(result, "draft", "draft")
    elif isinstance(value := source.get("published"), bool):
        source.take("published")
        result.draft = not value
        _note(result, "draft", "published")
    elif isinstance(value := source.get("status"), str):
        source.take("status")
        result.draft = value.strip().lower() in {"draft", "hidden"}
        _note(result, "draft", "status")


def _truthy(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() not in FALSE_WORDS


def _slug_and_redirects(result: Metadata, source: _Source, path: Path) -> None:
    slug, key = "", ""
    if explicit := source.take("slug"):
        slug, key = slugify(str(explicit).strip("/")), "slug"
        result.slug_explicit = bool(slug)
    for name in ("permalink", "url"):
        value = source.get(name)
        if not isinstance(value, str) or ":" in urlsplit(value).path:
            continue  # a Jekyll pattern such as /:year/:title/ names no single page
        source.take(name)
        old_path = _url_path(value)
        result.redirects.append(old_path)
        if not slug:
            slug, key = slugify(old_path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]), name
    for name in ("aliases", "redirect_from"):
        value = source.take(name)
        values = [value] if isinstance(value, str) else value or []
        result.redirects.extend(_url_path(str(item)) for item in values if str(item).strip())
    if not slug:
        if path.stem in INDEX_STEMS:
            slug, key = slugify(DATE_PREFIX.sub("", path.parent.name)), "folder"
        else:
            slug, key = slugify(_stem_without_date(path)), "file name"
    if not slug:
        slug, key = slugify(result.title) or "post", "title"
    result.slug = slug
    result.redirects = list(dict.fromkeys(result.redirects))
    _note(result, "slug", key)


def _url_path(value: str) -> str:
    """The path part of an old URL, always starting with '/'."""
    return "/" + urlsplit(value.strip()).path.lstrip("/")


COVER_NOT_KEPT = "cover image not kept"


def _cover(result: Metadata, source: _Source, path: Path) -> None:
    tried = []
    for name in COVER_KEYS:
        value = _cover_value(name, source.get(name))
        if not value:
            continue
        if ABSOLUTE_URL.match(value):
            result.cover_image = value
        elif (candidate := (path.parent / value.lstrip("/")).resolve()).is_file():
            result.cover_image, result.cover_file = value, candidate
        else:
            tried.append(f"{source.keys[name]}: {value}")
            result.cover_wanted = result.cover_wanted or (source.keys[name], value)
            continue
        if name not in {"images", "header", "cover"} or isinstance(source.get(name), str):
            source.take(name)
        _note(result, "cover_image", source.keys[name])
        return
    if tried:
        result.warnings.append(
            f"{COVER_NOT_KEPT}, it is neither an absolute URL nor a file beside the post "
            f"({'; '.join(tried)}); the value stays in extra"
        )


def _cover_value(name: str, value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = next((value[key] for key in ("image", "src", "path", "url") if value.get(key)), None)
    elif name == "header":
        value = None  # a header is only a cover through its `image` key
    return value.strip() if isinstance(value, str) and value.strip() else None


def _stem_without_date(path: Path) -> str:
    return DATE_PREFIX.sub("", path.stem) or path.stem


def _humanise(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else "Untitled"


def jsonable(value: Any) -> Any:
    """Make YAML/TOML values (dates, nested lists) storable in a JSON column."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
