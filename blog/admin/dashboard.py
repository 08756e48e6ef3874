"""The dashboard: posts, subscribers, the next digest and the last ones at a glance."""

from datetime import UTC, datetime

from flask import Blueprint, render_template

from blog.admin import stats
from blog.admin.charts import WeeklySeries, weekly_chart
from blog.extensions import db
from blog.newsletter import digests, progress
from blog.newsletter.sending import settings_from_app
from blog.platform.zones import local_moment, site_zone
from blog.subscriptions.queries import overview

bp = Blueprint("dashboard", __name__)
RECENT_DIGESTS = 5


@bp.get("/")
def index():
    now = datetime.now(UTC)
    zone = site_zone()
    subscribers, choices = overview(db.session)
    growth = stats.weekly_growth(db.session, zone, now)
    weeks = growth.weeks
    summary = stats.describe_growth(growth)
    chart = weekly_chart(
        WeeklySeries(
            labels=[f"{week.start.day} {week.start:%b}" for week in weeks],
            up=[week.new for week in weeks],
            down=[week.unsubscribed for week in weeks],
            line=[week.active for week in weeks],
        ),
        title=f"Subscribers over the last {len(weeks)} weeks",
        description=summary,
        id_prefix="growth",
    )
    schedule = digests.current_schedule(db.session)
    next_run = None
    if schedule is not None and schedule.next_run_at is not None:
        next_run = local_moment(schedule.next_run_at, schedule.timezone, now=now)
    return render_template(
        "admin/dashboard/index.html",
        zone=zone,
        posts=stats.post_counts(db.session, now),
        subscribers=subscribers,
        has_subscribers=any(subscribers.values()),
        weeks=weeks,
        summary=summary,
        chart=chart,
        schedule=schedule,
        next_run=next_run,
        digests=progress.recent_digests(db.session, RECENT_DIGESTS),
        late=digests.held_late(db.session, settings_from_app().max_lateness),
        standing=progress.standing(db.session, now),
        choices=choices,
    )
