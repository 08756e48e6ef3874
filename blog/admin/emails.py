"""What subscribers get besides the posts: the note for the next digest, full text or excerpts,
and the welcome email after confirming. Stored as settings; the environment gives the defaults."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from blog.extensions import db
from blog.platform import site_settings as settings

bp = Blueprint("emails", __name__, url_prefix="/emails")
LONGEST_TEXT = 20_000


class EmailsForm(FlaskForm):
    note = TextAreaField("Note", id="body", validators=[Length(max=LONGEST_TEXT)])  # the editor script's id
    content = RadioField(
        "Each post in the digest",
        choices=[
            SelectChoice("excerpt", "Its title, cover and a few lines, linking to the site"),
            SelectChoice("full", "Its whole text"),
        ],
    )
    welcome = BooleanField("Send a welcome email after someone confirms")
    welcome_text = TextAreaField("Welcome email", validators=[Length(max=LONGEST_TEXT)])


@bp.route("/", methods=["GET", "POST"])
def index():
    config = current_app.config
    current = {key: settings.get(db.session, config, key) for key in settings.defaults(config)}
    form = EmailsForm(
        data={
            "note": current[settings.DIGEST_NOTE],
            "content": current[settings.DIGEST_CONTENT],
            "welcome": current[settings.WELCOME_EMAIL] == "on",
            "welcome_text": current[settings.WELCOME_TEXT],
        }
    )
    if form.validate_on_submit():
        settings.put(db.session, settings.DIGEST_NOTE, form.note.data.strip())
        settings.put(db.session, settings.DIGEST_CONTENT, form.content.data)
        settings.put(db.session, settings.WELCOME_EMAIL, "on" if form.welcome.data else "off")
        welcome_text = form.welcome_text.data.strip() or settings.DEFAULT_WELCOME_TEXT
        settings.put(db.session, settings.WELCOME_TEXT, welcome_text)
        db.session.commit()
        flash("Saved. The next digest and welcome emails use these.", "success")
        return redirect(url_for(".index"))
    return render_template("admin/emails/index.html", form=form), 400 if form.is_submitted() else 200
