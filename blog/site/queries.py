"""What readers may see: published posts, their neighbours, related posts, tags and the archive."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, load_only, selectinload

from blog.models import Post, PostTag, Tag

RELATED_LIMIT = 3


def visible(now: datetime | None = None):
    """The condition for a post a reader may see: not a draft, and its time has come."""
    return and_(Post.draft.is_(False), Post.published_at <= (now or datetime.now(UTC)))


def published_posts() -> Select:
    """Posts a reader may see, evaluated at query time so scheduled posts appear on their own."""
    return select(Post).where(visible())


def newest_first(query: Select) -> Select:
    """Order posts newest first and load their tags in one extra query (no N+1)."""
    return query.options(selectinload(Post.post_tags).joinedload(PostTag.tag)).order_by(
        Post.published_at.desc(), Post.id.desc()
    )


def neighbours(session: Session, post: Post) -> tuple[Post | None, Post | None]:
    """The previous (older) and next (newer) published posts around post."""
    older = session.scalar(
        published_posts()
        .where(
            or_(
                Post.published_at < post.published_at,
                and_(Post.published_at == post.published_at, Post.id < post.id),
            )
        )
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(1)
    )
    newer = session.scalar(
        published_posts()
        .where(
            or_(
                Post.published_at > post.published_at,
                and_(Post.published_at == post.published_at, Post.id > post.id),
            )
        )
        .order_by(Post.published_at.asc(), Post.id.asc())
        .limit(1)
    )
    return older, newer


def related_posts(
    session: Session, post: Post, limit: int = RELATED_LIMIT, exclude: tuple[Post | None, ...] = ()
) -> list[Post]:
    """Published posts sharing the most tags with post, newest first among equals; those in
    `exclude` (the page's Older and Newer links) are left out, so no post is offered twice."""
    tag_ids = [link.tag_id for link in post.post_tags]
    if not tag_ids:
        return []
    skipped = [post.id] + [other.id for other in exclude if other is not None]
    shared = func.count(PostTag.tag_id)
    query = (
        select(Post)
        .join(PostTag, PostTag.post_id == Post.id)
        .where(visible(), PostTag.tag_id.in_(tag_ids), Post.id.not_in(skipped))
        .group_by(Post.id)
        .order_by(shared.desc(), Post.published_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class TagCount:
    slug: str
    name: str
    count: int


def tag_counts(session: Session) -> list[TagCount]:
    """Every tag with at least one published post, with how many, by name."""
    count = func.count(Post.id)
    query = (
        select(Tag.slug, Tag.name, count)
        .join(PostTag, PostTag.tag_id == Tag.id)
        .join(Post, Post.id == PostTag.post_id)
        .where(visible())
        .group_by(Tag.id, Tag.slug, Tag.name)
        .order_by(func.lower(Tag.name), Tag.slug)
    )
    return [TagCount(slug, name, number) for slug, name, number in session.execute(query)]


def posts_tagged(tag: Tag) -> Select:
    """Published posts carrying tag, newest first with their tags loaded."""
    return newest_first(published_posts().where(Post.post_tags.any(PostTag.tag_id == tag.id)))


@dataclass
class ArchiveMonth:
    year: int
    month: int
    posts: list[Post]


def archive_months(session: Session, zone) -> list[ArchiveMonth]:
    """Every published post grouped by month in the site's time zone, newest month first."""
    months: list[ArchiveMonth] = []
    query = (
        published_posts()
        .options(load_only(Post.id, Post.slug, Post.title, Post.published_at))
        .order_by(Post.published_at.desc(), Post.id.desc())
    )
    for post in session.scalars(query):
        local = post.published_at.astimezone(zone)
        if not months or (months[-1].year, months[-1].month) != (local.year, local.month):
            months.append(ArchiveMonth(local.year, local.month, []))
        months[-1].posts.append(post)
    return months


def digest_posts(session: Session, post_ids: list[int]) -> list[Post]:
    """A digest's posts in its order, leaving out those deleted or unpublished since (the web copy,
    the console's review of a held digest, and composing it again all read this)."""
    found = {post.id: post for post in session.scalars(select(Post).where(Post.id.in_(post_ids)))}
    return [found[post_id] for post_id in post_ids if post_id in found and not found[post_id].draft]
