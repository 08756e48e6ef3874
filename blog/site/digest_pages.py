"""The web copy of each sent digest: a list and one page per digest."""

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select

from blog.content.metadata import Metadata
from blog.content.pipeline import render_text
from blog.extensions import db
from blog.models import Digest, DigestStatus
from blog.platform.site_settings import site
from blog.platform.urls import external_url
from blog.site.queries import digest_posts
from blog.site.syndication import FeedInfo, FeedItem, rss_document

bp = Blueprint("digests", __name__, url_prefix="/digests")


def sent_digests():
    """The author's sent digests. An audience's digest (a subscriber's own topics, frequency or
    hour) is not listed, else each run would list dozens; its own web copy still opens by id."""
    return (
        select(Digest)
        .where(Digest.status == DigestStatus.SENT, Digest.audience.is_(None))
        .order_by(Digest.sent_at.desc(), Digest.id.desc())
    )


def latest_digest_url() -> str | None:
    """The web copy of the newest sent digest, or None before the first (a template global)."""
    digest_id = db.session.scalar(sent_digests().with_only_columns(Digest.id).limit(1))
    return external_url("digests.show", digest_id=digest_id) if digest_id else None


@bp.get("/")
def index():
    return render_template("digests/index.html", digests=db.session.scalars(sent_digests().limit(200)).all())


@bp.get("/<int:digest_id>/")
def show(digest_id: int):
    digest = db.session.get(Digest, digest_id)
    if digest is None or digest.status != DigestStatus.SENT:
        abort(404)
    note = render_text(digest.note, Metadata(title="")).html if digest.note.strip() else ""
    return render_template(
        "digests/show.html", digest=digest, posts=digest_posts(db.session, digest.post_ids), note=note
    )


@bp.get("/feed.xml")
def feed():
    """RSS of the sent digests, for readers who prefer a weekly summary in their feed reader."""
    digests = db.session.scalars(sent_digests().limit(site().feed_items)).all()
    info = FeedInfo(
        title=f"{site().title}: weekly digest",
        description=f"Every weekly digest of {site().title}.",
        home_url=external_url("digests.index"),
        feed_url=external_url("digests.feed"),
        author=site().byline,
        updated=digests[0].sent_at if digests else None,
    )
    items = []
    for digest in digests:
        url = external_url("digests.show", digest_id=digest.id)
        posts = digest_posts(db.session, digest.post_ids)
        items.append(
            FeedItem(
                guid=url,  # a digest is never edited once sent: its address names it for good
                url=url,
                title=digest.subject,
                content_html=render_template("digests/feed_item.html", posts=posts),
                summary=", ".join(post.title for post in posts),
                published=digest.sent_at,
                updated=digest.sent_at,
                tags=[],
                image=None,
            )
        )
    return Response(rss_document(info, items), content_type="application/rss+xml; charset=utf-8")
