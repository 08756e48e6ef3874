"""Writing posts in the console: the same pipeline as imports, slugs, schedule and old addresses."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from blog.content.controls import clean_fields
from blog.content.metadata import Metadata, parse_tags
from blog.content.pipeline import RenderedText, render_text
from blog.content.slugs import slugify
from blog.models import Post, PostTag, Redirect, Tag, utcnow
from blog.publishing.post_links import free_redirects, tag_ids
from blog.site.queries import visible

ACTIONS = ("save", "publish", "unpublish")
STATUSES = ("all", "published", "drafts", "scheduled")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what an <input type="datetime-local"> sends and shows
WORD = re.compile(r"\S+")


class PostError(ValueError):
    """A value the author must change before the post can be saved, and which field it is in."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class PostInput:
    """What the author typed into the editor, as text."""

    title: str = ""
    body: str = ""
    slug: str = ""
    tags: str = ""
    excerpt: str = ""
    when: str = "now"  # "now", or "at" for publish_at
    publish_at: str = ""  # a datetime-local value in the author's zone


@dataclass
class SaveResult:
    post: Post
    created: bool
    old_slug: str | None  # set when the slug changed: the old address now redirects
    warnings: list[str] = field(default_factory=list)


def render_preview(title: str, body: str) -> RenderedText:
    """The post's body as readers will get it: preprocessed, rendered and sanitised."""
    return render_text(body, Metadata(title=title.strip()))


def post_status(post: Post, now: datetime) -> str:
    """draft, scheduled (published with a time still to come) or published."""
    if post.draft:
        return "draft"
    return "scheduled" if post.published_at > now else "published"


def local_input(moment: datetime, zone: tzinfo) -> str:
    """An instant as the value of a datetime-local input in the author's zone."""
    return moment.astimezone(zone).strftime(LOCAL_INPUT)


def parse_local(value: str, zone: ZoneInfo) -> datetime:
    """A datetime-local value read in the author's zone, as an aware instant."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PostError("publish_at", "Choose the date and time to publish at.") from None
    if naive.tzinfo is not None:
        raise PostError("publish_at", "Give the time without a zone; it is read in your time zone.")
    moment = naive.replace(tzinfo=zone).astimezone(UTC)
    # A time skipped when the clocks go forward would silently move by an hour.
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        raise PostError(
            "publish_at", f"{value.strip()} does not exist in {zone.key} (the clocks change then)."
        )
    return moment


def form_values(post: Post, zone: tzinfo, now: datetime) -> PostInput:
    """The editor's fields for a stored post."""
    # A post with a time still to come (or already out) keeps it unless the author picks "now".
    keeps_time = not post.draft or post.published_at > now
    return PostInput(
        title=post.title,
        body=post.body,
        slug=post.slug,
        tags=", ".join(tag.name for tag in post.tags),
        excerpt="" if post.excerpt == derived_excerpt(post) else post.excerpt,
        when="at" if keeps_time else "now",
        publish_at=local_input(post.published_at, zone),
    )


def derived_excerpt(post: Post) -> str:
    """The excerpt the pipeline would give the post's body on its own."""
    return render_text(post.body, Metadata(title=post.title)).excerpt


def editor_tags(text: str) -> list[str]:
    """Comma- (or semicolon-) separated tag names; a name may have spaces ("machine learning")."""
    return parse_tags(re.split(r"[,;]", text))


def save_post(
    session: Session,
    post: Post | None,
    values: PostInput,
    action: str,
    zone: ZoneInfo,
    now: datetime,
    cover_url: str | None = None,
    remove_cover: bool = False,
) -> SaveResult:
    """Validate and store the editor's values on post (a new one when None); the caller commits."""
    warnings: list[str] = []
    typed = clean_fields({"title": values.title, "tags": values.tags, "excerpt": values.excerpt}, warnings)
    title = typed["title"].strip()
    if not title:
        raise PostError("title", "Give the post a title.")
    draft = {"save": post.draft if post else True, "publish": False, "unpublish": True}[action]
    if not draft and not values.body.strip():
        raise PostError("body", "Write the post's text before publishing it.")
    slug = unique_slug(session, post, values.slug, title)
    published_at = publication_time(post, values, zone, now)
    excerpt = typed["excerpt"].strip()
    rendered = render_text(values.body, Metadata(title=title, excerpt=excerpt or None))
    created = post is None
    if post is None:
        post = Post(extra={}, source_path=None)
        session.add(post)
    old_slug = post.slug if post.slug not in (None, slug) else None
    changed = (post.title, post.body, post.excerpt) != (title, values.body, rendered.excerpt)
    if not created and changed and not post.draft and post.published_at <= now and not draft:
        post.updated_at = now  # readers and feeds see that a published post was revised
    post.title, post.slug, post.body = title, slug, values.body
    post.html, post.plain_text, post.code_text = rendered.html, rendered.plain_text, rendered.code_text
    post.excerpt, post.reading_minutes = rendered.excerpt, rendered.reading_minutes
    post.draft, post.published_at = draft, published_at
    if cover_url:
        post.cover_image = cover_url
    elif remove_cover:
        post.cover_image = None
    post.modified_at = utcnow()  # also when only tags changed: cached pages key on it
    session.flush()
    current = {link.tag_id: link for link in post.post_tags}
    post.post_tags = [
        current.get(tag_id) or PostTag(tag_id=tag_id)
        for tag_id in tag_ids(session, editor_tags(typed["tags"]), {})
    ]
    if old_slug:
        present = {redirect.old_path for redirect in post.redirects}
        for path in free_redirects(session, [f"/posts/{old_slug}/"], slug, present, warnings):
            post.redirects.append(Redirect(old_path=path))
    session.flush()
    return SaveResult(post, created, old_slug, warnings)


def unique_slug(session: Session, post: Post | None, typed: str, title: str) -> str:
    """The slug typed (which must be free), the current one, or one derived from the title."""
    if typed.strip():
        slug = slugify(typed.strip().strip("/"))
        if not slug:
            raise PostError("slug", "Use letters or digits in the slug, like my-first-post.")
        owner = slug_owner(session, slug, post)
        if owner is not None:
            raise PostError(
                "slug", f"The slug “{slug}” is already used by the post “{owner.title}”. Choose another."
            )
        return slug
    if post is not None:
        return post.slug
    wanted = slugify(title) or "post"
    slug, number = wanted, 1
    while slug_owner(session, slug, post) is not None:  # like the importer: the next free -2, -3...
        number += 1
        slug = f"{wanted}-{number}"
    return slug


def slug_owner(session: Session, slug: str, post: Post | None) -> Post | None:
    query = select(Post).where(Post.slug == slug)
    if post is not None and post.id is not None:
        query = query.where(Post.id != post.id)
    return session.scalar(query)


def publication_time(post: Post | None, values: PostInput, zone: ZoneInfo, now: datetime) -> datetime:
    """Now, or the chosen local time; a stored time shown to the minute is kept to the second."""
    if values.when != "at":
        return now
    moment = parse_local(values.publish_at, zone)
    if post is not None and post.published_at is not None:
        stored = post.published_at.replace(second=0, microsecond=0)
        if stored <= moment < stored + timedelta(minutes=1):
            return post.published_at
    return moment


def delete_post(session: Session, post: Post) -> None:
    """Remove a post with its tag links and old addresses (its search entry goes by trigger)."""
    session.delete(post)
    session.flush()


def filtered_posts(status: str, tag: str, text: str, now: datetime) -> Select:
    """Every post for the console's list, newest first, narrowed by status, tag and words."""
    query = select(Post).options(selectinload(Post.post_tags).joinedload(PostTag.tag))
    if status == "published":
        query = query.where(visible(now))
    elif status == "drafts":
        query = query.where(Post.draft.is_(True))
    elif status == "scheduled":
        query = query.where(Post.draft.is_(False), Post.published_at > now)
    if tag:
        query = query.where(Post.post_tags.any(PostTag.tag.has(Tag.slug == tag)))
    for word in WORD.findall(text)[:8]:
        query = query.where(
            Post.title.icontains(word, autoescape=True) | Post.body.icontains(word, autoescape=True)
        )
    return query.order_by(Post.published_at.desc(), Post.id.desc())


def all_tags(session: Session) -> list[Tag]:
    return list(session.scalars(select(Tag).order_by(Tag.name, Tag.slug)))
