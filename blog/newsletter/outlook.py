"""What the console shows of the audiences: the next day's sends in hourly slots, any audience's
next digest as it would be composed now, and an audience's key in words. Nothing is saved."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blog.models import Frequency, Post, Subscriber, as_utc
from blog.models import SubscriberStatus as Status
from blog.newsletter.audiences import Audience, audience_posts, next_moment, parse_key, period
from blog.newsletter.digests import Composer, compose_posts, current_schedule
from blog.newsletter.settings import DeliverySettings


def describe_key(key: str | None, tag_names: dict[int, str]) -> str:
    """'Weekly · ML, Rust · 08:00 Europe/Berlin' for an audience's key; the author's digest for None."""
    if key is None:
        return "Everyone on your schedule"
    parts = parse_key(key)
    frequency = {"post": "Every post", "weekly": "Weekly", "monthly": "Monthly"}[parts["frequency"]]
    topics = ", ".join(tag_names.get(tag, f"tag {tag}") for tag in parts["topics"]) or "all posts"
    hour = parts["hour"]
    when = "your schedule" if hour is None else f"{hour:02d}:00 {parts['zone']}"
    if parts["frequency"] == Frequency.POST:
        when = "after publishing"
    return f"{frequency} · {topics} · {when}"


@dataclass(frozen=True)
class Slot:
    """One hour of the next day's sends: when it starts, how many messages, from which zones."""

    start: datetime
    count: int
    zones: tuple[tuple[str, int], ...]


def slots(session: Session, now: datetime, hours: int = 24) -> list[Slot]:
    """The sends placed in the next `hours`, in hourly slots (UTC hours, so every zone's morning
    falls in one), each with its count by zone; the author's weekly counts in its own slot. Each
    slot's digests go at the relay's pace like any other (newsletter/pace.py)."""
    until = now + timedelta(hours=hours)
    rows = session.execute(
        select(Subscriber.next_send_at, Subscriber.timezone, func.count())
        .where(Subscriber.status == Status.ACTIVE, Subscriber.preferences_at.is_not(None),
               Subscriber.frequency != Frequency.POST, Subscriber.next_send_at > now,
               Subscriber.next_send_at <= until)
        .group_by(Subscriber.next_send_at, Subscriber.timezone)
    ).all()  # fmt: skip
    schedule = current_schedule(session)
    if (
        schedule is not None
        and schedule.enabled
        and schedule.next_run_at
        and now < schedule.next_run_at <= until
    ):
        everyone = session.scalar(
            select(func.count()).where(
                Subscriber.status == Status.ACTIVE, Subscriber.preferences_at.is_(None)
            )
        )
        rows.append((schedule.next_run_at, f"{schedule.timezone} (your schedule)", everyone or 0))
    hourly: dict[datetime, dict[str, int]] = {}
    for moment, zone, count in rows:
        hour = as_utc(moment).replace(minute=0, second=0, microsecond=0)
        by_zone = hourly.setdefault(hour, {})
        by_zone[zone or "Not given"] = by_zone.get(zone or "Not given", 0) + count
    return [
        Slot(hour, sum(by_zone.values()), tuple(sorted(by_zone.items(), key=lambda item: -item[1])))
        for hour, by_zone in sorted(hourly.items())
        if sum(by_zone.values())
    ]


@dataclass(frozen=True)
class AudiencePreview:
    moment: datetime
    start: datetime
    end: datetime
    posts: list[Post]
    subject: str
    text: str
    html: str


def preview_audience(
    session: Session, composer: Composer, settings: DeliverySettings, key: str, now: datetime
) -> AudiencePreview:
    """What this audience's next digest would carry if it were made now (nothing saved): its next
    moment, a full period before it (a subscriber who switched gets less), composed the same way."""
    parts = parse_key(key)
    schedule = current_schedule(session)
    moment = next_moment(parts["frequency"], parts["zone"], parts["hour"], schedule, composer.site.zone, now)
    if moment is None:
        raise ValueError("this audience follows your schedule, which is off: it has no next digest")
    topics = "[" + ", ".join(str(tag) for tag in parts["topics"]) + "]"
    audience = Audience(parts["frequency"], topics, parts["zone"], parts["hour"], moment, None)
    start, end, zone = period(audience, schedule, composer.site.zone, settings, moment)
    posts = audience_posts(session, audience, start, end)
    local = dataclasses.replace(composer, site=dataclasses.replace(composer.site, zone=zone))
    composed = compose_posts(local, posts, start, end, composer.web_url(None), "")
    return AudiencePreview(moment, start, end, posts, composed.subject, composed.text, composed.html)
