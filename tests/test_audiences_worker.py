"""Acceptance: each subscriber gets exactly the posts they chose, at most once, at their own hour.

Real Redis, a Celery worker and beat, the SMTP server. The dispatcher's `now` is the moment in
DISPATCH_CLOCK_FILE (newsletter/sending.dispatch_now), which the test moves through five weeks
across both DST changes (Europe on 25 October 2026, the US on 1 November); the system clock and
everything else (claims, sending) run in real time. The clock moves to each noon and to each
moment the dispatcher itself has placed a send at, and waits there until the dispatcher is done.
"""

import os
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from servers import CeleryBeat, CeleryWorker, wait_until
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import CarriedPost, Digest, DigestStatus, Frequency, Post, Subscriber, Tag
from blog.subscriptions.links import preferences_url
from blog.subscriptions.preferences import Preferences, save_preferences

START = datetime(2026, 10, 12, 0, 0, tzinfo=UTC)  # a Monday
END = START + timedelta(weeks=5, hours=12)  # past the sixth Monday's 08:00 in Berlin
DELAY = timedelta(minutes=10)

POSTS = [  # title, published (UTC), tags, and how it came: None (written then), "back-dated", "imported"
    ("ML basics", datetime(2026, 10, 13, 10, 0), ("ml",), None),
    ("Rust traits", datetime(2026, 10, 14, 9, 0), ("rust",), None),
    ("Python tips", datetime(2026, 10, 16, 15, 0), ("python",), None),
    ("Back-dated rust", datetime(2026, 10, 20, 12, 0), ("rust",), "back-dated"),
    ("Imported rust", datetime(2026, 10, 22, 8, 0), ("rust",), "imported"),
    ("ML on the DST night", datetime(2026, 10, 25, 1, 30), ("ml", "rust"), None),
    ("Rust async", datetime(2026, 10, 27, 18, 0), ("rust",), None),
    ("Python for ML", datetime(2026, 10, 30, 12, 0), ("ml", "python"), None),
    ("Halloween trip", datetime(2026, 10, 31, 22, 30), ("travel",), None),  # October everywhere here
    ("Late night in New York", datetime(2026, 11, 1, 3, 30), ("travel",), None),  # Oct in NY, Nov in Berlin
    ("November ML", datetime(2026, 11, 4, 12, 0), ("ml",), None),
    ("November rust", datetime(2026, 11, 10, 7, 0), ("rust",), None),
    ("Last ML", datetime(2026, 11, 14, 20, 0), ("ml",), None),
]

# name: (frequency, topics, zone, hour), and exactly the posts they must get within the five weeks.
READERS = {
    "berlin": ((Frequency.WEEKLY, ("ml",), "Europe/Berlin", 8),
               {"ML basics", "ML on the DST night", "Python for ML", "November ML", "Last ML"}),
    "tokyo": ((Frequency.POST, ("rust",), "Asia/Tokyo", 9),
              {"Rust traits", "ML on the DST night", "Rust async", "November rust"}),
    # Weekly on Monday 07:00 in New York, then monthly from 28 October (mid-month): October arrives
    # on 1 November at 07:00 (EST by then), the posts the weeklies carried not again.
    "newyork": ((Frequency.WEEKLY, (), "America/New_York", 7),
                {title for title, at, _, _ in POSTS if at < datetime(2026, 11, 1, 4)}),  # UTC: NY midnight
    "berlinmonthly": ((Frequency.MONTHLY, ("ml", "python", "travel"), "Europe/Berlin", 8),
                      {"ML basics", "Python tips", "ML on the DST night", "Python for ML", "Halloween trip"}),
}  # fmt: skip
SWITCH = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(tmp_path):
    path = tmp_path / "dispatch-clock"

    def move(moment: datetime) -> None:
        partial = path.with_suffix(".next")
        partial.write_text(moment.isoformat())
        os.replace(partial, path)  # the beat never reads half a moment

    move(START)
    return path, move


def tag(slug: str) -> Tag:
    found = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if found is None:
        found = Tag(slug=slug, name=slug, topic=True)
        db.session.add(found)
        db.session.flush()
    return found


def setup_site() -> None:
    for title, at, tags, how in POSTS:
        published = at.replace(tzinfo=UTC)
        post = Post(slug=re.sub(r"\W+", "-", title.lower()), title=title, body=title, html=f"<p>{title}</p>",
                    excerpt=title, published_at=published,
                    created_at=published + timedelta(days=4) if how == "back-dated" else published,
                    source_path=f"/old-blog/{title}.md" if how == "imported" else None)  # fmt: skip
        post.tags = [tag(slug) for slug in tags]
        db.session.add(post)
    for name, ((frequency, topics, zone, hour), _) in READERS.items():
        reader = Subscriber(email=f"{name}@example.com", email_key=f"{name}@example.com", status="active",
                            confirmed_at=START - timedelta(hours=12))  # fmt: skip
        db.session.add(reader)
        db.session.flush()
        chosen = Preferences(frequency, tuple(sorted(tag(slug).id for slug in topics)), zone, hour)
        save_preferences(db.session, reader, chosen, START)
    db.session.commit()


def settled(moment: datetime) -> bool:
    """The dispatcher has done what is due at `moment`: everyone is placed after it, and every
    every-post reader has each of their news posts from before moment - DELAY in the ledger."""
    db.session.remove()
    behind = db.session.scalar(
        select(func.count(Subscriber.id)).where(
            Subscriber.preferences_at.is_not(None),
            Subscriber.frequency != Frequency.POST,
            (Subscriber.next_send_at.is_(None)) | (Subscriber.next_send_at <= moment),
        )
    )
    (_, topics, _, _), _ = READERS["tokyo"]
    due = {
        title
        for title, at, tags, how in POSTS
        if how is None and set(tags) & set(topics) and at.replace(tzinfo=UTC) + DELAY <= moment
    }
    carried = set(
        db.session.scalars(
            select(Post.title)
            .join(CarriedPost, CarriedPost.post_id == Post.id)
            .join(Subscriber, Subscriber.id == CarriedPost.subscriber_id)
            .where(Subscriber.email == "tokyo@example.com")
        )
    )
    return behind == 0 and due <= carried


def next_moment(now: datetime) -> datetime:
    """The next noon, the next moment the dispatcher placed a send at, or the next post's mail."""
    noon = (now + timedelta(hours=12)).replace(hour=12, minute=0, second=0, microsecond=0)
    placed = db.session.scalar(
        select(func.min(Subscriber.next_send_at)).where(
            Subscriber.frequency != Frequency.POST, Subscriber.next_send_at > now
        )
    )
    mails = [at.replace(tzinfo=UTC) + DELAY for _, at, _, how in POSTS if how is None]
    return min([noon, *([placed] if placed else []), *[m for m in mails if m > now]])


def switch_to_monthly(mail_site) -> None:
    """New York's reader changes frequency on their preferences page (no cookie, the form's token)."""
    with mail_site.app_context():
        reader = db.session.scalar(select(Subscriber).where(Subscriber.email == "newyork@example.com"))
        path = preferences_url(reader).removeprefix(mail_site.config["SITE_URL"])
    visitor = mail_site.test_client()
    token = re.search(r'name="form_token" value="([^"]+)"', visitor.get(path).text)[1]
    fields = {"frequency": "monthly", "when": "mine", "hour": "7", "timezone": "America/New_York"}
    answer = visitor.post(path, data={"form_token": token, **fields})
    assert "Saved." in answer.text


def test_five_weeks_three_zones_each_reader_gets_what_they_chose_once_at_their_hour(
    mail_site, worker_env, smtp_server, processes, tmp_path, clock
):
    path, move = clock
    env = worker_env | {"DISPATCH_CLOCK_FILE": str(path), "DISPATCH_INTERVAL": "0.2",
                        "DELIVERY_CLAIM_TIMEOUT": "4", "POST_MAIL_DELAY": "10"}  # fmt: skip
    with mail_site.app_context():
        setup_site()
        processes(CeleryWorker, env, tmp_path / "worker.log")
        processes(CeleryBeat, env, tmp_path / "beat.log")
        now, switched, steps = START, False, 0
        wait_until(lambda: settled(now), 30, "the first dispatch")
        while now < END:
            now = min(next_moment(now), END)
            if not switched and now >= SWITCH:
                now, switched = SWITCH, True
                switch_to_monthly(mail_site)
            move(now)
            steps += 1
            wait_until(
                lambda at=now: settled(at), 30, f"the dispatcher at {now:%Y-%m-%d %H:%M}", interval=0.05
            )

        def all_sent() -> bool:
            db.session.remove()
            return not db.session.scalar(
                select(func.count(Digest.id)).where(Digest.status == DigestStatus.SENDING)
            )

        wait_until(all_sent, 60, "every digest to be sent", interval=0.2)
        check(smtp_server, steps)


def check(smtp_server, steps: int) -> None:
    received: dict[str, Counter] = {name: Counter() for name in READERS}
    digest_of: dict[str, list[int]] = {name: [] for name in READERS}
    titles = [title for title, *_ in POSTS]
    for message in smtp_server.messages:
        name = str(message["To"]).split("@")[0]
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        received[name].update(title for title in titles if f"\n{title}\n" in text)
        digest_of[name].append(int(re.match(r"<digest-(\d+)\.", message["Message-ID"])[1]))
    print(f"\nThe post ledger after five simulated weeks ({steps} clock moves):")
    rows = db.session.execute(
        select(
            Subscriber.email,
            Subscriber.timezone,
            Digest.id,
            Digest.audience,
            Digest.scheduled_for,
            Post.title,
        )
        .join(CarriedPost, CarriedPost.subscriber_id == Subscriber.id)
        .join(Digest, Digest.id == CarriedPost.digest_id)
        .join(Post, Post.id == CarriedPost.post_id)
        .order_by(Subscriber.email, Digest.scheduled_for, Post.published_at)
    ).all()
    for email, zone, digest_id, audience, at, title in rows:
        local = at.astimezone(ZoneInfo(zone))
        print(
            f"  {email:28} digest {digest_id:3} {audience.split('|')[0]:8} {local:%a %d %b %H:%M %Z}  {title}"
        )
    for name, (choice, expected) in READERS.items():
        assert set(received[name]) == expected, name  # exactly the posts they chose
        assert max(received[name].values()) == 1, name  # each at most once
        frequency, _, zone, hour = choice
        for digest_id in digest_of[name]:
            digest = db.session.get(Digest, digest_id)
            late = digest.created_at - digest.scheduled_for
            assert timedelta(0) <= late <= timedelta(minutes=1), (name, digest_id)  # within one tick
            if digest.audience.startswith(Frequency.POST):
                first = min(db.session.get(Post, post_id).published_at for post_id in digest.post_ids)
                assert timedelta(0) <= digest.scheduled_for - first - DELAY <= timedelta(minutes=1)
            else:
                local = digest.scheduled_for.astimezone(ZoneInfo(zone))
                assert (local.hour, local.minute) == (hour, 0), (name, local)  # their morning, DST or not
    assert len(digest_of["newyork"]) == 3  # two weeklies, then October as one monthly
    assert len(digest_of["berlin"]) == 5  # six Mondays; the first, with no ML post yet, was skipped
