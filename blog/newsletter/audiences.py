"""Mail per audience: subscribers who chose the same frequency, topics and send moment share one
frozen digest, composed once, with a Delivery row each (docs/subscriber-preferences.md).

Each subscriber who saved preferences has a next_send_at (placed here) and a covered_until, the
end of the last period a digest covered for them. Their next digest starts there, so whatever
they switch between, periods never overlap; the post ledger (ledger.CarriedPost, UNIQUE
subscriber and post) refuses the rest. An audience is the subscribers due at the same moment
with the same (frequency, topics, zone, hour, covered_until): those who switched mid-period
form their own, smaller audience until their periods line up again.
"""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Text, and_, case, cast, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blog.models import CarriedPost, Digest, DigestStatus, Frequency, Post, Schedule, Subscriber, as_utc
from blog.models import SubscriberStatus as Status
from blog.newsletter.compose import digest_period
from blog.newsletter.delivery import add_rows, record_carried
from blog.newsletter.digests import Composer, compose_posts, current_schedule, freeze, posts_in_period
from blog.newsletter.schedule import local_to_utc, next_run_after
from blog.newsletter.settings import DeliverySettings

log = logging.getLogger(__name__)
AUTHOR_TIME = time(8, 0)  # a monthly digest on the author's schedule with no schedule set: 08:00
BACK_DATED = timedelta(minutes=2)  # a post dated this much before it was made is not news


# The zone a subscriber's moments and months are in, and their hour: None where their choice does
# not depend on it (a weekly on the author's schedule goes out with the author's weekly; every-post
# mail goes out when a post does), so those subscribers share one audience whatever their zone.
ZONE_KEY = case(
    (
        or_(
            Subscriber.frequency == Frequency.MONTHLY,
            and_(Subscriber.frequency == Frequency.WEEKLY, Subscriber.delivery_hour.is_not(None)),
        ),
        Subscriber.timezone,
    ),
    else_=None,
)
HOUR_KEY = case((Subscriber.frequency == Frequency.POST, None), else_=Subscriber.delivery_hour)
TOPICS_KEY = cast(Subscriber.topics, Text)  # stored sorted, so equal choices have equal text
MOMENT_KEY = case((Subscriber.frequency == Frequency.POST, None), else_=Subscriber.next_send_at)


@dataclass(frozen=True)
class Audience:
    """Subscribers due together who chose alike: one digest, composed once."""

    frequency: str
    topics_text: str  # as stored: '[]' for every post, '[3, 7]' for tags 3 and 7
    zone: str | None
    hour: int | None
    moment: datetime  # when it goes out (every-post mail: this tick)
    covered_until: datetime | None
    count: int = 0

    @property
    def topics(self) -> frozenset[int]:
        return frozenset(int(value) for value in self.topics_text.strip("[]").split(",") if value.strip())

    def key(self, start: datetime) -> str:
        """The digest's `audience`: what was chosen and where its period starts."""
        topics = ",".join(str(tag) for tag in sorted(self.topics)) or "all"
        hour = "" if self.hour is None else f"{self.hour:02d}"
        return f"{self.frequency}|{topics}|{self.zone or ''}|{hour}|{start.isoformat()}"


def parse_key(key: str) -> dict:
    """A digest's audience key, read back for the console."""
    frequency, topics, zone, hour, start = key.split("|")
    ids = [] if topics == "all" else [int(tag) for tag in topics.split(",")]
    return {"frequency": frequency, "topics": ids, "zone": zone or None, "hour": int(hour) if hour else None,
            "start": datetime.fromisoformat(start)}  # fmt: skip


def month_start(moment: datetime, zone: ZoneInfo, months: int = 0) -> datetime:
    """The UTC instant the calendar month of `moment` (plus `months`) begins in `zone`."""
    local = moment.astimezone(zone)
    index = local.year * 12 + local.month - 1 + months
    return local_to_utc(date(index // 12, index % 12 + 1, 1), time(0), zone)


def next_moment(
    frequency: str, zone: str | None, hour: int | None, schedule: Schedule | None, home: ZoneInfo,
    after: datetime,
) -> datetime | None:  # fmt: skip
    """A subscriber's first send strictly after `after`; None while there is none (a weekly on the
    author's schedule when the author has turned it off)."""
    if frequency == Frequency.POST:
        return after
    own = ZoneInfo(zone) if hour is not None and zone else None
    if frequency == Frequency.WEEKLY:
        if own is not None:
            return next_run_after(schedule.weekday if schedule else 0, time(hour), own, after)
        if schedule is None or not schedule.enabled:
            return None
        return next_run_after(schedule.weekday, schedule.local_time, ZoneInfo(schedule.timezone), after)
    if own is None:  # monthly on the author's schedule: the 1st at the author's time, in their zone
        own, hour_at = (ZoneInfo(schedule.timezone), schedule.local_time) if schedule else (home, AUTHOR_TIME)
    else:
        hour_at = time(hour)
    for months in (0, 1):
        first = month_start(after, own, months)
        candidate = local_to_utc(first.astimezone(own).date(), hour_at, own)
        if candidate > after:
            return candidate
    raise AssertionError("the 1st of next month is later")  # pragma: no cover


def place(session: Session, home: ZoneInfo, now: datetime) -> int:
    """Give each subscriber who chose preferences and has no next send one; return how many."""
    schedule = current_schedule(session)
    groups = session.execute(
        select(Subscriber.frequency, Subscriber.timezone, Subscriber.delivery_hour)
        .where(Subscriber.status == Status.ACTIVE, Subscriber.preferences_at.is_not(None),
               Subscriber.next_send_at.is_(None))
        .group_by(Subscriber.frequency, Subscriber.timezone, Subscriber.delivery_hour)
    ).all()  # fmt: skip
    placed = 0
    for frequency, zone, hour in groups:
        moment = next_moment(frequency, zone, hour, schedule, home, now)
        if moment is None:
            continue
        placed += session.execute(
            update(Subscriber)
            .where(Subscriber.status == Status.ACTIVE, Subscriber.preferences_at.is_not(None),
                   Subscriber.next_send_at.is_(None), Subscriber.frequency == frequency,
                   Subscriber.timezone.is_not_distinct_from(zone),
                   Subscriber.delivery_hour.is_not_distinct_from(hour))
            .values(next_send_at=moment)
            .execution_options(synchronize_session=False, preserve_rowcount=True)
        ).rowcount  # fmt: skip
    return placed


def due_audiences(session: Session, now: datetime) -> list[Audience]:
    """The audiences due now, in the order of their moments."""
    moment = func.min(Subscriber.next_send_at)
    rows = session.execute(
        select(Subscriber.frequency, TOPICS_KEY, ZONE_KEY, HOUR_KEY, MOMENT_KEY,
               Subscriber.covered_until, moment, func.count())
        .where(Subscriber.status == Status.ACTIVE, Subscriber.preferences_at.is_not(None),
               Subscriber.next_send_at <= now)
        .group_by(Subscriber.frequency, TOPICS_KEY, ZONE_KEY, HOUR_KEY, MOMENT_KEY, Subscriber.covered_until)
        .order_by(moment)
    ).all()  # fmt: skip
    return [
        Audience(frequency, topics, zone, hour, as_utc(at) or now, as_utc(covered), count)
        for frequency, topics, zone, hour, at, covered, _, count in rows
    ]


def members(audience: Audience, now: datetime):
    """The WHERE clause that picks an audience's subscribers (before they are moved on)."""
    due = (
        Subscriber.next_send_at <= now
        if audience.frequency == Frequency.POST
        else Subscriber.next_send_at == audience.moment
    )
    return and_(
        Subscriber.status == Status.ACTIVE,
        Subscriber.preferences_at.is_not(None),
        Subscriber.frequency == audience.frequency,
        TOPICS_KEY.is_not_distinct_from(audience.topics_text),
        ZONE_KEY.is_not_distinct_from(audience.zone),
        HOUR_KEY.is_not_distinct_from(audience.hour),
        Subscriber.covered_until.is_not_distinct_from(audience.covered_until),
        due,
    )


def period(
    audience: Audience, schedule: Schedule | None, home: ZoneInfo, settings: DeliverySettings, now: datetime
) -> tuple[datetime, datetime, ZoneInfo]:
    """The audience's period (start, end] and the zone it is written in: a week before the moment,
    the calendar month before it, or up to POST_MAIL_DELAY ago; it starts where the last ended."""
    zone = ZoneInfo(audience.zone) if audience.zone else ZoneInfo(schedule.timezone) if schedule else home
    if audience.frequency == Frequency.POST:
        end = now - settings.post_mail_delay
        natural = end - timedelta(days=7)
    elif audience.frequency == Frequency.MONTHLY:
        end = month_start(audience.moment, zone)
        natural = month_start(audience.moment, zone, -1)
    else:
        natural, end = digest_period(audience.moment, zone)
    return audience.covered_until or natural, end, zone


def news(post: Post) -> bool:
    """Whether a post may go out on its own: written here (not imported), and not back-dated."""
    return post.source_path is None and post.published_at >= post.created_at - BACK_DATED


def audience_posts(session: Session, audience: Audience, start: datetime, end: datetime) -> list[Post]:
    """The posts of the period in the audience's topics (every-post mail: only news)."""
    if start >= end:
        return []
    posts = posts_in_period(session, start, end)
    if audience.topics:
        posts = [post for post in posts if {link.tag_id for link in post.post_tags} & audience.topics]
    if audience.frequency == Frequency.POST:
        posts = [post for post in posts if news(post)]
    return posts


@dataclass
class Run:
    """What one tick did: digests made, audiences composed (once each), and audiences skipped."""

    digest_ids: list[int] = dataclasses.field(default_factory=list)
    composed: int = 0
    skipped: int = 0
    recipients: int = 0


def dispatch_audiences(
    session: Session, composer: Composer, settings: DeliverySettings, now: datetime, run: Run | None = None
) -> Run:
    """Place new choices, then make the digest of every due audience; commit after each."""
    run = run or Run()
    home = composer.site.zone
    if place(session, home, now):
        session.commit()
    schedule = current_schedule(session)
    for audience in due_audiences(session, now):
        make_audience_digest(session, composer, settings, audience, schedule, now, run)
        session.commit()
    return run


def make_audience_digest(
    session: Session,
    composer: Composer,
    settings: DeliverySettings,
    audience: Audience,
    schedule: Schedule | None,
    now: datetime,
    run: Run,
) -> Digest | None:
    """Freeze one audience's digest, fan it out with its ledger, and move its subscribers on."""
    start, end, zone = period(audience, schedule, composer.site.zone, settings, now)
    posts = audience_posts(session, audience, start, end)
    if not posts and audience.frequency == Frequency.POST:
        return None  # nothing new yet: no mail, and the next tick looks again from the same start
    chosen = members(audience, now)
    # From now, not from the moment: sends missed while nothing dispatched are not made one by one
    # (the next digest starts at covered_until, so it covers the gap).
    following = next_moment(audience.frequency, audience.zone, audience.hour, schedule, zone, now)
    digest = Digest(scheduled_for=audience.moment, period_start=start, period_end=max(start, end),
                    status=DigestStatus.NEW, audience=audience.key(start), created_at=now)  # fmt: skip
    try:
        with session.begin_nested():
            session.add(digest)
            session.flush()
    except IntegrityError:
        return None  # another beat, or a repeated tick, made this audience's digest already
    if posts:
        local = dataclasses.replace(composer, site=dataclasses.replace(composer.site, zone=zone))
        composed = compose_posts(local, posts, start, end, composer.web_url(digest), "")
        run.composed += 1
        freeze(digest, posts, composed, "")
        digest.status = DigestStatus.SENDING
        run.recipients += fan_out_audience(session, digest, chosen)
        run.digest_ids.append(digest.id)
    else:
        digest.status = DigestStatus.SKIPPED  # their topics have no post this period
        run.skipped += 1
    moved = {"covered_until": max(start, end)}
    if audience.frequency != Frequency.POST:
        moved["next_send_at"] = following
    session.execute(
        update(Subscriber).where(chosen).values(**moved).execution_options(synchronize_session=False)
    )
    return digest


def fan_out_audience(session: Session, digest: Digest, chosen) -> int:
    """A pending row for each of the audience's subscribers that none of these posts reached yet,
    and the ledger's rows for them; return how many rows."""
    post_ids = list(digest.post_ids)
    carried = exists().where(CarriedPost.subscriber_id == Subscriber.id, CarriedPost.post_id.in_(post_ids))
    added = add_rows(session, digest.id, and_(chosen, ~carried))
    record_carried(session, digest.id, post_ids)
    return added
