"""The dashboard at /admin/: counts, the weekly growth chart, the next digest and the last ones."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import (
    AUTHOR_PASSWORD,
    add_post,
    add_subscribers,
    confirm_link,
    csrf_token,
    outbox,
    sign_in,
    subscribe,
)
from sqlalchemy import select, update

from blog.admin import stats
from blog.extensions import db
from blog.models import Delivery, Digest, Subscriber
from blog.newsletter.digests import save_schedule
from blog.platform.templating import section_url
from blog.platform.zones import local_moment
from blog.subscriptions.links import subscriber_token
from blog.subscriptions.tokens import Purpose

NOW = datetime.now(UTC)
SVG = "{http://www.w3.org/2000/svg}"
NEW_YORK = ZoneInfo("America/New_York")


def figure(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"no #{element_id} on the page"
    return match.group(1).strip()


def svg(html: str) -> ET.Element:
    match = re.search(r"<svg.*?</svg>", html, re.S)
    assert match, "no chart on the page"
    return ET.fromstring(match.group(0))


def growth_rows(html: str) -> dict[str, tuple[int, int, int]]:
    """The 'Show the numbers' table: week -> (new, unsubscribed, active)."""
    table = re.search(r'<table class="admin-table" id="growth-table">.*?</table>', html, re.S).group(0)
    rows = re.findall(
        r'<th scope="row">([^<]+)</th><td class="number">(\d+)</td>'
        r'<td class="number">(\d+)</td><td class="number">(\d+)</td>',
        table,
    )
    return {week: (int(new), int(left), int(active)) for week, new, left, active in rows}


def strip_tags(cell: str) -> str:
    return re.sub(r"<[^>]+>", "", cell).strip()


def add_subscriber(email: str, status: str, confirmed_at=None, unsubscribed_at=None, created_at=None):
    db.session.add(
        Subscriber(
            email=email,
            email_key=email,
            status=status,
            confirmed_at=confirmed_at,
            unsubscribed_at=unsubscribed_at,
            created_at=created_at or confirmed_at or NOW - timedelta(days=200),
        )
    )


def add_digest(scheduled_for: datetime, subject: str, status: str = "sent", **deliveries: int) -> int:
    digest = Digest(
        scheduled_for=scheduled_for,
        period_start=scheduled_for - timedelta(days=7),
        period_end=scheduled_for,
        status=status,
        subject=subject,
    )
    db.session.add(digest)
    db.session.flush()
    db.session.add_all(
        Delivery(digest_id=digest.id, status=delivery_status)
        for delivery_status, number in deliveries.items()
        for _ in range(number)
    )
    return digest.id


def test_counts_posts_and_subscribers_by_state(app, admin):
    with app.app_context():
        add_post("Out yesterday", NOW - timedelta(days=1))
        add_post("Out last month", NOW - timedelta(days=30))
        add_post("Out a year ago", NOW - timedelta(days=365))
        add_post("Draft of the past", NOW - timedelta(days=2), draft=True)
        add_post("Draft for later", NOW + timedelta(days=2), draft=True)
        add_post("Coming tomorrow", NOW + timedelta(days=1))
        add_post("Coming next week", NOW + timedelta(days=7))
        add_subscribers(1, status="pending", prefix="pending")
        add_subscribers(5, status="active", prefix="active")
        add_subscribers(3, status="unsubscribed", prefix="gone")
        add_subscribers(2, status="bounced", prefix="bounced")
        add_subscribers(4, status="complained", prefix="complained")
        db.session.commit()
    html = admin.get("/admin/").text
    assert figure(html, "posts-published") == "3"
    assert figure(html, "posts-drafts") == "2"
    assert figure(html, "posts-scheduled") == "2"
    assert figure(html, "subscribers-active") == "5"
    assert figure(html, "subscribers-pending") == "1"
    assert figure(html, "subscribers-unsubscribed") == "3"
    assert figure(html, "subscribers-bounced") == "2"
    assert figure(html, "subscribers-complained") == "4"
    assert "No subscribers yet" not in html


def test_an_empty_blog_gets_a_dashboard_that_says_so(app, admin):
    response = admin.get("/admin/")
    assert response.status_code == 200
    html = response.text
    assert html.count("<h1>") == 1
    assert figure(html, "posts-published") == "0"
    assert "No subscribers yet" in html
    assert "<svg" not in html  # nothing to chart
    assert figure(html, "next-digest").startswith("No schedule yet")
    assert figure(html, "digests-none") == "No digest has been created yet."


def test_weeks_start_on_monday_in_the_authors_zone(app):
    """Sunday 23:30 in New York is already Monday in UTC: it still counts for the week it ends."""
    now = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday, three days after DST ended
    sunday_late = datetime(2026, 11, 1, 23, 30, tzinfo=NEW_YORK)  # 04:30 UTC on Monday 2 November
    monday_early = datetime(2026, 11, 2, 0, 30, tzinfo=NEW_YORK)
    summer = datetime(2026, 9, 14, 9, 0, tzinfo=NEW_YORK)  # a Monday under daylight saving time
    with app.app_context():
        add_subscriber("old@example.com", "active", confirmed_at=datetime(2026, 1, 5, tzinfo=UTC))
        add_subscriber("left@example.com", "unsubscribed", datetime(2026, 2, 1, tzinfo=UTC), summer)
        add_subscriber("sunday@example.com", "active", confirmed_at=sunday_late)
        add_subscriber("monday@example.com", "active", confirmed_at=monday_early)
        add_subscriber("bounced@example.com", "bounced", confirmed_at=summer)
        add_subscriber("waiting@example.com", "pending", created_at=monday_early)
        db.session.commit()
        growth = stats.weekly_growth(db.session, NEW_YORK, now)
    weeks = {week.start: week for week in growth.weeks}
    assert [week.start for week in growth.weeks] == [
        date(2026, 8, 17) + timedelta(weeks=index) for index in range(12)
    ]
    assert growth.active_at_start == 2  # old, and left (until 14 September)
    assert weeks[date(2026, 10, 26)].new == 1  # Sunday 23:30 local
    assert weeks[date(2026, 11, 2)].new == 1  # Monday 00:30 local
    # The bounced address confirmed that week, but the line never counted it: nor do the steps.
    assert weeks[date(2026, 9, 14)].new == 0
    assert weeks[date(2026, 9, 14)].unsubscribed == 1
    assert [week.active for week in growth.weeks] == [2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 3]
    assert stats.describe_growth(growth) == (
        "Active subscribers grew from 2 to 3 over 12 weeks: 2 new, 1 unsubscribed."
    )


def test_the_growth_sentence_adds_up_after_leaving_and_coming_back(app, client):
    """Subscribe, unsubscribe and subscribe again, three times: one active subscriber, one new."""
    for _ in range(3):
        subscribe(client, "back@example.com")
        path = confirm_link(outbox(app)[-1]).removeprefix(app.config["SITE_URL"])
        client.post(path, data={"csrf_token": csrf_token(client.get(path).text)})
        with app.app_context():
            row = db.session.scalar(select(Subscriber).where(Subscriber.email_key == "back@example.com"))
            unsubscribe = f"/unsubscribe/{subscriber_token(row, Purpose.UNSUBSCRIBE)}"
        client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
        with app.app_context():
            db.session.execute(update(Subscriber).values(confirmation_sent_at=None))  # no 10-minute pause
            db.session.commit()
    subscribe(client, "back@example.com")
    path = confirm_link(outbox(app)[-1]).removeprefix(app.config["SITE_URL"])
    client.post(path, data={"csrf_token": csrf_token(client.get(path).text)})
    with app.app_context():
        growth = stats.weekly_growth(db.session, ZoneInfo("UTC"), datetime.now(UTC))
    start = growth.active_at_start
    new, left = sum(week.new for week in growth.weeks), sum(week.unsubscribed for week in growth.weeks)
    assert growth.weeks[-1].active == 1 and start + new - left == 1
    assert stats.describe_growth(growth).endswith(f"{new} new, {left} unsubscribed.")


def this_monday(zone: ZoneInfo) -> date:
    today = NOW.astimezone(zone).date()
    return today - timedelta(days=today.weekday())


def test_the_page_buckets_by_the_configured_time_zone(app_factory, author):
    ny_app = app_factory(TIMEZONE="America/New_York")
    monday = this_monday(NEW_YORK)
    sunday_late = datetime.combine(monday - timedelta(days=1), time(23, 30), NEW_YORK)
    with ny_app.app_context():
        add_subscriber("sunday@example.com", "active", confirmed_at=sunday_late)
        for index in range(2):  # imported long ago, without a confirmation date
            add_subscriber(f"imported{index}@example.com", "active", created_at=NOW - timedelta(days=200))
        db.session.commit()
    client = ny_app.test_client()
    sign_in(client, author, AUTHOR_PASSWORD)
    html = client.get("/admin/").text
    rows = growth_rows(html)
    assert len(rows) == 12
    last_week = monday - timedelta(weeks=1)
    assert rows[f"{last_week.day} {last_week:%b %Y}"] == (1, 0, 3)
    assert rows[f"{monday.day} {monday:%b %Y}"] == (0, 0, 3)
    assert "weeks start on Monday, America/New_York" in html
    assert "Active subscribers grew from 2 to 3 over 12 weeks" in html


def test_the_growth_chart_on_the_page(app, admin):
    monday = this_monday(ZoneInfo("UTC"))
    with app.app_context():
        for index in range(4):
            add_subscriber(f"new{index}@example.com", "active", confirmed_at=NOW - timedelta(minutes=index))
        add_subscriber(
            "gone@example.com", "unsubscribed", NOW - timedelta(days=400), NOW - timedelta(days=20)
        )
        db.session.commit()
    html = admin.get("/admin/").text
    root = svg(html)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Subscribers over the last 12 weeks"
    assert root.find(f"{SVG}desc").get("id") == desc_id
    assert (
        root.find(f"{SVG}desc").text
        == "Active subscribers grew from 1 to 4 over 12 weeks: 4 new, 1 unsubscribed."
    )
    assert len(root.findall(f".//{SVG}rect[@class='chart-bar']")) == 12
    labels = [text.text for text in root.iter(f"{SVG}text") if "chart-label" in text.get("class")]
    starts = [monday - timedelta(weeks=11 - index) for index in range(12)]
    assert labels == [f"{start.day} {start:%b}" for start in starts]
    chart = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert "style=" not in chart and "<script" not in chart
    assert "<summary>Show the numbers</summary>" in html
    assert '<caption id="growth-caption">Subscribers per week over the last 12 weeks' in html


def test_the_next_run_is_shown_in_the_schedules_zone(app_factory, author):
    tokyo_app = app_factory(TIMEZONE="Asia/Tokyo")  # the schedule's zone wins over the author's
    with tokyo_app.app_context():
        schedule = save_schedule(
            db.session,
            weekday=0,
            local_time=time(8, 0),
            timezone="Europe/Berlin",
            min_posts=1,
            hold_for_review=False,
            enabled=True,
            now=NOW,
        )
        db.session.commit()
        expected = schedule.next_run_at.astimezone(ZoneInfo("Europe/Berlin"))
    client = tokyo_app.test_client()
    sign_in(client, author, AUTHOR_PASSWORD)
    text = figure(client.get("/admin/").text, "next-digest")
    assert text.startswith(f"Monday {expected.day} {expected:%B %Y}, 08:00 {expected.tzname()} (")
    assert expected.tzname() in ("CET", "CEST")


def test_a_paused_schedule_says_so(app, admin):
    with app.app_context():
        save_schedule(
            db.session,
            weekday=4,
            local_time=time(9, 30),
            timezone="UTC",
            min_posts=1,
            hold_for_review=True,
            enabled=False,
            now=NOW,
        )
        db.session.commit()
    html = admin.get("/admin/").text
    card = re.search(r'id="next-digest">(.*?)</p>', html, re.S).group(1)
    assert "Paused" in card and "No digest goes out" in card


@pytest.mark.parametrize(
    "moment, now, text",
    [
        (
            datetime(2026, 11, 23, 7, tzinfo=UTC),
            datetime(2026, 11, 21, 7, tzinfo=UTC),
            "Monday 23 November 2026, 08:00 CET (in 2 days)",
        ),  # fmt: skip
        (
            datetime(2026, 6, 1, 6, tzinfo=UTC),
            datetime(2026, 5, 31, 20, tzinfo=UTC),
            "Monday 1 June 2026, 08:00 CEST (tomorrow)",
        ),  # fmt: skip
        (
            datetime(2026, 6, 1, 6, tzinfo=UTC),
            datetime(2026, 6, 1, 1, tzinfo=UTC),
            "Monday 1 June 2026, 08:00 CEST (in 5 hours)",
        ),  # fmt: skip
        (
            datetime(2026, 6, 1, 6, tzinfo=UTC),
            datetime(2026, 6, 1, 5, 50, tzinfo=UTC),
            "Monday 1 June 2026, 08:00 CEST (in 10 minutes)",
        ),  # fmt: skip
        (
            datetime(2026, 6, 1, 6, tzinfo=UTC),
            datetime(2026, 6, 1, 6, 1, tzinfo=UTC),
            "Monday 1 June 2026, 08:00 CEST (due now)",
        ),  # fmt: skip
    ],
)
def test_describe_run(moment, now, text):
    assert local_moment(moment, ZoneInfo("Europe/Berlin"), now=now) == text


def test_the_last_five_digests_with_their_delivery_counts(app, admin):
    with app.app_context():
        add_digest(NOW - timedelta(weeks=6), "Oldest, not shown", sent=9)
        for week in range(5, 1, -1):
            add_digest(NOW - timedelta(weeks=week), f"Week {week}", sent=10 + week, failed=week % 2)
        latest = add_digest(
            NOW - timedelta(hours=1), "This <week>", "sending", sent=3, failed=1, pending=4, claimed=2
        )
        add_digest(NOW - timedelta(weeks=1), "Held back", "held")
        db.session.commit()
    html = admin.get("/admin/").text
    table = re.search(r'<table class="admin-table stack" id="digests-table">.*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr id=\"digest-\d+\">(.*?)</tr>", table, re.S)
    cells = [[strip_tags(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]
    assert [row[1] for row in cells] == ["This &lt;week&gt;", "Held back", "Week 2", "Week 3", "Week 4"]
    assert cells[0][2:] == ["sending", "3", "1", "6"]
    assert cells[1][2:] == ["held", "0", "0", "0"]
    assert cells[2][2:] == ["sent", "12", "0", "0"]
    assert cells[3][2:] == ["sent", "13", "1", "0"]
    local = (NOW - timedelta(hours=1)).astimezone(ZoneInfo(app.config["TIMEZONE"]))
    assert cells[0][0] == f"{local.day} {local:%B %Y}"
    show = f'href="/admin/digest/{latest}'
    assert (show in table) == ("admin.digest.show" in app.view_functions)


def test_links_only_to_sections_that_exist(app, admin):
    html = admin.get("/admin/").text
    with app.test_request_context():
        assert section_url("admin.dashboard.index") == "/admin/"
        assert section_url("admin.no-such-section.index") is None
        for endpoint in ("admin.posts.index", "admin.subscribers.index", "admin.outbox.index"):
            url = section_url(endpoint)
            assert (url is not None) == (endpoint in app.view_functions)
            if url is not None:
                assert f'href="{url}"' in html


def test_the_dashboard_runs_a_fixed_number_of_queries(app, admin, count_statements):
    def seed(prefix: str, digests: int, subscribers: int) -> None:
        with app.app_context():
            for index in range(digests):
                add_digest(NOW - timedelta(days=index, hours=1), f"{prefix} {index}", sent=2, failed=1)
            for index in range(subscribers):
                moment = NOW - timedelta(days=index)
                add_subscriber(f"{prefix}{index}@example.com", "active", confirmed_at=moment)
                add_subscriber(f"{prefix}-gone{index}@example.com", "unsubscribed", moment, moment)
            add_post(f"{prefix} post", NOW - timedelta(days=1))
            db.session.commit()

    seed("few", digests=1, subscribers=1)
    few = count_statements(lambda: admin.get("/admin/"))
    seed("many", digests=12, subscribers=60)
    many = count_statements(lambda: admin.get("/admin/"))
    assert len(many) == len(few), many
    assert len(many) <= 11, many  # one of them reads the site's settings
