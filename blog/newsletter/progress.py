"""Where each digest stands: its deliveries by status, for the console and `weeknote digest`."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blog.models import Delivery, Digest
from blog.newsletter.delivery import FAILED, SENT, SKIPPED, STATUSES

# A digest in one of these states has nothing more to send (until failed rows are retried).
FINISHED = ("sent", "cancelled", "skipped")


def counts_by_digest(session: Session, digest_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each digest's rows by status, in one query (every status present, zero when none)."""
    numbers = {digest_id: dict.fromkeys(STATUSES, 0) for digest_id in digest_ids}
    if digest_ids:
        rows = session.execute(
            select(Delivery.digest_id, Delivery.status, func.count())
            .where(Delivery.digest_id.in_(digest_ids))
            .group_by(Delivery.digest_id, Delivery.status)
        )
        for digest_id, status, count in rows:
            numbers[digest_id][status] = count
    return numbers


def recent_digests(session: Session, limit: int = 20) -> list[tuple[Digest, dict[str, int]]]:
    """The latest digests, newest first, each with its deliveries by status."""
    rows = list(session.scalars(select(Digest).order_by(Digest.id.desc()).limit(limit)))
    numbers = counts_by_digest(session, [digest.id for digest in rows])
    return [(digest, numbers[digest.id]) for digest in rows]


def progress(session: Session, digest: Digest) -> dict:
    """A digest's status and counts, with how many rows are done (sent, failed or skipped)."""
    numbers = counts_by_digest(session, [digest.id])[digest.id]
    return {
        "id": digest.id,
        "status": digest.status,
        "counts": numbers,
        "total": sum(numbers.values()),
        "done": numbers[SENT] + numbers[FAILED] + numbers[SKIPPED],
        "finished": digest.status in FINISHED,
    }
