"""What subscribers get besides the posts: the note for the next digest, full text or excerpts,
and the welcome email after confirming. Stored as settings; the environment gives the defaults."""

from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from blog.extensions import db
from blog.newsletter.drafts import LONGEST_NOTE
from blog.platform import site_settings as settings
from blog.publishing import covers
from blog.subscriptions import preferences

bp = Blueprint("emails", __name__, url_prefix="/emails")
LONGEST_TEXT = LONGEST_NOTE


class DigestLookForm(FlaskForm):
    """What the Emails and Settings pages both set: full text or excerpts, the welcome email's
    switch and the logo (read_logo handles the last two fields)."""

    content = RadioField(
        "Each post in the digest",
        choices=[
            SelectChoice("excerpt", "Its title, cover and a few lines, linking to the site"),
            SelectChoice("full", "Its whole text"),
        ],
    )
    welcome = BooleanField("Send a welcome email after someone confirms")
    logo = FileField("Logo")
    remove_logo = BooleanField("Remove the logo")


class EmailsForm(DigestLookForm):
    # The note as this form was opened with it: saving another field must not bring back a note
    # that went out (and was cleared) meanwhile, nor undo one written elsewhere.
    note_seen = HiddenField()
    note = TextAreaField("Note", id="body", validators=[Length(max=LONGEST_TEXT)])  # the editor script's id
    welcome_text = TextAreaField("Welcome email", validators=[Length(max=LONGEST_TEXT)])


@bp.route("/", methods=["GET", "POST"])
def index():
    config = current_app.config
    current = {key: settings.get(db.session, config, key) for key in settings.defaults(config)}
    form = EmailsForm(
        data={
            "note": current[settings.DIGEST_NOTE],
            "note_seen": current[settings.DIGEST_NOTE],
            "content": current[settings.DIGEST_CONTENT],
            "welcome": current[settings.WELCOME_EMAIL] == "on",
            "welcome_text": current[settings.WELCOME_TEXT],
        }
    )
    logo = current[settings.SITE_LOGO]
    if form.validate_on_submit() and (logo := read_logo(form, logo)) is not None:
        settings.put(db.session, settings.SITE_LOGO, logo)
        if plain(form.note.data) != plain(form.note_seen.data):
            settings.put(db.session, settings.DIGEST_NOTE, plain(form.note.data))
        settings.put(db.session, settings.DIGEST_CONTENT, form.content.data)
        settings.put(db.session, settings.WELCOME_EMAIL, "on" if form.welcome.data else "off")
        welcome_text = plain(form.welcome_text.data) or settings.DEFAULT_WELCOME_TEXT
        settings.put(db.session, settings.WELCOME_TEXT, welcome_text)
        db.session.commit()
        flash("Saved. The next digest and welcome emails use these.", "success")
        return redirect(url_for(".index"))
    page = render_template(
        "admin/emails/index.html",
        form=form,
        logo=current[settings.SITE_LOGO],
        topics=preferences.all_tags(db.session),
        topics_form=FlaskForm(),
    )
    return page, 400 if form.is_submitted() else 200


@bp.post("/topics")
def topics():
    """Choose which tags subscribers can pick as topics on their preferences page."""
    if not FlaskForm().validate_on_submit():
        flash("The form expired; choose the topics again.", "error")
        return redirect(url_for(".index"))
    try:
        wanted = {int(value) for value in request.form.getlist("topics")}
    except ValueError:
        flash("Choose topics from the list.", "error")
        return redirect(url_for(".index"))
    offered = preferences.set_topics(db.session, wanted)
    db.session.commit()
    flash(f"Saved. Subscribers can choose from {offered} topic{'s' if offered != 1 else ''}.", "success")
    return redirect(url_for(".index") + "#topics-heading")


def plain(text: str | None) -> str:
    """A textarea's value as stored: Unix line ends, no surrounding blank space."""
    return (text or "").replace("\r\n", "\n").strip()


def read_logo(form: FlaskForm, logo: str) -> str | None:
    """The logo's address after a form with `logo` and `remove_logo` (Emails, Settings): a new
    upload (stored like covers), none, or as it was; None when the upload is refused (the reason
    is on the field)."""
    if form.remove_logo.data:
        return ""
    upload = form.logo.data
    if upload is None or not upload.filename:
        return logo
    try:
        image = covers.check_cover(upload.read(), upload.filename, current_app.config["COVER_MAX_BYTES"])
    except covers.CoverError as error:
        form.logo.errors = [str(error)]
        return None
    return covers.store_cover(image, Path(current_app.config["MEDIA_FOLDER"]))
