"""The archive: every published post, by year and month in the site's time zone."""

import calendar

from flask import Blueprint, render_template

from blog.extensions import db
from blog.platform.zones import site_zone
from blog.site.pagecache import cached_page
from blog.site.queries import archive_months

bp = Blueprint("archive", __name__)


@bp.get("/archive/")
@cached_page()
def index():
    months = archive_months(db.session, site_zone())
    return render_template("archive/index.html", months=months, month_names=list(calendar.month_name))
