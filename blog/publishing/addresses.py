"""A post's address on its old site, and links between imported posts rewritten to the new ones.

Patterns use Jekyll, Hexo and Hugo placeholders (`/:year/:month/:day/:title.html`) or Pelican's
(`{date:%Y}/{slug}.html`). Docusaurus computes its own (`:docusaurus`).
"""

import html
import posixpath
import re
from datetime import tzinfo
from pathlib import Path
from urllib.parse import unquote, urlsplit

from blog.content import ParsedPost
from blog.content.slugs import slugify
from blog.publishing.sites import Site

PLACEHOLDER = re.compile(r":(?P<name>[a-z_]+)|\{(?P<pelican>\w+)(?::(?P<format>[^}]*))?\}")
DATE_PREFIX = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-")
HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")')
INDEX_NAMES = {"index", "_index"}
SOURCE_SUFFIXES = (".md", ".markdown", ".mdx")


def old_address(site: Site, path: Path, parsed: ParsedPost, zone: tzinfo) -> str | None:
    """The address the old generator gave this post by default, or None when unknown."""
    front = {str(key).lower(): value for key, value in parsed.metadata.items()}
    if site.generator == "zola" and isinstance(front.get("path"), str):
        return "/" + front["path"].strip("/") + "/"
    pattern = site.old_url
    if site.sections and site.content:
        section = _sections(site, path)[:1]
        pattern = site.sections.get(section[0] if section else "", pattern)
    if pattern is None and site.generator in {"hugo", "zola"}:
        pattern = "/:sections/:slug_or_filename/"
    if pattern is None:
        return None
    values = _values(site, path, parsed, front, zone)
    if ":docusaurus" in pattern:
        pattern = pattern.replace(":docusaurus", _docusaurus(front, values))
    expanded = PLACEHOLDER.sub(lambda match: _fill(match, values, parsed, zone), pattern)
    address = "/" + re.sub(r"/{2,}", "/", expanded).lstrip("/")
    if site.generator in {"hugo", "zola"}:
        address = address.lower()  # both lower-case paths by default
    return address


def _sections(site: Site, path: Path) -> list[str]:
    if site.content is None:
        return []
    try:
        parts = list(path.relative_to(site.content).parts[:-1])
    except ValueError:
        return []
    return parts[:-1] if path.stem in INDEX_NAMES and parts else parts


def _values(site: Site, path: Path, parsed: ParsedPost, front: dict, zone: tzinfo) -> dict[str, str]:
    name = path.parent.name if path.stem in INDEX_NAMES else path.stem
    filename = DATE_PREFIX.sub("", name) or name
    explicit = str(front.get("slug") or "").strip("/")
    title_slug = slugify(parsed.title)
    categories = front.get("categories", front.get("category"))
    if isinstance(categories, str):
        categories = categories.split()
    sections = _sections(site, path)
    if site.generator == "hexo" and site.content:
        hexo_title = str(path.relative_to(site.content).with_suffix("").as_posix())
    else:
        hexo_title = filename
    values = {
        "title": explicit
        or (hexo_title if site.generator == "hexo" else title_slug if site.generator == "hugo" else filename),
        "slug": explicit or (title_slug if site.generator in {"hugo", "pelican"} else slugify(filename)),
        "filename": filename,
        "name": filename,
        "contentbasename": filename,
        "slug_or_filename": explicit or (slugify(filename) if site.generator == "zola" else filename),
        "categories": "/".join(slugify(str(item)) for item in categories or [] if str(item).strip()),
        "category": slugify(str(front.get("category") or "")) or "misc",
        "section": sections[0] if sections else "",
        "sections": "/".join(sections),
        "output_ext": ".html",
        "lang": str(front.get("lang") or "en"),
    }
    if site.generator == "docusaurus" and (dated := DATE_PREFIX.match(name)):
        # Docusaurus dates the address from the file or folder name, not the front matter.
        values.update(year=dated[1], month=f"{int(dated[2]):02d}", day=f"{int(dated[3]):02d}", dated="1")
    return values


def _fill(match: re.Match, values: dict[str, str], parsed: ParsedPost, zone: tzinfo) -> str:
    moment = parsed.published_at.astimezone(zone)
    if match["pelican"]:
        if match["pelican"] == "date":
            return moment.strftime(match["format"] or "%Y-%m-%d")
        return values.get(match["pelican"], match.group(0))
    dates = {
        "year": f"{moment.year:04d}", "month": f"{moment.month:02d}", "day": f"{moment.day:02d}",
        "i_month": str(moment.month), "i_day": str(moment.day), "short_year": moment.strftime("%y"),
        "y_day": moment.strftime("%j"), "hour": moment.strftime("%H"), "minute": moment.strftime("%M"),
        "second": moment.strftime("%S"), "monthname": moment.strftime("%B").lower(),
        "week": moment.strftime("%V"), "short_day": moment.strftime("%a"),
    }  # fmt: skip
    name = match["name"]
    return values.get(name) or dates.get(name) or ("" if name in values else match.group(0))


def _docusaurus(front: dict, values: dict[str, str]) -> str:
    """Docusaurus: the front matter's slug, else the file name's date as folders, then its name."""
    if slug := str(front.get("slug") or "").strip("/"):
        return slug
    return ":year/:month/:day/:filename" if values.get("dated") else ":filename"


def lookup_key(path: str) -> str:
    """An old path as the redirect table is searched: no trailing slash nor index.html."""
    path = unquote(path).split("#", 1)[0].split("?", 1)[0]
    for suffix in ("/index.html", "/index.htm"):
        path = path.removesuffix(suffix)
    return path.rstrip("/") or "/"


def _ours(href: str) -> bool:
    """A fragment, a mail link, or already a Weeknote address (Next.js writes /posts/slug, without
    the slash: that one is an old address)."""
    if href.startswith("/posts/"):
        return urlsplit(href).path.endswith("/")
    return href.startswith(("#", "/media/", "mailto:"))


def _inside_site(href: str, site: Site | None) -> bool:
    parts = urlsplit(href)
    if href.startswith(("#", "/media/", "mailto:")) or (
        href.startswith("/posts/") and parts.path.endswith("/")
    ):
        return False
    return not (parts.scheme or parts.netloc) or bool(
        site and site.base_url and href.startswith(site.base_url)
    )


class LinkMap:
    """Old addresses and source files of posts -> their slugs, for rewriting links between posts."""

    def __init__(self, addresses: dict[str, str], sources: dict[str, str]) -> None:
        self.addresses = {lookup_key(path): slug for path, slug in addresses.items()}
        self.sources = dict(sources)  # resolved source path -> slug

    def add(self, slug: str, old_paths: list[str], source_path: str) -> None:
        self.addresses[lookup_key(f"/posts/{slug}/")] = slug
        for path in old_paths:
            self.addresses.setdefault(lookup_key(path), slug)
        self.sources[source_path] = slug

    def rewrite(
        self, rendered: str, source: Path, old_path: str | None, site: Site | None
    ) -> tuple[str, int, int]:
        """The HTML with each link to an imported post pointing at its new address; how many links
        were re-pointed, and how many links inside the site are left (a post imported later may be
        one of them)."""
        count = unresolved = 0

        def replace(match: re.Match) -> str:
            nonlocal count, unresolved
            href = html.unescape(match[2])
            slug = self._target(href, source, old_path, site)
            if slug is None:
                unresolved += _inside_site(href, site)
                return match.group(0)
            count += 1
            fragment = href.partition("#")[2]
            new = f"/posts/{slug}/" + (f"#{fragment}" if fragment else "")
            return f"{match[1]}{html.escape(new, quote=True)}{match[3]}"

        rewritten = HREF.sub(replace, rendered) if "href" in rendered else rendered
        return rewritten, count, unresolved

    def _target(self, href: str, source: Path, old_path: str | None, site: Site | None) -> str | None:
        base_url = site.base_url if site else ""
        if not href or _ours(href):
            return None
        if base_url and href.startswith(base_url.rstrip("/") + "/"):
            href = href[len(base_url.rstrip("/")) :]
            href = "/" + urlsplit("x:" + href).path.lstrip("/")
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            return None
        path = unquote(parts.path)
        if not path:
            return None
        if path.lower().endswith(SOURCE_SUFFIXES):  # a link to a source file ({filename}, @/, ./a.md)
            folder = (site.content or site.root) if site and path.startswith("/") else source.parent
            return self.sources.get(str((folder / path.lstrip("/")).resolve()))
        if not path.startswith("/"):
            if old_path is None:
                return None
            base = old_path if old_path.endswith("/") else posixpath.dirname(old_path) + "/"
            path = posixpath.normpath(posixpath.join(base, path))
        return self.addresses.get(lookup_key(path))
