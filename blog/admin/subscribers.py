"""Subscribers: the list, each person's consent record, CSV export and import, and erasure."""

import io
from datetime import UTC, datetime

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, EmailField, TextAreaField
from wtforms.validators import DataRequired, Length

from blog.bounces import actions
from blog.extensions import db
from blog.models import MailEvent, Subscriber, SubscriberStatus
from blog.platform.zones import site_zone
from blog.subscriptions import lifecycle, preferences
from blog.subscriptions.confirmation import queue_confirmation
from blog.subscriptions.csv_files import (
    MAX_IMPORT_BYTES,
    ImportOptions,
    ImportOptionsError,
    claim_confirmations,
    decode_csv,
    export_rows,
    import_subscribers,
    write_csv,
)
from blog.subscriptions.queries import delivered_count, find_page, preference_counts, status_counts

bp = Blueprint("subscribers", __name__, url_prefix="/subscribers")
STATUSES = [status.value for status in SubscriberStatus]
# The shared rule in ImportOptions.check, worded for this form.
OPTION_ERRORS = {
    "consent_note": "People added as confirmed need a note saying where and when they agreed, "
    "e.g. 'Subscribed on Buttondown, exported 2026-11-01'.",
    "send_confirmations": "Confirmation emails are for pending subscribers: untick this or "
    "'already confirmed elsewhere'.",
}


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import.")])
    confirmed = BooleanField("These people already confirmed elsewhere: add them as active")
    consent_note = TextAreaField("Consent note")
    send_confirmations = BooleanField("Email each new pending subscriber a confirmation link")


class AddForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter the address to add.")])
    consent_note = TextAreaField(
        "Consent note",
        validators=[DataRequired("Say where and when they asked to subscribe."), Length(max=500)],
    )
    send_confirmation = BooleanField("Email them a link to confirm first (double opt-in)", default=True)


class EraseForm(FlaskForm):
    """Only the CSRF token: erasing is one deliberate button press."""


class LiftForm(FlaskForm):
    """Only the CSRF token: lifting a suppression is one button press."""


@bp.get("/")
def index():
    """Counts by status, then the subscribers matching the search and filter, newest first."""
    query = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    page = find_page(db.session, query, status or None, request.args.get("page", 1, type=int))
    return render_template(
        "admin/subscribers/index.html",
        counts=status_counts(db.session),
        choices=preference_counts(db.session),
        page=page,
        query=query,
        status=status,
        statuses=STATUSES,
        form=ImportForm(),
        max_mb=MAX_IMPORT_BYTES // (1024 * 1024),
    )


@bp.get("/<int:subscriber_id>/")
def show(subscriber_id: int):
    """One person's consent record: when and where they asked and confirmed, and what they got."""
    subscriber = db.get_or_404(Subscriber, subscriber_id)
    history = db.session.scalars(
        select(MailEvent)
        .where(MailEvent.subscriber_id == subscriber.id)
        .order_by(MailEvent.id.desc())
        .limit(100)
    ).all()
    return render_template(
        "admin/subscribers/show.html",
        subscriber=subscriber,
        delivered=delivered_count(db.session, subscriber.id),
        consent_version=lifecycle.CONSENT_VERSION,
        consent_text=lifecycle.CONSENT_TEXT,
        history=history,
        suppressed=subscriber.status in lifecycle.SUPPRESSED,
        lift_form=LiftForm(),
        choices=preferences.history(db.session, subscriber.id),
        describe=preferences.describe,
    )


@bp.post("/<int:subscriber_id>/lift")
def lift(subscriber_id: int):
    """Let mail go to a suppressed address again, as `weeknote bounces lift` does."""
    subscriber = db.get_or_404(Subscriber, subscriber_id)
    if LiftForm().validate_on_submit() and actions.lift(db.session, subscriber, datetime.now(UTC)):
        db.session.commit()
        flash(f"Mail may go to this address again: it is {subscriber.status} now.", "success")
    return redirect(url_for(".show", subscriber_id=subscriber.id))


@bp.route("/<int:subscriber_id>/erase", methods=["GET", "POST"])
def erase(subscriber_id: int):
    """Ask for confirmation; on POST erase the person as `weeknote subscribers delete` does."""
    subscriber = db.get_or_404(Subscriber, subscriber_id)
    form = EraseForm()
    if not form.validate_on_submit():
        return render_template("admin/subscribers/erase.html", subscriber=subscriber, form=form)
    email = subscriber.email
    lifecycle.erase(db.session, email)
    db.session.commit()
    # No address in the message: it travels in the session cookie, and this person asked to be forgotten.
    flash("Erased. Only a hash of the address is kept, so no import can add it again.", "success")
    return redirect(url_for(".index"))


@bp.get("/export.csv")
def export_csv():
    """Every subscriber and their consent record, the CSV `weeknote subscribers export` writes."""
    out = io.StringIO()
    write_csv(export_rows(db.session), out)
    today = datetime.now(site_zone()).date().isoformat()
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="subscribers-{today}.csv"'},
    )


@bp.route("/add", methods=["GET", "POST"])
def add():
    """Add one person by hand, with a note on their consent; by default they confirm by email first."""
    form = AddForm()
    if not form.validate_on_submit():
        return render_template("admin/subscribers/add.html", form=form), 400 if form.is_submitted() else 200
    now = datetime.now(UTC)
    try:
        email = lifecycle.normalise_email(form.email.data)
        subscriber = lifecycle.add_by_author(
            db.session, email, form.consent_note.data, now, form.send_confirmation.data
        )
    except (lifecycle.InvalidEmail, lifecycle.AlreadyListed) as error:
        db.session.rollback()
        form.email.errors.append(str(error))
        return render_template("admin/subscribers/add.html", form=form), 400
    db.session.commit()
    if form.send_confirmation.data:
        queue_confirmation(subscriber.id)
        flash(f"Added {email} as pending: a confirmation link is on its way.", "success")
    else:
        flash(f"Added {email} as active, on your word.", "success")
    return redirect(url_for(".show", subscriber_id=subscriber.id))


@bp.route("/import", methods=["GET", "POST"])
def import_file():
    """Show the import form; on POST add the file's people and show what happened to each line."""
    form = ImportForm()
    context = {"form": form, "max_mb": MAX_IMPORT_BYTES // (1024 * 1024)}
    if not form.validate_on_submit():
        return render_template(
            "admin/subscribers/import.html", **context
        ), 400 if form.is_submitted() else 200
    upload = form.file.data
    options = ImportOptions(form.confirmed.data, form.consent_note.data, form.send_confirmations.data)
    now = datetime.now(UTC)
    try:
        data = upload.stream.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            raise ValueError(f"the file is larger than {context['max_mb']} MB; split it and import each part")
        report = import_subscribers(db.session, io.StringIO(decode_csv(data), newline=""), options, now)
    except ImportOptionsError as error:
        db.session.rollback()
        getattr(form, error.option).errors.append(OPTION_ERRORS[error.option])
        return render_template("admin/subscribers/import.html", **context), 400
    except ValueError as error:
        db.session.rollback()
        form.file.errors.append(f"{upload.filename or 'The file'}: {error}. Nothing was imported.")
        return render_template("admin/subscribers/import.html", **context), 400
    db.session.commit()
    claimed = []
    if options.send_confirmations:
        claimed = claim_confirmations(db.session, report.added, now)
        db.session.commit()
        for subscriber_id in claimed:
            queue_confirmation(subscriber_id)
    return render_template(
        "admin/subscribers/imported.html",
        report=report,
        filename=upload.filename,
        confirmed=options.confirmed,
        confirmations=len(claimed) if options.send_confirmations else None,
    )
