"""Sign in, sign out, and change the password."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from blog.admin import authors
from blog.extensions import db

bp = Blueprint("auth", __name__)
# The pages an author with a one-time password may open before choosing a new one.
PASSWORD_ENDPOINTS = {"admin.auth.password", "admin.auth.sign_out"}


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me signed in on this device for two weeks")


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    new = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            Length(
                authors.MIN_PASSWORD_LENGTH,
                authors.MAX_PASSWORD_LENGTH,
                f"Use at least {authors.MIN_PASSWORD_LENGTH} characters "
                f"(and at most {authors.MAX_PASSWORD_LENGTH}).",
            ),
        ],
    )
    confirm = PasswordField(
        "New password again", validators=[EqualTo("new", "The two new passwords differ.")]
    )


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Show the form; on POST sign the author in and go where they were going."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("admin/auth/sign_in.html", form=form), 400 if form.is_submitted() else 200
    author = authors.authenticate(db.session, form.email.data, form.password.data, datetime.now(UTC))
    if author is None:
        db.session.rollback()
        form.password.errors.append("That email address and password do not match an author.")
        return render_template("admin/auth/sign_in.html", form=form), 401
    db.session.commit()
    login_user(author, remember=form.remember.data)
    if author.must_change_password:
        return redirect(url_for("admin.auth.password"))
    return redirect(safe_next(request.args.get("next")))


@bp.post("/sign-out")
def sign_out():
    """Sign out, and end the author's other sessions too: a copied cookie must not outlive this."""
    authors.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("admin.auth.sign_in"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change the password (required after signing in with a one-time password)."""
    form = PasswordForm()
    if form.validate_on_submit():
        author = current_user._get_current_object()
        if authors.authenticate(db.session, author.email, form.current.data, datetime.now(UTC)) is None:
            form.current.errors.append("That is not your current password.")
        elif form.new.data == form.current.data:
            form.new.errors.append("Choose a password different from the current one.")
        else:
            authors.set_password(author, form.new.data)
            db.session.commit()
            login_user(author)  # the new session key: other devices are signed out, this one is not
            flash("Your password is changed. Other devices you were signed in on are signed out.", "success")
            return redirect(url_for("admin.dashboard.index"))
    status = 400 if form.is_submitted() else 200
    context = {"form": form, "min_length": authors.MIN_PASSWORD_LENGTH}
    return render_template("admin/auth/password.html", **context), status


def safe_next(target: str | None) -> str:
    """Only follow `next` to a path on this site under /admin/, never to another host."""
    default = url_for("admin.dashboard.index")
    if not target:
        return default
    if any(ord(character) < 32 or ord(character) == 127 for character in target):
        return default  # a line break would split the Location header
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/") or "\\" in target:
        return default
    return target
