"""The archive: every published post, by year and month in the site's time zone."""

import calendar

from flask import Blueprint, render_template

from blog.extensions import db
from blog.pagecache import cached_page
from blog.queries import archive_months
from blog.templating import site_zone

bp = Blueprint("archive", __name__)


@bp.get("/archive/")
@cached_page()
def index():
    months = archive_months(db.session, site_zone())
    return render_template("archive/index.html", months=months, month_names=list(calendar.month_name))
