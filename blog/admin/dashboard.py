"""The dashboard: posts, subscribers, the next digest and the last ones at a glance."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, url_for

from blog import stats
from blog.admin.charts import WeeklySeries, weekly_chart
from blog.extensions import db

bp = Blueprint("dashboard", __name__)


@bp.app_template_global()
def section_url(endpoint: str, **values) -> str | None:
    """url_for, or None when the app has no such page: console sections are registered one by one."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.get("/")
def index():
    now = datetime.now(UTC)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    subscribers = stats.subscriber_counts(db.session)
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
    schedule = stats.current_schedule(db.session)
    next_run = None
    if schedule is not None and schedule.next_run_at is not None:
        next_run = stats.describe_run(schedule.next_run_at, ZoneInfo(schedule.timezone), now)
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
        digests=stats.recent_digests(db.session),
    )
