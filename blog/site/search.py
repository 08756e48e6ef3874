"""The search page: /search?q= with ranked, highlighted results, a page at a time."""

from flask import Blueprint, render_template, request

from blog.extensions import db
from blog.platform.site_settings import site
from blog.site.fulltext import MAX_QUERY_CHARS, search_posts
from blog.site.pagecache import cached_page

bp = Blueprint("search", __name__)


@bp.get("/search")
@cached_page(vary_args=("q", "page"), shared=False)
def index():
    query = request.args.get("q", "")[:MAX_QUERY_CHARS].strip()
    page = request.args.get("page", 1, type=int)
    page = page if page and 0 < page < 1000 else 1
    per_page = site().posts_per_page
    results = search_posts(db.session, query, limit=per_page, offset=(page - 1) * per_page)
    pages = max(1, -(-results.total // per_page))
    return render_template("search/results.html", query=query, results=results, page=page, pages=pages)
