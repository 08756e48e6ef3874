"""Store parsed posts in the database: create, update or leave alone, one file at a time."""

import hashlib
import shutil
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from blog.content import ContentError, ParsedPost, parse_file
from blog.content.metadata import COVER_NOT_KEPT
from blog.content.pipeline import hash_source
from blog.content.reader import MAX_BYTES
from blog.models import Post, PostTag, Redirect, utcnow
from blog.publishing.addresses import LinkMap, old_address
from blog.publishing.files import FileCopier, find_file, references, rewrite_html, rewrite_source
from blog.publishing.post_links import free_redirects, tag_ids
from blog.publishing.sites import Site

INSERT_POST = insert(Post.__table__).returning(Post.__table__.c.id)
INSERT_POST_TAG = insert(PostTag.__table__)
POSTS = Post.__table__
SET_TEXT = (
    update(POSTS)
    .where(POSTS.c.id == bindparam("post_id"))
    .values(plain_text=bindparam("plain"), code_text=bindparam("code"))
)

LOCATION = {"source_path", "content_hash"}  # where a post came from, not what it says


@dataclass
class ImportResult:
    """What happened to one file; serialised as one entry of `weeknote import --json`."""

    path: str
    status: str = "failed"  # imported, updated, unchanged or failed
    slug: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    draft: bool | None = None
    inferred: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    old_addresses: list[str] = field(default_factory=list)  # registered to answer 301
    files_copied: dict[str, str] = field(default_factory=dict)  # reference -> media address
    files_missing: list[str] = field(default_factory=list)
    links_rewritten: int = 0
    links_unresolved: int = 0  # links inside the old site that lead to no known post (yet)

    def as_json(self) -> dict:
        data = dict(self.__dict__)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        return data


class Importer:
    """Imports files into a session; the caller commits or rolls back after each file."""

    def __init__(self, session: Session, zone: tzinfo, media_folder: Path, dry_run: bool = False):
        self.session = session
        self.zone = zone
        self.media_folder = media_folder
        self.dry_run = dry_run
        self.written: dict[str, str] = {}  # slug -> source path, for posts written this run
        # Two queries up front instead of two per file: most files of a first import are new.
        # A slug freed during the run stays reserved until the next run (its redirect lives on).
        self.known_paths = set(session.scalars(select(Post.source_path).where(Post.source_path.is_not(None))))
        self.slug_owners = {slug: post_id for slug, post_id in session.execute(select(Post.slug, Post.id))}
        # Ids of tags that existed before the current file (so a rolled-back file cannot stale them).
        self.tag_ids: dict[str, int] = {}
        self.written_dates: dict[str, datetime] = {}  # slug -> date, to say which post keeps a slug
        self.files = FileCopier(media_folder, dry_run)
        # Root-relative references looked up already: most posts of a site share a few images.
        self.found: dict[tuple, Path | None] = {}
        self._links: LinkMap | None = None
        self.to_relink: list[
            tuple[int, Path, str | None, Site | None]
        ] = []  # posts whose links may point ahead

    @property
    def links(self) -> LinkMap:
        """Every known post's old paths and source file, read once, then kept up to date."""
        if self._links is None:
            rows = self.session.execute(select(Redirect.old_path, Post.slug).join(Redirect.post))
            sources = self.session.execute(
                select(Post.source_path, Post.slug).where(Post.source_path.is_not(None))
            )
            slugs = {f"/posts/{slug}/": slug for slug in self.slug_owners}
            self._links = LinkMap(slugs | dict(rows.all()), dict(sources.all()))
        return self._links

    def import_file(self, path: Path, site: Site | None = None) -> ImportResult:
        """Parse one file and create, update or skip its post (flushed, not committed)."""
        source_path = str(path.resolve())
        result = ImportResult(str(path))
        try:
            existing = None
            if source_path in self.known_paths:
                existing = self.session.scalar(select(Post).where(Post.source_path == source_path))
            if existing and existing.content_hash == self._quick_hash(path):
                self.written[existing.slug] = source_path
                result.status, result.slug, result.title = "unchanged", existing.slug, existing.title
                result.published_at, result.draft = existing.published_at, existing.draft
                result.tags = [tag.name for tag in existing.tags]
                return result
            parsed = parse_file(
                path, self.zone, mdx=True if site and site.generator == "docusaurus" else None
            )
        except ContentError as error:
            result.error = str(error)
            return result
        except OSError as error:
            result.error = f"cannot read the file: {error.strerror or error}"
            return result
        if site and site.shared_category:
            _keep_shared_category(parsed, site.shared_category)
        result.inferred, result.warnings = parsed.inferred, parsed.warnings
        post = existing or self._claim_by_slug(parsed)
        parsed.slug = self._unique_slug(parsed.slug, post, source_path, result.warnings, parsed.published_at)
        self.written_dates[parsed.slug] = parsed.published_at
        old_path = self._bring_site(site, path, parsed, result)
        fields = self._fields(parsed, source_path)
        if post is None:
            post_id = self._insert(fields, parsed)
            status = "imported"
        else:
            if parsed.inferred.get("published_at") == "file modified time":
                fields["published_at"] = post.published_at  # an edit does not re-date the post
            status = "unchanged" if self._same(post, fields, parsed) else "updated"
            with self.session.no_autoflush:
                self._update(post, fields, parsed, status)
            self.session.flush()
            post_id = post.id
        self.written[parsed.slug] = source_path
        self.links.add(parsed.slug, parsed.redirects, source_path)
        if result.links_unresolved:
            self.to_relink.append((post_id, path, old_path, site))
        result.status, result.slug, result.title = status, fields["slug"], fields["title"]
        result.published_at, result.draft, result.tags = fields["published_at"], fields["draft"], parsed.tags
        return result

    def _bring_site(
        self, site: Site | None, path: Path, parsed: ParsedPost, result: ImportResult
    ) -> str | None:
        """Register the old default address, copy referenced files, re-point links; the old address."""
        old_path = old_address(site, path, parsed, self.zone) if site else None
        if old_path and old_path.rstrip("/") != f"/posts/{parsed.slug}":
            parsed.redirects = list(dict.fromkeys([old_path, *parsed.redirects]))
        result.old_addresses = list(parsed.redirects)
        folders = site.static if site else []
        allowed = [*folders, site.root if site else path.parent.resolve()]
        _settle_cover(parsed, path, folders, old_path, allowed)
        for reference in references(parsed.html):
            key = (reference, path.parent, id(site)) if reference.startswith("/") else None
            if key is None or key not in self.found:
                found = find_file(reference, path, folders, old_path, allowed)
                if key is not None:
                    self.found[key] = found
            else:
                found = self.found[key]
            if found is None:
                result.files_missing.append(reference)
                result.warnings.append(f"file not found: {reference} (the reference is kept as written)")
            else:
                result.files_copied[reference] = self.files.store(found)
        parsed.html = rewrite_html(parsed.html, result.files_copied)
        parsed.body = rewrite_source(parsed.body, result.files_copied)
        parsed.html, result.links_rewritten, unresolved = self.links.rewrite(
            parsed.html, path.resolve(), old_path, site
        )
        result.links_unresolved = unresolved
        return old_path

    def finish(self) -> int:
        """Re-point links to posts imported after the post that links to them; how many links."""
        changed = 0
        for post_id, path, old_path, site in self.to_relink:
            stored = self.session.scalar(select(Post.html).where(Post.id == post_id))
            if stored is None:
                continue  # rolled back
            rewritten, count, _ = self.links.rewrite(stored, path.resolve(), old_path, site)
            if count and rewritten != stored:
                self.session.execute(update(Post).where(Post.id == post_id).values(html=rewritten))
                changed += count
        self.to_relink.clear()
        return changed

    def _quick_hash(self, path: Path) -> str | None:
        if path.stat().st_size > MAX_BYTES:
            return None
        return hash_source(path.read_bytes())

    def _claim_by_slug(self, parsed: ParsedPost) -> Post | None:
        """An explicit `slug:` names its post, unless another file of this run wrote it."""
        if not parsed.slug_explicit or parsed.slug in self.written:
            return None
        return self.session.scalar(select(Post).where(Post.slug == parsed.slug))

    def _fields(self, parsed: ParsedPost, source_path: str) -> dict:
        """The post's column values; a cover file is copied into the media store."""
        return {
            "slug": parsed.slug,
            "title": parsed.title,
            "body": parsed.body,
            "html": parsed.html,
            "plain_text": parsed.plain_text,
            "code_text": parsed.code_text,
            "excerpt": parsed.excerpt,
            "reading_minutes": parsed.reading_minutes,
            "draft": parsed.draft,
            "published_at": parsed.published_at,
            "updated_at": parsed.updated_at,
            "extra": {key: value for key, value in parsed.extra.items() if key != "guid"},  # a column
            "cover_image": self._store_cover(parsed),
            "source_path": source_path,
            "content_hash": parsed.content_hash,
        }

    @staticmethod
    def _same(post: Post, fields: dict, parsed: ParsedPost) -> bool:
        """Whether the stored post already says what the file says (its location aside)."""
        return (
            all(getattr(post, name) == value for name, value in fields.items() if name not in LOCATION)
            and [tag.name for tag in post.tags] == parsed.tags
            and set(parsed.redirects) <= {redirect.old_path for redirect in post.redirects}
        )

    def _insert(self, fields: dict, parsed: ParsedPost) -> int:
        """Insert a new post with Core statements: a first import is mostly new posts."""
        guid = parsed.extra.get("guid")
        if (
            isinstance(guid, str)
            and guid
            and self.session.scalar(select(Post.id).where(Post.guid == guid)) is None
        ):
            fields = fields | {"guid": guid}  # an exported post keeps its feed id
        ids = self._tag_ids(parsed.tags)
        # The search index re-reads a post's whole text each time a tag is added (an FTS5 row is
        # indexed again as a whole), so a tagged post's text comes after its tags: read once.
        later = {"plain_text": "", "code_text": ""} if ids else {}
        # Statements with parameters, not .values(), so SQLAlchemy compiles each once for the run,
        # run on the session's connection (its transaction) without the ORM's per-statement work.
        connection = self.session.connection()
        post_id = connection.execute(INSERT_POST, fields | later).scalar_one()
        if ids:
            links = [{"post_id": post_id, "tag_id": tag_id, "position": n} for n, tag_id in enumerate(ids)]
            connection.execute(INSERT_POST_TAG, links)
            text = {"post_id": post_id, "plain": fields["plain_text"], "code": fields["code_text"]}
            connection.execute(SET_TEXT, text)
        paths = self._free_redirects(parsed.redirects, fields["slug"], set(), parsed.warnings)
        if paths:
            rows = [{"old_path": path, "post_id": post_id} for path in paths]
            connection.execute(insert(Redirect.__table__), rows)
        return post_id

    def _update(self, post: Post, fields: dict, parsed: ParsedPost, status: str) -> None:
        if status == "unchanged":
            post.source_path, post.content_hash = fields["source_path"], fields["content_hash"]
            return
        old_slug = post.slug
        for name, value in fields.items():
            setattr(post, name, value)
        post.modified_at = utcnow()  # also when only tags changed: cached pages key on it
        current = {link.tag_id: link for link in post.post_tags}
        post.post_tags = [
            current.get(tag_id) or PostTag(tag_id=tag_id) for tag_id in self._tag_ids(parsed.tags)
        ]
        wanted = parsed.redirects + ([f"/posts/{old_slug}/"] if old_slug != post.slug else [])
        present = {redirect.old_path for redirect in post.redirects}
        for path in self._free_redirects(wanted, post.slug, present, parsed.warnings):
            post.redirects.append(Redirect(old_path=path))

    def _unique_slug(
        self, wanted: str, post: Post | None, source_path: str, warnings: list[str], published_at: datetime
    ) -> str:
        slug, number = wanted, 1
        while True:
            owner = self.slug_owners.get(slug)
            written_by = self.written.get(slug)
            taken_here = written_by is not None and written_by != source_path
            if (owner is None or (post is not None and owner == post.id)) and not taken_here:
                break
            number += 1
            slug = f"{wanted}-{number}"
        if slug != wanted:
            holder = self.written.get(wanted) or "an existing post"
            why = ""
            if (older := self.written_dates.get(wanted)) is not None and older <= published_at:
                why = f", the older post ({older.date().isoformat()}), which keeps the plain slug"
            warnings.append(f"slug '{wanted}' is taken by {holder}{why}; this post is at '{slug}'")
        return slug

    def _tag_ids(self, names: list[str]) -> list[int]:
        return tag_ids(self.session, names, self.tag_ids)

    def _free_redirects(self, paths: list[str], slug: str, present: set[str], warnings: list) -> list[str]:
        return free_redirects(self.session, paths, slug, present, warnings)

    def _store_cover(self, parsed: ParsedPost) -> str | None:
        """Copy a cover file beside the post into the media store; URLs are kept as they are."""
        if parsed.cover_file is None:
            return parsed.cover_image
        data = parsed.cover_file.read_bytes()
        prefix = hashlib.sha256(data).hexdigest()[:16] + "-"
        name = parsed.cover_file.name
        if not name.startswith(prefix):  # an exported cover already carries its hash
            name = prefix + name
        if not self.dry_run:
            self.media_folder.mkdir(parents=True, exist_ok=True)
            target = self.media_folder / name
            if not target.exists():
                shutil.copyfile(parsed.cover_file, target)
        return f"/media/{name}"


def _settle_cover(
    parsed: ParsedPost, path: Path, folders: list[Path], old_path: str | None, allowed: list[Path]
) -> None:
    """A cover file must lie inside the site; one not beside the post is looked up where the old
    site served it (a root-relative `/assets/cover.png` in public/ or static/)."""
    if parsed.cover_file is not None:
        if not any(parsed.cover_file.is_relative_to(root) for root in allowed):
            parsed.warnings.append(f"{COVER_NOT_KEPT}: {parsed.cover_image} is outside the site")
            parsed.cover_image = parsed.cover_file = None
        return
    if parsed.cover_image is not None or parsed.cover_wanted is None:
        return
    key, value = parsed.cover_wanted
    if (found := find_file(value, path, folders, old_path, allowed)) is None:
        return
    parsed.cover_image, parsed.cover_file = value, found
    parsed.extra.pop(key, None)
    parsed.warnings[:] = [warning for warning in parsed.warnings if not warning.startswith(COVER_NOT_KEPT)]
    parsed.inferred["cover_image"] = key


def _keep_shared_category(parsed: ParsedPost, category: str) -> None:
    """A category every post of the site shares is no tag: it stays in extra."""
    if parsed.inferred.get("tags", "").lower() == "category" and parsed.tags == [category]:
        parsed.tags = []
        parsed.extra["category"] = category
        del parsed.inferred["tags"]
