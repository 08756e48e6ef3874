"""The digest in the console: schedule, preview, test, send now, review held digests, watch sending."""

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from blog.admin.digest_forms import HOLD, ScheduleForm, likely_zones, schedule_defaults
from blog.extensions import db
from blog.mail.transport import SendError
from blog.models import Digest, DigestStatus, Tag
from blog.newsletter import delivery, digests, drafts, outlook, preview, progress
from blog.newsletter.sending import composer_from_app, send_or_queue, settings_from_app
from blog.platform.site_settings import site
from blog.platform.zones import local_moment
from blog.site.queries import digest_posts
from blog.subscriptions.queries import on_authors_digest

bp = Blueprint("digest", __name__, url_prefix="/digest")
# The digest's HTML is shown as mail clients show it: its inline styles and remote images, no
# script, framed only by the console's own preview page.
FRAMED_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; frame-ancestors 'self'"
)


@bp.route("/", methods=["GET", "POST"])
def index():
    """The schedule form, the next scheduled digest, what Send now would send, the latest digests."""
    schedule = digests.current_schedule(db.session)
    defaults = schedule_defaults(schedule, site().zone_name)
    form = ScheduleForm(data=defaults)
    if form.validate_on_submit():
        schedule = digests.save_schedule(
            db.session,
            weekday=form.weekday.data,
            local_time=form.local_time.parsed,
            timezone=form.timezone.data,
            min_posts=form.min_posts.data,
            hold_for_review=form.mode.data == HOLD,
            enabled=form.enabled.data,
            now=datetime.now(UTC),
        )
        db.session.commit()
        when = local_moment(schedule.next_run_at, schedule.timezone) if schedule.enabled else None
        flash(
            f"Schedule saved. Next digest: {when}." if when else "Schedule saved; digests are off.", "success"
        )
        return redirect(url_for(".index"))
    now = datetime.now(UTC)
    scheduled = preview.active_schedule(db.session)
    recent = progress.recent_digests(db.session, 30)
    tag_names = dict(db.session.execute(select(Tag.id, Tag.name)).all())
    page = render_template(
        "admin/digest/index.html",
        form=form,
        schedule=schedule,
        scheduled=preview.build_preview(db.session, scheduled.next_run_at) if scheduled else None,
        right_now=preview.build_preview(db.session, now),
        recent=recent,
        zones=likely_zones(defaults["timezone"], site().zone_name),
        audience_label=lambda key: outlook.describe_key(key, tag_names),
        slots=outlook.slots(db.session, now),
    )
    return page, 400 if form.is_submitted() else 200


@bp.get("/audience")
def audience_preview():
    """What one audience's next digest would carry, composed as it would be sent (nothing saved)."""
    key = request.args.get("key", "")
    try:
        shown = outlook.preview_audience(db.session, composer_from_app(), settings_from_app(), key,
                                           datetime.now(UTC))  # fmt: skip
    except (KeyError, ValueError) as error:
        return render_template(
            "admin/digest/audience.html", error=str(error) or "unknown audience", key=key
        ), 400
    tag_names = dict(db.session.execute(select(Tag.id, Tag.name)).all())
    return render_template(
        "admin/digest/audience.html", shown=shown, label=outlook.describe_key(key, tag_names), key=key
    )


@bp.get("/preview")
def preview_page():
    """The next scheduled digest: who it goes to, what it holds, and both parts as they will be sent."""
    upcoming = preview.build_preview(db.session, preview.next_digest_moment(db.session, datetime.now(UTC)))
    return render_template(
        "admin/digest/preview.html", preview=upcoming, schedule=preview.active_schedule(db.session)
    )


@bp.get("/preview.html")
def preview_html():
    """Exactly the HTML part the next digest sends (as `weeknote digest preview --html` prints it)."""
    upcoming = preview.build_preview(db.session, preview.next_digest_moment(db.session, datetime.now(UTC)))
    return framed(upcoming.composed.html)


def framed(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = FRAMED_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/test")
def send_test():
    """Send the scheduled digest's preview to the signed-in author only; no delivery is recorded."""
    upcoming = preview.build_preview(db.session, preview.next_digest_moment(db.session, datetime.now(UTC)))
    test_message(upcoming.composed)
    return redirect(url_for(".preview_page"))


def test_message(composed) -> None:
    address = current_user.email
    try:
        preview.send_test(composed, address)
    except (SendError, ValueError) as error:
        flash(f"The test message was not sent: {error}. {what_to_do(error)}", "error")
    else:
        flash(f"Sent a test of “{composed.subject}” to {address}.", "success")


def what_to_do(error: Exception) -> str:
    """The next step after a failed test message, by what went wrong."""
    if not isinstance(error, SendError):
        return f"Your address ({current_user.email}) cannot be used as a recipient; change it and try again."
    if error.code is None:
        return "Check SMTP_HOST, SMTP_PORT and SMTP_SECURITY, and that the mail server is running."
    if error.temporary:
        return "The mail server asked to try later: send the test again in a few minutes."
    return "The mail server refused it: check MAIL_FROM and the SMTP login, or the server's log."


@bp.post("/send")
def send_now():
    """Freeze what Send now would send as a draft and show it for confirmation; nothing is sent yet."""
    try:
        draft = drafts.prepare_draft(db.session, composer_from_app(), datetime.now(UTC))
    except (drafts.NothingToSend, digests.DigestBusy) as error:
        db.session.commit()
        flash(f"Nothing was sent: {error}.", "error")
        return redirect(url_for(".index"))
    db.session.commit()
    return redirect(url_for(".confirm", digest_id=draft.id))


@bp.route("/<int:digest_id>/confirm", methods=["GET", "POST"])
def confirm(digest_id: int):
    """The draft exactly as it would go out, the number of recipients, and Send (POST)."""
    draft = digest_or_404(digest_id)
    if draft.status != DigestStatus.DRAFT:
        return redirect(url_for(".show", digest_id=digest_id))
    if request.method == "POST":
        try:
            sent = drafts.send_draft(
                db.session, composer_from_app(), digest_id, request.form.get("fingerprint", ""),
                datetime.now(UTC),
            )  # fmt: skip
        except (drafts.DraftChanged, drafts.NothingToSend, digests.DigestBusy) as error:
            db.session.commit()  # the draft now holds what would be sent: show that
            flash(f"Not sent: {error}.", "error")
            if isinstance(error, drafts.DraftChanged) and (fresh := drafts.current_draft(db.session)):
                return redirect(url_for(".confirm", digest_id=fresh.id))
            return redirect(url_for(".index"))
        start_sending(sent)
        return redirect(url_for(".show", digest_id=sent.id))
    recipients = on_authors_digest(db.session)
    return render_template(
        "admin/digest/confirm.html", draft=draft, fingerprint=drafts.fingerprint(draft), recipients=recipients
    )


@bp.post("/<int:digest_id>/test")
def send_draft_test(digest_id: int):
    """Send a draft or held digest, as frozen, to the signed-in author only."""
    digest = digest_or_404(digest_id)
    test_message(digest)
    if digest.status == DigestStatus.DRAFT:
        return redirect(url_for(".confirm", digest_id=digest_id))
    return redirect(url_for(".show", digest_id=digest_id))


def start_sending(digest: Digest) -> None:
    """Fan out to every active subscriber, commit, then hand the digest to the worker."""
    queued = delivery.fan_out(db.session, digest)
    db.session.commit()
    flash(f"Digest {digest.id} is going to {queued} subscriber{'' if queued == 1 else 's'}.", "success")
    queue(digest.id)


def queue(digest_id: int) -> None:
    """Hand the digest to the worker (if Redis does not answer, the dispatcher will), or send it here."""
    try:
        send_or_queue(digest_id)
    except SendError as error:
        problem = progress.waiting(db.session, digest_id)
        flash(f"Sending stopped: {problem.describe() if problem else error}.", "error")


def digest_or_404(digest_id: int) -> Digest:
    return db.session.get(Digest, digest_id) or abort(404)


@bp.post("/<int:digest_id>/approve")
def approve(digest_id: int):
    """Send a held digest exactly as it was frozen (and previewed)."""
    digest = digest_or_404(digest_id)
    try:
        digests.approve(db.session, digest, datetime.now(UTC))
    except ValueError as error:
        flash(f"Not sent: {error}.", "error")
        return redirect(url_for(".show", digest_id=digest_id))
    start_sending(digest)
    return redirect(url_for(".show", digest_id=digest_id))


@bp.post("/<int:digest_id>/cancel")
def cancel(digest_id: int):
    """Drop a held digest, or stop one that is sending; what was sent stays sent."""
    digest = digest_or_404(digest_id)
    try:
        dropped = digests.cancel(db.session, digest)
    except ValueError as error:
        flash(f"Not cancelled: {error}.", "error")
        return redirect(url_for(".show", digest_id=digest_id))
    db.session.commit()
    counts = progress.digest_counts(db.session, digest_id)
    flash(progress.describe_cancel(digest_id, dropped, counts), "success")
    return redirect(url_for(".index"))


@bp.get("/<int:digest_id>/")
def show(digest_id: int):
    """A digest's progress: deliveries by status, refreshed by progress.js while it sends."""
    digest = digest_or_404(digest_id)
    if digest.status == DigestStatus.DRAFT:
        return redirect(url_for(".confirm", digest_id=digest_id))
    return render_template(
        "admin/digest/show.html",
        digest=digest,
        progress=progress.progress(db.session, digest),
        labels=progress.LABELS,
        posts=digest_posts(db.session, digest.post_ids) if digest.status == DigestStatus.HELD else [],
    )


@bp.post("/<int:digest_id>/revise")
def revise(digest_id: int):
    """Change a held digest's note and drop posts from it; approving then sends the new version."""
    digest = digest_or_404(digest_id)
    keep = [int(value) for value in request.form.getlist("post") if value.isdigit()]
    try:
        drafts.revise_held(db.session, composer_from_app(), digest, request.form.get("note", ""), keep)
    except ValueError as error:
        flash(f"Not changed: {error}.", "error")
    else:
        db.session.commit()
        flash("Saved. The preview below is what approving sends.", "success")
    return redirect(url_for(".show", digest_id=digest_id))


@bp.get("/<int:digest_id>/progress.json")
def progress_json(digest_id: int):
    digest = digest_or_404(digest_id)
    state = progress.progress(db.session, digest)
    state["web_url"] = (
        url_for("digests.show", digest_id=digest_id) if digest.status == DigestStatus.SENT else None
    )
    return jsonify(state)


@bp.get("/<int:digest_id>/body.html")
def body_html(digest_id: int):
    """A saved digest's HTML part as frozen, so a held digest can be reviewed before approval."""
    return framed(digest_or_404(digest_id).html)


@bp.post("/<int:digest_id>/retry")
def retry(digest_id: int):
    """Queue the failed deliveries of still-active subscribers again."""
    digest_or_404(digest_id)
    count = delivery.retry_failed(db.session, digest_id)
    if count:
        flash(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again.", "success")
        queue(digest_id)
    else:
        flash("No failed delivery to a still-active subscriber is left to retry.", "info")
    return redirect(url_for(".show", digest_id=digest_id))
