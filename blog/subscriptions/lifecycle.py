"""The subscriber lifecycle: ask, confirm, unsubscribe, resubscribe, erase. No request, no commits."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import case, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session

from blog.models import Subscriber, Suppression, SuppressionReason, UTCDateTime
from blog.models import SubscriberStatus as Status

RESEND_AFTER = timedelta(minutes=10)
FIRST_PERIOD = timedelta(days=7)  # how far back a (returning) subscriber's first mail reaches, at most
# No mail of any kind goes to these addresses (not even a confirmation) until the author lifts it.
SUPPRESSED = (Status.BOUNCED, Status.COMPLAINED)
log = logging.getLogger(__name__)
# Shown beside every subscribe form. Its version is stored with each consent, so edit freely:
# a new wording gets a new version and the old records keep pointing at the words people saw.
CONSENT_TEXT = (
    "One email a week with the new posts. We keep your address, the time you subscribed and "
    "confirmed, and the IP address and browser you used, as a record of your consent. "
    "Every email has a one-click unsubscribe link."
)
CONSENT_VERSION = "sha256:" + hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()[:12]


class InvalidEmail(ValueError):
    """The address is not a deliverable-looking email address; the message says why."""


@dataclass(frozen=True)
class Consent:
    """What a person did to subscribe: when, from where, having read which text."""

    at: datetime
    ip: str | None = None
    user_agent: str | None = None
    form_version: str | None = CONSENT_VERSION
    source: str = "form"  # form, resubscribe, import or author (added by hand in the console)
    note: str | None = None


def normalise_email(raw: str) -> str:
    """Check an address's syntax (no DNS look-up) and return it with its domain normalised."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from error
    return result.ascii_email or result.normalized


def email_key(email: str) -> str:
    """The case-insensitive form an address is unique under."""
    return email.strip().lower()


def suppression_hash(email: str) -> str:
    """The anonymous fingerprint kept for an erased address (SHA-256 of the lower-cased address)."""
    return hashlib.sha256(f"weeknote-suppression:{email_key(email)}".encode()).hexdigest()


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """Find the subscriber for an address, whatever its case."""
    return session.scalar(select(Subscriber).where(Subscriber.email_key == email_key(email)))


def is_suppressed(session: Session, email: str) -> bool:
    """Tell whether the address was erased on request (and has not confirmed again since)."""
    query = select(Suppression.id).where(Suppression.email_hash == suppression_hash(email))
    return session.scalar(query) is not None


def record_consent(subscriber: Subscriber, consent: Consent) -> None:
    """Replace the subscriber's consent record with this one."""
    subscriber.consent_at = consent.at
    subscriber.consent_ip = consent.ip
    subscriber.consent_user_agent = (consent.user_agent or "")[:500] or None
    subscriber.consent_form_version = consent.form_version
    subscriber.consent_source = consent.source
    subscriber.consent_note = consent.note


def request_subscription(session: Session, email: str, consent: Consent) -> Subscriber | None:
    """Record a request to subscribe; return the subscriber when a confirmation email is due now.

    New, pending and unsubscribed addresses become pending with this consent; an active one is
    left alone, and so is a suppressed one (it bounced or complained: no confirmation goes there
    until the author lifts it). The caller answers identically in every case.
    """
    subscriber = find_subscriber(session, email)
    if subscriber is not None and subscriber.status in SUPPRESSED:
        return None
    if subscriber is None:
        subscriber = Subscriber(
            email=email, email_key=email_key(email), status=Status.PENDING, created_at=consent.at
        )
        session.add(subscriber)
    elif subscriber.status == Status.ACTIVE:
        return None
    elif subscriber.status != Status.PENDING:
        subscriber.confirmation_sent_at = None  # a fresh request: the 10-minute pause is for repeats
    subscriber.status = Status.PENDING
    subscriber.confirmed_at = None
    record_consent(subscriber, consent)
    session.flush()
    return subscriber if claim_confirmation(session, subscriber, consent.at) else None


class AlreadyListed(ValueError):
    """The address is on the list already, or was erased on request; the message says which."""


def add_by_author(session: Session, email: str, note: str, now: datetime, confirm_first: bool) -> Subscriber:
    """Add one person the author vouches for, the note saying where and when they asked.

    With `confirm_first` (double opt-in) they are pending until they confirm through the emailed
    link, whose email the caller then sends; without, they are active at once on the author's word.
    The consent record says the author added them ("author"), with the note."""
    existing = find_subscriber(session, email)
    if existing is not None:
        raise AlreadyListed(f"{existing.email} is already on the list ({existing.status}).")
    if is_suppressed(session, email):
        raise AlreadyListed(f"{email} was erased on request: only they can subscribe again, with the form.")
    status = Status.PENDING if confirm_first else Status.ACTIVE
    subscriber = Subscriber(email=email, email_key=email_key(email), status=status, created_at=now)
    record_consent(subscriber, Consent(at=now, form_version=None, source="author", note=note.strip()))
    if not confirm_first:
        subscriber.confirmed_at = now
    session.add(subscriber)
    session.flush()
    if confirm_first:
        claim_confirmation(session, subscriber, now)
    return subscriber


def claim_confirmation(session: Session, subscriber: Subscriber, now: datetime) -> bool:
    """Record a confirmation email as due unless one was due less than RESEND_AFTER ago."""
    claimed = session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == subscriber.id,
            or_(
                Subscriber.confirmation_sent_at.is_(None),
                Subscriber.confirmation_sent_at <= now - RESEND_AFTER,
            ),
        )
        .values(confirmation_sent_at=now, confirmation_due_at=now, confirmation_queued_at=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(subscriber, ["confirmation_sent_at", "confirmation_due_at", "confirmation_queued_at"])
    return claimed.rowcount == 1


def confirm(
    session: Session, subscriber: Subscriber, ip: str | None, now: datetime, welcome: bool = False
) -> bool:
    """Activate a pending subscriber, with a welcome email due when `welcome`; return False when
    there was nothing to confirm.

    One conditional UPDATE: of two confirmations at once (a double click, a mail scanner and the
    person), only one activates, so only one welcome is due."""
    if subscriber.status != Status.PENDING:
        return False
    activated = session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber.id, Subscriber.status == Status.PENDING)
        .values(
            status=Status.ACTIVE,
            confirmed_at=now,
            confirmed_ip=ip,
            unsubscribed_at=None,
            bounce_count=0,
            welcome_due_at=now if welcome else None,
            welcome_queued_at=None,
            # Someone back after leaving starts like a newcomer: their next mail reaches a week back
            # at most, not to the day they left (preferences they chose before are kept).
            next_send_at=None,
            covered_until=case(
                (Subscriber.covered_until < now - FIRST_PERIOD, literal(now - FIRST_PERIOD, UTCDateTime)),
                else_=Subscriber.covered_until,
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(subscriber)
    if activated != 1:
        return False
    # Confirming through the emailed link is the person asking again themselves: lift any suppression.
    session.execute(delete(Suppression).where(Suppression.email_hash == suppression_hash(subscriber.email)))
    return True


def unsubscribe(subscriber: Subscriber, now: datetime) -> bool:
    """Stop all mail to a subscriber; return False when they were already unsubscribed, or are
    suppressed (which stops all mail already, and must stay until the author lifts it)."""
    if subscriber.status == Status.UNSUBSCRIBED or subscriber.status in SUPPRESSED:
        return False
    subscriber.status = Status.UNSUBSCRIBED
    subscriber.unsubscribed_at = now
    subscriber.welcome_due_at = None  # a welcome not sent yet is not sent at all
    return True


def suppress(subscriber: Subscriber, reason: SuppressionReason, detail: str, now: datetime) -> bool:
    """Stop all mail to an address that bounced or complained, keeping why; a complaint also
    unsubscribes. Return False when it was suppressed already (the first reason stays)."""
    if subscriber.status in SUPPRESSED:
        return False
    if reason == SuppressionReason.COMPLAINT:
        subscriber.status = Status.COMPLAINED
        subscriber.unsubscribed_at = now
    else:
        subscriber.status = Status.BOUNCED
    subscriber.suppressed_at, subscriber.suppressed_reason = now, reason
    subscriber.suppressed_detail = detail[:2000] or None
    subscriber.confirmation_due_at = subscriber.welcome_due_at = None  # mail not sent yet never goes
    return True


def lift_suppression(subscriber: Subscriber, was_active: bool) -> bool:
    """The author's decision to mail a suppressed address again: one that bounced goes back to
    where it was (active when `was_active`, else pending, with no confirmation sent), one that
    complained stays unsubscribed and may subscribe again. Return False when it was not suppressed."""
    if subscriber.status not in SUPPRESSED:
        return False
    if subscriber.status == Status.COMPLAINED:
        subscriber.status = Status.UNSUBSCRIBED
    else:
        subscriber.status = Status.ACTIVE if was_active else Status.PENDING
    subscriber.suppressed_at = subscriber.suppressed_reason = subscriber.suppressed_detail = None
    subscriber.bounce_count = 0
    return True


def erase(session: Session, email: str) -> bool:
    """Delete everything about an address, keeping only its suppression hash; False if unknown."""
    subscriber = find_subscriber(session, email)
    if subscriber is not None:
        session.delete(subscriber)
    if not is_suppressed(session, email):
        session.add(Suppression(email_hash=suppression_hash(email), reason="erased"))
    session.flush()
    return subscriber is not None


def erase_unconfirmed(session: Session, now: datetime, retention: timedelta) -> int:
    """Delete the addresses that asked to subscribe longer than `retention` ago and never
    confirmed (list hygiene: nobody agreed to be kept); return how many. No suppression hash:
    they may ask again."""
    asked = func.coalesce(Subscriber.confirmation_sent_at, Subscriber.consent_at, Subscriber.created_at)
    result = session.execute(
        delete(Subscriber)
        .where(Subscriber.status == Status.PENDING, asked < now - retention)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        log.info(
            "erased %s address%s that never confirmed", result.rowcount, "" if result.rowcount == 1 else "es"
        )
    return result.rowcount
