"""Mail per audience: one frozen digest per (frequency, topics, moment), the post ledger, every-post
mail after POST_MAIL_DELAY, monthly by the subscriber's calendar. The dispatcher runs at moments
the test chooses (its `now`); sending is covered by the worker tests."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from blog.extensions import db
from blog.models import CarriedPost, Delivery, Digest, DigestStatus, Frequency, Post, Subscriber, Tag
from blog.newsletter.audiences import Run, dispatch_audiences
from blog.newsletter.digests import save_schedule
from blog.newsletter.sending import composer_from_app, run_dispatch, settings_from_app
from blog.subscriptions.preferences import Preferences, save_preferences

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # a Sunday


def tag_id(slug: str) -> int:
    tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if tag is None:
        tag = Tag(slug=slug, name=slug.upper(), topic=True)
        db.session.add(tag)
        db.session.flush()
    return tag.id


def reader(name: str, at: datetime = START, **chosen) -> Subscriber:
    """An active reader who confirmed a day before `at` and saved these preferences at `at`."""
    person = Subscriber(email=f"{name}@example.com", email_key=f"{name}@example.com", status="active",
                        confirmed_at=at - timedelta(days=1))  # fmt: skip
    db.session.add(person)
    db.session.flush()
    if chosen:
        topics = tuple(sorted(tag_id(slug) for slug in chosen.pop("topics", ())))
        save_preferences(db.session, person, Preferences(topics=topics, **chosen), at)
    return person


def post(title: str, at: datetime, tags=(), made: datetime | None = None, imported: bool = False) -> Post:
    """A post published at `at`, written then (or at `made`: later is back-dated)."""
    item = Post(slug=title.lower().replace(" ", "-"), title=title, body=title, html=f"<p>{title}</p>",
                excerpt=title, published_at=at, created_at=made or at,
                source_path=f"/import/{title}.md" if imported else None)  # fmt: skip
    item.tags = [db.session.get(Tag, tag_id(slug)) for slug in tags]
    db.session.add(item)
    db.session.flush()
    return item


def ledger() -> set[tuple[str, str]]:
    """(subscriber's name, post title) for every post carried to someone."""
    rows = db.session.execute(
        select(Subscriber.email, Post.title)
        .join(CarriedPost, CarriedPost.subscriber_id == Subscriber.id)
        .join(Post, Post.id == CarriedPost.post_id)
    )
    return {(email.split("@")[0], title) for email, title in rows}


def tick(at: datetime) -> list[int]:
    db.session.commit()
    return run_dispatch(at)


def test_alike_subscribers_share_one_digest_and_topics_filter_and_skip(app):
    with app.app_context():
        save_schedule(db.session, weekday=0, local_time=time(8), timezone="Europe/Berlin", min_posts=1,
                      hold_for_review=False, enabled=True, now=START)  # fmt: skip
        for name in ("ml1", "ml2", "ml3"):
            reader(
                name, frequency=Frequency.WEEKLY, topics=("ml",), timezone="Europe/Berlin", delivery_hour=8
            )
        reader("everything", frequency=Frequency.WEEKLY, timezone="Europe/Berlin", delivery_hour=8)
        reader(
            "travel",
            frequency=Frequency.WEEKLY,
            topics=("travel",),
            timezone="Europe/Berlin",
            delivery_hour=8,
        )
        reader("default")  # never chose: the author's weekly digest
        post("Gradients", START - timedelta(hours=6), tags=("ml",))
        post("Borrowing", START - timedelta(hours=3), tags=("rust",))
        tick(START + timedelta(minutes=1))
        monday = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
        assert set(
            db.session.scalars(select(Subscriber.next_send_at).where(Subscriber.preferences_at.is_not(None)))
        ) == {monday}
        run = Run()
        dispatch_audiences(
            db.session, composer_from_app(), settings_from_app(), monday - timedelta(seconds=1), run
        )
        assert run.digest_ids == []  # not yet
        dispatch_audiences(db.session, composer_from_app(), settings_from_app(), monday, run)
        assert (run.composed, run.skipped, run.recipients) == (2, 1, 4)  # three audiences, two composed
        digests = {
            d.audience.split("|")[1]: d
            for d in db.session.scalars(select(Digest).where(Digest.audience.is_not(None)))
        }
        ml, travel = tag_id("ml"), tag_id("travel")
        assert (
            digests[str(ml)].status == DigestStatus.SENDING
            and digests[str(travel)].status == DigestStatus.SKIPPED
        )
        assert digests[str(ml)].subject.startswith(app.config["SITE_TITLE"] + " — 1 new post")
        counts = dict(
            db.session.execute(select(Delivery.digest_id, func.count()).group_by(Delivery.digest_id)).all()
        )
        assert counts == {digests[str(ml)].id: 3, digests["all"].id: 1}
        tick(monday)  # the author's own digest, to those who never chose
        assert ledger() == {
            ("ml1", "Gradients"), ("ml2", "Gradients"), ("ml3", "Gradients"),
            ("everything", "Gradients"), ("everything", "Borrowing"),
            ("default", "Gradients"), ("default", "Borrowing"),
        }  # fmt: skip
        # A repeated tick makes nothing again; they are placed a week on.
        tick(monday + timedelta(minutes=1))
        assert db.session.scalar(select(func.count(Digest.id))) == 4
        assert db.session.scalar(
            select(func.min(Subscriber.next_send_at)).where(Subscriber.preferences_at.is_not(None))
        ) == (monday + timedelta(days=7))


def test_a_switch_from_weekly_to_monthly_mid_month_sends_no_post_twice(app):
    with app.app_context():
        tokyo = {"timezone": "Asia/Tokyo", "delivery_hour": 9}
        switcher = reader("switcher", frequency=Frequency.WEEKLY, **tokyo)
        reader("monthly", frequency=Frequency.MONTHLY, **tokyo)
        titles = {}
        for day in (3, 10, 12, 20, 28):
            titles[day] = post(f"November {day}", datetime(2026, 11, day, 12, tzinfo=UTC)).title
        post("Tokyo's December", datetime(2026, 11, 30, 16, tzinfo=UTC))  # 01:00 on 1 December in Tokyo
        moment = START
        while moment < datetime(2026, 12, 2, tzinfo=UTC):
            if moment == datetime(2026, 11, 11, tzinfo=UTC):
                save_preferences(db.session, switcher, Preferences(Frequency.MONTHLY, (), **tokyo), moment)
            tick(moment)
            moment += timedelta(hours=2)
        got = ledger()
        november = {titles[day] for day in titles}
        assert {title for name, title in got if name == "switcher"} == november  # each once (UNIQUE)
        assert {title for name, title in got if name == "monthly"} == november
        sent = db.session.scalars(
            select(Digest).where(Digest.status == DigestStatus.SENDING).order_by(Digest.id)
        ).all()
        weekly = [d for d in sent if d.audience.startswith("weekly")]
        assert [d.scheduled_for for d in weekly] == [
            datetime(2026, 11, 9, 0, tzinfo=UTC)
        ]  # Monday 09:00 Tokyo
        assert {d.scheduled_for for d in sent if d.audience.startswith("monthly")} == {
            datetime(2026, 12, 1, 0, tzinfo=UTC)  # 1 December, 09:00 Tokyo
        }
        monthly = [d for d in sent if d.audience.startswith("monthly")]
        assert len(monthly) == 2  # the switcher's month starts where their weekly ended: its own audience
        assert all(d.period_end == datetime(2026, 11, 30, 15, tzinfo=UTC) for d in monthly)


def test_every_post_mail_waits_for_the_delay_and_never_carries_old_or_imported_posts(app):
    with app.app_context():
        reader("eager", frequency=Frequency.POST, topics=("ml",))
        reader("default")
        at = START + timedelta(hours=3)
        post("Fresh", at, tags=("ml",))
        post("Back-dated", at - timedelta(days=3), tags=("ml",), made=at)
        post("Imported", at, tags=("ml",), imported=True)
        post("Off topic", at, tags=("travel",))
        assert tick(at + timedelta(minutes=9)) == []  # a quick fix could still come
        [digest_id] = tick(at + timedelta(minutes=10))
        assert db.session.get(Digest, digest_id).post_ids == [
            db.session.scalar(select(Post.id).where(Post.title == "Fresh"))
        ]
        tick(at + timedelta(minutes=11))
        assert db.session.scalar(select(func.count(Digest.id))) == 1
        post("Next", at + timedelta(hours=1), tags=("ml",))
        tick(at + timedelta(hours=1, minutes=10))
        assert ledger() == {("eager", "Fresh"), ("eager", "Next")}


def test_the_console_shows_choices_tomorrows_slots_runs_and_any_audiences_preview(app, admin, client):
    now = datetime.now(UTC)
    with app.app_context():
        for index, zone in enumerate(("Europe/Berlin", "Europe/Berlin", "Asia/Tokyo")):
            reader(
                f"mine{index}",
                at=now,
                frequency=Frequency.WEEKLY,
                topics=("ml",),
                timezone=zone,
                delivery_hour=8,
            )
        reader("monthly", at=now, frequency=Frequency.MONTHLY, timezone="America/New_York", delivery_hour=7)
        reader("eager", at=now, frequency=Frequency.POST, topics=("rust",), timezone="America/New_York")
        reader("default", at=now)
        post("Recent ML", now - timedelta(days=1), tags=("ml",))
        db.session.commit()
        # Placed in tomorrow's slots when due within a day: move the Berlin pair to an hour from now,
        # and everyone else out of the next two days, whatever the hour and day the suite runs at
        # (Tokyo's Monday 08:00 is Sunday 23:00 UTC; New York's 1st at 07:00 is 12:00 UTC).
        tick(now)
        for person in db.session.scalars(select(Subscriber).where(Subscriber.next_send_at.is_not(None))):
            berlin = person.timezone == "Europe/Berlin"
            person.next_send_at = now + (timedelta(hours=1) if berlin else timedelta(days=2))
        db.session.commit()
    listing = client.get("/admin/subscribers/").text
    assert 'id="choice-counts-post">1<' in listing and 'id="choice-counts-weekly">4<' in listing
    assert 'id="choice-counts-monthly">1<' in listing
    assert "<td>ML</td><td>3</td>" in listing and "<td>Europe/Berlin</td><td>2</td>" in listing
    assert 'id="dashboard-choices-weekly">4<' in client.get("/admin/").text
    page = client.get("/admin/digest/").text
    assert 'id="slots"' in page and "Europe/Berlin (2)" in page
    with app.app_context():
        at = datetime.now(UTC) + timedelta(hours=1, minutes=1)
        run_dispatch(at)  # the Berlin pair's run
        [key] = db.session.scalars(select(Digest.audience).where(Digest.audience.is_not(None))).all()
    page = client.get("/admin/digest/").text
    assert "Weekly · ML · 08:00 Europe/Berlin" in page
    shown = client.get("/admin/digest/audience", query_string={"key": key})
    assert shown.status_code == 200 and "Weekly · ML · 08:00 Europe/Berlin" in shown.text
    assert client.get("/admin/digest/audience", query_string={"key": "nonsense"}).status_code == 400


def test_an_audiences_web_copy_opens_but_the_archive_lists_the_authors_digests_only(app, client):
    with app.app_context():
        reader("eager", frequency=Frequency.POST)
        post("Fresh", START, tags=("ml",))
        [digest_id] = tick(START + timedelta(minutes=10))
        sent = db.session.get(Digest, digest_id)
        sent.status, sent.sent_at = DigestStatus.SENT, START + timedelta(minutes=11)
        db.session.commit()
    assert client.get(f"/digests/{digest_id}/").status_code == 200
    assert f"/digests/{digest_id}/" not in client.get("/digests/").text


def test_someone_back_after_leaving_starts_a_week_back_not_where_they_left(app):
    from blog.subscriptions import lifecycle

    with app.app_context():
        person = reader("returning", frequency=Frequency.MONTHLY, timezone="Europe/Berlin", delivery_hour=8)
        person.next_send_at = START
        lifecycle.unsubscribe(person, START)
        person.status = "pending"  # they asked again
        back = START + timedelta(days=200)
        assert lifecycle.confirm(db.session, person, "127.0.0.1", back)
        db.session.commit()
        assert (person.covered_until, person.next_send_at) == (back - timedelta(days=7), None)
        assert (person.frequency, person.delivery_hour) == ("monthly", 8)  # what they chose is kept


def test_the_authors_digest_counts_and_reaches_only_those_who_never_chose(app):
    from blog.newsletter.delivery import fan_out
    from blog.newsletter.digests import create_digest
    from blog.newsletter.preview import build_preview

    with app.app_context():
        reader("chose", frequency=Frequency.MONTHLY)
        reader("kept")
        post("Week", START - timedelta(days=1))
        assert build_preview(db.session, START).active_subscribers == 1
        digest = create_digest(db.session, composer_from_app(), START)
        assert fan_out(db.session, digest) == 1
        assert ledger() == {("kept", "Week")}


def test_a_dispatcher_down_for_weeks_makes_one_late_digest_and_the_next_covers_the_gap(app):
    with app.app_context():
        reader("berlin", frequency=Frequency.WEEKLY, timezone="Europe/Berlin", delivery_hour=8)
        for day in (-1, 9, 16):
            post(f"Day {day}", START + timedelta(days=day, hours=6))
        tick(START)
        back = START + timedelta(days=22)  # the Mondays of 2, 9, 16 and 23 November missed
        tick(back)
        tick(back + timedelta(minutes=1))
        [late] = db.session.scalars(select(Digest).where(Digest.status == DigestStatus.SENDING)).all()
        assert late.scheduled_for == datetime(2026, 11, 2, 7, tzinfo=UTC) and len(late.post_ids) == 1
        assert db.session.scalar(select(Subscriber.next_send_at)) == datetime(2026, 11, 30, 7, tzinfo=UTC)
        tick(datetime(2026, 11, 30, 7, tzinfo=UTC))
        assert ledger() == {("berlin", "Day -1"), ("berlin", "Day 9"), ("berlin", "Day 16")}
        assert db.session.scalar(select(func.count(Digest.id))) == 2


def test_topics_on_the_authors_schedule_go_with_the_authors_digest_whatever_the_zone(app):
    with app.app_context():
        save_schedule(db.session, weekday=0, local_time=time(9), timezone="Europe/Berlin", min_posts=1,
                      hold_for_review=False, enabled=True, now=START)  # fmt: skip
        reader("tokyo", frequency=Frequency.WEEKLY, topics=("ml",), timezone="Asia/Tokyo")
        reader("lima", frequency=Frequency.WEEKLY, topics=("ml",), timezone="America/Lima")
        reader("default")
        post("Gradients", START - timedelta(hours=6), tags=("ml",))
        post("Trains", START - timedelta(hours=5), tags=("travel",))
        tick(START)
        monday = datetime(2026, 11, 2, 8, tzinfo=UTC)  # 09:00 in Berlin
        assert set(
            db.session.scalars(select(Subscriber.next_send_at).where(Subscriber.preferences_at.is_not(None)))
        ) == {monday}
        tick(monday)
        made = db.session.scalars(select(Digest).where(Digest.status == DigestStatus.SENDING)).all()
        assert sorted(d.audience is None for d in made) == [False, True]  # one for both zones, the author's
        assert ledger() == {
            ("tokyo", "Gradients"),
            ("lima", "Gradients"),
            ("default", "Gradients"),
            ("default", "Trains"),
        }
