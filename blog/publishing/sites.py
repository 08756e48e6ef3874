"""Recognise a static site's generator from its configuration: its posts, static folders and old addresses.

`recognise(folder)` reads the configuration file each generator writes (never runs it) and returns a
`Site`: which files are posts, which seen files are not (and why), where root-relative files live and
the pattern of the old addresses. A folder with no known configuration is a plain folder of posts.
"""

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from dateutil import parser as dateparser

from blog.content.pipeline import REST_SUFFIXES

# Post formats Weeknote reads: Markdown, and reStructuredText through content/rest.py.
READ = {".md", ".markdown", ".mdx"} | REST_SUFFIXES
# Posts in formats Weeknote does not read are listed with what to do, never skipped in silence.
UNREAD = {
    ".adoc": ("an AsciiDoc post", "asciidoc"),
    ".asciidoc": ("an AsciiDoc post", "asciidoc"),
    ".org": ("an Org post", "org"),
    ".textile": ("a Textile post", "textile"),
    ".ipynb": ("a Jupyter notebook", "ipynb"),
    ".html": ("an HTML page", None),
    ".htm": ("an HTML page", None),
}
FOLDER_SUFFIXES = READ | {".txt"} | set(UNREAD)  # a plain folder also takes .txt posts
NAMES = {
    "jekyll": "Jekyll", "hexo": "Hexo", "hugo": "Hugo", "zola": "Zola", "pelican": "Pelican",
    "docusaurus": "Docusaurus", "gatsby": "Gatsby", "nextjs": "Next.js", "folder": "a folder of posts",
}  # fmt: skip
JEKYLL_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
PELICAN_SETTING = re.compile(r"^(?P<name>[A-Z_]+)\s*=\s*(?P<value>.+?)\s*$", re.MULTILINE)


@dataclass
class Site:
    """What an import of one folder works from."""

    generator: str  # a key of NAMES
    root: Path
    posts: list[Path] = field(default_factory=list)
    not_posts: list[tuple[Path, str]] = field(default_factory=list)  # seen, not imported, and why
    static: list[Path] = field(default_factory=list)  # where root-relative files (/img/a.png) live
    old_url: str | None = None  # the old address pattern, when one is known
    sections: dict[str, str] = field(default_factory=dict)  # Hugo: a pattern per section
    base_url: str = ""  # the old site's own URL: links to it are links inside the site
    content: Path | None = None  # the folder posts' sections are counted from (Hugo, Zola)
    shared_category: str | None = None  # a category every post has says nothing: not a tag

    @property
    def name(self) -> str:
        return NAMES[self.generator]

    def describe(self) -> dict:
        return {
            "path": str(self.root),
            "generator": self.generator,
            "name": self.name,
            "posts": len(self.posts),
            "static": [str(folder) for folder in self.static],
            "old_url": self.old_url or (", ".join(sorted(set(self.sections.values()))) or None),
            "base_url": self.base_url or None,
        }


DATE_LINE = re.compile(r"""^\s*date\s*[:=]\s*["']?([^"'\n]+)""", re.IGNORECASE | re.MULTILINE)
NAME_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


def oldest_first(posts: list[Path]) -> list[Path]:
    """Posts in the order they were written (file name date, else the front matter's `date`), so
    that of two posts wanting one slug the older keeps it; undated posts last, in path order."""
    return sorted(posts, key=_written_on)


def _written_on(path: Path) -> str:
    name = path.parent.name if path.stem in {"index", "_index"} else path.stem
    if found := NAME_DATE.match(name):
        return found[1]
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            head = file.read(4000)
        if found := DATE_LINE.search(head):
            return dateparser.parse(found[1].strip()).date().isoformat()
    except (OSError, ValueError, OverflowError):
        pass
    return "9999"


def recognise(folder: Path, assets: list[Path] | None = None, old_url: str | None = None) -> Site:
    """The site rooted at folder; assets and old_url, when given, override what was read."""
    folder = folder.resolve()
    for finder in (_docusaurus, _hexo, _jekyll, _zola, _hugo, _pelican, _gatsby, _nextjs):
        if (site := finder(folder)) is not None:
            break
    else:
        site = Site("folder", folder, static=[folder])
        _split_posts(site, _files(folder, FOLDER_SUFFIXES), text_posts=True)
    site.static = [path.resolve() for path in assets or []] + [p for p in site.static if p.is_dir()]
    if site.generator != "folder":
        site.posts = oldest_first(site.posts)
    if old_url:
        site.old_url, site.sections = old_url, {}
    return site


def _files(folder: Path, suffixes: set[str], skip: tuple[str, ...] = ()) -> list[Path]:
    """Post files below folder, sorted, leaving out hidden parts and the skipped folder names."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in suffixes
        and not any(part.startswith(".") or part in skip for part in path.relative_to(folder).parts)
    )


def _split_posts(site: Site, candidates: list[Path], text_posts: bool = False) -> None:
    """Section pages (_index.md) and text attachments are not posts: listed with the reason.

    In a plain folder a .txt file is a post when it opens like one (front matter, a Pelican
    header or a heading); a generator's site never takes .txt files as posts."""
    for path in candidates:
        if path.name.startswith("_index.") and site.generator != "folder":
            site.not_posts.append((path, "a section page (_index), not a post"))
        elif (unread := UNREAD.get(path.suffix.lower())) is not None:
            site.not_posts.append((path, unread_reason(path.suffix, *unread)))
        elif path.suffix.lower() not in READ and not (text_posts and _opens_like_a_post(path)):
            site.not_posts.append((path, f"an attachment ({path.suffix} file), not a post"))
        else:
            site.posts.append(path)


def unread_reason(suffix: str, kind: str, pandoc_format: str | None) -> str:
    if pandoc_format is None:  # HTML with front matter is a post once named .md (Markdown keeps HTML)
        return f"{kind} ({suffix}), not imported: if it is a post, rename it to .md and import again"
    return (
        f"{kind} ({suffix}), not imported: Weeknote reads Markdown; convert it first "
        f"(pandoc -f {pandoc_format} -t gfm -s) and import again"
    )


def _opens_like_a_post(path: Path) -> bool:
    with path.open("rb") as file:
        start = file.read(200).lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace")
    first = start.split("\n", 1)[0]
    return first.startswith(("---", "+++", "{", "#")) or bool(re.match(r"[A-Za-z][\w-]*:\s", first))


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _first(folder: Path, *names: str) -> Path | None:
    return next((folder / name for name in names if (folder / name).is_file()), None)


def _jekyll(folder: Path) -> Site | None:
    config = _first(folder, "_config.yml", "_config.yaml")
    if config is None or not (folder / "_posts").is_dir():
        return None
    settings = _read_yaml(config)
    site = Site(
        "jekyll", folder, static=[folder], base_url=_base(settings.get("url"), settings.get("baseurl"))
    )
    pattern = str(settings.get("permalink") or "date")
    site.old_url = JEKYLL_STYLES.get(pattern, pattern)
    _split_posts(site, _files(folder, FOLDER_SUFFIXES, skip=("_site", "node_modules", "vendor", "_drafts")))
    site.posts = [path for path in site.posts if "_posts" in path.relative_to(folder).parts]
    site.not_posts = [  # layouts, includes and pages are HTML too: only a post's format is news
        (path, reason)
        for path, reason in site.not_posts
        if path.suffix.lower() not in UNREAD or "_posts" in path.relative_to(folder).parts
    ]
    return site


def _hexo(folder: Path) -> Site | None:
    config = _first(folder, "_config.yml", "_config.yaml")
    package = folder / "package.json"
    is_hexo = (folder / "source" / "_posts").is_dir() or (
        package.is_file() and '"hexo"' in package.read_text()
    )
    if config is None or not is_hexo:
        return None
    settings = _read_yaml(config)
    source = folder / str(settings.get("source_dir") or "source")
    site = Site("hexo", folder, static=[source], base_url=_base(settings.get("url"), None))
    root = "/" + str(settings.get("root") or "/").strip("/")
    pattern = str(settings.get("permalink") or ":year/:month/:day/:title/")
    site.old_url = (
        (root.rstrip("/") + "/" + pattern.lstrip("/")) if root != "/" else "/" + pattern.lstrip("/")
    )
    _split_posts(site, _files(source / "_posts", FOLDER_SUFFIXES))
    site.content = source / "_posts"
    return site


def _hugo(folder: Path) -> Site | None:
    names = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml", "config.yaml", "config.yml")
    config = _first(folder, *names) or _first(folder / "config" / "_default", *names)
    if config is None:
        return None
    settings = _read_toml(config) if config.suffix == ".toml" else _read_yaml(config)
    if config.suffix == ".json":
        settings = json.loads(config.read_text(encoding="utf-8"))
    lowered = {str(key).lower(): value for key, value in settings.items()}
    content = folder / str(lowered.get("contentdir") or "content")
    site = Site("hugo", folder, static=[folder / str(lowered.get("staticdir") or "static")], content=content)
    site.base_url = _base(lowered.get("baseurl"), None)
    permalinks = lowered.get("permalinks") or {}
    permalinks = (
        permalinks.get("page", permalinks) if isinstance(permalinks.get("page"), dict) else permalinks
    )
    site.sections = {str(key): str(value) for key, value in permalinks.items() if isinstance(value, str)}
    site.old_url = None
    _split_posts(site, _files(content, FOLDER_SUFFIXES))
    return site


def _zola(folder: Path) -> Site | None:
    config = folder / "config.toml"
    if not config.is_file():
        return None
    settings = _read_toml(config)
    if "base_url" not in settings:  # Hugo writes baseURL
        return None
    content = folder / "content"
    site = Site("zola", folder, static=[folder / "static", content], content=content)
    site.base_url = _base(settings.get("base_url"), None)
    _split_posts(site, _files(content, FOLDER_SUFFIXES))
    return site


def _pelican(folder: Path) -> Site | None:
    config = folder / "pelicanconf.py"
    if not config.is_file():
        return None
    settings = _python_settings(config)
    content = folder / str(settings.get("PATH") or "content")
    site = Site("pelican", folder, static=[content], content=content)
    site.base_url = _base(settings.get("SITEURL"), None)
    site.old_url = "/" + str(settings.get("ARTICLE_URL") or "{slug}.html").lstrip("/")
    _split_posts(site, _files(content, FOLDER_SUFFIXES, skip=tuple(settings.get("STATIC_PATHS") or ())))
    categories = {_header_value(path, "category") for path in site.posts}
    if len(site.posts) > 1 and len(categories) == 1 and None not in categories:
        site.shared_category = categories.pop()
    return site


def _header_value(path: Path, name: str) -> str | None:
    """A value of a Pelican `Key: value` header (`:key: value` in reStructuredText), read from the
    first lines of the file."""
    with path.open(encoding="utf-8", errors="replace") as file:
        if path.suffix.lower() == ".rst":
            found = re.search(
                rf"^:{re.escape(name)}:[ \t]*(.*)$", file.read(4000), re.MULTILINE | re.IGNORECASE
            )
            return found[1].strip() if found else None
        for line in file:
            if not line.strip():
                break
            key, colon, value = line.partition(":")
            if colon and key.strip().lower() == name:
                return value.strip()
    return None


def _python_settings(path: Path) -> dict:
    """The plain literal settings of a pelicanconf.py, read as text (the file is never run)."""
    values: dict = {}
    for match in PELICAN_SETTING.finditer(path.read_text(encoding="utf-8")):
        raw = match["value"]
        if raw[:1] in "\"'" and raw[-1:] == raw[:1]:
            values[match["name"]] = raw[1:-1]
        elif raw.startswith("[") and raw.endswith("]"):
            values[match["name"]] = re.findall(r"[\"']([^\"']*)[\"']", raw)
    return values


def _docusaurus(folder: Path) -> Site | None:
    config = _first(folder, "docusaurus.config.js", "docusaurus.config.ts", "docusaurus.config.mjs")
    if config is None:
        return None
    text = config.read_text(encoding="utf-8")
    base = re.search(r"routeBasePath\s*:\s*[\"']([^\"']*)[\"']", text)
    blog_path = re.search(r"\bpath\s*:\s*[\"']([^\"']*blog[^\"']*)[\"']", text)
    url = re.search(r"\burl\s*:\s*[\"']([^\"']+)[\"']", text)
    site = Site("docusaurus", folder, static=[folder / "static"], base_url=_base(url and url[1], None))
    route = (base[1] if base else "blog").strip("/")
    site.old_url = f"/{route}/:docusaurus" if route else "/:docusaurus"
    posts = folder / (blog_path[1] if blog_path else "blog")
    _split_posts(site, _files(posts, FOLDER_SUFFIXES))
    site.posts = [path for path in site.posts if not path.name.startswith("_")]
    site.content = posts
    return site


def _gatsby(folder: Path) -> Site | None:
    if _first(folder, "gatsby-config.js", "gatsby-config.ts", "gatsby-config.mjs") is None:
        return None
    content = next(
        (folder / name for name in ("content/blog", "content/posts", "content") if (folder / name).is_dir()),
        folder / "content",
    )
    site = Site("gatsby", folder, static=[folder / "static"], old_url="/:filename/", content=content)
    _split_posts(site, _files(content, FOLDER_SUFFIXES))
    return site


def _nextjs(folder: Path) -> Site | None:
    if _first(folder, "next.config.js", "next.config.mjs", "next.config.ts") is None:
        return None
    content = next(
        (
            folder / name
            for name in ("_posts", "posts", "content/posts", "content")
            if (folder / name).is_dir()
        ),
        None,
    )
    if content is None:
        return None
    site = Site("nextjs", folder, static=[folder / "public"], old_url="/posts/:filename", content=content)
    _split_posts(site, _files(content, FOLDER_SUFFIXES))
    return site


def _base(url: object, baseurl: object) -> str:
    """The old site's address (scheme, host and base path), without a trailing slash."""
    if not isinstance(url, str) or not urlsplit(url).netloc:
        return ""
    path = str(baseurl or "").strip("/")
    return url.rstrip("/") + (f"/{path}" if path else "")
