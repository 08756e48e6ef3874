"""Posts, their tags and old addresses; import runs; the site's settings and its authors."""

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.ext.orderinglist import ordering_list
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blog.extensions import db
from blog.models.base import UTCDateTime, new_guid, new_token_secret, one_of, utcnow


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    guid: Mapped[str] = mapped_column(String(200), unique=True, index=True, default=new_guid)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    plain_text: Mapped[str] = mapped_column(Text, default="")  # what search indexes and quotes
    code_text: Mapped[str] = mapped_column(Text, default="")  # what search also finds (in code blocks)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    reading_minutes: Mapped[int] = mapped_column(default=1)
    draft: Mapped[bool] = mapped_column(default=False, index=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cover_image: Mapped[str | None] = mapped_column(String(1000))
    source_path: Mapped[str | None] = mapped_column(String(1000), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    post_tags: Mapped[list["PostTag"]] = relationship(
        back_populates="post",
        order_by="PostTag.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )
    tags: AssociationProxy[list["Tag"]] = association_proxy(
        "post_tags", "tag", creator=lambda tag: PostTag(tag=tag)
    )
    redirects: Mapped[list["Redirect"]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="Redirect.old_path"
    )

    def __repr__(self) -> str:
        return f"<Post {self.slug}>"


class Tag(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The author offers this tag to subscribers as a topic they can choose on their preferences page.
    topic: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


class PostTag(db.Model):
    """A post's tag, in the order the author wrote them."""

    __tablename__ = "post_tag"

    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    post: Mapped[Post] = relationship(back_populates="post_tags")
    tag: Mapped[Tag] = relationship(lazy="joined")


class Redirect(db.Model):
    """An old URL path (from aliases, redirect_from or permalink) that answers 301."""

    id: Mapped[int] = mapped_column(primary_key=True)
    old_path: Mapped[str] = mapped_column(String(1000), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)

    post: Mapped[Post] = relationship(back_populates="redirects")


class ImportStatus(StrEnum):
    WAITING, RUNNING, DONE, FAILED = "waiting", "running", "done", "failed"  # failed: the run stopped


class ImportRun(db.Model):
    """A site uploaded in the console, imported by the worker (a dry run, then for real)."""

    __table_args__ = (CheckConstraint(one_of("status", ImportStatus), name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default=ImportStatus.WAITING)
    dry_run: Mapped[bool] = mapped_column(default=True)
    folder: Mapped[str] = mapped_column(String(500))  # the unpacked upload, in IMPORT_FOLDER
    progress: Mapped[dict] = mapped_column(JSON, default=dict)  # source, total, done, current, error
    report: Mapped[dict | None] = mapped_column(JSON)  # as `weeknote import --json` prints it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Setting(db.Model):
    """A site setting the author changed in the console; the environment gives its default."""

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Author(UserMixin, db.Model):
    """Someone who signs in to /admin/ to write posts and run the newsletter."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    # Set for a generated password (printed once by `make run`): the first sign-in asks for a new one.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Changes with the password, and is part of the session, so a new password signs out other sessions.
    session_key: Mapped[str] = mapped_column(String(64), default=new_token_secret)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_key}"
