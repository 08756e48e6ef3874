"""The site's settings: title, description, author, zone, postal address, page sizes, digest
content, welcome email and logo. Stored as settings; the environment gives the defaults, and
secrets (SMTP, DKIM, SECRET_KEY) stay there."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from blog.admin.digest_forms import likely_zones
from blog.admin.emails import DigestLookForm, plain, read_logo
from blog.extensions import db
from blog.newsletter.schedule import parse_zone
from blog.platform import site_settings as settings

bp = Blueprint("settings", __name__, url_prefix="/settings")
# Each form field and the setting it stores; the logo and the switches are handled apart.
TEXT_FIELDS = {
    "title": settings.SITE_TITLE,
    "description": settings.SITE_DESCRIPTION,
    "author": settings.AUTHOR_NAME,
    "bio": settings.AUTHOR_BIO,
    "timezone": settings.TIMEZONE,
    "postal_address": settings.POSTAL_ADDRESS,
    "posts_per_page": settings.POSTS_PER_PAGE,
    "feed_items": settings.FEED_ITEMS,
    "content": settings.DIGEST_CONTENT,
}


class SettingsForm(DigestLookForm):
    title = StringField("Site title", validators=[DataRequired("Give the site a title."), Length(max=120)])
    description = TextAreaField("Description", validators=[Length(max=300)])
    author = StringField("Your name", validators=[Length(max=120)])
    bio = TextAreaField("About you", validators=[Length(max=600)])
    timezone = StringField(
        "Time zone", validators=[DataRequired("Enter a time zone, for example Europe/Berlin.")]
    )
    postal_address = TextAreaField("Postal address", validators=[Length(max=300)])
    posts_per_page = IntegerField(
        "Posts per page",
        validators=[
            InputRequired("Enter how many posts a page shows, for example 10."),
            NumberRange(min=1, max=100, message="Use a number from 1 to 100."),
        ],
    )
    feed_items = IntegerField(
        "Posts in each feed",
        validators=[
            InputRequired("Enter how many posts the feeds carry, for example 20."),
            NumberRange(min=1, max=200, message="Use a number from 1 to 200."),
        ],
    )

    def validate_timezone(self, field: StringField) -> None:
        try:
            field.data = parse_zone((field.data or "").strip())
        except ValueError as error:
            raise ValidationError(f"The {error}.") from None


@bp.route("/", methods=["GET", "POST"])
def index():
    config = current_app.config
    current = settings.read_all(db.session, config)
    form = SettingsForm(
        data={name: current[key] for name, key in TEXT_FIELDS.items()}
        | {"welcome": current[settings.WELCOME_EMAIL] == "on"}
    )
    logo = current[settings.SITE_LOGO]
    if form.validate_on_submit() and (logo := read_logo(form, logo)) is not None:
        for name, key in TEXT_FIELDS.items():
            settings.put(db.session, key, plain(str(form[name].data)))
        settings.put(db.session, settings.WELCOME_EMAIL, "on" if form.welcome.data else "off")
        settings.put(db.session, settings.SITE_LOGO, logo)
        db.session.commit()
        flash("Saved. The site, its feeds and the next emails show these now.", "success")
        return redirect(url_for(".index"))
    page = render_template(
        "admin/settings/index.html",
        form=form,
        logo=current[settings.SITE_LOGO],
        zones=likely_zones(current[settings.TIMEZONE]),
    )
    return page, 400 if form.is_submitted() else 200
