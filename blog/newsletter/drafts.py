"""Digests the author looks at before they go: Send now's draft, and a held digest's revisions.

Send now never sends on one click. It freezes what it would send as the one draft digest (its
posts, note, subject and both bodies, with its own web-copy link), the author reads exactly
that, and confirming sends that very row, after checking that composing again would give the
same message. The CLI's `digest preview --now` and `digest send --now` use the same draft, so
what one prints is what the other sends.
"""

import hashlib
import json
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from blog.models import Digest, DigestStatus
from blog.newsletter.compose import format_period
from blog.newsletter.digests import (
    Composer,
    DigestBusy,
    compose_posts,
    freeze,
    note_used,
    period_for,
    posts_in_period,
    sending_digest,
)
from blog.site.queries import digest_posts

LONGEST_NOTE = 20_000  # characters, as the console's Emails page allows


class NothingToSend(ValueError):
    """No post is published since the last digest: Send now has nothing to send."""


class DraftChanged(ValueError):
    """The draft the author confirmed is not what would be sent any more."""


def current_draft(session: Session) -> Digest | None:
    return session.scalar(select(Digest).where(Digest.status == DigestStatus.DRAFT).order_by(Digest.id))


def prepare_draft(session: Session, composer: Composer, now: datetime) -> Digest:
    """What Send now would send at `now`, frozen as the one draft (the same row each time, changed
    only when the message would change). The caller commits.

    Raises NothingToSend when no post is waiting (and drops the draft), DigestBusy while another
    digest is sending.
    """
    if (busy := sending_digest(session)) is not None:
        raise DigestBusy(f"digest {busy.id} is still sending; wait for it to finish, or cancel it")
    start, end = period_for(session, composer, now)
    posts = posts_in_period(session, start, end)
    if not posts:
        session.execute(delete(Digest).where(Digest.status == DigestStatus.DRAFT))
        period = format_period(start, end, composer.site.zone)
        raise NothingToSend(f"there are no new posts since the last digest ({period}): nothing to send")
    draft = current_draft(session)
    if draft is None:
        draft = Digest(status=DigestStatus.DRAFT, scheduled_for=now, period_start=start, period_end=end)
        session.add(draft)
        session.flush()  # its id is in its web-copy link
    # One draft: a second made by a double click at the same moment is dropped here.
    session.execute(delete(Digest).where(Digest.status == DigestStatus.DRAFT, Digest.id != draft.id))
    composed = compose_posts(composer, posts, start, end, composer.web_url(draft), composer.note)
    freeze(draft, posts, composed, composer.note)
    draft.scheduled_for, draft.period_start, draft.period_end = now, start, end
    return draft


def fingerprint(digest: Digest) -> str:
    """A digest's message as frozen: its posts, note, subject and both bodies."""
    content = [digest.post_ids, digest.note, digest.subject, digest.html, digest.text]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:32]


def send_draft(session: Session, composer: Composer, draft_id: int, seen: str, now: datetime) -> Digest:
    """Send the draft the author saw (`seen` is its fingerprint then): it becomes a sending digest.

    Raises DraftChanged when composing now would give another message (a post was published,
    the note edited, the day changed) or the draft is gone, NothingToSend or DigestBusy; the
    caller commits, so the draft shows the current message next time.
    """
    draft = session.get(Digest, draft_id)
    if draft is None or draft.status != DigestStatus.DRAFT:
        raise DraftChanged("this preview was sent or replaced already: open Send now again")
    fresh = prepare_draft(session, composer, now)
    if fresh.id != draft_id or fingerprint(fresh) != seen:
        raise DraftChanged(
            "the digest changed since you looked at it (a post was published or changed, or the note "
            "was edited): read the new preview before sending"
        )
    fresh.status, fresh.approved_at = DigestStatus.SENDING, now
    note_used(session, fresh)
    return fresh


def revise_held(session: Session, composer: Composer, digest: Digest, note: str, keep: list[int]) -> None:
    """Change a held digest's note and drop posts from it, then freeze it again (what approving sends).

    The new version is written only while the digest is still held (one conditional UPDATE), so
    an edit that loses a race with Approve changes nothing. Raises ValueError when the digest is
    not held, the note is too long, or no post would be left (posts unpublished since are left out).
    """
    if len(note) > LONGEST_NOTE:
        raise ValueError(f"the note is longer than {LONGEST_NOTE:,} characters")
    posts = digest_posts(session, [post_id for post_id in digest.post_ids if post_id in set(keep)])
    if not posts:
        raise ValueError("keep at least one post, or cancel the digest")
    composed = compose_posts(
        composer, posts, digest.period_start, digest.period_end, composer.web_url(digest), note
    )
    revised = session.execute(
        update(Digest)
        .where(Digest.id == digest.id, Digest.status == DigestStatus.HELD)
        .values(
            post_ids=[post.id for post in posts],
            note=note,
            subject=composed.subject,
            html=composed.html,
            text=composed.text,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    )
    session.refresh(digest)
    if revised.rowcount != 1:
        raise ValueError(f"digest {digest.id} is {digest.status}: only a held digest can be edited")
