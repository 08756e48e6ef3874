"""The dashboard: posts, subscribers, the next digest and the last ones at a glance."""

from flask import Blueprint, render_template

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    return render_template("admin/dashboard/index.html")
