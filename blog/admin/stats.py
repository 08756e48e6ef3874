"""The dashboard's numbers: posts by state, and subscribers week by week.

Each function is a fixed number of queries whatever the size of the list, so the dashboard
stays one quick page for a blog with ten subscribers or a hundred thousand.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from blog.models import Post, Subscriber, SubscriberStatus
from blog.newsletter.schedule import local_to_utc
from blog.site.queries import visible

WEEKS = 12
ACTIVE, UNSUBSCRIBED = SubscriberStatus.ACTIVE.value, SubscriberStatus.UNSUBSCRIBED.value


@dataclass(frozen=True)
class PostCounts:
    published: int  # what readers see now
    drafts: int
    scheduled: int  # not a draft, appears by itself at its published_at


def post_counts(session: Session, now: datetime) -> PostCounts:
    """Published, draft and scheduled posts, in one query."""
    published, drafts, scheduled = session.execute(
        select(
            func.count().filter(visible(now)),
            func.count().filter(Post.draft.is_(True)),
            func.count().filter(Post.draft.is_(False), Post.published_at > now),
        ).select_from(Post)
    ).one()
    return PostCounts(published, drafts, scheduled)


@dataclass(frozen=True)
class Week:
    start: date  # the Monday, in the author's zone
    new: int  # became active during the week (and still counted: the line rises by these)
    unsubscribed: int  # stopped being active during the week (the line falls by these)
    active: int  # active at the week's end (or now, for the current week)


def week_starts(zone: ZoneInfo, now: datetime, weeks: int = WEEKS) -> list[date]:
    """The local Mondays of the last `weeks` weeks, oldest first; the last is this week's."""
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=weeks - 1 - index) for index in range(weeks)]


@dataclass(frozen=True)
class Growth:
    active_at_start: int  # active when the first week began
    weeks: list[Week]


def weekly_growth(session: Session, zone: ZoneInfo, now: datetime, weeks: int = WEEKS) -> Growth:
    """New, unsubscribed and active subscribers per local week, in two queries.

    A subscriber counts as active from confirmation (or creation, for imported rows without
    one) until unsubscribing. Bounced and complained addresses carry no date for when they
    stopped, so the line leaves them out, and its last point equals today's active count.
    The weeks' new and unsubscribed are the line's own steps, so the start plus the new minus
    the unsubscribed is the end: someone who left and came back counts once, as new, from their
    latest confirmation (a row keeps only its latest dates).
    """
    mondays = week_starts(zone, now, weeks)
    # Week boundaries as UTC instants of local midnights: DST changes make weeks 167 or 169 hours.
    bounds = [local_to_utc(monday, time(0), zone) for monday in mondays]
    start = bounds[0]
    joined = func.coalesce(Subscriber.confirmed_at, Subscriber.created_at)
    was_active = or_(
        Subscriber.status == ACTIVE,
        and_(
            Subscriber.status == UNSUBSCRIBED,
            Subscriber.confirmed_at.is_not(None),
            Subscriber.unsubscribed_at.is_not(None),
        ),
    )
    before = session.scalar(
        select(func.count())
        .select_from(Subscriber)
        .where(
            was_active,
            joined < start,
            or_(Subscriber.unsubscribed_at.is_(None), Subscriber.unsubscribed_at >= start),
        )
    )
    rows = session.execute(
        select(
            Subscriber.status, Subscriber.confirmed_at, Subscriber.created_at, Subscriber.unsubscribed_at
        ).where(
            or_(
                Subscriber.confirmed_at >= start,
                Subscriber.unsubscribed_at >= start,
                and_(
                    Subscriber.status == ACTIVE,
                    Subscriber.confirmed_at.is_(None),
                    Subscriber.created_at >= start,
                ),
            )
        )
    ).all()
    gained, lost = [0] * weeks, [0] * weeks

    def bucket(moment: datetime) -> int | None:
        index = bisect_right(bounds, moment) - 1
        return index if 0 <= index < weeks and moment <= now else None

    for status, confirmed_at, created_at, unsubscribed_at in rows:
        if status == ACTIVE or (status == UNSUBSCRIBED and confirmed_at and unsubscribed_at):
            began = confirmed_at or created_at
            if began >= start and (index := bucket(began)) is not None:
                gained[index] += 1
            if (
                status == UNSUBSCRIBED
                and began < unsubscribed_at
                and (index := bucket(unsubscribed_at)) is not None
            ):
                lost[index] += 1
    result, active = [], before
    for index, monday in enumerate(mondays):
        active += gained[index] - lost[index]
        result.append(Week(monday, gained[index], lost[index], active))
    return Growth(before, result)


def describe_growth(growth: Growth) -> str:
    """The trend in one sentence, for the chart's description and its readers."""
    weeks = growth.weeks
    if not weeks:
        return "No weeks to show."
    first, last = growth.active_at_start, weeks[-1].active
    span = f"over {len(weeks)} weeks"
    if first == last == 0 and not any(week.new or week.unsubscribed for week in weeks):
        return f"No active subscribers {span}."
    if last > first:
        trend = f"Active subscribers grew from {first} to {last} {span}"
    elif last < first:
        trend = f"Active subscribers fell from {first} to {last} {span}"
    else:
        trend = f"Active subscribers stayed at {last} {span}"
    new = sum(week.new for week in weeks)
    left = sum(week.unsubscribed for week in weeks)
    return f"{trend}: {new} new, {left} unsubscribed."
