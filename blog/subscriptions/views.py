"""Subscribe, confirm and unsubscribe pages. Only POSTs change anything: mail scanners follow GETs."""

import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from blog.extensions import csrf, db
from blog.models import LARGEST_ID, Subscriber
from blog.models import SubscriberStatus as Status
from blog.platform import ratelimit, security
from blog.subscriptions import letters, lifecycle
from blog.subscriptions import preferences as choices
from blog.subscriptions.confirmation import queue_confirmation
from blog.subscriptions.links import preferences_url
from blog.subscriptions.tokens import (
    MAX_AGE,
    Purpose,
    TokenError,
    TokenExpired,
    check_token,
    form_token_valid,
    make_form_token,
    make_token,
    token_subscriber_id,
)
from blog.subscriptions.welcome import WELCOME, welcome_enabled

bp = Blueprint("subscribe", __name__)
ONE_CLICK_BODY = ("List-Unsubscribe", "One-Click")  # RFC 8058 section 3.1


class SubscribeForm(FlaskForm):
    """An address, plus a honeypot field that people never see."""

    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )
    website = StringField("Leave this field empty")  # honeypot: hidden from people, filled by bots

    def validate_email(self, field: EmailField) -> None:
        try:
            field.data = lifecycle.normalise_email(field.data)
        except lifecycle.InvalidEmail as error:
            raise ValidationError(f"We cannot send to that address: {error}") from error


def init_app(app: Flask) -> None:
    """Register the pages and limit POST /subscribe per client IP (on Redis when REDIS_URL is set)."""
    app.register_blueprint(bp)
    ratelimit.limit_view(app, "subscribe.subscribe", "SUBSCRIBE_RATE_LIMIT", "subscribe", ["POST"])


def form_token() -> str:
    """The small form's cookie-free token (a template global: every page carries the form)."""
    return make_form_token(current_app.config["SECRET_KEY"])


@bp.route("/subscribe", methods=["GET", "POST"])
@csrf.exempt  # the small form on every page carries a signed form token instead; see below
def subscribe():
    """Show the form; on POST record the request and answer the same for every valid address.

    The full form here has a CSRF token (and a session cookie); the small form on every page has
    a signed form token instead, so cached pages stay cookie-free. Either way, one POST.
    """
    small = "form_token" in request.form
    if request.method == "POST" and not small:
        csrf.protect()  # the full form: a missing or old CSRF token gets the "send it again" page
    stale = small and not (
        form_token_valid(request.form["form_token"], current_app.config["SECRET_KEY"]) and from_this_site()
    )
    form = SubscribeForm(meta={"csrf": False}) if small else SubscribeForm()
    if stale or not form.validate_on_submit():
        if small:  # the full form, with its own CSRF token, keeping the address and what was wrong
            errors = [] if stale else list(form.email.errors)
            form = SubscribeForm(formdata=None, data={"email": (form.email.data or "")[:254]})
            form.email.errors = errors
        status = 400 if request.method == "POST" else 200
        return render_template("subscribe/subscribe.html", form=form, stale=stale), status
    started = time.monotonic()
    if not form.website.data:  # a filled honeypot gets the same answer and nothing else
        subscriber_id = _ask(form.email.data, source="form")
        if subscriber_id is not None:
            queue_confirmation(subscriber_id)
    # The same redirect for new, pending and active addresses, after the same time: a new address
    # costs an insert and a hand-off that a known one does not, and the form never tells who is
    # subscribed, not even by how long it took.
    time.sleep(max(0.0, started + current_app.config["SUBSCRIBE_ANSWER_SECONDS"] - time.monotonic()))
    return redirect(url_for("subscribe.thanks"), code=303)


def from_this_site() -> bool:
    """Whether the browser says the small form's POST comes from one of this site's pages.

    The form token is the same in every cached page, so anyone can copy it; what a page of
    another site cannot forge is the browser's Sec-Fetch-Site, or its Origin. Without either
    (not a browser), the request is no one's visitor posting unawares.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is not None:
        site = urlsplit(current_app.config["SITE_URL"])
        return origin == f"{site.scheme}://{site.netloc}"
    return True


@bp.get("/subscribe/thanks")
def thanks():
    return render_template("subscribe/thanks.html")


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Show the confirm button (GET) or confirm (POST) for the token's pending subscriber."""
    subscriber, problem = _load(token, Purpose.CONFIRM)
    if subscriber is None:
        return _bad_link(Purpose.CONFIRM, problem)
    if subscriber.status not in (Status.PENDING, Status.ACTIVE):  # unsubscribed since the email went out
        return _bad_link(Purpose.CONFIRM, "stale")
    if subscriber.status == Status.PENDING and request.method == "POST":
        welcome = welcome_enabled()
        confirmed = lifecycle.confirm(db.session, subscriber, request.remote_addr, _now(), welcome=welcome)
        db.session.commit()
        if confirmed and welcome:
            letters.queue(WELCOME, subscriber.id)
    choose = preferences_url(subscriber) if subscriber.status == Status.ACTIVE else None
    return render_template("subscribe/confirm.html", subscriber=subscriber, preferences_url=choose)


@bp.route("/preferences/<token>", methods=["GET", "POST"])
@csrf.exempt  # no cookie: the form carries its own signed token for this subscriber, checked below
def preferences(token: str):
    """Show the subscriber's preferences (GET changes nothing); save them (POST)."""
    subscriber, problem = _load(token, Purpose.PREFERENCES)
    if subscriber is None:
        return _bad_link(Purpose.PREFERENCES, problem)
    if subscriber.status != Status.ACTIVE:
        return render_template("subscribe/preferences.html", subscriber=subscriber, inactive=True), 410
    offered = choices.topic_tags(db.session)
    chosen, error, saved, status = choices.current(subscriber), None, False, 200
    if request.method == "POST":
        form = request.form
        try:
            if not _preferences_form_valid(subscriber, form.get("form_token", "")):
                raise choices.PreferenceError("form", "This page is too old to save: it has been reloaded.")
            chosen = choices.parse_preferences(
                form.get("frequency", ""), form.getlist("topics"), form.get("timezone", ""),
                form.get("when", ""), form.get("hour", ""), offered,
            )  # fmt: skip
        except choices.PreferenceError as problem_found:
            error, status = problem_found, 400
        else:
            saved = choices.save_preferences(
                db.session, subscriber, chosen, _now(), request.remote_addr, request.user_agent.string
            )
            db.session.commit()
            saved = saved or "unchanged"
    page = render_template(
        "subscribe/preferences.html",
        subscriber=subscriber,
        chosen=chosen,
        offered=offered,
        zones=choices.zone_names(),
        labels=choices.FREQUENCY_LABELS,
        error=error,
        saved=saved,
        form_token=make_token(subscriber, Purpose.PREFERENCES_FORM, current_app.config["SECRET_KEY"]),
    )
    policy = security.policy_with_own_script(page.encode())  # static/js/zone.js picks the reader's zone
    return page, status, {"Content-Security-Policy": policy}


def _preferences_form_valid(subscriber: Subscriber, token: str) -> bool:
    """The form's own token is this subscriber's and fresh, and the browser posted it from here."""
    try:
        check_token(token, subscriber, Purpose.PREFERENCES_FORM, current_app.config["SECRET_KEY"])
    except TokenError:
        return False
    return from_this_site()


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # only for the RFC 8058 one-click body; every other POST is checked below
def unsubscribe(token: str):
    """Show the page (GET); unsubscribe or resubscribe (POST); one-click unsubscribe (RFC 8058)."""
    one_click = request.method == "POST" and request.form.get(ONE_CLICK_BODY[0]) == ONE_CLICK_BODY[1]
    if request.method == "POST" and not one_click:
        csrf.protect()
    subscriber, problem = _load(token, Purpose.UNSUBSCRIBE)
    if subscriber is None:
        if one_click:
            return Response("This unsubscribe link is not valid.\n", 400, mimetype="text/plain")
        return _bad_link(Purpose.UNSUBSCRIBE, problem)
    if request.method == "POST" and request.form.get("action") == "resubscribe":
        subscriber_id = _ask(subscriber.email, source="resubscribe")
        if subscriber_id is not None:
            queue_confirmation(subscriber_id)
        return redirect(url_for("subscribe.thanks"), code=303)
    if request.method == "POST":
        lifecycle.unsubscribe(subscriber, _now())
        db.session.commit()
    if one_click:  # mail providers post this themselves: no page, no cookie, no redirect
        return Response("Unsubscribed.\n", 200, mimetype="text/plain")
    fewer = preferences_url(subscriber) if subscriber.status == Status.ACTIVE else None
    return render_template("subscribe/unsubscribe.html", subscriber=subscriber, preferences_url=fewer)


def _now() -> datetime:
    return datetime.now(UTC)


def _ask(email: str, source: str) -> int | None:
    """Record a subscribe request and commit; return the subscriber id when a confirmation is due."""
    consent = lifecycle.Consent(
        at=_now(), ip=request.remote_addr, user_agent=request.user_agent.string, source=source
    )
    try:
        subscriber = lifecycle.request_subscription(db.session, email, consent)
        db.session.commit()
    except IntegrityError:  # the same new address sent twice at once: the other request created it
        db.session.rollback()
        subscriber = lifecycle.request_subscription(db.session, email, consent)
        db.session.commit()
    return subscriber.id if subscriber else None


def _load(token: str, purpose: Purpose) -> tuple[Subscriber | None, str | None]:
    """Return the token's subscriber and None, or None and why: 'expired' or 'invalid'."""
    subscriber_id = token_subscriber_id(token)
    known = subscriber_id is not None and 0 < subscriber_id <= LARGEST_ID  # else it overflows the database
    subscriber = db.session.get(Subscriber, subscriber_id) if known else None
    if subscriber is None:
        return None, "invalid"
    try:
        check_token(token, subscriber, purpose, current_app.config["SECRET_KEY"])
    except TokenExpired:
        return None, "expired"
    except TokenError:
        return None, "invalid"
    return subscriber, None


def _bad_link(purpose: Purpose, problem: str | None):
    status = 410 if problem in ("expired", "stale") else 400
    context = {"purpose": purpose.name.lower(), "problem": problem, "form": SubscribeForm()}
    if purpose is Purpose.CONFIRM:
        context["valid_days"] = MAX_AGE[purpose].days
    return render_template("subscribe/bad_link.html", **context), status
