"""A post's tags and old paths, stored the same way by the importer and the editor."""

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from blog.content.slugs import slugify
from blog.models import Redirect, Tag


def tag_ids(session: Session, names: list[str], known: dict[str, int]) -> list[int]:
    """Ids of the named tags in the author's order, creating tags that do not exist yet.

    `known` maps slugs to ids of tags that already existed; lookups are added to it, tags created
    here are not (a rolled-back post would leave it naming rows that do not exist).
    """
    slugs = [slugify(name) for name in names]
    if missing := [slug for slug in slugs if slug not in known]:
        found = session.execute(select(Tag.slug, Tag.id).where(Tag.slug.in_(missing)))
        known.update({slug: tag_id for slug, tag_id in found})
    ids = []
    for name, slug in zip(names, slugs, strict=True):
        if (tag_id := known.get(slug)) is None:
            statement = insert(Tag.__table__).values(slug=slug, name=name).returning(Tag.__table__.c.id)
            tag_id = session.execute(statement).scalar_one()
        ids.append(tag_id)
    return ids


def free_redirects(
    session: Session, paths: list[str], slug: str, present: set[str], warnings: list[str]
) -> list[str]:
    """The old paths not yet stored for this post, skipping any another post already has."""
    own = f"/posts/{slug}"
    wanted = [path for path in dict.fromkeys(paths) if path not in present and path.rstrip("/") != own]
    if not wanted:
        return []
    taken = set(session.scalars(select(Redirect.old_path).where(Redirect.old_path.in_(wanted))))
    for path in taken:
        warnings.append(f"old path {path} already redirects to another post; skipped")
    return [path for path in wanted if path not in taken]
